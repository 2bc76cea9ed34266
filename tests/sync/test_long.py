"""Long material: a 60 s concatenation with a known shift per segment is recovered per
window; edits, late sections, steps inside a take and transitions (drift: test_long_drift)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mouthsync.face.track import track_face
from mouthsync.media.decode import decode_audio
from mouthsync.sync.delay import analyse, check_sync
from mouthsync.sync.sources import timelines_for
from tests.conftest import CLIPS, WILD
from tests.sync.builders import build_concatenation

pytestmark = pytest.mark.slow

SOURCES = [p for p in CLIPS if p.name in {"retalking_face2.mp4", "retalking_face4.mp4"}] + [
    p for p in WILD if p.name in {"voxceleb_00067.mp4", "voxceleb_00473.mp4"}
]
# The 7-shot edit (~38 s) of the late-shot, late-section and step cases: one picture, so
# it is tracked once for all of them.
EDIT = (SOURCES * 2)[:7]


def _own_offsets() -> dict[str, float]:
    """Each source's own raw delay (unknown sync of the shared clip), removed before shifting."""
    out = {}
    for p in SOURCES:
        a = decode_audio(p, rate=16000)
        rep = analyse(track_face(p), timelines_for(a), a, window_s=1e9, calibration_ms=0.0)
        out[str(p)] = (rep.raw_delay_ms or 0.0) / 1000.0
    return out


def _overlap(seg, win) -> float:  # type: ignore[no-untyped-def]
    """Seconds of window ``win`` inside segment ``seg`` (a window mostly in one segment
    should read that segment's shift; one split across a cut may read either)."""
    return max(0.0, min(seg.end_s, win.end_s) - max(seg.start_s, win.start_s))


@pytest.fixture(scope="module")
def own() -> dict[str, float]:
    return _own_offsets()


def test_per_segment_shifts_recovered_per_window(own: dict[str, float], tmp_path: Path) -> None:
    order = (SOURCES * 3)[:12]
    shifts = [0.12, -0.08, 0.0, 0.16, -0.12, 0.04, -0.16, 0.08, 0.12, -0.04, 0.0, -0.12]
    video, _, segs = build_concatenation(order, [s - own[str(p)] for s, p in zip(shifts, order, strict=True)], tmp_path)
    rep = check_sync(video)
    checked = good = 0
    for w in rep.windows:
        inside = [s for s in segs if _overlap(s, w) >= 0.75 * (w.end_s - w.start_s)]
        if not inside or w.audio_delay_ms is None or w.uncertain:
            continue
        seg = inside[0]  # shift_s is the applied shift: the wanted one minus the own offset
        want = (seg.shift_s + own[seg.source]) * 1000.0 - rep.calibration_ms
        checked += 1
        good += abs(w.audio_delay_ms - want) <= 40.0
    assert checked >= 10, f"only {checked} confident windows mostly inside one segment"
    assert good / checked >= 0.9, f"{good}/{checked} windows within one frame of their segment's shift"
    assert rep.drift.kind in {"steps", "insufficient"}
    # the readable report of this many windows: a strip over time with the segments that
    # read later (+) and earlier (-), and the confident windows that stand out, listed
    from mouthsync.commands.check import MAX_OFF_LISTED, _human

    d = rep.to_dict()
    assert len(d["windows"]) > 16
    text = _human(d)
    shots_at = next(i for i, ln in enumerate(text) if ln.startswith("  shots "))
    assert len(d["shots"]) == 12 and len(text) <= 15 + MAX_OFF_LISTED + len(d["shots"]), "\n".join(text)
    strip = next(ln for ln in text if "|" in ln)
    assert "+" in strip and "-" in strip, strip
    listed = [ln for ln in text[:shots_at] if ln.startswith("    ") and " ms  conf " in ln]
    assert listed and all("uncertain" not in ln for ln in listed)
    # every shot on its own line, the ones away from the whole file marked
    assert sum("<- off" in ln for ln in text[shots_at + 1 : shots_at + 13]) >= 4


def test_a_single_late_shot_is_found(own: dict[str, float], tmp_path: Path) -> None:
    """One 5 s shot made 200 ms late in a 38 s edit: too few windows for a window section,
    and one phone source misread it (+742 ms at 0.10) while the whole file settled on that
    source. The shot disagreeing with the file keeps every source in (``settled``), and the
    confident shot out of tolerance is a section of its own, at its cuts."""
    order = EDIT
    shifts = [0.0] * len(EDIT)
    shifts[4] = 0.2
    video, _, segs = build_concatenation(order, [s - own[str(p)] for s, p in zip(shifts, order, strict=True)],
                                         tmp_path, name="one_late")
    rep = check_sync(video)
    assert rep.details["transcript"] == "needed"
    assert rep.verdict["status"] == "out_of_sync", rep.verdict
    [sec] = rep.verdict["sections"]
    assert (sec["start_s"], sec["end_s"]) == (round(segs[4].start_s, 3), round(segs[4].end_s, 3))
    assert abs(sec["audio_delay_ms"] - 200.0) <= 40.0 and sec["at_cuts"]


def test_long_clear_speech_is_settled_without_the_transcript(tmp_path: Path) -> None:
    """On 33 s of clear speech phonetic recognition settles the delay (``settled``):
    the default skips the transcript, says so, and reads within a frame of the three
    sources (``--transcript always``), which always include it."""
    face4 = [p for p in CLIPS if p.name == "retalking_face4.mp4"]
    video, _, _ = build_concatenation(face4 * 5, [0.08] * 5, tmp_path, name="settled")
    fast = check_sync(video)
    full = check_sync(video, transcript="always")
    assert fast.details["transcript"] == "skipped"
    assert fast.details["phones_from"] in ("allphone", "allphone+allphone(live)")
    assert "transcript" not in full.details and full.details["phones_from"].startswith("align")
    assert fast.confidence >= 0.8
    assert abs(fast.audio_delay_ms - full.audio_delay_ms) <= 1000.0 / fast.fps


def test_other_recordings_under_a_long_take_read_low_confidence(tmp_path: Path) -> None:
    """33 s of one face (retalking_face4 five times) with the speech/ recordings under it:
    one or two of its 13 windows read confidently by chance, and their median used to speak
    for the clip (0.44 from this start; ``delay.GOOD_WINDOW_SHARE``). Now under 0.3, where
    ``fix --delay auto`` refuses."""
    import numpy as np

    from mouthsync.media.decode import Audio
    from tests.conftest import SPEECH
    from tests.sync.builders import mux_with_audio

    face4 = [p for p in CLIPS if p.name == "retalking_face4.mp4"]
    video, _, _ = build_concatenation(face4 * 5, [0.0] * 5, tmp_path, name="wrong")
    n = decode_audio(video, rate=16000).samples.size
    speech = np.concatenate([decode_audio(p, rate=16000).samples for p in sorted(SPEECH)])
    other = Audio(samples=np.tile(np.roll(speech, -24 * 16000), 2)[:n].copy(), rate=16000, start=0.0)
    rep = check_sync(mux_with_audio(video, other, tmp_path / "other.mkv"))
    assert rep.confidence < 0.3
    assert rep.verdict["status"] == "uncertain"


def test_a_late_middle_section_is_found_and_fails_the_file(own: dict[str, float], tmp_path: Path) -> None:
    """An edit whose middle 15 s are 200 ms late (beyond BT.1359's 185 ms) while the rest
    is in sync: the whole file's delay hides it, the verdict must not."""
    order = EDIT
    shifts = [0.0, 0.0, 0.2, 0.2, 0.2, 0.0, 0.0]
    video, _, segs = build_concatenation(order, [s - own[str(p)] for s, p in zip(shifts, order, strict=True)],
                                         tmp_path, name="late_middle")
    rep = check_sync(video)
    late = (segs[2].start_s, segs[4].end_s)
    assert rep.verdict["status"] == "out_of_sync", rep.verdict
    sections = rep.verdict["sections"]
    assert any(s["status"] == "out_of_sync" and s["start_s"] >= late[0] - 2.5 and s["end_s"] <= late[1] + 2.5
               and abs(s["audio_delay_ms"] - 200.0) <= 40.0 and s.get("at_cuts") for s in sections), sections
    assert [f for f in rep.findings if f.check == "sync.section" and f.start_s is not None]
    # each shot between the picture cuts is measured alone: the late ones read late
    assert [round(s.start_s, 2) for s in rep.shots] == [round(g.start_s, 2) for g in segs]
    confident = [(s, g) for s, g in zip(rep.shots, segs, strict=True) if not s.uncertain]
    assert len(confident) >= 5, rep.shots
    for s, g in confident:
        want = (g.shift_s + own[g.source]) * 1000.0 - rep.calibration_ms
        assert abs(s.audio_delay_ms - want) <= 40.0, (s, g)
    from mouthsync.sync.plot import plot_report

    png = plot_report(rep, tmp_path / "edit.png")  # cuts and per-shot bars drawn
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # fix --delay shots moves the late shots it is sure of by their own reading, the
    # rest by the whole file's, and leaves the picture alone
    from mouthsync.sync.correct import fix_sync
    from tests.media.test_remux import packets

    out = tmp_path / "fixed.mkv"
    res = fix_sync(video, out, delay="shots", report=rep, verify=True)
    moved = [p for p in res.plan.pieces or [] if p["from"] == "shot"]
    assert len(moved) >= 2 and all(abs(p["delay_ms"] - 200.0) <= 40.0 for p in moved), res.plan.pieces
    assert all(late[0] - 0.05 <= p["start_s"] and p["end_s"] <= late[1] + 0.05 for p in moved)
    assert packets(out) == packets(video)
    assert res.after is not None and len(res.after["shots"]) == len(segs)
    for s in res.after["shots"]:
        if not s["uncertain"] and any(p["start_s"] <= s["start_s"] < p["end_s"] for p in moved):
            assert abs(s["audio_delay_ms"]) <= 40.0, (s, moved)
    assert not [f for f in res.findings if f.check == "fix.verify"], res.findings


@pytest.mark.parametrize(("at_s", "step_s"), [(9.0, 0.2), (13.7, -0.16)])
def test_a_step_inside_a_shot_is_located_and_fix_moves_each_part(
    own: dict[str, float], tmp_path: Path, at_s: float, step_s: float
) -> None:
    """A recorder that inserted 200 ms of silence at 9.0 s, or dropped 160 ms at 13.7 s,
    inside a shot (not at a cut): everything after is late, or early. check places the
    step (an inserted block of zeros to the sample, a drop by the mouth to half a second)
    and reads each part; fix --delay steps moves each part by its own reading, and check
    on the output reads one delay throughout, within a frame of the clean take's."""
    import numpy as np

    from mouthsync.sync.correct import fix_sync
    from tests.media.test_remux import packets
    from tests.sync.builders import ffmpeg, write_wav

    order = EDIT
    take, wav, segs = build_concatenation(order, [-own[str(p)] for p in order], tmp_path, name="take")
    assert all(abs(g.start_s - at_s) > 1.0 for g in segs)  # the step is not at a picture cut
    a = decode_audio(wav, rate=16000).samples
    i, n = int(at_s * 16000), int(round(abs(step_s) * 16000))
    late = (np.concatenate([a[:i], np.zeros(n, np.float32), a[i:]])[: a.size] if step_s > 0
            else np.concatenate([a[:i], a[i + n:], np.zeros(n, np.float32)]))
    video = tmp_path / "step.mkv"
    ffmpeg("-i", str(take), "-i", str(write_wav(tmp_path / "step.wav", late, 16000)), "-map", "0:v:0",
            "-map", "1:a:0", "-c:v", "copy", "-c:a", "pcm_s16le", str(video))
    rep = check_sync(video)
    [st] = rep.steps
    if step_s > 0:  # the inserted block of zeros places it to the sample (the mouth alone: to 0.08 s)
        # (to the sample in the sound; in picture time it takes the delay read before it, a few ms off)
        assert st.placed_by == "inserted silence" and abs(st.at_s - at_s) <= 0.005 and st.cut_s == st.at_s, st
    else:
        assert st.placed_by == "mouth" and abs(st.at_s - at_s) <= 0.5 and st.lo_s - 0.3 <= at_s <= st.hi_s + 0.3, st
    assert abs(st.before_ms - (-rep.calibration_ms)) <= 40.0, st
    assert abs(st.after_ms - st.before_ms - 1000.0 * step_s) <= 20.0, st
    assert rep.drift.kind == "steps"
    assert [f for f in rep.findings if f.check == "sync.step" and "--delay steps" in f.advice]
    assert [f.advice for f in rep.findings if f.check == "sync.delay"] == ["mouthsync fix FILE -o OUT --delay steps"]
    # the step explains why the windows disagree: no second, vaguer warning that they do
    assert not [f for f in rep.findings if f.check == "sync.steps"]
    from mouthsync.commands.check import _human

    text = _human(rep.to_dict())
    assert "it steps: see below" in text[1] and "  drift         : none; the delay steps instead" in text
    from mouthsync.sync.plot import plot_report

    assert plot_report(rep, tmp_path / "step.png").read_bytes()[:4] == b"\x89PNG"
    out = tmp_path / "fixed.mkv"
    res = fix_sync(video, out, delay="steps", report=rep, verify=True)
    assert [p["from"] for p in res.plan.pieces or []] == ["step", "step"]
    assert res.after is not None and res.after["steps"] == [], res.after
    assert not [f for f in res.findings if f.check == "fix.verify"], res.findings
    assert packets(out) == packets(video)
    good = [w for w in res.after["windows"] if not w["uncertain"]]
    assert len(good) >= 10 and all(abs(w["audio_delay_ms"]) <= 40.0 for w in good), res.after["windows"]


@pytest.mark.parametrize(("black", "kind", "said"), [(0, "dissolve", "2 dissolves"), (3, "dip to black", "2 dips to black")])
def test_shots_that_dissolve_into_each_other_are_measured_and_fixed_apart(
    own: dict[str, float], tmp_path: Path, black: int, kind: str, said: str
) -> None:
    """An edit whose shots cross-fade over 0.6 s, or dip to black (no cut for the change
    spike to find), the second shot 200 ms late and the third 120 ms early: each
    transition begins a shot at its middle, each shot reads its own shift, the steps are
    not taken for a drift, facecheck finds nothing wrong, and ``fix --delay shots`` brings
    every shot back."""
    from mouthsync.sync.correct import fix_sync
    from tests.media.test_remux import packets
    from tests.sync.builders import dissolved

    order = [SOURCES[0], SOURCES[1], SOURCES[2]]
    shifts = [0.0, 0.2, -0.12]
    video, middles = dissolved(order, [s - own[str(p)] for s, p in zip(shifts, order, strict=True)],
                               tmp_path / "dissolves.mkv", black_frames=black)
    rep = check_sync(video)
    changes = rep.details["shot_changes"]
    assert [c["kind"] for c in changes] == [kind, kind], changes
    found = [c["at_s"] for c in changes]
    assert len(found) == 2 and all(abs(f - m) <= 1 / 25 for f, m in zip(found, middles, strict=True)), found
    assert [round(s.start_s, 2) for s in rep.shots] == [0.0, *[round(f, 2) for f in found]]
    assert rep.drift.kind != "drift", rep.drift
    confident = [(s, sh) for s, sh in zip(rep.shots, shifts, strict=True) if not s.uncertain]
    assert len(confident) >= 2, rep.shots
    for s, sh in confident:
        assert abs(s.audio_delay_ms - (sh * 1000.0 - rep.calibration_ms)) <= 40.0, (s, sh)
    assert any("--delay shots" in (f.advice or "") for f in rep.findings), [f.advice for f in rep.findings]
    from mouthsync.commands.check import _human

    assert any(ln.startswith(f"  shots         : 3 between {said},") for ln in _human(rep.to_dict()))
    # facecheck judges each shot against itself across a dissolve too, and the mixed
    # frames are no shake, motion or light change
    from mouthsync.face.quality import check_footage

    foot = check_footage(video)
    assert [(x.reason, round(x.start_s, 2)) for x in foot.segments] == [], foot.segments
    out = tmp_path / "fixed.mkv"
    res = fix_sync(video, out, delay="shots", report=rep, verify=True)
    assert packets(out) == packets(video)
    assert res.after is not None
    for s in res.after["shots"]:
        if not s["uncertain"]:
            assert abs(s["audio_delay_ms"] + rep.calibration_ms) <= 40.0, res.after["shots"]
