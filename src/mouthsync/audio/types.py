"""The speech types other stages consume: phones, words, events and the whole timeline.

They live in their own module so that :mod:`visemes`, :mod:`events` and
:mod:`timeline` can all use them without importing each other in a circle. Every time is
seconds on the source's media timeline (for a file, the audio stream's start time is
included), so a phone time can be compared directly with a video frame's PTS.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Phone:
    """One phone: ARPAbet label upper-case without stress digits, ``"SIL"`` for silence."""

    start: float
    end: float
    label: str

    @property
    def mid(self) -> float:
        return 0.5 * (self.start + self.end)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Word:
    """One aligned word of a transcript, with its phones."""

    start: float
    end: float
    text: str
    phones: tuple[str, ...] = ()


@dataclass(frozen=True)
class Event:
    """A moment the lips must show: a closure, a lip-teeth contact, a release, a pause.

    ``time`` is when it happens (for a closure: the middle of the closed phase; for a
    release: the end of the stop). ``duration`` is the length of the phone or pause.
    """

    time: float
    kind: str
    phone: str
    duration: float = 0.0


@dataclass
class RateInfo:
    """Speech rate: phones per second of speech, overall and over a sliding window."""

    phones_per_s: float
    window_s: float
    fast_threshold: float
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    fast_segments: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class SpeechTimeline:
    """What is said and when, for one audio source.

    ``phones`` cover the whole analysed span (silence as ``"SIL"``); ``speech`` are the
    VAD's speech segments; ``pauses`` are silences inside speech (start, end) long enough
    to matter; ``breaths`` are noise bursts inside pauses. ``mode`` is ``"allphone"``
    (phonetic recognition, no transcript) or ``"align"`` (forced alignment).
    """

    phones: list[Phone]
    words: list[Word]
    speech: list[tuple[float, float]]
    pauses: list[tuple[float, float]]
    events: list[Event]
    rate: RateInfo
    duration: float
    start: float
    language_note: str
    mode: str
    breaths: list[tuple[float, float]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> float:
        return self.start + self.duration

    def events_of(self, kind: str) -> list[Event]:
        """Events of one kind, in time order."""
        return [e for e in self.events if e.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (also the on-disk cache format, see :meth:`from_dict`)."""
        return {
            "mode": self.mode,
            "start": self.start,
            "duration": self.duration,
            "language_note": self.language_note,
            "phones": [[p.start, p.end, p.label] for p in self.phones],
            "words": [
                {"start": w.start, "end": w.end, "text": w.text, "phones": list(w.phones)}
                for w in self.words
            ],
            "speech": [list(s) for s in self.speech],
            "pauses": [list(s) for s in self.pauses],
            "breaths": [list(s) for s in self.breaths],
            "events": [asdict(e) for e in self.events],
            "rate": asdict(self.rate),
            "settings": self.settings,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SpeechTimeline:
        rate = dict(d["rate"])
        rate["fast_segments"] = [tuple(s) for s in rate.get("fast_segments", [])]
        return cls(
            phones=[Phone(float(a), float(b), str(c)) for a, b, c in d["phones"]],
            words=[
                Word(w["start"], w["end"], w["text"], tuple(w.get("phones", ()))) for w in d["words"]
            ],
            speech=[(float(a), float(b)) for a, b in d["speech"]],
            pauses=[(float(a), float(b)) for a, b in d["pauses"]],
            breaths=[(float(a), float(b)) for a, b in d.get("breaths", [])],
            events=[Event(**e) for e in d["events"]],
            rate=RateInfo(**rate),
            duration=float(d["duration"]),
            start=float(d["start"]),
            language_note=d["language_note"],
            mode=d["mode"],
            settings=d.get("settings", {}),
        )
