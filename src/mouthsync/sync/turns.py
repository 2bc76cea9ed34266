"""A meeting: several faces speak in turns, each heard at its own delay.

Why: in a video call's recording every participant's picture and sound travel their own
connection, so one person's voice may lag their mouth by 30 ms and another's lead by
40 ms; dialogue edited or dubbed line by line does the same. Measured as one speaker
(the most confident face), every turn of the others read as speech over a still mouth
and was left out, and their delays were nowhere in the report; measured together at one
delay (a dialogue, :meth:`~mouthsync.sync.signals.Signals.joined`), the figure fell
between the speakers' and its confidence with it. Here each face is read where it
talks, at its own delay: the windows follow whoever talks in them, every speaker's
delay and turns are listed, and the verdict judges every turn.
"""

from __future__ import annotations

import dataclasses
from functools import reduce
from typing import Any

import numpy as np

from mouthsync.core.findings import Finding, Severity
from mouthsync.core.runs import true_runs
from mouthsync.media.decode import frame_step
from mouthsync.sync.report import SyncReport, WindowEstimate
from mouthsync.sync.standards import judge
from mouthsync.sync.still import common_still, still_findings, still_mask
from mouthsync.sync.verdict import LOW_CONFIDENCE, judge_report

# A face that talks in turns with the speaker: at least this much talking, and this share
# of it where the speaker's mouth is still (``takes_turns``).
MIN_TURN_S = 1.0
TURN_SHARE = 0.6
# Findings the windows and the still spans decide (``judge_report``, ``still_findings``):
# made again from every speaker's windows.
_JUDGED = frozenset({"sync.delay", "sync.confidence", "sync.drift", "sync.steps", "sync.step", "sync.section",
                     "sync.window", "sync.still_mouth"})


def _talking(times: np.ndarray, valid: np.ndarray, own: list[Any], speech: list[tuple[float, float]]) -> np.ndarray:
    """Frames where speech is heard over this face's moving mouth (seen, not still)."""
    t = np.asarray(times, dtype=np.float64)
    heard = np.zeros(t.size, dtype=bool)
    for a, b in speech:
        heard |= (t >= a) & (t < b)
    return heard & np.asarray(valid, dtype=bool) & ~still_mask(t, own)


def takes_turns(track: Any, own: list[Any], speaker_still: list[Any], speech: list[tuple[float, float]]) -> bool:
    """Whether a face talks where the speaker is still: at least :data:`MIN_TURN_S` of
    speech heard over its moving mouth (``own``: its still spans), :data:`TURN_SHARE` of
    it inside ``speaker_still``. A listener who nods while the speaker talks does not."""
    t = np.asarray(track.times, dtype=np.float64)
    if t.size < 2 or not speech:
        return False
    talking = _talking(t, track.valid, own, speech)
    if float(talking.sum()) * frame_step(t) < MIN_TURN_S:
        return False
    return float((talking & still_mask(t, speaker_still)).sum()) >= TURN_SHARE * float(talking.sum())


def talk_spans(track: Any, own: list[Any], speech: list[tuple[float, float]], bridge_s: float = 1.0) -> list[list[float]]:
    """Where a face talks, as [start, end] seconds: talking frames (:func:`_talking`) with
    gaps under ``bridge_s`` (pauses between words) bridged; spans under half a second dropped."""
    t = np.asarray(track.times, dtype=np.float64)
    if t.size < 2:
        return []
    frame = frame_step(t)
    spans: list[list[float]] = []
    for a, b in true_runs(_talking(t, track.valid, own, speech)).tolist():
        t0, t1 = float(t[a]), float(t[b - 1]) + frame
        if spans and t0 - spans[-1][1] < bridge_s:
            spans[-1][1] = t1
        else:
            spans.append([t0, t1])
    return [[round(a, 2), round(b, 2)] for a, b in spans if b - a >= 0.5]


def in_turns(
    reports: list[SyncReport],
    best: int,
    talking: list[int],
    tracks: list[Any],
    speech: list[tuple[float, float]],
    standard: str,
    hop_s: float,
) -> SyncReport:
    """The report of a meeting whose speakers ``talking`` (face indexes; ``best`` among
    them, the headline) take turns at their own delays: ``reports[best]`` with each window
    read from the most confident speaker in it, speech over a still mouth only where every
    speaker is still, the verdict and findings judged again on those windows, each
    speaker's delay and turns in ``details["turns"]``, and a finding that names them."""
    top = reports[best]
    frame_ms = 1000.0 / top.fps if top.fps else 40.0
    windows: list[WindowEstimate] = []
    for j, w in enumerate(top.windows):
        same = [reports[i].windows[j] for i in talking
                if len(reports[i].windows) == len(top.windows)
                and abs(reports[i].windows[j].start_s - w.start_s) < 1e-3 and reports[i].windows[j].audio_delay_ms is not None]
        windows.append(max(same, key=lambda x: x.confidence) if same else w)
    still = reduce(lambda a, b: common_still(a, b, speech), [reports[i].still for i in talking])
    turns = [{"face": i, "audio_delay_ms": None if reports[i].audio_delay_ms is None else round(reports[i].audio_delay_ms, 1),
              "confidence": round(reports[i].confidence, 3), "talks": talk_spans(tracks[i], reports[i].still, speech)}
             for i in talking]
    # every turn judged at its speaker's own delay (a turn of a few seconds holds a window
    # or two, too few for a section of windows)
    spans = [WindowEstimate(a, b, reports[t["face"]].audio_delay_ms, reports[t["face"]].confidence,
                            reports[t["face"]].confidence < LOW_CONFIDENCE)
             for t in turns for a, b in t["talks"]]
    findings, verdict = judge_report(top.audio_delay_ms, top.confidence, "", top.drift, windows, standard, frame_ms,
                                     shots=top.shots, snap_s=hop_s, steps=top.steps,
                                     turns=sorted(spans, key=lambda x: x.start_s))
    findings += still_findings(still, float(top.details.get("speech_s") or 0.0))
    said = ", ".join(
        f"face {t['face']} {t['audio_delay_ms']:+.0f} ms"
        + (f" ({', '.join(f'{a:.1f}-{b:.1f} s' for a, b in t['talks'][:3])}{', ...' if len(t['talks']) > 3 else ''})"
           if t["talks"] else "")
        for t in turns)
    names = ", ".join(str(i) for i in talking[:-1]) + f" and {talking[-1]}"
    delays = [t["audio_delay_ms"] for t in turns]
    spread = max(delays) - min(delays)
    # one shift (the headline's, ``fix --delay auto``) leaves each speaker off by their
    # difference from it: within the standard's inner band, that is nothing to act on
    head = float(top.audio_delay_ms or 0.0)
    one_shift = all(judge(d - head, standard)["status"] == "in_sync" for d in delays)
    apart = spread > frame_ms
    how = f"at different delays ({spread:.0f} ms apart)" if apart else "at about the same delay (a dialogue)"
    why = (" Each voice reached the recording on its own path (a video call, or lines edited or dubbed one speaker "
           "at a time)." if apart else "")
    meeting = Finding(
        "sync.speakers", Severity.INFO if one_shift else Severity.WARNING,
        f"faces {names} speak in turns {how}: {said}.{why} The headline is face {best}'s; each window is read "
        "from whoever talks in it" + ("; one shift by the headline leaves every speaker within tolerance"
                                      if one_shift and apart else ""),
        advice="" if one_shift else "one shift cannot correct every speaker: mouthsync fix FILE -o OUT --delay turns "
                                    "moves each speaker's turns by their own reading",
        value=round(spread, 1), unit="ms")
    kept = [f for f in top.findings if f.check not in _JUDGED]
    details = {**top.details, "speaking_faces": list(talking), "turns": turns}
    return dataclasses.replace(top, windows=windows, still=still, verdict=verdict, findings=[meeting, *findings, *kept],
                               details=details)


def unsure_speakers(rep: SyncReport, reports: list[SyncReport], faces: list[int], tracks: list[Any],
                    speech: list[tuple[float, float]]) -> SyncReport:
    """``rep`` with ``faces`` named: each moves its mouth where the measured speaker's is
    still under speech (:func:`takes_turns`), but reads too unsure to count as a speaker.
    Their turns are the spans ``check`` could not judge; ``sources.settled`` sends such a
    report on to more phone sources (in a 2x2 gallery taking turns, one allphone pass read
    a speaker's 4.8 s turn at the right delay at confidence 0.00; every source read it at 0.49)."""
    rows = [{"face": i, "audio_delay_ms": None if reports[i].audio_delay_ms is None else round(reports[i].audio_delay_ms, 1),
             "confidence": round(reports[i].confidence, 3), "talks": talk_spans(tracks[i], reports[i].still, speech)}
            for i in faces]
    said = ", ".join(f"face {r['face']} (" + ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in r["talks"][:3])
                     + f"{', ...' if len(r['talks']) > 3 else ''}; confidence {r['confidence']:.2f})" for r in rows)
    note = Finding(
        "sync.speakers", Severity.INFO,
        f"{'a face moves its mouth' if len(rows) == 1 else 'faces move their mouths'} where the speaker's is still "
        f"under speech, read too unsure to count as {'a speaker' if len(rows) == 1 else 'speakers'}: {said}; "
        "those turns are not judged",
        advice="crop to that face and check it on its own, or give the words (--transcript) to help the reading")
    return dataclasses.replace(rep, findings=[*rep.findings, note], details={**rep.details, "unsure_speakers": rows})
