"""What is said, from the subtitles users already have: SubRip (.srt), WebVTT (.vtt) and
Advanced SubStation (.ass / .ssa) files, and the text subtitle stream inside a video
(Matroska SubRip or ASS, MP4 ``mov_text``, WebVTT).

Why: a transcript is the best phone source ``check`` has (docs/sync.md: retalking_face2
reads +29.8 ms at confidence 1.00 with its words given, +27.9 at 0.76 with them
recognised), and recognising the words is the most expensive step of a check (about
12 CPU-s per minute of speech, against ~2.5 to align given words). Dubbing and
localisation teams hold subtitles or a script for every line. A subtitle file is not a
transcript as it stands: it carries timing, markup (italics, colours, positions), speaker
labels and descriptions of sounds for the hard of hearing ("[applause]", "(laughs)"),
none of which is spoken. :func:`spoken_text` keeps the words only.

Subtitles are often condensed (reading speed) or translated. Whether the words fit the
sound is judged where they are used (``sync.delay``: the aligned phones against phonetic
recognition), not here.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mouthsync.core.errors import BadInput

#: File suffixes read as subtitles (anything else given as a path is plain text).
SUBTITLE_SUFFIXES = (".srt", ".vtt", ".ass", ".ssa")
#: ``--transcript subtitles``: the video's own text subtitle stream.
EMBEDDED = "subtitles"

# 00:01:02,345 or 01:02.345 (WebVTT may leave out the hours); SubRip uses a comma
_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{1,3})"
_TIMING = re.compile(_TIME + r"\s*-->\s*" + _TIME)
# H:MM:SS.cc in ASS
_ASS_TIME = re.compile(r"(\d+):(\d{2}):(\d{2})[.,](\d{1,3})")
_ASS_OVERRIDE = re.compile(r"\{[^}]*\}")
_RUBY_TEXT = re.compile(r"<rt>.*?</rt>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
# descriptions of sounds and who speaks, for the hard of hearing: not spoken
_SOUND = re.compile(r"\[[^\]]*\]|\([^)]*\)")
# a speaker label at a line's start: "JOHN:", "DR. SMITH:", "MAN 2:" (capitals only:
# "Note: ..." may be speech), the captions' ">>" speaker change, a dialogue dash
_LABEL = re.compile(r"^\s*(?:>>+\s*)?(?:[-\u2010-\u2015]\s*)?(?:[A-Z][A-Z0-9 .'\-]{0,30}:(?=\s|$))?")
# text subtitle codecs FFmpeg decodes to ASS events
TEXT_SUBTITLE_CODECS = {"ass", "ssa", "subrip", "srt", "mov_text", "webvtt", "text", "microdvd", "sami", "stl",
                "realtext", "subviewer", "subviewer1", "jacosub", "mpl2", "pjs", "vplayer", "eia_608"}


@dataclass(frozen=True)
class Cue:
    """One subtitle: shown from ``start`` to ``end`` (s, the programme's clock), with its
    raw ``text`` (markup, labels and sound descriptions still in it)."""

    start: float
    end: float
    text: str

    @property
    def spoken(self) -> str:
        """The words said (:func:`spoken_text`)."""
        return spoken_text(self.text)


def spoken_text(raw: str) -> str:
    """The words of one subtitle's text: markup (SubRip/WebVTT tags, ASS override blocks,
    HTML entities), line breaks, speaker labels, dialogue dashes and descriptions of
    sounds in brackets or parentheses removed; music notes dropped, the sung words kept."""
    text = _ASS_OVERRIDE.sub("", raw)
    text = text.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")
    text = _RUBY_TEXT.sub("", text)
    text = html.unescape(_TAG.sub("", text))
    text = _SOUND.sub(" ", text)
    lines = [_LABEL.sub("", line, count=1) for line in text.splitlines()]
    text = " ".join(lines)
    text = re.sub(r"[\u266a\u266b\u266c#]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def transcript_of(cues: list[Cue]) -> str:
    """The words of ``cues`` in order of their start, one text."""
    return " ".join(t for t in (c.spoken for c in sorted(cues, key=lambda c: (c.start, c.end))) if t)


def _stamp(t: float) -> str:
    ms = int(round(max(0.0, t) * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def timed_text(cues: list[Cue]) -> str:
    """A transcript that keeps its timing: the spoken words of ``cues`` as a SubRip
    document (cues without words left out). ``audio.timeline`` aligns such a transcript
    cue group by cue group on long sound (:func:`timed_cues` reads it back)."""
    said = [(c, c.spoken) for c in sorted(cues, key=lambda c: (c.start, c.end))]
    said = [(c, w) for c, w in said if w]
    return "\n".join(f"{n}\n{_stamp(c.start)} --> {_stamp(c.end)}\n{w}\n" for n, (c, w) in enumerate(said, 1))


def timed_cues(transcript: str) -> list[Cue]:
    """The cues of a timed transcript (:func:`timed_text`, or any SubRip / WebVTT text);
    empty for plain words."""
    return parse_srt_or_vtt(transcript) if "-->" in transcript else []


def _seconds(h: str | None, m: str, s: str, frac: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(frac.ljust(3, "0")[:3]) / 1000.0


def parse_srt_or_vtt(text: str) -> list[Cue]:
    """Cues of a SubRip or WebVTT document: a timing line, then the cue's text up to the
    next blank line. Numbers, identifiers, the WEBVTT header and NOTE / STYLE / REGION
    blocks hold no timing line and are passed over; cue settings after the timing are
    ignored."""
    cues: list[Cue] = []
    start = end = 0.0
    body: list[str] | None = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n"):
        m = _TIMING.search(line)
        if m:
            if body:
                cues.append(Cue(start, end, "\n".join(body)))
            g = m.groups()
            start, end = _seconds(*g[:4]), _seconds(*g[4:])
            body = []
        elif body is not None:
            if line.strip():
                body.append(line)
            else:
                if body:
                    cues.append(Cue(start, end, "\n".join(body)))
                body = None
    if body:
        cues.append(Cue(start, end, "\n".join(body)))
    return cues


def parse_ass(text: str) -> list[Cue]:
    """Cues of an ASS / SSA script: its ``Dialogue:`` events, fields read by the
    ``[Events]`` section's ``Format:`` line (Text is the last field and may hold commas);
    ``Comment:`` events are not shown and not spoken."""
    cues: list[Cue] = []
    fields = ["layer", "start", "end", "style", "name", "marginl", "marginr", "marginv", "effect", "text"]
    in_events = False
    for line in text.replace("\r\n", "\n").lstrip("\ufeff").split("\n"):
        s = line.strip()
        if s.startswith("["):
            in_events = s.lower() == "[events]"
            continue
        if not in_events:
            continue
        key, _, rest = s.partition(":")
        if key.lower() == "format":
            fields = [f.strip().lower() for f in rest.split(",")]
        elif key.lower() == "dialogue" and "text" in fields:
            parts = rest.split(",", len(fields) - 1)
            if len(parts) < len(fields):
                continue
            row = dict(zip(fields, parts, strict=True))
            a, b = _ASS_TIME.search(row.get("start", "")), _ASS_TIME.search(row.get("end", ""))
            if a and b:
                cues.append(Cue(_seconds(*a.groups()), _seconds(*b.groups()), row["text"]))
    return cues


def read_subtitle_file(path: str | os.PathLike[str]) -> list[Cue]:
    """The cues of a subtitle file (format by suffix: .srt, .vtt, .ass, .ssa). UTF-8,
    with a byte-order mark or without; Latin-1 when it is not UTF-8 (older SubRip files).
    Raises :class:`BadInput` when the file cannot be read or holds no cue."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise BadInput(f"{p}: cannot read the subtitles ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    cues = parse_ass(text) if p.suffix.lower() in (".ass", ".ssa") else parse_srt_or_vtt(text)
    if not cues:
        raise BadInput(f"{p}: no subtitles found (not a {p.suffix.lstrip('.').upper()} file?)")
    return cues


def embedded_cues(path: str | os.PathLike[str]) -> list[Cue]:
    """The cues of the first text subtitle stream of a media file, on the file's clock.
    Raises :class:`BadInput` when it has none, or only picture subtitles (DVD, Blu-ray
    PGS, DVB: images, no text to read)."""
    import av

    from mouthsync.media.container import open_input

    with open_input(path) as c:
        streams = list(c.streams.subtitles)
        text = [s for s in streams if s.codec_context.name in TEXT_SUBTITLE_CODECS]
        if not text:
            what = (f"only picture subtitles ({', '.join(sorted({s.codec_context.name for s in streams}))}): no text to read"
                    if streams else "no subtitle stream")
            raise BadInput(f"{path}: {what}; give the words with --transcript TEXT or a subtitle file")
        stream = text[0]
        tb = float(stream.time_base) if stream.time_base else 0.001
        cues: list[Cue] = []
        try:
            for pkt in c.demux(stream):
                if pkt.size == 0 or pkt.pts is None:
                    continue
                start = pkt.pts * tb
                end = start + (pkt.duration or 0) * tb
                for sub in pkt.decode():
                    for rect in getattr(sub, "rects", [sub]):
                        body = getattr(rect, "dialogue", None) or getattr(rect, "text", None)
                        if body:
                            cues.append(Cue(start, end, body.decode("utf-8", "replace") if isinstance(body, bytes) else body))
        except av.FFmpegError as exc:
            raise BadInput(f"{path}: the subtitle stream cannot be read ({exc})") from None
    if not cues:
        raise BadInput(f"{path}: its subtitle stream holds no text")
    return cues


def read_transcript(value: str | None, media: str | os.PathLike[str]) -> str | None:
    """``--transcript`` as given on the command line, as the text to align: ``none`` (or
    empty) is ``None`` (phonetic recognition alone), ``auto`` and ``always`` pass through; ``subtitles`` reads the words
    of ``media``'s own text subtitle stream; the path of a subtitle file (.srt, .vtt,
    .ass, .ssa) its words, each kept with its cue's times (:func:`timed_text`), of any
    other file its text (UTF-8); anything else is the text itself."""
    if value is None:
        return None
    key = value.strip().lower()
    if key in ("none", ""):
        return None  # phonetic recognition alone
    if key in ("auto", "always"):
        return value
    if key == EMBEDDED:
        words = timed_text(embedded_cues(media))
    else:
        p = Path(value)
        if len(value) >= 4096 or "\n" in value or not p.suffix or not p.is_file():
            return value
        if p.suffix.lower() in SUBTITLE_SUFFIXES:
            words = timed_text(read_subtitle_file(p))
        else:
            try:
                words = p.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                raise BadInput(f"{p}: cannot read the transcript ({exc})") from None
    if not words.strip():
        raise BadInput(f"{'the subtitles of ' + str(media) if key == EMBEDDED else value}: no spoken words in it")
    return words
