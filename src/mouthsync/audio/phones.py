"""Phone recognition and forced alignment with PocketSphinx (en-US model inside the wheel).

Two ways to get phones with times:

* :func:`recognize_phones`: phonetic recognition (``allphone`` search with the phonetic
  language model ``en-us-phone.lm.bin``). Works on any English speech without a
  transcript; labels are noisier than alignment but boundaries are acoustic.
* :func:`align_transcript`: forced alignment of a known transcript (words from the CMU
  dictionary; unknown words are spelled with the letter-to-sound fallback of the
  dictionary when possible), giving words and their phones.

Both decode the whole utterance at once. Shifting the audio by N ms should shift every
phone by N ms (the sync stage measures delays through phone times), so runs of digital
silence at either end (padding, muted edits) are cut off before decoding and the times
offset back: padding then changes nothing. The front end keeps the model's batch cepstral
mean normalisation and noise removal: live (causal) normalisation from a fixed starting
mean, without noise removal, follows shifts more exactly but recognises worse, and the
sync benchmark lost more from that than it gained (docs/speech.md).

PocketSphinx works at 100 frames per second, so boundaries are multiples of 10 ms from
the first non-silent sample (10 ms is far below a video frame).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mouthsync.audio.silence import audible_extent
from mouthsync.audio.types import Phone, Word
from mouthsync.audio.visemes import normalize_label
from mouthsync.core.errors import BadInput, Unaligned

RATE = 16000
FRAME_S = 0.01  # PocketSphinx frame shift (frate 100)

# The model's own front end (its feat.params): batch CMN over the utterance, noise removal.
# Kept explicit so the cache key records it and ``_decoder`` can apply other values.
FRONT_END: dict[str, object] = {"cmn": "batch", "remove_noise": True}
# A second front end for phonetic recognition: live (causal) CMN starting from a typical
# speech mean (the median over the five recordings in shared/data/speech/, none of the
# sync benchmark's clips; the model's own start, 40, 3, -1, ..., is ~10 low in c0). Its
# phones follow edits and shifts more exactly but are noisier; ``check`` averages it with
# the batch front end's (docs/speech.md, "Front end").
CMN_INIT = "50.25,4.41,1.50,4.70,0.14,-4.92,-1.75,-1.32,-1.04,0.61,0.42,-0.10,-0.78"
FRONT_ENDS: dict[str, dict[str, object]] = {
    "batch": FRONT_END,
    "live": {"cmn": "live", "cmninit": CMN_INIT, "remove_noise": True},
}

# Settings for phonetic recognition, tuned for boundary accuracy and stability (see
# docs/speech.md): a low language weight lets the acoustics decide, the phone insertion
# penalty keeps spurious 10-20 ms phones out, wide beams keep the search exact enough
# that a shift of the input does not change the path.
ALLPHONE_SETTINGS: dict[str, object] = {
    "lw": 2.0,
    "pip": 1.0,
    "beam": 1e-20,
    "pbeam": 1e-20,
    "bestpath": False,
    **FRONT_END,
}
ALIGN_SETTINGS: dict[str, object] = {
    "beam": 1e-80,
    "pbeam": 1e-80,
    "wbeam": 1e-60,
    "lpbeam": 1e-80,
    "lponlybeam": 1e-80,
    "bestpath": False,
    **FRONT_END,
}

# Word recognition for machine transcripts: single tree pass with pruned active HMMs and
# word exits, about 0.2x real time (the defaults with the flat and best-path passes are
# 0.7x), for a transcript that only has to be close enough to align.
TRANSCRIBE_SETTINGS: dict[str, object] = {
    "fwdflat": False,
    "bestpath": False,
    "maxhmmpf": 3000,
    "maxwpf": 5,
    **FRONT_END,
}

_LOCK = threading.Lock()


def model_dir() -> Path:
    """The en-US model folder shipped inside the ``pocketsphinx`` wheel."""
    import pocketsphinx

    return Path(pocketsphinx.get_model_path())


@functools.lru_cache(maxsize=4)
def _decoder(kind: str, frozen: tuple[tuple[str, object], ...]):  # type: ignore[no-untyped-def]
    import pocketsphinx

    m = model_dir()
    kw: dict[str, object] = {
        "hmm": str(m / "en-us" / "en-us"),
        "dict": str(m / "en-us" / "cmudict-en-us.dict"),
        "loglevel": "FATAL",
        "samprate": RATE,
    }
    if kind == "allphone":
        kw["allphone"] = str(m / "en-us" / "en-us-phone.lm.bin")
    elif kind == "align":
        kw["lm"] = None
    kw.update(dict(frozen))
    dec = pocketsphinx.Decoder(**kw)
    # The model's feat.params is read after the arguments and overrides front-end keys
    # given to the constructor (cmn, remove_noise, ...): set them again on the live
    # config; ``_decode_utterance`` rebuilds the front end from it before every utterance.
    for key in _FRONT_END_KEYS & kw.keys():
        dec.config[key] = kw[key]
    return dec


_FRONT_END_KEYS = frozenset({"cmn", "cmninit", "remove_noise", "remove_silence", "agc", "varnorm"})


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] at 16 kHz to little-endian int16 bytes for the decoder.

    A fixed +-1 LSB dither is added: PocketSphinx takes the log of filter-bank energies,
    and runs of exact digital zeros (padding, muted edits, synthetic speech) give -inf
    features that make alignment fail outright. The dither pattern is fixed (seeded) so a
    result never changes between runs; at 1 LSB it is far below any real recording's noise.
    """
    x = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767.0
    x = x + _dither(x.size)
    return np.clip(np.rint(x), -32768, 32767).astype("<i2").tobytes()


@functools.lru_cache(maxsize=1)
def _dither_block() -> np.ndarray:
    return np.random.default_rng(12345).integers(-1, 2, size=1 << 16).astype(np.float32)


def _dither(n: int) -> np.ndarray:
    block = _dither_block()
    reps = -(-n // block.size)
    return np.tile(block, reps)[:n]


# The head is cut in whole recogniser frames (10 ms): the recogniser's results depend on
# where its frame grid falls on the sound, by up to 16 ms of estimated delay for a 3 ms
# difference (session 11). Cut to the first audible sample, retalking_face2's sound (its
# first 50 samples are digital silence) and a copy of it padded with 20 ms of zeros came out
# on grids 3 ms apart; kept whole below 20 ms (before), the copy alone was cut and a pure
# 20-240 ms delay read 12-16 ms too much. Cut in whole frames, a copy delayed by whole
# frames of 10 ms, padded with zeros or with sound, sees the original's own grid.
FRAME_SAMPLES = int(round(FRAME_S * RATE))


def trim_digital_silence(samples: np.ndarray) -> tuple[np.ndarray, int]:
    """``samples`` without runs of digital silence at either end, and the index cut at the
    head (a whole number of recogniser frames: what is left of the run, under one frame,
    stays).

    Why: padding carries no speech, yet it enters the decoder's normalisation and search;
    cutting it makes the phones of a padded or muted-edge copy the same as the original's.
    All-silent input is returned whole.
    """
    x = np.asarray(samples)
    extent = audible_extent(x)
    if extent is None:
        return x, 0
    head = extent[0] // FRAME_SAMPLES * FRAME_SAMPLES
    return x[head : extent[1]], head


def _segments_to_phones(segs: Sequence[tuple[str, int, int]], offset: float) -> list[Phone]:
    """Turn (label, start_frame, end_frame_inclusive) into contiguous merged phones."""
    phones: list[Phone] = []
    prev_end = None
    for label, sf, ef in sorted(segs, key=lambda s: (s[1], s[2])):
        if prev_end is not None:
            sf = max(sf, prev_end + 1)  # fillers may overlap a phone by a frame
        if ef < sf:
            continue
        prev_end = ef
        lab = normalize_label(label)
        start = round(offset + sf * FRAME_S, 6)
        end = round(offset + (ef + 1) * FRAME_S, 6)
        if phones and phones[-1].label == "SIL" and lab == "SIL":
            phones[-1] = Phone(phones[-1].start, end, "SIL")
        else:
            phones.append(Phone(start, end, lab))
    return phones


def _decode_utterance(dec: Any, pcm: bytes) -> None:
    """Decode ``pcm`` as one whole utterance with a fresh front end.

    Noise removal keeps its noise estimate across utterances: resetting it makes the result
    depend on this audio only (same input, same phones, in any order of calls).
    """
    dec.reinit_feat()
    dec.start_utt()
    dec.process_raw(pcm, full_utt=True)
    dec.end_utt()


def recognize_phones(
    samples: np.ndarray,
    *,
    offset: float = 0.0,
    settings: dict[str, object] | None = None,
    front_end: str = "batch",
) -> list[Phone]:
    """Phonetic recognition of 16 kHz mono float ``samples``; times start at ``offset``.

    Returns contiguous phones covering the input, silence and fillers as ``"SIL"``.
    ``front_end``: a key of :data:`FRONT_ENDS` (cepstral normalisation and noise removal).
    """
    if front_end not in FRONT_ENDS:
        raise ValueError(f"unknown front end {front_end!r} (known: {', '.join(FRONT_ENDS)})")
    cfg = dict(ALLPHONE_SETTINGS)
    cfg.update(FRONT_ENDS[front_end])
    cfg.update(settings or {})
    samples, head = trim_digital_silence(samples)
    offset += head / RATE
    pcm = to_pcm16(samples)
    with _LOCK:
        dec = _decoder("allphone", tuple(sorted(cfg.items())))
        _decode_utterance(dec, pcm)
        segs = [(s.word, s.start_frame, s.end_frame) for s in dec.seg()]
    return _segments_to_phones(segs, offset)


_WORD_RE = re.compile(r"[A-Za-z][A-Za-z']*")


def normalize_transcript(text: str) -> list[str]:
    """Words of ``text`` lower-cased, punctuation dropped, digits spelled as in speech.

    Only what PocketSphinx's dictionary can look up survives; numbers are spelled digit
    by digit (a rough but honest fallback).
    """
    digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    text = re.sub(r"\d", lambda m: f" {digits[int(m.group())]} ", text)
    return [w.lower().strip("'") for w in _WORD_RE.findall(text) if w.strip("'")]


def _lookup(dec, word: str) -> str | None:  # type: ignore[no-untyped-def]
    try:
        return dec.lookup_word(word)
    except (RuntimeError, KeyError):
        return None


# Letter-to-sound is not shipped for en-US in the wheel, so unknown words get a crude
# spelling-based pronunciation; alignment stays possible and the word is flagged.
_LETTERS = {
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH",
    "i": "IH", "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P",
    "q": "K", "r": "R", "s": "S", "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S",
    "y": "Y", "z": "Z",
}  # fmt: skip


def _spell(word: str) -> str:
    out: list[str] = []
    for ch in word:
        if ch in _LETTERS:
            ph = _LETTERS[ch]
            if not out or out[-1] != ph:
                out.append(ph)
    return " ".join(out) or "AH"


PHONESET = ["AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH"]


def _pronunciations(dec, word: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """All dictionary pronunciations of ``word`` (``word``, ``word(2)``, ...)."""
    out: list[list[str]] = []
    k = 1
    name = word
    while True:
        pr = _lookup(dec, name)
        if not pr:
            return out
        out.append([normalize_label(q) for q in pr.split()])
        k += 1
        name = f"{word}({k})"


def pronunciations(text: str) -> tuple[list[str], list[list[str]]]:
    """The words of ``text`` (:func:`normalize_transcript`) and the phones of each: the
    dictionary's first pronunciation, or the spelled-out guess the aligner would use for a
    word it does not know. For placing plain words before aligning them (``audio.placement``)."""
    words = normalize_transcript(text)
    with _LOCK:
        dec = _decoder("align", tuple(sorted(ALIGN_SETTINGS.items())))
        prons = [(_pronunciations(dec, w) or [_spell(w).split()])[0] for w in words]
    return words, prons


def _split_words(
    words: list[str], prons: list[list[list[str]]], labels: list[str], optional: frozenset[int] = frozenset()
) -> list[int] | None:
    """Which pronunciation of each word explains the decoded phone ``labels``.

    Words whose index is in ``optional`` may be absent (choice ``-1``). Backtracking with
    an explicit stack and a memo of dead ends: a recursive search overflowed Python's
    stack past ~1000 words (a 10-minute interview) and could retry the same dead end
    exponentially often.
    """
    n = len(words)
    opts = [list(range(len(p))) + ([-1] if i in optional else []) for i, p in enumerate(prons)]
    failed: set[tuple[int, int]] = set()
    stack: list[tuple[int, int, int]] = []  # (word, label position, option index) taken
    wi, pi, start = 0, 0, 0
    while True:
        if wi == n and pi == len(labels):
            return [opts[w][j] for w, _, j in stack]
        step: tuple[int, int] | None = None  # (option index, labels it consumes)
        if wi < n and (wi, pi) not in failed:
            for j in range(start, len(opts[wi])):
                k = opts[wi][j]
                size = 0 if k < 0 else len(prons[wi][k])
                if k < 0 or labels[pi : pi + size] == prons[wi][k]:
                    step = (j, size)
                    break
        if step is not None:
            stack.append((wi, pi, step[0]))
            wi, pi, start = wi + 1, pi + step[1], 0
            continue
        failed.add((wi, pi))  # every option from here was tried: a dead end
        if not stack:
            return None
        wi, pi, j = stack.pop()
        start = j + 1


def align_transcript(
    samples: np.ndarray,
    text: str,
    *,
    offset: float = 0.0,
    settings: dict[str, object] | None = None,
) -> tuple[list[Word], list[Phone], list[str]]:
    """Force-align ``text`` to 16 kHz mono ``samples``.

    Returns ``(words, phones, unknown_words)``; phones are contiguous and include
    ``"SIL"`` where the aligner put silence or noise. Raises :class:`BadInput` when the
    transcript has no words or cannot be aligned to the audio at all.

    How: a JSGF grammar spells the transcript phone by phone, each phone a one-phone
    "word", alternative pronunciations as alternatives, optional silence/noise fillers
    between any two phones. One finite-state Viterbi pass then gives every phone's
    frames directly. (PocketSphinx's own two-pass ``set_align_text``/``set_alignment``
    fails outright on a good share of clean inputs, "Failed to stop utterance
    processing", which a tool cannot accept.)
    """
    words = normalize_transcript(text)
    if not words:
        raise BadInput("the transcript has no words to align")
    cfg = dict(ALIGN_SETTINGS)
    cfg.update(settings or {})
    samples, head = trim_digital_silence(samples)
    offset += head / RATE
    pcm = to_pcm16(samples)
    unknown: list[str] = []
    with _LOCK:
        dec = _decoder("align", tuple(sorted(cfg.items())))
        if _lookup(dec, "_aa") is None:
            for ph in PHONESET:
                dec.add_word("_" + ph.lower(), ph, False)
            dec.add_word("_sil", "SIL", True)
        prons: list[list[list[str]]] = []
        for w in words:
            pr = _pronunciations(dec, w)
            if not pr:
                unknown.append(w)
                pr = [_spell(w).split()]
            prons.append(pr)
        parts = []
        for pr in prons:
            alts = [" ".join("_" + q.lower() for q in one) for one in pr]
            parts.append(alts[0] if len(alts) == 1 else "( " + " | ".join(alts) + " )")
        # Explicit optional silence at both ends: filler insertion alone lets the first
        # and last phones swallow leading/trailing silence. With three words or more the
        # first and last word are optional too: a clip cut mid-word at either end (an
        # edit, a shifted copy) then still aligns instead of failing or stretching.
        optional = frozenset({0, len(parts) - 1}) if len(parts) >= 3 else frozenset()
        parts = [f"[ {p} ]" if i in optional else p for i, p in enumerate(parts)]
        body = "[ _sil ] " + " ".join(parts) + " [ _sil ]"
        grammar = "#JSGF V1.0;\ngrammar align;\npublic <utt> = " + body + ";\n"
        try:
            dec.add_jsgf_string("align", grammar)
            dec.activate_search("align")
            _decode_utterance(dec, pcm)
            hyp = dec.hyp()
            raw = [(q.word, q.start_frame, q.end_frame) for q in dec.seg()] if hyp else []
        except RuntimeError as exc:
            raise Unaligned(f"the transcript could not be aligned to the audio ({exc})") from None
    segs: list[tuple[str, int, int]] = []
    for name, sf, ef in raw:
        if ef < sf:
            continue  # zero-length <s> / </s> markers
        lab = name[1:].upper() if name.startswith("_") else "SIL"
        segs.append((lab if lab in PHONESET else "SIL", sf, ef))
    labels = [lab for lab, _, _ in segs if lab != "SIL"]
    choice = _split_words(words, prons, labels, optional) if labels else None
    if choice is None:
        raise Unaligned("the transcript could not be aligned to the audio (no complete path)")
    out_words: list[Word] = []
    speech = [(lab, sf, ef) for lab, sf, ef in segs if lab != "SIL"]
    pi = 0
    for w, pr, k in zip(words, prons, choice, strict=True):
        if k < 0:
            continue  # an optional edge word the audio does not contain
        n = len(pr[k])
        first, last = speech[pi], speech[pi + n - 1]
        out_words.append(
            Word(round(offset + first[1] * FRAME_S, 6), round(offset + (last[2] + 1) * FRAME_S, 6),
                 w, tuple(pr[k]))
        )  # fmt: skip
        pi += n
    return out_words, _segments_to_phones(segs, offset), sorted(unknown)


def transcribe_words(samples: np.ndarray, *, offset: float = 0.0) -> list[Word]:
    """Recognised words with their times (general language model), fillers left out.

    The times let a long recording be cut into pieces at pauses between words, so that
    forced alignment works piece by piece (its cost grows with audio length x transcript
    length when done in one pass). Pronunciation variants ("the(2)") are reported as the
    plain word.
    """
    samples, head = trim_digital_silence(samples)
    offset += head / RATE
    pcm = to_pcm16(samples)
    m = model_dir()
    cfg = dict(TRANSCRIBE_SETTINGS, lm=str(m / "en-us" / "en-us.lm.bin"))
    with _LOCK:
        dec = _decoder("lm", tuple(sorted(cfg.items())))
        _decode_utterance(dec, pcm)
        segs = [(q.word, q.start_frame, q.end_frame) for q in dec.seg()] if dec.hyp() is not None else []
    out: list[Word] = []
    for name, sf, ef in segs:
        if ef < sf or name.startswith(("<", "[")):
            continue  # sentence markers, silence and noise fillers
        word = re.sub(r"\(\d+\)$", "", name)
        out.append(Word(round(offset + sf * FRAME_S, 6), round(offset + (ef + 1) * FRAME_S, 6), word, ()))
    return out
