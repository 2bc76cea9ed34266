"""Mouth-shape export compatible with Rhubarb Lip Sync (TSV, JSON, XML, Moho DAT).

2D animators already drive mouths with Rhubarb's nine shapes, and game engines, After
Effects scripts, Moho and Spine have importers for its output files. Writing the same
formats from our timeline lets them use mouthsync's phones unchanged.

Shapes (Rhubarb's names): A closed (P B M), B slightly open with clenched teeth (most
consonants, EE), C open (EH, AE), D wide open (AA), E slightly rounded (AO, ER), F puckered
(UW, OW, W), and the extended G (F/V: upper teeth on lower lip), H (L: tongue visible),
X (idle, rest). Without an extended shape the basic fallback Rhubarb uses is taken
(G->B, H->C, X->A).
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from mouthsync.audio.types import Phone

BASIC = "ABCDEF"
EXTENDED = "GHX"
FALLBACK = {"G": "B", "H": "C", "X": "A"}
FORMATS = ("tsv", "json", "xml", "dat")

PHONE_TO_SHAPE: dict[str, str] = {
    "P": "A", "B": "A", "M": "A",
    "F": "G", "V": "G",
    "L": "H",
    "AA": "D", "AW": "D", "AY": "D", "AE": "D",
    "AH": "C", "EH": "C", "EY": "C", "HH": "C",
    "AO": "E", "ER": "E", "OW": "E", "OY": "E", "UH": "E", "R": "E",
    "UW": "F", "W": "F",
    "IY": "B", "IH": "B", "Y": "B", "T": "B", "D": "B", "K": "B", "G": "B", "N": "B",
    "NG": "B", "S": "B", "Z": "B", "SH": "B", "ZH": "B", "CH": "B", "JH": "B", "TH": "B",
    "DH": "B",
    "SIL": "X",
}  # fmt: skip

# Preston Blair names Moho uses for the same shapes (Rhubarb's --datUsePrestonBlair).
PRESTON_BLAIR = {"A": "MBP", "B": "etc", "C": "E", "D": "AI", "E": "O", "F": "U", "G": "FV", "H": "L", "X": "rest"}

# Shorter cues flicker on screen; they are merged into the previous cue, except closed
# lips (A), which must show even if brief.
MIN_CUE_S = 0.04


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    shape: str


def parse_extended(extended: str | bool | None) -> str:
    """Rhubarb's ``--extendedShapes`` value: a subset of ``"GHX"`` (True: all, False: none)."""
    if extended is True or extended is None:
        return EXTENDED
    if extended is False:
        return ""
    text = str(extended).strip()
    if text in {"''", '""', "-"}:
        return ""
    bad = sorted({ch for ch in text.upper() if ch not in EXTENDED and ch not in " ,"})
    if bad:  # a letter outside GHX is a typo, not something to drop quietly ("GZ")
        raise ValueError(f"extended shapes must be letters from GHX, got {extended!r} ({''.join(bad)} is not one)")
    return "".join(ch for ch in EXTENDED if ch in text.upper())


def shape_of(phone: str, extended: str = EXTENDED) -> str:
    """Rhubarb shape letter for one ARPAbet phone."""
    s = PHONE_TO_SHAPE.get(phone, "B")
    while s in FALLBACK and s not in extended:
        s = FALLBACK[s]
    return s


def mouth_cues(
    phones: Sequence[Phone], *, extended: str = EXTENDED, start: float | None = None, end: float | None = None
) -> list[Cue]:
    """Contiguous mouth cues from phones, like Rhubarb's: merged, no flicker, idle at ends."""
    rest = shape_of("SIL", extended)
    raw: list[Cue] = []
    t0 = phones[0].start if phones else 0.0
    if start is not None and start < t0:
        raw.append(Cue(start, t0, rest))
    for p in phones:
        if p.end > p.start:
            raw.append(Cue(p.start, p.end, shape_of(p.label, extended)))
    t1 = raw[-1].end if raw else (start or 0.0)
    if end is not None and end > t1:
        raw.append(Cue(t1, end, rest))
    # round to Rhubarb's centisecond grid, then merge equal and too-short cues
    cues: list[Cue] = []
    for c in raw:
        s, e = round(c.start, 2), round(c.end, 2)
        if cues:
            s = cues[-1].end
        if e <= s:
            continue
        if cues and (cues[-1].shape == c.shape or (e - s < MIN_CUE_S and c.shape != "A")):
            cues[-1] = Cue(cues[-1].start, e, cues[-1].shape)
        else:
            cues.append(Cue(s, e, c.shape))
    if len(cues) > 1 and cues[0].end - cues[0].start < MIN_CUE_S and cues[0].shape != "A":
        cues[1] = Cue(cues[0].start, cues[1].end, cues[1].shape)  # nothing before it to join
        cues.pop(0)
    return cues


def _f(t: float) -> str:
    return f"{t:.2f}"


def to_tsv(cues: Sequence[Cue], *, idle: str = "X") -> str:
    """One ``start<TAB>shape`` line per cue, then the end time with the idle shape."""
    lines = [f"{_f(c.start)}\t{c.shape}" for c in cues]
    if cues:
        lines.append(f"{_f(cues[-1].end)}\t{idle}")
    return "\n".join(lines) + "\n"


def to_json(cues: Sequence[Cue], *, sound_file: str = "", duration: float | None = None) -> str:
    dur = duration if duration is not None else (cues[-1].end if cues else 0.0)
    items = ",\n".join(
        f'    {{ "start": {_f(c.start)}, "end": {_f(c.end)}, "value": "{c.shape}" }}' for c in cues
    )
    return (
        "{\n"
        '  "metadata": {\n'
        f'    "soundFile": {json.dumps(sound_file)},\n'
        f'    "duration": {_f(dur)}\n'
        "  },\n"
        '  "mouthCues": [\n'
        f"{items}\n"
        "  ]\n"
        "}\n"
    )


def to_xml(cues: Sequence[Cue], *, sound_file: str = "", duration: float | None = None) -> str:
    dur = duration if duration is not None else (cues[-1].end if cues else 0.0)
    body = "\n".join(
        f'    <mouthCue start="{_f(c.start)}" end="{_f(c.end)}">{c.shape}</mouthCue>' for c in cues
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<rhubarbResult>\n"
        "  <metadata>\n"
        f"    <soundFile>{escape(sound_file)}</soundFile>\n"
        f"    <duration>{_f(dur)}</duration>\n"
        "  </metadata>\n"
        "  <mouthCues>\n"
        f"{body}\n"
        "  </mouthCues>\n"
        "</rhubarbResult>\n"
    )


def _frame(t: float, frame_rate: float) -> int:
    return int(t * frame_rate + 1e-6) + 1  # 1-based, truncated like Moho's timeline


def to_dat(
    cues: Sequence[Cue], *, frame_rate: float = 24.0, preston_blair: bool = False, idle: str = "X"
) -> str:
    """Moho switch-layer data: ``MohoSwitch1`` then ``frame shape`` lines (1-based frames).

    When several cues start within one frame the last one wins, as on screen; a final
    idle row closes the last cue (one frame later if it would collide).
    """
    by_frame: dict[int, str] = {}
    for c in cues:
        by_frame[_frame(c.start, frame_rate)] = c.shape
    if cues:
        end_frame = _frame(cues[-1].end, frame_rate)
        if end_frame in by_frame:
            end_frame = max(by_frame) + 1
        by_frame[end_frame] = idle
    names = PRESTON_BLAIR if preston_blair else {}
    lines = ["MohoSwitch1"] + [f"{f} {names.get(s, s)}" for f, s in sorted(by_frame.items())]
    return "\n".join(lines) + "\n"


def export(
    cues: Sequence[Cue],
    fmt: str,
    *,
    extended: str = EXTENDED,
    sound_file: str | os.PathLike[str] = "",
    duration: float | None = None,
    dat_frame_rate: float = 24.0,
    preston_blair: bool = False,
) -> str:
    """Text of ``cues`` in Rhubarb's ``fmt`` (tsv, json, xml, dat)."""
    fmt = fmt.lower()
    idle = shape_of("SIL", extended)
    if fmt == "tsv":
        return to_tsv(cues, idle=idle)
    if fmt == "json":
        return to_json(cues, sound_file=str(sound_file), duration=duration)
    if fmt == "xml":
        return to_xml(cues, sound_file=str(sound_file), duration=duration)
    if fmt == "dat":
        return to_dat(cues, frame_rate=dat_frame_rate, preston_blair=preston_blair, idle=idle)
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


# --- readers (what an importer sees), used to check the round trip -------------------


def read_tsv(text: str) -> list[Cue]:
    rows = [ln.split("\t") for ln in text.splitlines() if ln.strip()]
    return [Cue(float(a[0]), float(b[0]), a[1]) for a, b in zip(rows[:-1], rows[1:], strict=True)]


def read_json(text: str) -> list[Cue]:
    d = json.loads(text)
    return [Cue(float(c["start"]), float(c["end"]), str(c["value"])) for c in d["mouthCues"]]


def read_xml(text: str) -> list[Cue]:
    root = ET.fromstring(text)
    return [
        Cue(float(c.get("start", 0)), float(c.get("end", 0)), (c.text or "").strip())
        for c in root.iter("mouthCue")
    ]


def read_dat(text: str, *, frame_rate: float = 24.0, preston_blair: bool = False) -> list[tuple[float, str]]:
    """(time, shape) switch points; DAT carries no end times, only frame starts."""
    lines = [ln.split() for ln in text.splitlines()[1:] if ln.strip()]
    names = {v: k for k, v in PRESTON_BLAIR.items()} if preston_blair else {}
    return [((int(f) - 1) / frame_rate, names.get(s, s)) for f, s in lines]
