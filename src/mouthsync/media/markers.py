"""Timeline markers and review subtitles: places on a clip's timeline written in the
formats editors and players read (``check --markers``, ``facecheck --markers``).

Why: a report says *that* a stretch is off or will hurt; an editor then has to find it.
Markers land on the timeline of the tool already in use, where one can jump from one to the
next and look:

* ``.edl``: CMX 3600 events, each carrying DaVinci Resolve's marker line (``note
  |C:ResolveColor<colour> |M:name |D:frames``; Resolve reads the text before the first
  ``|`` as the marker's note), read by its "Import Timeline Markers from EDL" (and by tools
  that convert marker EDLs for other editors). Record timecodes start at the picture's own
  timecode, else at :data:`DEFAULT_START`, or where the user says.
* ``.csv``: one row per marker (seconds from the first frame and timecode, kind, colour,
  name, text and the report's own columns), for a spreadsheet or a script.
* ``.srt`` / ``.vtt``: cues one after another, to play beside the clip in any player.

What the markers are is the report's business (``sync.markers``, ``face.footage_markers``);
this module knows timecode and file formats only. Times are seconds on the media's
presentation clock; :class:`Clock` puts the picture's first frame at position 0.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable
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
# A marker at one moment is shown this long in a subtitle track, the first marker (what the
# report says of the whole clip) for HEAD_SHOW_S.
POINT_SHOW_S = 2.0
HEAD_SHOW_S = 4.0
# Resolve's marker colours (``ResolveColor`` + the name)
COLOURS = ("Blue", "Cyan", "Green", "Yellow", "Red", "Pink", "Purple", "Fuchsia", "Rose", "Lavender", "Sky",
           "Mint", "Lemon", "Sand", "Cocoa", "Cream")

Cue = tuple[float, float, list[str]]


@dataclass(frozen=True)
class Marker:
    """One place on the timeline: ``start_s`` to ``end_s`` (equal for a moment) on the
    media's clock; ``colour`` one of :data:`COLOURS`; ``name`` a few words for a marker
    list, ``text`` the whole note; ``columns`` the report's own figures for the CSV."""

    start_s: float
    end_s: float
    kind: str
    colour: str
    name: str
    text: str
    columns: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.colour not in COLOURS:
            raise ValueError(f"not a Resolve marker colour: {self.colour!r}")


@dataclass(frozen=True)
class Clock:
    """How media seconds become timeline positions: ``origin_s`` is the first frame's time
    (position 0), ``start_label`` the timecode of that frame and ``rate`` the rate the
    timecode counts in."""

    origin_s: float
    start_label: str
    rate: Fraction

    @property
    def drop(self) -> bool:
        return ";" in self.start_label or "," in self.start_label

    def label(self, t: float, later_frames: int = 0) -> str:
        """The timecode of the frame shown at media time ``t`` (not before the first), or
        of the frame ``later_frames`` after it."""
        day = timecode_seconds(self.start_label, self.rate) + max(0.0, t - self.origin_s) + later_frames / self.rate
        return timecode_label(day, self.rate, drop=self.drop)

    def frames(self, a: float, b: float) -> int:
        """Whole frames from ``a`` to ``b`` (at least one)."""
        return max(1, int(round((b - a) * float(self.rate))))


def make_clock(fps: float, origin_s: float = 0.0, timecode: tuple[str, Fraction] | None = None,
               start: str | None = None) -> Clock:
    """The clock of a picture at ``fps`` whose first frame is at ``origin_s``: labelled from
    ``start`` when given, else from its own ``timecode`` (label, counting rate), else from
    :data:`DEFAULT_START`. A ``start`` that is no timecode at that rate is bad input; a
    file's own tag that is none is passed over (the user did not write it)."""
    rate = timecode[1] if timecode else counting_rate([Fraction(fps).limit_denominator(1001)])
    if start is not None:
        try:
            timecode_seconds(start, rate)
        except BadInput as exc:
            raise BadInput(f"--markers-start: {exc}") from None
        return Clock(origin_s, start, rate)
    if timecode is not None:
        try:
            timecode_seconds(timecode[0], rate)
            return Clock(origin_s, timecode[0], rate)
        except BadInput:
            pass
    return Clock(origin_s, DEFAULT_START, rate)


def picture_clock(path: str | os.PathLike[str], start: str | None = None) -> Clock:
    """The clock of ``path``'s picture: its first frame, its frame rate, its own timecode
    (see :func:`make_clock`)."""
    from mouthsync.media.decode import frame_times, rate_of
    from mouthsync.media.timecode import picture_timecode

    times = frame_times(path)
    return make_clock(rate_of(times) or 25.0, float(times[0]) if times.size else 0.0, picture_timecode(path), start)


def check_options(markers: str | os.PathLike[str] | None, start: str | None, *, folder: bool = False) -> None:
    """Bad input before any work for ``--markers`` / ``--markers-start`` that cannot be
    used: a suffix that names no format (unless ``markers`` is a folder, for several
    files), a start without markers, a start that is no timecode at all (its frames are
    judged at the clip's rate once the clip is read)."""
    if markers is None and start is not None:
        raise BadInput("--markers-start goes with --markers")
    if markers is not None and not folder:
        marker_format(markers)
    if start is not None:
        timecode_seconds(start, 120)


def _one_line(text: str) -> str:
    """Text safe on a marker line (Resolve splits it at ``|``)."""
    return " ".join(text.replace("|", "/").split())


def edl_text(markers: list[Marker], clock: Clock, title: str) -> str:
    """CMX 3600 events, one per marker, each with Resolve's marker line."""
    lines = [f"TITLE: {_one_line(title)[:70]}", f"FCM: {'DROP FRAME' if clock.drop else 'NON-DROP FRAME'}", ""]
    for n, m in enumerate(markers, start=1):
        a, b = clock.label(m.start_s), clock.label(m.start_s, later_frames=1)
        lines.append(f"{n:03d}  001      V     C        {a} {b} {a} {b}  ")
        dur = clock.frames(m.start_s, m.end_s) if m.end_s > m.start_s else 1
        lines.append(f"{_one_line(m.text)} |C:ResolveColor{m.colour} |M:{_one_line(m.name)} |D:{dur}")
        lines.append("")
    return "\r\n".join(lines)


def csv_text(markers: list[Marker], clock: Clock) -> str:
    """One row per marker: times from the first frame and as timecode, kind, colour, name,
    the report's columns (the union, in the order first seen), text."""
    extra: list[str] = []
    for m in markers:
        extra += [k for k, _ in m.columns if k not in extra]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["start_s", "end_s", "start_tc", "end_tc", "kind", "colour", "name", *extra, "text"])
    for m in markers:
        cols = dict(m.columns)
        w.writerow([f"{max(0.0, m.start_s - clock.origin_s):.3f}", f"{max(0.0, m.end_s - clock.origin_s):.3f}",
                    clock.label(m.start_s), clock.label(m.end_s), m.kind, m.colour.lower(), m.name,
                    *("" if cols.get(k) is None else cols[k] for k in extra), m.text])
    return buf.getvalue()


def layered_cues(markers: list[Marker], t0: float, t_end: float, *, head_s: float = HEAD_SHOW_S,
                 base: Callable[[float], str | None] | None = None, bounds: Iterable[float] = ()) -> list[Cue]:
    """Subtitle cues that follow each other without overlap from ``t0`` to ``t_end``: each
    stretch shows ``base(middle)`` (when given) and under it the text of every marker that
    covers it: a marker over a span that span, one at a moment :data:`POINT_SHOW_S` from it,
    the first marker (the whole clip's) ``head_s``. ``bounds``: more places where the base
    line may change. Stretches with nothing to say are left out."""
    shown = [(m.start_s, m.end_s if m.end_s > m.start_s else m.start_s + (head_s if k == 0 else POINT_SHOW_S), m.text)
             for k, m in enumerate(markers)]
    edges = sorted({t0, t_end, *(x for x in bounds if t0 < x < t_end),
                    *(x for a, b, _ in shown for x in (a, b) if t0 < x < t_end)})
    out: list[Cue] = []
    for a, b in zip(edges, edges[1:], strict=False):
        if b - a < 0.05:
            continue
        mid = 0.5 * (a + b)
        first = base(mid) if base is not None else None
        lines = ([first] if first else []) + [text for s0, s1, text in shown if s0 <= mid < s1]
        if out and out[-1][2] == lines and out[-1][1] >= a - 0.05:
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


def srt_text(cues: list[Cue], origin_s: float = 0.0) -> str:
    """SubRip cues, timed from the first frame at ``origin_s``."""
    return "\n".join(f"{n}\n{_stamp(a - origin_s, ',')} --> {_stamp(b - origin_s, ',')}\n" + "\n".join(lines) + "\n"
                     for n, (a, b, lines) in enumerate(cues, start=1))


def vtt_text(cues: list[Cue], origin_s: float = 0.0) -> str:
    """WebVTT cues, timed from the first frame at ``origin_s``."""
    parts = ["WEBVTT\n"]
    for a, b, lines in cues:
        text = "\n".join(x.replace("-->", "->") for x in lines)
        parts.append(f"{_stamp(a - origin_s, '.')} --> {_stamp(b - origin_s, '.')}\n{text}\n")
    return "\n".join(parts)


def marker_format(out: str | os.PathLike[str]) -> str:
    """The format ``out``'s suffix names; bad input for any other suffix (before the work)."""
    suffix = Path(out).suffix.lower()
    if suffix not in MARKER_FORMATS:
        raise BadInput(f"--markers {out}: the suffix names the format: {', '.join(MARKER_FORMATS)}")
    return suffix


def markers_document(markers: list[Marker], cues: list[Cue], fmt: str, clock: Clock, title: str) -> str:
    """``markers`` (EDL, CSV) or ``cues`` (SRT, WebVTT) in the format ``fmt`` (a suffix)."""
    if fmt == ".edl":
        return edl_text(markers, clock, title)
    if fmt == ".csv":
        return csv_text(markers, clock)
    if fmt == ".srt":
        return srt_text(cues, clock.origin_s)
    return vtt_text(cues, clock.origin_s)


def write_markers(out: str | os.PathLike[str], text: str, inputs: tuple[str, ...] = ()) -> Path:
    """Write a markers document atomically."""
    return write_text_atomic(out, text, inputs)
