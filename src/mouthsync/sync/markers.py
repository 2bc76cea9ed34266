"""``check --markers``: what ``check`` found, placed on the clip's timeline for an editor.

Why: on a long interview the report's figures say *that* a stretch is off; an editor then
has to find it. Markers land on the timeline of the tool they already use, where they can
jump from one to the next and look:

* ``.edl``: CMX 3600 events carrying DaVinci Resolve's marker line (``note |C:colour
  |M:name |D:frames``: Resolve reads the text before the first ``|`` as the marker's
  note), read by its "Import Timeline Markers from EDL" (and by tools that convert
  marker EDLs for other editors). Record timecodes start at the picture's own
  timecode, or at ``01:00:00:00`` (the usual first frame of a timeline) without one, or
  where ``start`` says.
* ``.csv``: one row per marker (seconds and timecode, kind, delay, confidence, text), for
  a spreadsheet or a script.
* ``.srt`` / ``.vtt``: a subtitle track to play beside the clip in any player: for every
  stretch, the delay its window reads, and on a second line the marker that covers it
  (an out-of-tolerance section, a step, a still mouth). Watching with it shows whether
  what is measured is what is seen.

What becomes a marker (all from the report's JSON document, so a saved ``check --json``
gives the same markers): the whole file's verdict at the first frame; the sections a
viewer will notice (``verdict.sections``, red when out of tolerance, yellow when only
detectable); steps inside a take; in an edit, each shot that reads more than a frame from
the whole file; stretches of uncertain windows, with why; speech over a still mouth.

Times: seconds from the first frame of the picture (``origin_s``: the report's times are
on the media's presentation clock, which can start later than 0).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from mouthsync.core.atomic import write_text_atomic
from mouthsync.core.errors import BadInput
from mouthsync.media.timecode import counting_rate, timecode_label, timecode_seconds

MARKER_FORMATS = (".edl", ".csv", ".srt", ".vtt")
# Where a timeline's first frame usually sits, for a picture without its own timecode.
DEFAULT_START = "01:00:00:00"
# A marker at one moment is shown this long in a subtitle track.
POINT_SHOW_S = 2.0
# The whole file's verdict is shown this long at the start of a subtitle track.
HEAD_SHOW_S = 4.0

# Resolve's marker colours by what a marker says
_COLOURS = {
    "file": "ResolveColorGreen", "out_of_sync": "ResolveColorRed", "detectable": "ResolveColorYellow",
    "step": "ResolveColorPurple", "shot": "ResolveColorFuchsia", "uncertain": "ResolveColorBlue",
    "still": "ResolveColorCyan",
}


@dataclass(frozen=True)
class Marker:
    """One place on the timeline: ``start_s`` to ``end_s`` (equal for a moment), in
    seconds of the report's clock; ``kind`` one of :data:`_COLOURS`' keys."""

    start_s: float
    end_s: float
    kind: str
    text: str
    audio_delay_ms: float | None = None
    confidence: float | None = None
    name: str = ""  # a short name; else one made from the kind and the delay

    @property
    def colour(self) -> str:
        return _COLOURS[self.kind]

    @property
    def label(self) -> str:
        """A few words for the marker's name in an editor's marker list."""
        if self.name:
            return self.name
        d = "" if self.audio_delay_ms is None else f" {self.audio_delay_ms:+.0f} ms"
        return {"out_of_sync": "out of sync", "detectable": "detectable", "step": "step to", "shot": "shot",
                "uncertain": "uncertain", "still": "still mouth", "file": "in sync"}[self.kind] + d


def _frames(ms: float, fps: float) -> str:
    return f"{ms * fps / 1000.0:+.1f} f"


def _delay_words(ms: float | None, fps: float) -> str:
    if ms is None:
        return "not measured"
    return f"{ms:+.0f} ms ({_frames(ms, fps)})"


def file_marker(d: dict[str, Any]) -> Marker:
    """The whole file's delay and verdict, at its first frame."""
    v = d["verdict"]
    status = str(v.get("status", "unknown"))
    kind = {"out_of_sync": "out_of_sync", "detectable": "detectable", "in_sync": "file"}.get(status, "uncertain")
    said = status.replace("_", " ")
    why = f" ({v['reason']})" if v.get("reason") else ""
    drift = d.get("drift") or {}
    drifting = f", drifting {drift['ms_per_min']:+.1f} ms/min" if drift.get("kind") == "drift" else ""
    text = (f"mouthsync, whole file: sound {_delay_words(d['audio_delay_ms'], d['fps'])}{drifting}, conf "
            f"{d['confidence']:.2f}: {said} against {v.get('standard_name', v.get('standard', ''))}{why}")
    start = d["windows"][0]["start_s"] if d.get("windows") else 0.0
    head = "mouthsync" + ("" if d["audio_delay_ms"] is None else f" {d['audio_delay_ms']:+.0f} ms") + f" {said}"
    return Marker(start, start, kind, text, d["audio_delay_ms"], d["confidence"], name=head)


def _away(delay_ms: float | None, mid_s: float, d: dict[str, Any]) -> bool:
    """Whether ``delay_ms`` at ``mid_s`` reads more than a frame from the whole file (its
    drift line when it drifts)."""
    if delay_ms is None or d["audio_delay_ms"] is None or not d.get("fps"):
        return False
    want = d["audio_delay_ms"]
    dr = d.get("drift") or {}
    at = (d.get("details") or {}).get("delay_at_s")
    if dr.get("kind") == "drift" and dr.get("ms_per_min") is not None and at is not None:
        want += dr["ms_per_min"] / 60.0 * (mid_s - at)
    return abs(delay_ms - want) > 1000.0 / d["fps"]


def _uncertain_runs(windows: list[dict[str, Any]]) -> list[tuple[float, float, str]]:
    """Stretches covered only by uncertain windows (a confident window's span cuts them),
    each with the most frequent reason among its windows (the first of equals)."""
    sure = [(w["start_s"], w["end_s"]) for w in windows if not w["uncertain"] and w["audio_delay_ms"] is not None]
    runs: list[list[Any]] = []
    for w in windows:
        if not w["uncertain"] and w["audio_delay_ms"] is not None:
            continue
        a, b = w["start_s"], w["end_s"]
        for s0, s1 in sure:  # the parts a confident window already measures are not uncertain
            if s0 <= a < s1:
                a = s1
            if s0 < b <= s1:
                b = s0
        if b - a < 0.5:
            continue
        if runs and a <= runs[-1][1] + 1e-6:
            runs[-1][1] = max(runs[-1][1], b)
            runs[-1][2].append(w.get("note") or "")
        else:
            runs.append([a, b, [w.get("note") or ""]])
    out = []
    for a, b, notes in runs:
        named = [n for n in notes if n]
        out.append((a, b, max(named, key=named.count) if named else "mouth and speech agree weakly"))
    return out


def report_markers(d: dict[str, Any]) -> list[Marker]:
    """Every marker of the ``check --json`` document ``d``, in time order (the file's own
    first)."""
    fps = float(d.get("fps") or 25.0)
    out: list[Marker] = []
    for sec in (d.get("verdict") or {}).get("sections", []):
        bad = sec["status"] == "out_of_sync"
        what = "out of tolerance" if bad else "detectable"
        shot = " (a shot)" if sec.get("shot") else ""
        out.append(Marker(sec["start_s"], sec["end_s"], sec["status"],
                          f"sound {_delay_words(sec['audio_delay_ms'], fps)}{shot}: {what}", sec["audio_delay_ms"]))
    for st in d.get("steps") or []:
        if st.get("at_cut"):
            continue  # the shots say it
        out.append(Marker(st["at_s"], st["at_s"], "step",
                          f"delay steps {st['before_ms']:+.0f} -> {st['after_ms']:+.0f} ms ({_frames(st['step_ms'], fps)}): "
                          "sound dropped or inserted, or an audio edit", st["after_ms"]))
    shots = d.get("shots") or []
    if len(shots) > 1:
        for sh in shots:
            mid = 0.5 * (sh["start_s"] + sh["end_s"])
            if sh["uncertain"] or not _away(sh["audio_delay_ms"], mid, d):
                continue
            if any(m.start_s <= mid <= m.end_s and m.kind in ("out_of_sync", "detectable") for m in out):
                continue  # a section already marks it
            out.append(Marker(sh["start_s"], sh["end_s"], "shot",
                              f"shot reads sound {_delay_words(sh['audio_delay_ms'], fps)}, the whole file "
                              f"{_delay_words(d['audio_delay_ms'], fps)}", sh["audio_delay_ms"], sh["confidence"]))
    if len(d.get("windows") or []) > 1:
        for a, b, why in _uncertain_runs(d["windows"]):
            out.append(Marker(a, b, "uncertain", f"not measured here: {why}"))
    for sp in d.get("still_mouth") or []:
        out.append(Marker(sp["start_s"], sp["end_s"], "still",
                          f"speech over a still mouth ({sp['what']}?): left out of the measurement"))
    out.sort(key=lambda m: (m.start_s, m.end_s))
    return [file_marker(d)] + out


@dataclass(frozen=True)
class Clock:
    """How report seconds become timeline positions: ``origin_s`` is the first frame's
    time (position 0), ``start_label`` the timecode of that frame and ``rate`` the rate
    timecode counts in."""

    origin_s: float
    start_label: str
    rate: Fraction

    @property
    def drop(self) -> bool:
        return ";" in self.start_label or "," in self.start_label

    def label(self, t: float, later_frames: int = 0) -> str:
        """The timecode of the frame shown at report time ``t`` (not before the first), or
        of the frame ``later_frames`` after it."""
        day = timecode_seconds(self.start_label, self.rate) + max(0.0, t - self.origin_s) + later_frames / self.rate
        return timecode_label(day, self.rate, drop=self.drop)

    def frames(self, a: float, b: float) -> int:
        """Whole frames from ``a`` to ``b`` (at least one)."""
        return max(1, int(round((b - a) * float(self.rate))))


def make_clock(fps: float, origin_s: float = 0.0, timecode: tuple[str, Fraction] | None = None,
               start: str | None = None) -> Clock:
    """The clock of a picture at ``fps`` whose first frame is at ``origin_s``: its own
    ``timecode`` (label, counting rate) unless ``start`` names one; else :data:`DEFAULT_START`.
    A ``start`` that is no timecode at that rate is bad input."""
    rate = timecode[1] if timecode else counting_rate([Fraction(fps).limit_denominator(1001)])
    label = start or (timecode[0] if timecode else DEFAULT_START)
    try:
        timecode_seconds(label, rate)
    except BadInput as exc:
        raise BadInput(f"--markers-start: {exc}") from None
    return Clock(origin_s, label, rate)


def _one_line(text: str) -> str:
    """Marker text safe inside an EDL comment (Resolve splits fields at ``|``)."""
    return " ".join(text.replace("|", "/").split())


def edl_text(markers: list[Marker], clock: Clock, title: str) -> str:
    """CMX 3600 events, one per marker, each with Resolve's marker line: the note (the
    text before the first ``|``), then colour, name and duration in frames."""
    lines = [f"TITLE: {_one_line(title)[:70]}", f"FCM: {'DROP FRAME' if clock.drop else 'NON-DROP FRAME'}", ""]
    for n, m in enumerate(markers, start=1):
        a = clock.label(m.start_s)
        b = clock.label(m.start_s, later_frames=1)
        lines.append(f"{n:03d}  001      V     C        {a} {b} {a} {b}  ")
        dur = clock.frames(m.start_s, m.end_s) if m.end_s > m.start_s else 1
        lines.append(f"{_one_line(m.text)} |C:{m.colour} |M:{_one_line(m.label)} |D:{dur}")
        lines.append("")
    return "\r\n".join(lines)


def csv_text(markers: list[Marker], clock: Clock) -> str:
    """One row per marker: times from the first frame and as timecode, kind, colour, delay,
    confidence, text."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["start_s", "end_s", "start_tc", "end_tc", "kind", "colour", "audio_delay_ms", "confidence", "name", "text"])
    for m in markers:
        w.writerow([f"{max(0.0, m.start_s - clock.origin_s):.3f}", f"{max(0.0, m.end_s - clock.origin_s):.3f}",
                    clock.label(m.start_s), clock.label(m.end_s), m.kind, m.colour.removeprefix("ResolveColor").lower(),
                    "" if m.audio_delay_ms is None else f"{m.audio_delay_ms:.1f}",
                    "" if m.confidence is None else f"{m.confidence:.3f}", m.label, m.text])
    return buf.getvalue()


def _window_line(w: dict[str, Any], fps: float) -> str:
    if w["audio_delay_ms"] is None:
        return "here: not measured"
    flag = " (uncertain)" if w["uncertain"] else ""
    return f"here: sound {_delay_words(w['audio_delay_ms'], fps)}, conf {w['confidence']:.2f}{flag}"


def cues(d: dict[str, Any], markers: list[Marker]) -> list[tuple[float, float, list[str]]]:
    """Subtitle cues that follow each other without overlap: each stretch shows the delay
    read by the window centred nearest it, and under it what the markers say there (the
    whole file's verdict for the first seconds, a moment's marker for a few seconds). A file
    measured as one window shows its verdict throughout instead of the window's figure."""
    windows = d.get("windows") or []
    if not windows:
        return []
    fps = float(d.get("fps") or 25.0)
    t0, t_end = windows[0]["start_s"], max(w["end_s"] for w in windows)
    one = len(windows) == 1
    centres = [0.5 * (w["start_s"] + w["end_s"]) for w in windows]
    head_s = t_end - t0 if one else HEAD_SHOW_S
    shown = [(m.start_s, max(m.end_s, m.start_s + (head_s if k == 0 else POINT_SHOW_S)), m.text)
             for k, m in enumerate(markers)]
    bounds = {t0, t_end}
    bounds.update(0.5 * (a + b) for a, b in zip(centres, centres[1:], strict=False))
    bounds.update(x for a, b, _ in shown for x in (a, b) if t0 < x < t_end)
    edges = sorted(bounds)
    out: list[tuple[float, float, list[str]]] = []
    for a, b in zip(edges, edges[1:], strict=False):
        if b - a < 0.05:
            continue
        mid = 0.5 * (a + b)
        w = windows[min(range(len(windows)), key=lambda i: abs(centres[i] - mid))]
        lines = ([] if one else [_window_line(w, fps)]) + [text for s0, s1, text in shown if s0 <= mid < s1]
        if out and out[-1][2] == lines and abs(out[-1][1] - a) < 1e-6:
            out[-1] = (out[-1][0], b, lines)
        elif lines:
            out.append((a, b, lines))
    return out


def _stamp(t: float, sep: str) -> str:
    ms = int(round(max(0.0, t) * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def srt_text(d: dict[str, Any], markers: list[Marker], clock: Clock) -> str:
    """SubRip cues (times from the first frame)."""
    parts = []
    for n, (a, b, lines) in enumerate(cues(d, markers), start=1):
        a, b = a - clock.origin_s, b - clock.origin_s
        parts.append(f"{n}\n{_stamp(a, ',')} --> {_stamp(b, ',')}\n" + "\n".join(lines) + "\n")
    return "\n".join(parts)


def vtt_text(d: dict[str, Any], markers: list[Marker], clock: Clock) -> str:
    """WebVTT cues (times from the first frame)."""
    parts = ["WEBVTT\n"]
    for a, b, lines in cues(d, markers):
        a, b = a - clock.origin_s, b - clock.origin_s
        text = "\n".join(x.replace("-->", "->") for x in lines)
        parts.append(f"{_stamp(a, '.')} --> {_stamp(b, '.')}\n{text}\n")
    return "\n".join(parts)


def marker_format(out: str | os.PathLike[str]) -> str:
    """The format ``out``'s suffix names; bad input for any other suffix (before the work)."""
    suffix = Path(out).suffix.lower()
    if suffix not in MARKER_FORMATS:
        raise BadInput(f"--markers {out}: the suffix names the format: {', '.join(MARKER_FORMATS)}")
    return suffix


def markers_text(d: dict[str, Any], fmt: str, clock: Clock) -> str:
    """The markers of the ``check --json`` document ``d`` in format ``fmt`` (a suffix)."""
    markers = report_markers(d)
    if fmt == ".edl":
        return edl_text(markers, clock, f"mouthsync check {Path(str(d.get('source') or 'clip')).name}")
    if fmt == ".csv":
        return csv_text(markers, clock)
    if fmt == ".srt":
        return srt_text(d, markers, clock)
    return vtt_text(d, markers, clock)


def write_markers(d: dict[str, Any], out: str | os.PathLike[str], clock: Clock, inputs: tuple[str, ...] = ()) -> Path:
    """Write the markers of ``d`` atomically in the format ``out``'s suffix names."""
    return write_text_atomic(out, markers_text(d, marker_format(out), clock), inputs)
