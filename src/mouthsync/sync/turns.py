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
from mouthsync.sync.still import STILL_SPREAD, aperture_spread, common_still, still_findings
from mouthsync.sync.verdict import LOW_CONFIDENCE, judge_report

# A face that talks in turns with the speaker: each leads the other's mouth movement under
# speech for at least this long (``takes_turns``). Movement is read over a second, so a
# second of talking leads for about two; a half-second "yes" does not make a turn.
MIN_TURN_S = 2.0
# A face leads another's mouth movement when its own is at least this many times larger.
LEAD_RATIO = 2.0
# Findings the windows and the still spans decide (``judge_report``, ``still_findings``):
# made again from every speaker's windows.
_JUDGED = frozenset({"sync.delay", "sync.confidence", "sync.drift", "sync.steps", "sync.step", "sync.section",
                     "sync.window", "sync.still_mouth"})


def _activity(track: Any, times: np.ndarray) -> np.ndarray:
    """How much a face's mouth moves around each of ``times`` (the lip aperture's spread
    over a second, :func:`~mouthsync.sync.still.aperture_spread`; 0 without a face)."""
    own = np.asarray(track.times, dtype=np.float64)
    sp = aperture_spread(own, np.asarray(track.mouth["aperture"], dtype=np.float64), np.asarray(track.valid, dtype=bool))
    sp = np.where(np.isfinite(sp), sp, 0.0)
    if own.size < 2:
        return np.zeros(np.asarray(times).size)
    return np.interp(times, own, sp, left=0.0, right=0.0)


def _leads(track: Any, others: list[Any], speech: list[tuple[float, float]]) -> np.ndarray:
    """Frames of ``track`` where speech is heard and its mouth moves more than any of
    ``others``' (and more than a mouth at rest does): where it is the one talking.

    Why movement and not stillness: a listener is not still (a nod, a sway, a lean moves
    the lips' landmarks too: a held face swayed a few pixels read a spread of 0.006-0.007,
    over the still line of 0.004), but a talking mouth moves ten times as much (0.035-0.07
    on the shared clips), so whoever moves most is the one talking. Most by
    :data:`LEAD_RATIO`: two mouths that both talk at once (a silent face moving its lips
    beside the speaker) trade the lead back and forth by less."""
    t = np.asarray(track.times, dtype=np.float64)
    heard = np.zeros(t.size, dtype=bool)
    for a, b in speech:
        heard |= (t >= a) & (t < b)
    mine = _activity(track, t)
    most = np.max([_activity(o, t) for o in others], axis=0) if others else np.zeros(t.size)
    return heard & np.asarray(track.valid, dtype=bool) & (mine >= STILL_SPREAD) & (mine > LEAD_RATIO * most)


def takes_turns(track: Any, speaker: Any, speech: list[tuple[float, float]]) -> bool:
    """Whether a face and the measured ``speaker`` talk in turns: each leads the other's
    mouth movement under speech (:func:`_leads`) for at least :data:`MIN_TURN_S`. A
    listener who nods while the speaker talks leads nowhere under speech; a face in a
    single-speaker video never leads the speaker."""
    def lead_s(a: Any, b: Any) -> float:
        return float(_leads(a, [b], speech).sum()) * frame_step(np.asarray(a.times, dtype=np.float64))

    return bool(speech) and lead_s(track, speaker) >= MIN_TURN_S and lead_s(speaker, track) >= MIN_TURN_S


def talk_spans(track: Any, others: list[Any], speech: list[tuple[float, float]]) -> list[list[float]]:
    """Where a face talks, as [start, end] seconds: the frames where it leads ``others``
    (:func:`_leads`), pauses between words bridged (:func:`_spans`)."""
    return _spans(np.asarray(track.times, dtype=np.float64), _leads(track, others, speech))


def _spans(t: np.ndarray, lead: np.ndarray, bridge_s: float = 1.0) -> list[list[float]]:
    """The runs of ``lead`` over frame times ``t`` as [start, end] seconds, gaps under
    ``bridge_s`` bridged, spans under half a second dropped."""
    if t.size < 2:
        return []
    frame = frame_step(t)
    spans: list[list[float]] = []
    for a, b in true_runs(lead).tolist():
        t0, t1 = float(t[a]), float(t[b - 1]) + frame
        if spans and t0 - spans[-1][1] < bridge_s:
            spans[-1][1] = t1
        else:
            spans.append([t0, t1])
    return [[round(a, 2), round(b, 2)] for a, b in spans if b - a >= 0.5]


def _rows(reports: list[SyncReport], faces: list[int], among: list[int], tracks: list[Any],
          speech: list[tuple[float, float]]) -> tuple[list[dict[str, Any]], dict[int, np.ndarray]]:
    """Each of ``faces``' delay, confidence and talking spans (where it leads the others of
    ``among``), and the lead masks they came from (per face, on its own frame times)."""
    leads = {i: _leads(tracks[i], [tracks[k] for k in among if k != i], speech) for i in faces}
    rows = [{"face": i,
             "audio_delay_ms": None if reports[i].audio_delay_ms is None else round(reports[i].audio_delay_ms, 1),
             "confidence": round(reports[i].confidence, 3),
             "talks": _spans(np.asarray(tracks[i].times, dtype=np.float64), leads[i])} for i in faces]
    return rows, leads


def _when(talks: list[list[float]]) -> str:
    """A speaker's talking spans as words, the first three."""
    return ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in talks[:3]) + (", ..." if len(talks) > 3 else "")


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
    read from the speaker who talks most in it, speech over a still mouth only where every
    speaker is still, the verdict and findings judged again on those windows, each
    speaker's delay and turns in ``details["turns"]``, and a finding that names them."""
    top = reports[best]
    frame_ms = 1000.0 / top.fps if top.fps else 40.0
    # each window is read from the face that talks most in it (leads the others' mouths
    # under speech), not the most confident: a listener who sways is not still, and its
    # window over another's turn read +520 ms at 0.82 where the talker read -23 ms
    turns, leads = _rows(reports, talking, talking, tracks, speech)
    lead_times = {i: np.asarray(tracks[i].times) for i in talking}

    def talk_in(i: int, a: float, b: float) -> int:
        return int((leads[i] & (lead_times[i] >= a) & (lead_times[i] < b)).sum())

    windows: list[WindowEstimate] = []
    for j, w in enumerate(top.windows):
        same = [(i, reports[i].windows[j]) for i in talking
                if len(reports[i].windows) == len(top.windows)
                and abs(reports[i].windows[j].start_s - w.start_s) < 1e-3 and reports[i].windows[j].audio_delay_ms is not None]
        windows.append(max(same, key=lambda x: (talk_in(x[0], w.start_s, w.end_s), x[1].confidence))[1] if same else w)
    still = reduce(lambda a, b: common_still(a, b, speech), [reports[i].still for i in talking])
    # every turn judged at its speaker's own delay (a turn of a few seconds holds a window
    # or two, too few for a section of windows)
    spans = [WindowEstimate(a, b, reports[t["face"]].audio_delay_ms, reports[t["face"]].confidence,
                            reports[t["face"]].confidence < LOW_CONFIDENCE)
             for t in turns for a, b in t["talks"]]
    findings, verdict = judge_report(top.audio_delay_ms, top.confidence, "", top.drift, windows, standard, frame_ms,
                                     shots=top.shots, snap_s=hop_s, steps=top.steps,
                                     turns=sorted(spans, key=lambda x: x.start_s))
    findings += still_findings(still, float(top.details.get("speech_s") or 0.0))
    said = ", ".join(f"face {t['face']} {t['audio_delay_ms']:+.0f} ms" + (f" ({_when(t['talks'])})" if t["talks"] else "")
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


def unsure_speakers(rep: SyncReport, reports: list[SyncReport], faces: list[int], talking: list[int],
                    tracks: list[Any], speech: list[tuple[float, float]]) -> SyncReport:
    """``rep`` with ``faces`` named: each talks in turns with the measured speaker
    (:func:`takes_turns`), but reads too unsure to count as a speaker (``talking``: those
    who do).
    Their turns are the spans ``check`` could not judge; ``sources.settled`` sends such a
    report on to more phone sources (in a 2x2 gallery taking turns, one allphone pass read
    a speaker's 4.8 s turn at the right delay at confidence 0.00; every source read it at 0.49)."""
    rows, _ = _rows(reports, faces, [*talking, *faces], tracks, speech)
    said = ", ".join(f"face {r['face']} ({_when(r['talks'])}; confidence {r['confidence']:.2f})" for r in rows)
    note = Finding(
        "sync.speakers", Severity.INFO,
        f"{'a face talks' if len(rows) == 1 else 'faces talk'} in turns with the speaker, read too unsure to count "
        f"as {'a speaker' if len(rows) == 1 else 'speakers'}: {said}; "
        "those turns are not judged",
        advice="crop to that face and check it on its own, or give the words (--transcript) to help the reading")
    return dataclasses.replace(rep, findings=[*rep.findings, note], details={**rep.details, "unsure_speakers": rows})
