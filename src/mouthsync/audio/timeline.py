"""The speech timeline: phones, words, speech activity, pauses, events and rate, cached.

:func:`speech_timeline` is the one public entry point other stages use. It decodes the
audio once at 16 kHz mono, runs the WebRTC VAD and either PocketSphinx phonetic
recognition (no transcript) or forced alignment (with one), derives lip events, pauses,
breaths and speech rate, and caches the result by content hash + settings + algorithm
version, so ``check``, ``validate`` and ``phones`` on the same file pay for it once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from concurrent.futures import Future, InvalidStateError
from pathlib import Path

import numpy as np

from mouthsync.audio import events as ev
from mouthsync.audio.denoise import DENOISE_POLICY, for_recognition
from mouthsync.audio.level import raise_quiet
from mouthsync.audio.phones import (
    ALIGN_SETTINGS,
    ALLPHONE_SETTINGS,
    FRAME_SAMPLES,
    FRONT_ENDS,
    RATE,
    TRANSCRIBE_SETTINGS,
    align_transcript,
    pronunciations,
    recognize_phones,
)
from mouthsync.audio.placement import place_words
from mouthsync.audio.silence import audible_extent
from mouthsync.audio.steady import steady_spans
from mouthsync.audio.transcribe import transcribe
from mouthsync.audio.types import Event, Phone, RateInfo, SpeechTimeline, Word
from mouthsync.audio.vad import speech_segments
from mouthsync.core.atomic import write_text_atomic
from mouthsync.core.cache import cache_key, cache_path
from mouthsync.core.errors import BadInput, Unaligned
from mouthsync.core.progress import Advance, progress
from mouthsync.core.runs import join_runs, without
from mouthsync.media.container import check_input_path
from mouthsync.media.decode import Audio, decode_audio
from mouthsync.media.resample import resample
from mouthsync.media.subtitles import Cue, timed_cues

__all__ = [
    "Event", "Phone", "RateInfo", "SpeechTimeline", "Word", "speech_timeline", "speech_timeline_in_process", "load_audio",
]

# ``transcript=AUTO``: recognise words with the general language model, then align them.
AUTO = "auto"

# Bump whenever phones, events or their timing change, so cached timelines are rebuilt.
ALGO_VERSION = "speech-19"

# Forced alignment in one pass costs about audio length x transcript length (a 10-minute
# interview took minutes of CPU and ~600 MiB); a long machine transcript is aligned in
# pieces of about this length, cut at pauses between recognised words.
ALIGN_PIECE_S = 60.0

# A phone mostly outside VAD speech is noise the phonetic search explained as speech
# (breaths, clicks, music): it becomes silence so it cannot create a false lip event.
_MIN_SPEECH_OVERLAP = 0.3

ENGLISH_NOTE = "en-US PocketSphinx acoustic model; phones are reliable for English speech only"


def _language_note(language: str | None) -> str:
    if language is None or language.lower().split("-")[0] in {"en", "eng", "english"}:
        return ENGLISH_NOTE
    return (
        f"language {language!r}: the phone recogniser is English-only (en-US), so phones "
        "and lip events are approximate English look-alikes; speech activity, pauses and "
        "breaths are language-independent and remain valid"
    )


def load_audio(source: str | os.PathLike[str] | Audio) -> Audio:
    """16 kHz mono audio from a file (any container FFmpeg reads; the centre channel alone
    where the layout has one, see :func:`~mouthsync.media.decode.dialogue_channel`) or an
    :class:`Audio`."""
    if isinstance(source, Audio):
        x = resample(source.mono.astype(np.float32, copy=False), source.rate, RATE)
        return Audio(samples=x, rate=RATE, start=source.start, channel=source.channel)
    return decode_audio(source, rate=RATE, mono=True, dialogue=True)


def _silence_outside_speech(phones: list[Phone], speech: list[tuple[float, float]]) -> list[Phone]:
    if not speech:
        return [Phone(phones[0].start, phones[-1].end, "SIL")] if phones else []
    sp = np.asarray(speech, dtype=np.float64)
    out: list[Phone] = []
    for p in phones:
        lab = p.label
        if lab != "SIL" and p.duration > 0:
            ov = np.clip(np.minimum(sp[:, 1], p.end) - np.maximum(sp[:, 0], p.start), 0, None).sum()
            if ov < _MIN_SPEECH_OVERLAP * p.duration:
                lab = "SIL"
        if out and lab == "SIL" and out[-1].label == "SIL":
            out[-1] = Phone(out[-1].start, p.end, "SIL")
        else:
            out.append(Phone(p.start, p.end, lab))
    return out


def _pieces(words: list[Word], t0: float, t1: float, piece_s: float | None = None) -> list[tuple[float, float, list[Word]]]:
    """Cut ``[t0, t1]`` into pieces of about ``piece_s`` at gaps between recognised words.

    Each cut is the middle of the widest gap between words in the second half of the
    piece, so no word is split; media up to 1.5 pieces long stays whole.
    ``piece_s`` defaults to ``ALIGN_PIECE_S`` (read when called, so a test can shorten it).
    """
    piece_s = ALIGN_PIECE_S if piece_s is None else piece_s
    gaps = [((a.end + b.start) / 2, b.start - a.end, i + 1) for i, (a, b) in enumerate(zip(words, words[1:], strict=False))]
    pieces: list[tuple[float, float, list[Word]]] = []
    start_t, start_i = t0, 0
    while t1 - start_t > 1.5 * piece_s:
        later = [g for g in gaps if g[2] > start_i and g[0] >= start_t + 0.5 * piece_s]
        if not later:
            break
        inside = [g for g in later if g[0] <= start_t + piece_s] or later[:1]
        mid, _, i = max(inside, key=lambda g: g[1])
        pieces.append((start_t, mid, words[start_i:i]))
        start_t, start_i = mid, i
    pieces.append((start_t, t1, words[start_i:]))
    return pieces


# The recognisers hear the speech with this much sound either side of it; longer
# stretches without speech at the head and tail are left out (see ``_speech_span``).
SPAN_MARGIN_S = 0.5
# Speech activity runs together over gaps shorter than this; a run shorter than
# SPAN_MIN_RUN_S on its own does not count.
SPAN_JOIN_GAP_S = 1.0
SPAN_MIN_RUN_S = 0.15
# Only a head or tail at least this long is left out: a shorter one changes little, and
# leaving it out of a clean copy but not of a noisy one (where speech activity runs to the
# ends) made the two disagree (retalking_face1's last second: pink noise 90.1 -> 88.9 %).
SPAN_MIN_CUT_S = 1.5


def _speech_span(x: np.ndarray, offset: float, voiced: list[tuple[float, float]]) -> tuple[np.ndarray, float]:
    """The part of ``x`` the recognisers hear and its start: from ``SPAN_MARGIN_S`` before
    the first speech to as long after the last, cut in whole recogniser frames, where
    that leaves out at least ``SPAN_MIN_CUT_S``.

    ``voiced``: speech activity without the stretches where the sound holds its pitch
    (``audio.steady``), which are no speech whatever speech activity says. A title's
    music bed read as speech by WebRTC's VAD held the span open (retalking_face2 after 3 s of it: +52.6 ms at 0.53;
    left out: +29.6 at 0.42, the clip itself +27.9 at 0.76). The margin may still hold
    some of it: stopping the margin where a steady stretch ends moved the six title
    cases of ``bench/real_footage.py`` by 0-6.6 ms either way and their confidences by
    -0.36 to +0.02, so it was not kept; the timeline's speech leaves them
    out (``_without_steady_ends``).

    Why: PocketSphinx normalises its features over the whole utterance (batch CMN) and the
    word recogniser's language model explains any sound as words. A title's tone before
    the first line entered both: retalking_face2 after 3 s of a low 220 Hz tone read
    +61 ms at confidence 0.06 (the clip alone: +28 ms at 0.76), and retalking_face3 0.00.
    Cut in whole 10 ms frames from the start, the frame grid stays where it was, so a copy
    shifted by whole frames of 10 ms still sees the original's grid (``phones``).
    """
    # speech activity runs together over short gaps; a lone blip (the click where a tone
    # starts read as 80 ms of speech) does not hold the span open
    runs = join_runs(voiced, SPAN_JOIN_GAP_S - 1e-6)  # gaps shorter than SPAN_JOIN_GAP_S
    runs = [r for r in runs if r[1] - r[0] >= SPAN_MIN_RUN_S] or runs
    if not runs:
        return x, offset
    head = int((runs[0][0] - offset - SPAN_MARGIN_S) * RATE) // FRAME_SAMPLES * FRAME_SAMPLES
    tail = int(np.ceil((runs[-1][1] - offset + SPAN_MARGIN_S) * RATE))
    # judged on the sound between its digital-silence ends: padding (a shifted copy, an
    # edit's muted head) is cut anyway, and must not tip a copy over the minimum
    first, last = audible_extent(x) or (0, x.size)
    if head - first < SPAN_MIN_CUT_S * RATE:
        head = 0
    if last - tail < SPAN_MIN_CUT_S * RATE:
        tail = x.size
    head, tail = max(0, head), min(x.size, max(tail, head + FRAME_SAMPLES))
    if head == 0 and tail == x.size:
        return x, offset
    return x[head:tail], round(offset + head / RATE, 6)


def _clip(segments: list[tuple[float, float]], t0: float, t1: float) -> list[tuple[float, float]]:
    """``segments`` cut to the span [t0, t1] (those outside it dropped)."""
    return [(round(max(a, t0), 6), round(min(b, t1), 6)) for a, b in segments if b > t0 and a < t1]


def _without_steady_ends(speech: list[tuple[float, float]], steady: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``speech`` without the steady stretches (``audio.steady``) before its first voice
    and after its last: a title's tone or music is not speech. Those between voices stay
    as speech activity found them (music under a pause of the talk)."""
    voiced = without(speech, steady) if steady else []
    if not voiced:
        return speech
    ends = [(a, b) for a, b in steady if b <= voiced[0][0] + 1e-6 or a >= voiced[-1][1] - 1e-6]
    return without(speech, ends) if ends else speech


def _open(phones: list[Phone], start: float) -> list[Phone]:
    """Silence from ``start`` to the first phone (the head ``_speech_span`` left out)."""
    if phones and phones[0].start > start + 1e-9:
        if phones[0].label == "SIL":
            phones[0] = Phone(start, phones[0].end, "SIL")
        else:
            phones.insert(0, Phone(start, phones[0].start, "SIL"))
    return phones


def _close(phones: list[Phone], end: float) -> list[Phone]:
    """Make ``phones`` reach ``end``: the decoder's last frame stops short of the last
    samples. A silence or a gap under 20 ms is absorbed by the last phone, a longer gap
    becomes silence."""
    if phones and phones[-1].end < end:
        last = phones[-1]
        if last.label == "SIL" or end - last.end < 0.02:
            phones[-1] = Phone(last.start, end, last.label)
        else:
            phones.append(Phone(last.end, end, "SIL"))
    return phones


def _align_pieces(
    x: np.ndarray, offset: float, recognised: list[Word], front_end: str, speech: list[tuple[float, float]]
) -> tuple[list[Word], list[Phone], list[str]] | None:
    """Align recognised words piece by piece; a piece that cannot be aligned gets phonetic
    recognition instead. ``None`` when no piece aligns (the caller falls back whole)."""
    words: list[Word] = []
    phones: list[Phone] = []
    unknown: set[str] = set()
    any_aligned = False
    for a, b, ws in _pieces(recognised, offset, offset + x.size / RATE):
        i0 = max(0, int(round((a - offset) * RATE)))
        i1 = min(x.size, int(round((b - offset) * RATE)))
        seg, seg_off = x[i0:i1], offset + i0 / RATE
        if seg.size < RATE // 10:
            continue
        got: list[Phone]
        try:
            if not ws:
                raise BadInput("no words in this piece")
            w, got, unk = align_transcript(seg, " ".join(q.text for q in ws), offset=seg_off)
            words += w
            unknown.update(unk)
            any_aligned = True
        except BadInput:
            got = _silence_outside_speech(recognize_phones(seg, offset=seg_off, front_end=front_end), speech)
        phones += _close(got, round(offset + i1 / RATE, 6))
    return (words, phones, sorted(unknown)) if any_aligned else None


def _align_timed(
    x: np.ndarray, offset: float, cues: list[Cue], front_end: str, speech: list[tuple[float, float]]
) -> tuple[list[Word], list[Phone], list[str]]:
    """Align a timed transcript (subtitles, ``media.subtitles.timed_text``): on sound up
    to 1.5 pieces long its words in one pass, as plain words; on longer sound cue group
    by cue group (``_pieces``, cut in the widest gap between cues near every
    ``ALIGN_PIECE_S``). Why: one alignment pass grows faster than the sound (60 s of
    speech with its words: 2.6 CPU-s; 300 s: 39 CPU-s), and the cues say where each
    line's words are. A cue is timed against the picture and the sound may be off by up
    to the search range, so a cut costs at most the words next to it. Raises
    :class:`Unaligned` when no piece aligns (the subtitles are not of this sound)."""
    lines = [Word(c.start, c.end, c.spoken) for c in cues if c.spoken]
    if not lines:
        raise BadInput("the transcript has no words to align")
    if x.size / RATE <= 1.5 * ALIGN_PIECE_S:
        return align_transcript(x, " ".join(w.text for w in lines), offset=offset)
    got = _align_pieces(x, offset, lines, front_end, speech)
    if got is None:
        raise Unaligned("none of the subtitles could be aligned to the audio")
    return got


def _align_placed(
    x: np.ndarray, offset: float, text: str, front_end: str, speech: list[tuple[float, float]]
) -> tuple[list[Word], list[Phone], list[str]]:
    """Align plain words (no times) to long sound piece by piece: phonetic recognition
    first, the words placed on its phones (``audio.placement``), then cut and aligned as
    the machine transcript is (``_align_pieces``).

    Why: one alignment pass grows faster than the sound (300 s: 38.7 CPU-s); placed and
    cut it grows with it (recognition ~3 CPU-s a minute, each minute's piece ~2.5). The
    words' placement is rough (median 15 ms, 95 % within 0.15 s of where the whole
    alignment puts them, on the speed benchmark's clip made 300 s long), and a cut falls
    in the widest gap between words near every ``ALIGN_PIECE_S``. Raises
    :class:`Unaligned` when no piece aligns (the words are not of this sound)."""
    words, prons = pronunciations(text)
    if not words:
        raise BadInput("the transcript has no words to align")
    placed = place_words(words, prons, recognize_phones(x, offset=offset, front_end=front_end))
    got = _align_pieces(x, offset, placed, front_end, speech)
    if got is None:
        raise Unaligned("the transcript could not be aligned to the audio")
    return got


def _settings(
    transcript: str | None, language: str | None, front_end: str = "batch", denoise: bool = True
) -> dict[str, object]:
    s: dict[str, object] = {"algo": ALGO_VERSION, "language": language or "en",
                            "denoise": DENOISE_POLICY if denoise else "off"}
    if front_end != "batch":  # absent for the default, so existing cache entries stay valid
        s["front_end"] = {k: str(v) for k, v in FRONT_ENDS[front_end].items()}
    if transcript is None:
        s["mode"] = "allphone"
        s["decoder"] = {k: str(v) for k, v in ALLPHONE_SETTINGS.items()}
    else:
        s["mode"] = "align"
        s["decoder"] = {k: str(v) for k, v in ALIGN_SETTINGS.items()}
        if transcript.strip().lower() == AUTO:
            # (sound shorter than audio.transcribe.SPLIT_S, every shared clip, reads as in
            # one pass; a longer one's cached one-pass words are as good as its halves')
            s["transcribe"] = {k: str(v) for k, v in TRANSCRIBE_SETTINGS.items()}
        s["align_piece_s"] = ALIGN_PIECE_S  # given words too: long ones are aligned in pieces
        s["transcript_sha"] = hashlib.sha256(transcript.encode("utf-8")).hexdigest()[:16]
    return s


def _cache_file(source: str | os.PathLike[str] | Audio, settings: dict[str, object]) -> Path | None:
    if isinstance(source, Audio):
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(source.samples).tobytes())
        h.update(f"{source.rate}:{source.start!r}".encode())
        blob = json.dumps({"audio": h.hexdigest(), "settings": settings}, sort_keys=True)
        key = "speech-" + hashlib.sha256(blob.encode()).hexdigest()[:32]
    else:
        # a file is read with its dialogue channel alone where it has one (load_audio)
        key = cache_key("speech", source, {**settings, "channel": "dialogue"})
    return cache_path(key, ".json")


def _read_cached(cfile: Path | None) -> SpeechTimeline | None:
    """The cached timeline in ``cfile``, or None when absent, stale or corrupt (the
    caller recomputes and overwrites it)."""
    if cfile is None or not cfile.exists():
        return None
    try:
        return SpeechTimeline.from_dict(json.loads(cfile.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError, OSError):
        return None


def compute_timeline(
    audio: Audio,
    *,
    transcript: str | None = None,
    language: str | None = None,
    front_end: str = "batch",
    denoise: bool = True,
    use_cache: bool = True,
) -> SpeechTimeline:
    """Build the timeline of 16 kHz mono ``audio`` (the timeline itself is not cached: see
    :func:`speech_timeline`; ``use_cache`` only lets a denoised copy of the audio be reused)."""
    x = audio.samples
    if x.size < RATE // 10:
        raise BadInput("the audio is shorter than 0.1 s: nothing to analyse")
    offset = float(audio.start)
    with progress("Speech", 3) as advance:
        return _compute(x, audio, offset, transcript, language, advance, front_end, denoise, use_cache)


def _compute(
    x: np.ndarray,
    audio: Audio,
    offset: float,
    transcript: str | None,
    language: str | None,
    advance: Advance,
    front_end: str = "batch",
    denoise: bool = True,
    use_cache: bool = True,
) -> SpeechTimeline:
    # quiet sound is raised to a speech level first: the VAD and the recogniser judge
    # loudness in absolute terms (audio.level)
    x, gain_db = raise_quiet(x, RATE)
    # judged before denoising: RNNoise takes a music bed for noise and leaves a remnant
    # that speech activity may still call speech
    steady = steady_spans(x, RATE, offset)
    # a stationary noise bed is removed first (RNNoise): every later step hears the voice
    x, noise = for_recognition(x, RATE, use_cache=use_cache) if denoise else (x, {"denoised": False})
    if gain_db:
        noise = {**noise, "gain_db": gain_db}
    breaths = ev.find_breaths(x, RATE, offset)
    speech = ev.remove_breaths(speech_segments(x, rate=RATE, offset=offset), breaths)
    advance()
    words: list[Word] = []
    mode = "align"
    requested = transcript
    machine: str | None = None
    aligned = None
    # a tone or music that speech activity took for speech does not hold the span open
    heard, heard_at = _speech_span(x, offset, without(speech, steady) if steady else speech)
    if heard.size != x.size:
        # what was left out is not speech: a title's tone or music, a click
        speech = _clip(speech, heard_at, heard_at + heard.size / RATE)
    speech = _without_steady_ends(speech, steady)
    if transcript is not None and transcript.strip().lower() == AUTO:
        recognised = transcribe(heard, offset=heard_at, speech=speech)
        transcript = machine = " ".join(w.text for w in recognised)
        mode = "align-auto"
        if recognised:
            aligned = _align_pieces(heard, heard_at, recognised, front_end, speech)
        transcript = None  # aligned above (or nothing recognised: phones below)
    if transcript is not None and transcript.strip():
        cues = timed_cues(transcript)
        try:
            if cues:
                aligned = _align_timed(heard, heard_at, cues, front_end, speech)
            elif heard.size / RATE > 1.5 * ALIGN_PIECE_S:
                aligned = _align_placed(heard, heard_at, transcript, front_end, speech)
            else:
                aligned = align_transcript(heard, transcript, offset=heard_at)
        except BadInput:
            if mode != "align-auto":
                raise
            # a machine transcript that cannot be aligned: fall back to phones
    if aligned is not None:
        words, phones, unknown = aligned
    else:
        phones = recognize_phones(heard, offset=heard_at, front_end=front_end)
        phones = _silence_outside_speech(phones, speech)
        unknown = []
        mode = "allphone"
    advance()
    if heard_at > offset:
        phones = _open(phones, offset)
    phones = _close(phones, round(offset + audio.duration, 6))
    pauses = ev.find_pauses(speech)
    events = ev.lip_events(phones) + ev.pause_events(pauses, breaths)
    events.sort(key=lambda e: (e.time, e.kind))
    fast = ev.FAST_PHONES_PER_S_ALLPHONE if mode == "allphone" else ev.FAST_PHONES_PER_S
    rate = ev.speech_rate(phones, speech, fast=fast)
    settings = _settings(requested, language, front_end, denoise)
    settings.update(noise)
    if heard.size != x.size:  # the part the recognisers heard (_speech_span)
        settings["heard_s"] = [heard_at, round(heard_at + heard.size / RATE, 6)]
    if steady:  # where the sound held its pitch (audio.steady): not a voice
        settings["steady_s"] = [[a, b] for a, b in steady]
    if machine is not None:
        settings["machine_transcript"] = machine
    if unknown:
        settings["unknown_words"] = unknown
    if mode.startswith("align") and speech:
        # How much of the detected speech the aligned words cover: a transcript that does
        # not match the audio still aligns (Viterbi always finds a path) but leaves talk
        # uncovered or stretches words over silence.
        sp = np.asarray(speech)
        covered = sum(
            float(np.clip(np.minimum(sp[:, 1], w.end) - np.maximum(sp[:, 0], w.start), 0, None).sum())
            for w in words
        )
        talk = max(1e-9, float((sp[:, 1] - sp[:, 0]).sum()))
        settings["align_coverage"] = round(covered / talk, 3)
        settings["align_plausible"] = bool(covered / talk >= 0.8 and 5.0 <= rate.phones_per_s <= 25.0)
    advance()
    return SpeechTimeline(
        phones=phones,
        words=words,
        speech=speech,
        pauses=pauses,
        events=events,
        rate=rate,
        duration=round(audio.duration, 6),
        start=offset,
        language_note=_language_note(language),
        mode=mode,
        breaths=breaths,
        settings=settings,
    )


def speech_timeline(
    source: str | os.PathLike[str] | Audio,
    *,
    transcript: str | None = None,
    use_cache: bool = True,
    language: str | None = None,
    front_end: str = "batch",
    denoise: bool = True,
) -> SpeechTimeline:
    """Phones, words, speech segments, pauses, lip events and rate for ``source``.

    ``source`` is a media file (its first audio stream; times include the stream's start
    on the media timeline) or decoded :class:`Audio`. With ``transcript`` the words are
    force-aligned; without, phones come from phonetic recognition; ``transcript="auto"``
    recognises the words first (about 0.2x real time more) and aligns them, which gives a
    better expected-mouth prior than phonetic recognition (see docs/speech.md). ``language`` other
    than English only changes the note: the recogniser is English-only, speech activity
    is not. ``front_end`` selects the recogniser's front end for phonetic recognition
    (:data:`~mouthsync.audio.phones.FRONT_ENDS`). ``denoise``: remove a stationary noise
    bed first when :func:`~mouthsync.audio.denoise.noise_gate` finds one (False: never).
    Raises
    :class:`~mouthsync.core.errors.NoAudio` for a file without sound.
    """
    if transcript is not None and not transcript.strip():
        transcript = None
    if front_end not in FRONT_ENDS:
        raise BadInput(f"unknown front end {front_end!r} (known: {', '.join(FRONT_ENDS)})")
    if not isinstance(source, Audio):
        check_input_path(source)  # one-line error before hashing a missing file
    settings = _settings(transcript, language, front_end, denoise)
    cfile = _cache_file(source, settings) if use_cache else None
    cached = _read_cached(cfile)
    if cached is not None:
        return cached
    try:
        tl = compute_timeline(load_audio(source), transcript=transcript, language=language, front_end=front_end,
                              denoise=denoise, use_cache=use_cache)
    except BadInput as exc:
        if isinstance(source, Audio) or str(exc).startswith(str(source)):
            raise
        raise type(exc)(f"{source}: {exc}") from None  # the one line names the file
    if cfile is not None:
        with contextlib.suppress(OSError):  # a read-only cache must not break the analysis
            write_text_atomic(cfile, json.dumps(tl.to_dict()))
    return tl


def speech_timeline_in_process(
    source: str | os.PathLike[str] | Audio,
    *,
    transcript: str | None = None,
    use_cache: bool = True,
    language: str | None = None,
    front_end: str = "batch",
    nice: int = 0,
    denoise: bool = True,
) -> Future[SpeechTimeline]:
    """:func:`speech_timeline` in a separate process, as a :class:`~concurrent.futures.Future`.

    Why: PocketSphinx holds the GIL for the whole decode, so in a thread beside face
    tracking the two mostly take turns; in its own process it uses a core of its own.
    A cached timeline is read here and returned as a finished future (no process start).
    The process is a plain ``python -m mouthsync.audio._worker`` (never ``fork``: the
    parent may hold MediaPipe threads and locks; not ``multiprocessing`` ``spawn``, which
    re-imports the caller's main module and so needs a ``__main__`` guard in every user
    script). It costs ~0.5 s of start-up that overlaps the caller's other work and exits
    once the result is delivered. Errors (``BadInput``, ``NoAudio``) are raised by
    ``future.result()`` like the in-process call. ``nice`` > 0 runs the worker at lower CPU
    priority (:mod:`mouthsync.core.priority`: work off the critical path). ``future.cancel()``
    stops the worker (a result no longer wanted frees its core at once).
    """
    if transcript is not None and not transcript.strip():
        transcript = None
    done: Future[SpeechTimeline] = Future()
    if use_cache:
        try:
            if not isinstance(source, Audio):
                check_input_path(source)
            cached = _read_cached(_cache_file(source, _settings(transcript, language, front_end, denoise)))
            if cached is not None:
                from mouthsync.core import spares

                spares.drop(spares.SPEECH_WORKER)  # nothing to recognise: free the core at once
                done.set_result(cached)
                return done
        except Exception as exc:  # same errors as the in-process call, delivered the same way
            done.set_exception(exc)
            return done
    if use_cache and denoise and isinstance(source, Audio):
        # Denoise once (cached by content) rather than in every worker, and in a thread so
        # that the caller's own work (face tracking in ``check``) goes on meanwhile: the
        # first of several timelines of the same audio pays ~3.3 CPU-s per minute when
        # the gate finds a noise bed, the others wait for it and read it.
        import threading

        from mouthsync.audio.denoise import prepare

        def start() -> None:
            try:
                prepare(load_audio(source).samples, RATE)
                if done.cancelled():  # no longer wanted (``check`` decided without it)
                    return
                # the worker is started from this thread, so this thread must outlive it: the
                # worker asks the kernel to end it when its parent *thread* ends
                # (``core.children.die_with_parent``), and a starter thread that returned at
                # once now and then killed its worker ("speech timeline worker failed (no
                # message)", seen in CI)
                _start_worker(source, transcript, use_cache, language, front_end, done, nice, denoise,
                              wait_here=True)
            except Exception as exc:
                done.set_exception(exc)

        threading.Thread(target=start, daemon=True, name="mouthsync-speech-start").start()
        return done
    try:
        _start_worker(source, transcript, use_cache, language, front_end, done, nice, denoise)
    except Exception as exc:
        done.set_exception(exc)
    return done


def _start_worker(
    source: str | os.PathLike[str] | Audio,
    transcript: str | None,
    use_cache: bool,
    language: str | None,
    front_end: str,
    done: Future[SpeechTimeline],
    nice: int = 0,
    denoise: bool = True,
    wait_here: bool = False,
) -> None:
    """Start ``mouthsync.audio._worker`` now; a thread delivers its result into ``done``
    (``wait_here``: this thread, which then returns only when the worker has ended)."""
    import tempfile
    import threading

    from mouthsync.core import errors
    from mouthsync.core.children import closing

    if closing():  # started from a thread while the caller exits (interrupted)
        raise errors.Interrupted("exiting: no speech worker started")
    from mouthsync.core import spares

    spare = spares.take(spares.SPEECH_WORKER)  # started with the command, imports done
    tmp = spare.tmp if spare is not None else tempfile.TemporaryDirectory(prefix="mouthsync-speech-")
    args: dict[str, object] = {"transcript": transcript, "use_cache": use_cache, "language": language,
                               "front_end": front_end, "source": None, "audio_npy": None, "nice": nice,
                               "denoise": denoise}
    try:
        if isinstance(source, Audio):
            npy = os.path.join(tmp.name, "audio.npy")
            np.save(npy, np.ascontiguousarray(source.samples))
            args.update(audio_npy=npy, rate=source.rate, start=source.start)
        else:
            check_input_path(source)
            args["source"] = os.fspath(source)
    except BaseException:
        if spare is not None:
            spare.stop()
        raise
    out = os.path.join(tmp.name, "timeline.json")
    # TMPDIR inside the worker's own folder: a library's temp file left by a worker that is
    # stopped half-way (a cancel, an interrupt) goes when the folder does
    proc = spares.launch(spares.SPEECH_WORKER, [json.dumps(args), out], tmp.name, spare=spare, progress_out=False,
                         MOUTHSYNC_NO_PROGRESS="1")

    def stop(future: Future[SpeechTimeline]) -> None:
        # ``future.cancel()`` by the caller: the result is no longer wanted, free the core
        if future.cancelled() and proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.terminate()

    done.add_done_callback(stop)

    def wait() -> None:
        # The temp folder is removed *before* the result is delivered: a caller that exits
        # the moment it has the result (a ``multiprocessing`` worker ends with ``os._exit``,
        # skipping atexit) would otherwise leave it behind in this daemon thread.
        result: SpeechTimeline | None = None
        failure: BaseException | None = None
        try:
            _, err = proc.communicate()
            if done.cancelled():
                return
            if proc.returncode != 0 or not os.path.exists(out):
                last = [ln for ln in (err or "").strip().splitlines() if ln.strip()][-1:] or ["no message"]
                raise errors.MouthsyncError(f"speech timeline worker failed ({last[0]})")
            with open(out, encoding="utf-8") as fh:
                res = json.load(fh)
            if "error" in res:
                cls = getattr(errors, res["error"], errors.MouthsyncError)
                raise cls(res["message"])
            result = SpeechTimeline.from_dict(res["timeline"])
        except BaseException as exc:  # delivered to whoever waits on the future
            failure = exc
        finally:
            tmp.cleanup()
        with contextlib.suppress(InvalidStateError):  # cancelled meanwhile
            if failure is not None:
                done.set_exception(failure)
            elif result is not None:
                done.set_result(result)

    if wait_here:
        wait()
    else:
        threading.Thread(target=wait, daemon=True).start()
