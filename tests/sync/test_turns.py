"""A meeting (``sync.turns``): speakers who take turns, each read at their own delay where
they talk; the verdict judges every turn; ``fix --delay turns`` moves each speaker's turns."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mouthsync.commands.check import _human
from mouthsync.core.errors import BadInput
from mouthsync.core.findings import Severity
from mouthsync.media.decode import frame_times
from mouthsync.sync.correct import fix_sync, plan_fix
from mouthsync.sync.delay import check_sync
from mouthsync.sync.html_report import render_html
from mouthsync.sync.turns import MIN_TURN_S, takes_turns, talk_spans
from tests.conftest import CLIPS
from tests.sync.builders import meeting

from ..media.test_remux import packets

FACE2, FACE3, FACE4, FACE5 = (next(p for p in CLIPS if p.name == f"retalking_face{i}.mp4") for i in (2, 3, 4, 5))


def _track(talks: list[tuple[float, ...]], seconds: float = 10.0, fps: float = 25.0, rest: float = 0.0,
           seed: int = 0) -> SimpleNamespace:
    """A face whose lips open and close at 4 Hz over ``talks`` ((start, end) or (start,
    end, amplitude): 0.04 gives a spread of ~0.07 face widths, as a talking mouth's), and
    otherwise move ``rest`` (a swaying listener's landmark wobble) around a closed mouth."""
    t = np.arange(int(seconds * fps)) / fps
    rng = np.random.default_rng(seed)
    ap = 0.01 + rest * rng.standard_normal(t.size)
    for a, b, *amp in talks:
        on = (t >= a) & (t < b)
        ap[on] = 0.05 + (amp[0] if amp else 0.04) * np.sin(2 * np.pi * 4.0 * t[on])
    return SimpleNamespace(times=t, valid=np.ones(t.size, dtype=bool), mouth={"aperture": ap})


def test_faces_that_lead_each_others_mouth_movement_take_turns() -> None:
    """Speech throughout 0-10 s. The speaker talks 0-5 s and a second face 5-10 s: each
    leads the other's mouth movement for seconds, so they take turns, also when both
    sway while listening. A listener who wobbles while the speaker talks 0-10 s leads
    nowhere under speech, nor does a second mouth that talks along with the speaker's; a second face that talks only 0.5 s does not take turns; no
    speech, no turns."""
    speech = [(0.0, 10.0)]
    speaker = _track([(0.0, 5.0)])
    assert takes_turns(_track([(5.0, 10.0)]), speaker, speech)
    assert takes_turns(_track([(5.0, 10.0)], rest=0.003, seed=1), _track([(0.0, 5.0)], rest=0.003, seed=2), speech)
    assert not takes_turns(_track([], rest=0.003), _track([(0.0, 10.0)]), speech)
    # two mouths talking at once trade the lead by less than twice the movement: no turns
    assert not takes_turns(_track([(0.0, 5.0, 0.05), (5.0, 10.0, 0.03)]), _track([(0.0, 10.0, 0.04)]), speech)
    assert MIN_TURN_S > 1.5 and not takes_turns(_track([(5.0, 5.5)]), speaker, speech)
    assert not takes_turns(_track([(5.0, 10.0)]), speaker, [])


def test_talk_spans_are_where_the_face_leads_under_speech() -> None:
    """Where a face talks: speech heard where its mouth moves most, short pauses between
    words bridged, frames without the face left out."""
    me = _track([(0.2, 4.0), (6.0, 9.0)])
    me.valid[int(8.0 * 25):] = False
    other = _track([(4.0, 6.0)])
    speech = [(0.2, 2.0), (2.5, 4.0), (6.0, 9.0)]
    # (movement is read over a second: a span ends where the other's starts to show,
    # a few tenths of a second before the other's turn)
    assert talk_spans(me, [other], speech) == [[0.2, pytest.approx(4.0, abs=0.4)],
                                               [pytest.approx(6.0, abs=0.4), pytest.approx(8.0, abs=0.1)]]


def _turns_report(turns: list[dict]) -> dict:
    return {"audio_delay_ms": -12.0, "confidence": 0.9, "windows": [], "verdict": {"status": "out_of_sync"},
            "details": {"turns": turns}}


def test_fix_delay_turns_moves_each_speakers_run_and_switches_in_the_pause() -> None:
    """Each speaker's run of turns moves by their reading. The switch lies where both
    parts take their sound from the pause between the turns (output time s takes the input
    at s + d: the middle of the pause less the mean of the two delays). A long pause
    between turns (speech no face was read to) and a speaker read below the confidence
    asked for are left where they are, switched into a tenth of a second from the
    speaker's side."""
    first, end = (float(x) for x in frame_times(FACE2)[[0, -1]])
    turns = [{"face": 2, "audio_delay_ms": 228.0, "confidence": 0.72, "talks": [[0.3, 1.2], [1.4, 2.2]]},
             {"face": 3, "audio_delay_ms": -12.0, "confidence": 0.94, "talks": [[3.0, 4.8]]}]
    plan = plan_fix(FACE2, delay="turns", report=_turns_report(turns))
    assert plan.delay_source == "turns"
    assert [(p["from"], p["delay_ms"]) for p in plan.pieces] == [("face 2", 228.0), ("face 3", -12.0)]
    p0, p1 = 2.2 + 0.228, 3.0 - 0.012  # face 2's sound may reach 0.228 s past its talking, face 3's start early
    s = 0.5 * (p0 + p1 - 0.228 + 0.012)
    assert p0 <= s + 0.228 <= p1 and p0 <= s - 0.012 <= p1
    assert [(p["start_s"], p["end_s"]) for p in plan.pieces] == [(pytest.approx(first), pytest.approx(s)),
                                                                  (pytest.approx(s), pytest.approx(end))]
    assert not [f for f in plan.findings if f.check == "fix.turns"]
    close = [turns[0], dict(turns[1], talks=[[2.4, 4.8]])]  # a pause shorter than the delays differ
    assert any(f.check == "fix.turns" and "talk over each other" in f.message
               for f in plan_fix(FACE2, delay="turns", report=_turns_report(close)).findings)
    gap = [dict(turns[0], talks=[[0.3, 1.0]]), dict(turns[1], talks=[[2.6, 4.8]])]
    plan = plan_fix(FACE2, delay="turns", report=_turns_report(gap))
    assert [(p["from"], p["delay_ms"]) for p in plan.pieces] == [("face 2", 228.0), ("left", 0.0), ("face 3", -12.0)]
    # out of face 2's turn: its sound (0.228 s late) ends by 1.228, the switch 0.1 after that;
    # into face 3's: its sound (0.012 s early) starts from 2.588, the switch 0.1 before
    assert plan.pieces[1]["start_s"] == pytest.approx(1.328) and plan.pieces[1]["end_s"] == pytest.approx(2.488)
    assert any(f.check == "fix.turns" and "1.0-2.6 s" in f.message for f in plan.findings)
    weak = plan_fix(FACE2, delay="turns", report=_turns_report(turns), min_confidence=0.8)
    assert [(p["from"], p["delay_ms"]) for p in weak.pieces] == [("left", 0.0), ("face 3", -12.0)]
    assert any(f.check == "fix.turns" and "face 2" in f.message for f in weak.findings)
    with pytest.raises(BadInput, match="no speakers taking turns"):
        plan_fix(FACE2, delay="turns", report=_turns_report(turns[:1]))
    with pytest.raises(BadInput, match="turn"):
        plan_fix(FACE2, delay="turns", drift="auto", report=_turns_report(turns))


@pytest.mark.slow
def test_a_meeting_reads_each_speaker_at_their_own_delay(tmp_path: Path) -> None:
    """A 2x2 call gallery: face2 (top left) speaks, then face4 (bottom left), while the
    other two hold still. face2's sound is made 200 ms late. check reads each speaker
    where they talk, at their own delay (within a frame of the same gallery unshifted, face2
    200 ms later), judges face2's turn out of sync, and names both; fix --delay turns
    removes each speaker's reading from their turns, the video packets copied, and the
    output reads each speaker within a frame of nothing."""
    sources = [FACE2, FACE3, FACE4, FACE5]
    plain = meeting(sources, [0, 2], tmp_path / "plain.mp4")
    late = meeting(sources, [0, 2], tmp_path / "late.mp4", shifts_s=[0.2, 0.0, 0.0, 0.0])

    def speakers(rep) -> dict[str, float]:  # type: ignore[no-untyped-def]
        """The left column's faces' own delays (the speakers' tiles), keyed top/bottom."""
        return {("top" if 0.5 * (f["box"][1] + f["box"][3]) < 360 else "bottom"): f["audio_delay_ms"]
                for f in rep.details["faces"] if 0.5 * (f["box"][0] + f["box"][2]) < 426 and f["audio_delay_ms"] is not None}

    own = speakers(check_sync(plain))
    rep = check_sync(late)
    got = speakers(rep)
    assert sorted(own) == sorted(got) == ["bottom", "top"], (own, got)
    assert abs(got["top"] - own["top"] - 200.0) <= 40.0 and abs(got["bottom"] - own["bottom"]) <= 40.0, (got, own)
    assert len(rep.details.get("turns") or []) == 2, rep.details.get("faces")
    assert rep.verdict["status"] == "out_of_sync"
    assert any(s.get("turn") and s["end_s"] <= 5.0 for s in rep.verdict.get("sections", [])), rep.verdict
    named = [f for f in rep.findings if f.check == "sync.speakers"]
    assert named and named[0].severity == Severity.WARNING and "different delays" in named[0].message
    assert not [f for f in rep.findings if f.check == "sync.still_mouth"]  # every turn has its speaker
    # shown to people: a line per speaker's turns, and a table in the HTML page
    lines = _human(rep.to_dict())
    assert sum(line.startswith("  turns face") for line in lines) == 2, lines
    assert "Speakers in turns" in render_html(rep)

    out = tmp_path / "fixed.mp4"
    done = fix_sync(late, out, delay="turns", report=rep, verify=True)
    assert packets(out, "video") == packets(late, "video")
    assert [p["from"] for p in done.plan.pieces] == [f"face {t['face']}" for t in rep.details["turns"]]
    after = speakers(check_sync(out))  # each speaker's whole delay removed: both read about nothing
    assert abs(after["top"]) <= 40.0 and abs(after["bottom"]) <= 40.0, (after, own)
    assert done.after is not None and len(done.after.get("faces") or []) == 4
    assert not [f for f in done.findings if f.check == "fix.verify" and "face" in f.message]


def test_every_finding_the_windows_decide_is_made_again_for_a_meeting() -> None:
    """``in_turns`` drops the headline speaker's window findings and makes them again from
    every speaker's windows (``turns._JUDGED``): every id ``judge_report`` and
    ``still_findings`` can make must be in that list, or a meeting's report would hold
    the headline speaker's alone beside the new ones."""
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.report import WindowEstimate
    from mouthsync.sync.steps import DelayStep
    from mouthsync.sync.still import StillSpan, still_findings
    from mouthsync.sync.turns import _JUDGED
    from mouthsync.sync.verdict import judge_report

    def wins(delays: list[float], unsure: int = -1) -> list[WindowEstimate]:
        return [WindowEstimate(2.5 * i, 2.5 * i + 5.0, d, 0.1 if i == unsure else 0.9, i == unsure, "weak" if i == unsure else "")
                for i, d in enumerate(delays)]

    step = DelayStep(10.0, 10.0, 20.0, 220.0, 9.0, 11.0, 0.2, True)
    seen: set[str] = set()
    for delay, conf, drift, w, steps in [
        (20.0, 0.8, DriftFit(0.0, 20.0, 40.0, 6, "steps"), wins([10, 15, 210, 220, 12, 8], unsure=4), []),
        (200.0, 0.8, DriftFit(60.0, 20.0, 5.0, 6, "drift", "NTSC"), wins([150, 180, 200, 220, 250, 280]), []),
        (60.0, 0.2, DriftFit(None, None, None, 0, "none"), wins([60]), []),
        (None, 0.0, DriftFit(None, None, None, 0, "none"), wins([60]), []),
        (80.0, 0.9, DriftFit(0.0, 20.0, 40.0, 6, "steps"), wins([20, 20, 20, 220, 220, 220]), [step]),
        (60.0, 0.9, DriftFit(0.0, 60.0, 5.0, 6, "none"), wins([60] * 6), []),
    ]:
        findings, _ = judge_report(delay, conf, "", drift, w, "bt1359", 40.0, steps=steps,
                                   turns=[WindowEstimate(0.0, 4.0, 300.0, 0.9, False)])
        seen |= {f.check for f in findings}
    seen |= {f.check for f in still_findings([StillSpan(1.0, 4.0, 3.0, False)], 5.0)}
    assert seen == _JUDGED, (seen - _JUDGED, _JUDGED - seen)  # (each listed id made by one case here)
