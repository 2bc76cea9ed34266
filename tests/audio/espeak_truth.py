"""Ground truth that no one typed: espeak-ng speaks a sentence and reports its own phones.

libespeak-ng (the Debian ``espeak-ng`` package, no mbrola voice needed) is driven through
ctypes in synchronous mode with phoneme events switched on; each phoneme event carries the
sample at which the synthesiser starts that phoneme, so the phone boundaries are exactly
those of the audio it returns. ``espeak-ng --pho`` would need an mbrola voice, which is
not packaged for this Debian, hence the callback.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass

import numpy as np

_EVENT_WORD = 1
_EVENT_PHONEME = 7
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1

# espeak-ng en-us phoneme mnemonics -> ARPAbet (CMUdict), enough for ordinary sentences.
ESPEAK_TO_ARPABET: dict[str, tuple[str, ...]] = {
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "g": ("G",),
    "f": ("F",), "v": ("V",), "T": ("TH",), "D": ("DH",), "s": ("S",), "z": ("Z",),
    "S": ("SH",), "Z": ("ZH",), "tS": ("CH",), "dZ": ("JH",), "h": ("HH",), "m": ("M",),
    "n": ("N",), "N": ("NG",), "l": ("L",), "r": ("R",), "w": ("W",), "j": ("Y",),
    "t#": ("T",), "d#": ("D",), "r-": ("R",), "n-": ("N",), "m-": ("M",), "l-": ("L",),
    "@": ("AH",), "@2": ("AH",), "@5": ("AH",), "@-": ("AH",), "V": ("AH",), "a#": ("AH",),
    "3": ("ER",), "3:": ("ER",), "@L": ("AH", "L"), "a": ("AE",), "aa": ("AA",),
    "A:": ("AA",), "A@": ("AA", "R"), "0": ("AA",), "E": ("EH",), "e@": ("EH", "R"),
    "I": ("IH",), "I2": ("IH",), "I#": ("IH",), "i": ("IY",), "i:": ("IY",),
    "i@": ("IY", "R"), "i@3": ("IY", "R"), "O:": ("AO",), "O": ("AO",), "O@": ("AO", "R"),
    "o@": ("AO", "R"), "U": ("UH",), "u:": ("UW",), "U@": ("UH", "R"), "aI": ("AY",),
    "aU": ("AW",), "eI": ("EY",), "OI": ("OY",), "oU": ("OW",), "aI@": ("AY", "ER"),
    "aU@": ("AW", "ER"),
}  # fmt: skip


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass
class Spoken:
    samples: np.ndarray  # float32 at ``rate``
    rate: int
    phones: list[tuple[float, str]]  # (start seconds, espeak mnemonic), pauses as "_"


class Espeak:
    """One initialised libespeak-ng (the library is global state: one per process)."""

    _lock = threading.Lock()

    def __init__(self, voice: str = "en-us") -> None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        self.lib = ctypes.CDLL(name)
        self.rate = int(self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT))
        if self.rate <= 0:
            raise RuntimeError("espeak-ng failed to initialise")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        self._cb = _CALLBACK(self._on_audio)  # keep a reference: C holds the pointer
        self.lib.espeak_SetSynthCallback(self._cb)
        self.lib.espeak_SetVoiceByName(voice.encode())

    def _on_audio(self, wav, n, events) -> int:  # type: ignore[no-untyped-def]
        if wav and n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).astype(np.float32) / 32768.0)
        i = 0
        while events[i].type != 0:
            e = events[i]
            if e.type == _EVENT_PHONEME:
                self._events.append((int(e.sample), e.id.string.decode("ascii", "replace")))
            i += 1
        return 0

    def say(self, text: str, *, rate_wpm: int | None = None) -> Spoken:
        with self._lock:
            self._chunks, self._events = [], []
            if rate_wpm:
                self.lib.espeak_SetParameter(1, int(rate_wpm), 0)
            data = text.encode("utf-8")
            self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            x = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
            phones = [(s / self.rate, name) for s, name in self._events]
        return Spoken(x, self.rate, phones)


def arpabet_boundaries(spoken: Spoken) -> list[tuple[float, str]]:
    """espeak phones as (start, ARPAbet) with multi-phone mnemonics split evenly is avoided:
    only the first ARPAbet phone of a mnemonic gets the boundary, the rest are marked '~'."""
    out: list[tuple[float, str]] = []
    for t, name in spoken.phones:
        if name.startswith("_"):
            continue
        arp = ESPEAK_TO_ARPABET.get(name) or ESPEAK_TO_ARPABET.get(name.rstrip("0123456789")) or ("?",)
        out.append((t, arp[0]))
        out.extend((float("nan"), a) for a in arp[1:])
    return out
