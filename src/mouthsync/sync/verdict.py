"""``check``'s verdict: the whole file's delay judged against a broadcast standard, with
the drift, and the sections of the file that read worse than the whole.

Apart from the measurement (:mod:`mouthsync.sync.delay`) because it is a decision on
measured numbers, and the thresholds users are held to live here together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mouthsync.core.findings import Finding, Severity
from mouthsync.face.mouth import SMALL_FACE_PX
from mouthsync.media.echo import NAMED_DECAY_S
from mouthsync.sync.drift import DriftFit
from mouthsync.sync.standards import get_standard, judge
from mouthsync.sync.steps import inside_takes

if TYPE_CHECKING:
    from mouthsync.face.coding import MouthCoding
    from mouthsync.sync.report import WindowEstimate

# Below this confidence a delay is a guess: the verdict is "uncertain" and ``fix --delay
# auto`` refuses (the reliability table of docs/sync.md).
LOW_CONFIDENCE = 0.3
# Why a span that would read confidently is not: its lips were coded too coarsely to trust
# (:func:`picture_weight`).
PICTURE_NOTE = "the lips are too heavily compressed to read"


#: Lossy sound coded below this many bits per second (all channels) has lost enough of
#: its speech sounds to explain a low confidence (docs/sync.md, "Degraded sound").
LOW_CODED_BPS = 48000
_LOSSLESS = ("pcm_", "flac", "alac", "wavpack", "tta", "truehd", "mlp", "ape")


def coding_finding(codec: str, coded_bps: float | None, conf: float) -> Finding | None:
    """Why a confidence is low when the sound was coded sparsely: a finding, else None.

    Why: the low-confidence advice asks whether the visible face is the speaker, but on
    talking heads whose face plainly speaks, low-rate coding alone read confidence 0.02
    (retalking_face2, face3: MP3 at 32 kbit/s, against 0.76 and 0.45 as they are) and
    0.19 (face2, Opus at 16 kbit/s); ``bench/real_footage.py`` prints the ladder. The line
    is where face2 stops reading as it is (MP3 64 kbit/s: 0.77; 48: 0.52); the fragile
    face3 already reads 0.17 at 64 kbit/s, which this does not name.
    """
    if conf >= LOW_CONFIDENCE or not codec or coded_bps is None or coded_bps >= LOW_CODED_BPS:
        return None
    if codec.startswith(_LOSSLESS):
        return None
    name = codec.removesuffix("float").upper()
    return Finding("sync.audio", Severity.WARNING,
                   f"the sound is {name} at {coded_bps / 1000:.0f} kbit/s: coding this sparse blurs the "
                   "speech sounds the measure reads, which lowers the confidence on its own",
                   advice="measure a better copy of the sound if there is one (check FILE --audio ORIGINAL)",
                   value=round(coded_bps / 1000.0, 1), threshold=LOW_CODED_BPS / 1000.0, unit="kbit/s")


def echo_finding(decay_s: float | None, conf: float) -> Finding | None:
    """Why a confidence is low when the sound rings in its room: a finding, else None.

    Why: a hall's echo (sox reverb, RT60 1.35 s) read confidence 0.00-0.24 on three of the
    four clips ``bench/real_footage.py`` echoes, against 0.22-0.76 dry, and put one of them
    600 ms off; the low-confidence advice alone asks whether the face is the speaker.
    ``decay_s``: ``media.echo.echo_decay`` of the measured sound.
    """
    if conf >= LOW_CONFIDENCE or decay_s is None or decay_s < NAMED_DECAY_S:
        return None
    return Finding("sync.echo", Severity.WARNING,
                   f"the sound is reverberant (speech takes about {decay_s:.1f} s to die away): the room's "
                   "ringing smears the speech sounds the measure reads, which lowers the confidence on its own",
                   advice="measure a close microphone's recording if there is one (check FILE --audio CLOSE.wav)",
                   value=decay_s, threshold=NAMED_DECAY_S, unit="s")


#: Share of the sound's samples at full scale from which clipping is named as a cause of a
#: low confidence: ``probe``'s warning line for clipping (``audio.clipping``).
CLIPPED_SHARE = 1e-3


def clipping_finding(clipped_share: float, conf: float) -> Finding | None:
    """Why a confidence is low when the sound was clipped: a finding, else None.

    Why: voxceleb_00067 raised 20 dB into hard clipping (a quarter of its samples at full
    scale, its noise floor raised with it to 4 dB under the speech) read +697 ms at
    confidence 0.00 against +42.7 at 0.94 as it is (``bench/real_footage.py``), and the
    advice asked whether the visible face was the speaker. Flattened tops turn every loud
    vowel into the same buzz and bury the quiet consonants the measure reads. ``clipped_share``:
    the share of samples at full scale (``media.audio_quality.clipping``).
    """
    if conf >= LOW_CONFIDENCE or clipped_share < CLIPPED_SHARE:
        return None
    return Finding("sync.clipping", Severity.WARNING,
                   f"{clipped_share:.1%} of the sound's samples sit at full scale: clipping flattens the speech "
                   "sounds the measure reads, which lowers the confidence on its own",
                   advice="measure an unclipped copy of the sound if there is one (check FILE --audio ORIGINAL)",
                   value=round(clipped_share, 5), threshold=CLIPPED_SHARE)


def small_face_finding(face_px: float | None, conf: float) -> Finding | None:
    """Why a confidence is low when the face is a few dozen pixels wide: a finding, else None.

    Why: a speaker in a wide shot. The shared clips' pictures scaled down into a 1080p
    frame (``docs/face.md``, "Smaller faces") read the delay within a frame down to faces
    of 30-40 px, but 5 of the 7 faces of 29-31 px at confidence 0.00 (two of them 0.6 s
    off), against 2 of 6 at 38-41 px and none of the faces of 66 px and more beyond what
    the clip reads as it is. The lips there are two or three pixels tall when open, and
    the advice otherwise asks whether the visible face is the speaker (``facecheck``
    flags the same spans, ``small_face``). ``face_px``: the median width of the face's
    landmark box; the line is :data:`~mouthsync.face.mouth.SMALL_FACE_PX`.
    """
    if conf >= LOW_CONFIDENCE or face_px is None or not np.isfinite(face_px) or face_px >= SMALL_FACE_PX:
        return None
    return Finding("sync.face_size", Severity.WARNING,
                   f"the face is about {face_px:.0f} px wide in the picture: its lips are a few pixels tall, too "
                   "few to time the mouth's movements, which lowers the confidence on its own",
                   advice="measure a closer shot or a higher-resolution copy of the picture if there is one",
                   value=round(float(face_px), 1), threshold=SMALL_FACE_PX, unit="px")


def picture_weight(coding: MouthCoding | None) -> float:
    """What is left of a confidence read from lips coded as ``coding`` says, 0-1.

    Why: above the quantiser where the lips' detail goes (``face.coding.heavy_qp``) the
    mouth measures the encoder's smear, and the agreement it reads can be confidently
    wrong: the shared clips coded again at CRF 51 read 16 of 126 shifted copies more than
    a frame off at confidence 0.67 (retalking_face1), and at half size at CRF 41, 12
    (``bench/compression.py``). The confidence falls linearly from the line to nothing at
    twice its quantiser step (6 QP further), where the copies' lip aperture no longer
    followed the original's (Pearson r -0.10 to 0.34 at CRF 51). 1 when not known (not
    H.264) or below the line.
    """
    if coding is None:
        return 1.0
    return float(np.clip(1.0 - coding.steps_over, 0.0, 1.0))


def picture_finding(coding: MouthCoding | None) -> Finding | None:
    """Why the confidence is held down when the lips were coded past reading, else None."""
    kept = picture_weight(coding)
    if coding is None or kept >= 1.0:
        return None
    held = "held to nothing" if kept <= 0.0 else f"held to {kept:.0%} of what the measure reads on each span"
    return Finding("sync.picture", Severity.WARNING,
                   f"the lips are heavily compressed (H.264 quantiser {coding.qp:.0f} over the mouth; for a face "
                   f"{coding.face_px:.0f} px wide their detail goes from about {coding.heavy:.0f}): the mouth "
                   f"measures the encoder's smear, so the confidence is {held}",
                   advice="measure a less compressed copy of the picture if there is one",
                   value=round(coding.qp, 1), threshold=round(coding.heavy, 1), unit="QP")


def judge_report(
    delay_ms: float | None,
    conf: float,
    note: str,
    drift: DriftFit,
    windows: list[WindowEstimate],
    standard: str,
    frame_ms: float,
    shots: list[WindowEstimate] | None = None,
    snap_s: float = 2.5,
    steps: list[Any] | None = None,
    turns: list[WindowEstimate] | None = None,
) -> tuple[list[Finding], dict[str, Any]]:
    """Findings and verdict for the whole file's delay ``delay_ms`` at confidence ``conf``
    (``note``: why the whole-file estimate is uncertain, if it is), its drift and windows.

    ``shots``: the per-shot estimates of an edit (picture cuts between them). A section's
    ends then move to the nearest cut within ``snap_s`` (the window hop): windows place a
    change only to within a window, the cut to the frame; a confident shot judged worse
    than the whole file is a section of its own where no window section covers it (a
    single 5 s shot holds too few windows); the advice points to ``fix --delay shots``.
    ``steps``: where the delay changes inside a take (:mod:`mouthsync.sync.steps`), each a
    finding; without picture cuts the advice points to ``fix --delay steps``.
    ``turns``: a meeting's speakers' turns, each at its speaker's own delay
    (:mod:`mouthsync.sync.turns`): like shots, a confident turn judged worse than the whole
    file is a section of its own where no window section covers it (a turn of a few
    seconds holds one window or two).
    """
    cuts = [sh.start_s for sh in (shots or [])[1:]]
    # steps inside shots (those at cuts, the shots say) want each part moved on its own
    inside = inside_takes(steps)
    part = "steps" if inside else "shots" if cuts else "turns" if turns else ""
    part_cmd = part and f"mouthsync fix FILE -o OUT --delay {part}"
    part_fix = part_cmd and part_cmd + _EACH_PART[part]
    findings: list[Finding] = []
    st = get_standard(standard)
    if delay_ms is None:
        reason = note or "no measurable agreement"
        verdict: dict[str, Any] = {
            "standard": st.key, "standard_name": st.name, "status": "unknown", "passes": None,
            "reason": reason,
        }
        findings.append(Finding("sync.delay", Severity.WARNING, f"cannot measure the delay: {reason}",
                                advice="check that the speaker's face is visible and the audio holds speech"))
        return findings, verdict
    verdict = judge(delay_ms, st)
    if conf < LOW_CONFIDENCE:
        reason = note or "mouth and speech agree weakly"
        verdict["status"] = "uncertain"
        verdict["passes"] = None
        verdict["reason"] = reason
        ask = ("measure a less compressed copy of the picture if there is one" if reason == PICTURE_NOTE
               else "is the visible face the one speaking?")
        findings.append(Finding("sync.confidence", Severity.WARNING,
                                f"low confidence ({conf:.2f}): {reason}", value=conf, threshold=LOW_CONFIDENCE,
                                advice=f"the delay figure is a guess; {ask}"))
    else:
        status = verdict["status"]
        direction = verdict["direction"]
        msg = f"audio delay {delay_ms:+.0f} ms ({delay_ms / frame_ms:+.1f} frames, {direction}) against {st.name}"
        # one shift would put the parts before a step off by the step, or the shots of an
        # edit that disagree off by their difference: move each part
        sure_shots = [sh for sh in shots or [] if not sh.uncertain and sh.audio_delay_ms is not None]
        sure = [sh.audio_delay_ms for sh in sure_shots]
        # a drift moves every shot along its line: only what is left off the line is theirs
        # (half an hour of a 1000/1001 drift has its shots read +1 to +1811 ms, all on it)
        drifting = drift.has_line
        own = [sh.audio_delay_ms - (drift.at(0.5 * (sh.start_s + sh.end_s)) if drifting else 0.0) for sh in sure_shots]
        if len(own) >= 2 and max(own) - min(own) > 2.0 * frame_ms:
            msg += f" (the shots read {min(sure):+.0f} to {max(sure):+.0f} ms)"
            how = part_cmd
        else:
            how = (part_cmd if inside else "mouthsync fix FILE -o OUT --drift auto" if drifting
                   else "mouthsync fix FILE -o OUT --delay auto")
        if status == "out_of_sync":
            findings.append(Finding("sync.delay", Severity.ERROR, msg + ": out of tolerance",
                                    value=delay_ms, threshold=verdict["limit_ms"], unit="ms", advice=how))
        elif status == "detectable":
            findings.append(Finding("sync.delay", Severity.WARNING, msg + ": detectable, still acceptable",
                                    value=delay_ms, threshold=verdict["limit_ms"], unit="ms", advice=how))
        else:
            findings.append(Finding("sync.delay", Severity.INFO, msg + ": within tolerance",
                                    value=delay_ms, threshold=verdict["limit_ms"], unit="ms"))
    if drift.kind == "drift" and drift.ms_per_min is not None:
        what = f" ({drift.interpretation})" if drift.interpretation else ""
        findings.append(Finding("sync.drift", Severity.WARNING,
                                f"delay drifts {drift.ms_per_min:+.1f} ms per minute{what}",
                                value=drift.ms_per_min, unit="ms/min",
                                advice="mouthsync fix FILE -o OUT --drift auto"))
    elif drift.kind == "steps" and not inside:
        # (steps found inside the take are each a finding below, with where and how much)
        findings.append(Finding("sync.steps", Severity.WARNING,
                                f"window delays disagree without a straight line (spread {drift.residual_ms:.0f} ms): an edit or cut with different sync on each side?",
                                value=drift.residual_ms, unit="ms",
                                advice=part_fix or "look at the per-window delays (--plot) and fix each part separately"))
    for sp in inside:
        where = ("where a block of digital silence starts: a dropout filled with zeros?" if sp.placed_by == "inserted silence"
                 else "in a pause" if sp.in_pause else "inside speech: no pause near the step")
        findings.append(Finding(
            "sync.step", Severity.WARNING,
            f"the delay steps from {sp.before_ms:+.0f} to {sp.after_ms:+.0f} ms at {sp.at_s:.2f} s "
            f"({(sp.after_ms - sp.before_ms) / frame_ms:+.1f} frames): sound dropped or inserted there, or an audio edit?",
            start_s=sp.at_s, value=sp.after_ms - sp.before_ms, unit="ms",
            advice=f"mouthsync fix FILE -o OUT --delay steps (switches at {sp.cut_s:.2f} s, {where})",
            extra=sp.to_dict()))
    sections = out_of_tolerance_sections(windows, st, verdict.get("status", "unknown"))
    if cuts:
        for sec in sections:
            sec["start_s"], a = _snap(sec["start_s"], cuts, snap_s)
            sec["end_s"], b = _snap(sec["end_s"], cuts, snap_s)
            sec["at_cuts"] = a or b
    for kind, parts in (("shot", shots), ("turn", turns)):
        if parts:
            sections = sorted(sections + _shot_sections(parts, sections, st, verdict.get("status", "unknown"), kind),
                              key=lambda x: x["start_s"])
    if sections:
        verdict["sections"] = sections
        worst = max(sections, key=lambda x: _RANK[x["status"]])
        if verdict["status"] in ("in_sync", "detectable") and _RANK[worst["status"]] > _RANK[verdict["status"]]:
            verdict["status"] = worst["status"]
            verdict["passes"] = worst["status"] != "out_of_sync"
            more = len(sections) - 1
            verdict["reason"] = (f"{worst['start_s']:.1f}-{worst['end_s']:.1f} s reads {worst['audio_delay_ms']:+.0f} ms"
                                 + (f", and {more} more section{'s' if more > 1 else ''}" if more else ""))
    for sec in sections:
        d = sec["audio_delay_ms"]
        bad = sec["status"] == "out_of_sync"
        findings.append(Finding(
            "sync.section", Severity.ERROR if bad else Severity.WARNING,
            f"{sec['start_s']:.1f}-{sec['end_s']:.1f} s: audio delay {d:+.0f} ms ({d / frame_ms:+.1f} frames) against "
            f"{st.name}: " + ("out of tolerance" if bad else "detectable"),
            start_s=sec["start_s"], end_s=sec["end_s"], value=d, unit="ms",
            advice="mouthsync fix FILE -o OUT --drift auto" if drift.kind == "drift"
            else part_fix or "fix that part on its own (cut there; mouthsync fix PART -o OUT --delay auto)"))
    for w in windows:
        if w.uncertain and len(windows) > 1 and w.note:
            findings.append(Finding("sync.window", Severity.INFO, w.note, start_s=w.start_s, end_s=w.end_s,
                                    value=w.confidence))
    return findings, verdict


def _shot_sections(
    shots: list[WindowEstimate], sections: list[dict[str, Any]], st: Any, whole_status: str, kind: str = "shot"
) -> list[dict[str, Any]]:
    """Confident shots (or a meeting's turns, ``kind="turn"``) judged worse than the whole
    file that no window section overlaps."""
    base = _RANK.get(whole_status, 0)
    out: list[dict[str, Any]] = []
    for sh in shots:
        if sh.uncertain or sh.audio_delay_ms is None:
            continue
        status = str(judge(sh.audio_delay_ms, st)["status"])
        if _RANK[status] <= base:
            continue
        if any(x["start_s"] < sh.end_s and sh.start_s < x["end_s"] for x in sections):
            continue
        out.append({"start_s": round(sh.start_s, 3), "end_s": round(sh.end_s, 3),
                    "audio_delay_ms": round(float(sh.audio_delay_ms), 1), "status": status,
                    "windows": 0, kind: True, "at_cuts": kind == "shot"})
    return out


def _snap(t: float, cuts: list[float], within_s: float) -> tuple[float, bool]:
    """``t`` moved to the nearest cut within ``within_s`` (and whether it moved)."""
    best = min(cuts, key=lambda c: abs(c - t))
    return (round(best, 3), True) if abs(best - t) <= within_s else (t, False)


_RANK = {"in_sync": 0, "detectable": 1, "out_of_sync": 2}
# What each ``fix --delay`` that moves parts of the sound on their own moves, for the advice.
_EACH_PART = {"steps": " (each part by its own delay)", "shots": " (each shot by its own delay)",
              "turns": " (each speaker's turns by their own delay)"}
# A section is this many confident windows at least (at the default 5 s windows every
# 2.5 s: 7.5 s of footage); one window alone may be a glitch of the measurement.
SECTION_MIN_WINDOWS = 2


def out_of_tolerance_sections(windows: list[WindowEstimate], st: Any, whole_status: str) -> list[dict[str, Any]]:
    """Runs of confident windows judged worse than the whole file (an edit whose middle is
    off, the late part of a drifting clip): where a viewer will notice, which the whole
    file's single figure hides.

    A run goes on across uncertain windows and ends at a confident window that is no
    worse than the whole file, or that is off the other way (sound early after late):
    its delay is the median of its windows, which must all lean one way.
    """
    base = _RANK.get(whole_status, 0)
    out: list[dict[str, Any]] = []
    run: list[tuple[WindowEstimate, str]] = []

    def close() -> None:
        if len(run) >= SECTION_MIN_WINDOWS:
            worst = max((s for _, s in run), key=lambda s: _RANK[s])
            out.append({
                "start_s": round(run[0][0].start_s, 3), "end_s": round(run[-1][0].end_s, 3),
                "audio_delay_ms": round(float(np.median([w.audio_delay_ms for w, _ in run])), 1),
                "status": worst, "windows": len(run),
            })
        run.clear()

    for w in windows:
        if w.uncertain or w.audio_delay_ms is None:
            continue
        status = str(judge(w.audio_delay_ms, st)["status"])
        if _RANK[status] > base:
            if run and (run[-1][0].audio_delay_ms >= 0) != (w.audio_delay_ms >= 0):
                close()
            run.append((w, status))
        else:
            close()
    close()
    return out
