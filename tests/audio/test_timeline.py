"""Speech timeline on real recordings: phones, shift invariance, cache, bad input."""

from __future__ import annotations

import difflib
import json

import numpy as np
import pytest

from mouthsync.audio.timeline import compute_timeline, load_audio, speech_timeline
from mouthsync.audio.types import SpeechTimeline
from mouthsync.core.errors import NoAudio
from mouthsync.media.decode import Audio
from tests.conftest import CLIPS, SILENT, SPEECH

ENGLISH = next(p for p in SPEECH if p.name == "RD_Radio31_000.wav")
GERMAN = next(p for p in SPEECH if p.name == "deyu.wav")


@pytest.fixture(scope="module")
def base_audio() -> Audio:
    return load_audio(ENGLISH)


@pytest.fixture(scope="module")
def base(base_audio: Audio) -> SpeechTimeline:
    return compute_timeline(base_audio)


def _onsets(tl: SpeechTimeline) -> tuple[np.ndarray, list[str]]:
    ph = [p for p in tl.phones if p.label != "SIL"]
    return np.array([p.start for p in ph]), [p.label for p in ph]


def test_phones_cover_audio_and_are_plausible(base: SpeechTimeline) -> None:
    ph = base.phones
    assert ph[0].start == pytest.approx(0.0, abs=0.011)
    assert ph[-1].end == pytest.approx(base.duration, abs=0.011)
    for a, b in zip(ph[:-1], ph[1:], strict=True):
        assert a.end == pytest.approx(b.start) and a.end > a.start
    speech_phones = [p for p in ph if p.label != "SIL"]
    # 8 s of read radio speech: English runs at roughly 8-15 phones per second
    assert 8 <= base.rate.phones_per_s <= 15
    assert len(speech_phones) > 50
    kinds = {e.kind for e in base.events}
    assert {"bilabial_closure", "plosive_release", "labiodental"} <= kinds
    for e in base.events_of("bilabial_closure"):
        assert e.phone in {"P", "B", "M"}
    assert base.speech and base.speech[0][0] < 0.2


@pytest.mark.parametrize("shift_ms", [20, 60, 130, -40])
def test_shifting_audio_shifts_phones(base_audio: Audio, base: SpeechTimeline, shift_ms: int) -> None:
    """The sync stage measures shifts through phone times: they must move exactly."""
    n = abs(shift_ms) * 16
    noise = (np.random.default_rng(abs(shift_ms)).standard_normal(n) * 1e-4).astype(np.float32)
    x = np.concatenate([noise, base_audio.samples]) if shift_ms > 0 else base_audio.samples[n:]
    tl = compute_timeline(Audio(x, 16000, 0.0))
    t0, l0 = _onsets(base)
    t1, l1 = _onsets(tl)
    sm = difflib.SequenceMatcher(a=l0, b=l1, autojunk=False)
    d = np.array(
        [t1[m.b + k] - t0[m.a + k] for m in sm.get_matching_blocks() for k in range(m.size)]
    )
    assert len(d) >= 0.9 * len(l0)
    err_ms = np.abs(d * 1000 - shift_ms)
    assert np.median(err_ms) < 1.0
    assert np.mean(err_ms < 1.0) > 0.9


@pytest.mark.parametrize("head", ["tone", "room"])
def test_sound_before_the_first_words_is_left_out_of_recognition(
    base_audio: Audio, base: SpeechTimeline, head: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3 s of a title's low tone (its onset click reads as 80 ms of speech) or of room
    noise before the first words: the recogniser hears the speech with 0.5 s either side,
    and finds the recording's own phones. Heard whole, the head entered the utterance's
    normalisation: 56 % (tone) and 74 % (room) of the phones matched, against 90 / 93 %."""
    import mouthsync.audio.timeline as timeline

    rate = base_audio.rate
    t = np.arange(3 * rate) / rate
    if head == "tone":
        pre = 0.02 * np.sin(2 * np.pi * 220 * t)
    else:
        pre = 0.003 * np.random.default_rng(1).standard_normal(t.size)
    a = Audio(np.concatenate([pre.astype(np.float32), base_audio.samples]), rate, 0.0)
    t0, l0 = _onsets(base)

    def matched() -> float:
        t1, l1 = _onsets(compute_timeline(a, use_cache=False))
        return float(np.mean([any(abs(x - (y + 3.0)) <= 0.02 and m == lab for x, m in zip(t1, l1, strict=True))
                              for y, lab in zip(t0, l0, strict=True)]))

    cut = matched()
    monkeypatch.setattr(timeline, "SPAN_MARGIN_S", 1e9)  # everything heard, as before
    monkeypatch.setattr(timeline, "steady_spans", lambda *args, **kwargs: [])
    whole = matched()
    assert cut >= 0.85 and cut >= whole + 0.1


def test_a_tone_after_the_last_words_is_not_speech(base_audio: Audio, monkeypatch: pytest.MonkeyPatch) -> None:
    """3 s of a title's tone after the recording: speech activity calls its first part
    speech (WebRTC's VAD has not adapted to it yet); the steady pitch says it is not, so the
    recognisers hear no more of it than the span's margin, and the timeline's speech none."""
    import mouthsync.audio.timeline as timeline

    rate = base_audio.rate
    end = base_audio.duration
    tone = 0.02 * np.sin(2 * np.pi * 220 * np.arange(3 * rate) / rate)
    a = Audio(np.concatenate([base_audio.samples, tone.astype(np.float32)]), rate, 0.0)
    tl = compute_timeline(a, use_cache=False)
    (s0, s1), = tl.settings["steady_s"]
    assert s0 == pytest.approx(end, abs=0.2) and s1 == pytest.approx(end + 3.0, abs=0.2)
    assert tl.settings["heard_s"][1] <= end + timeline.SPAN_MARGIN_S + 0.05  # the speech, and its margin
    assert tl.speech[-1][1] <= end + 0.05
    assert all(p.label == "SIL" for p in tl.phones if p.start >= end + 0.05)
    monkeypatch.setattr(timeline, "steady_spans", lambda *args, **kwargs: [])  # speech activity alone
    assert compute_timeline(a, use_cache=False).speech[-1][1] > end + 0.2


def test_file_times_include_stream_start_and_cache(tmp_path) -> None:
    clip = CLIPS[1]
    a = load_audio(clip)
    tl = speech_timeline(clip)
    assert tl.start == pytest.approx(a.start)
    again = speech_timeline(clip)
    assert again.to_dict() == tl.to_dict()
    # an in-memory Audio with a later start gives the same phones, moved
    moved = speech_timeline(Audio(a.samples, a.rate, a.start + 1.5), use_cache=False)
    assert [p.label for p in moved.phones] == [p.label for p in tl.phones]
    assert moved.phones[3].start == pytest.approx(tl.phones[3].start + 1.5)
    json.dumps(tl.to_dict())
    assert SpeechTimeline.from_dict(json.loads(json.dumps(tl.to_dict()))).to_dict() == tl.to_dict()


def test_no_audio_is_a_user_error() -> None:
    with pytest.raises(NoAudio):
        speech_timeline(SILENT[0])


def test_german_degrades_honestly() -> None:
    tl = speech_timeline(GERMAN, language="de")
    assert "English-only" in tl.language_note
    # speech activity does not depend on the language: most of the file is talk
    talk = sum(e - s for s, e in tl.speech)
    assert talk > 0.5 * tl.duration


def test_alignment_plausibility_flags_wrong_transcript() -> None:
    clip = CLIPS[1]
    good = speech_timeline(
        clip, transcript="the heart of my california congressional district right chase my own dreams growing up"
    )
    assert good.settings["align_plausible"] is True
    assert [w.text for w in good.words][:3] == ["the", "heart", "of"]
    assert good.phones[-1].end == pytest.approx(good.end)
    wrong = speech_timeline(clip, transcript="hello world")
    assert wrong.settings["align_plausible"] is False


def test_auto_transcript_aligns_recognised_words() -> None:
    tl = speech_timeline(CLIPS[1], transcript="auto")
    assert tl.mode == "align-auto"
    assert len(tl.words) >= 8 and tl.settings["align_plausible"]
    # the machine transcript of this clip gets the distinctive words right
    assert {"california", "district"} <= {w.text for w in tl.words}
    assert "california" in tl.settings["machine_transcript"]


def test_long_transcripts_are_aligned_in_pieces_cut_between_words() -> None:
    from mouthsync.audio.timeline import ALIGN_PIECE_S, _pieces
    from mouthsync.audio.types import Word

    words, t = [], 0.2
    rng = np.random.default_rng(1)
    while t < 300.0:
        d = float(rng.uniform(0.15, 0.5))
        words.append(Word(t, t + d, "w"))
        t += d + float(rng.choice([0.02, 0.05, 0.4], p=[0.6, 0.3, 0.1]))
    pieces = _pieces(words, 0.0, 301.0)
    assert sum(len(ws) for _, _, ws in pieces) == len(words)
    assert pieces[0][0] == 0.0 and pieces[-1][1] == 301.0
    for (a0, b0, ws0), (a1, _, _) in zip(pieces[:-1], pieces[1:], strict=True):
        assert b0 == a1 and 0.5 * ALIGN_PIECE_S <= b0 - a0 <= 1.5 * ALIGN_PIECE_S
        assert ws0[-1].end <= b0  # no word is cut
    assert len(_pieces(words[:40], 0.0, 40.0)) == 1  # short media stays whole


FACE2_WORDS = "the heart of my california congressional district right chase my own dreams growing up"


def _twenty_copies() -> tuple[Audio, float, float, float]:
    """Twenty copies of retalking_face2's sound 1 s apart (longer than 1.5 alignment
    pieces), the copies' spacing, one copy's length, and where "heart" starts in the clip
    aligned alone."""
    from mouthsync.audio.timeline import ALIGN_PIECE_S

    one = load_audio(CLIPS[1])
    alone = speech_timeline(one, transcript=FACE2_WORDS)
    heart = next(w.start for w in alone.words if w.text == "heart") - one.start
    step = one.duration + 1.0
    x = np.zeros(int(round(20 * step * one.rate)), dtype=np.float32)
    for k in range(20):
        i = int(round(k * step * one.rate))
        x[i:i + one.samples.size] = one.samples
    long = Audio(samples=x, rate=one.rate, start=0.0)
    assert long.duration > 1.5 * ALIGN_PIECE_S  # long enough to be cut
    return long, step, one.duration, heart


def _each_copy_reads_alike(tl: SpeechTimeline, step: float, heart: float) -> None:
    starts = [w.start for w in tl.words if w.text == "heart"]
    assert len(starts) == 20
    assert np.allclose([s - k * step for k, s in enumerate(starts)], heart, atol=0.1)


def test_subtitles_on_long_sound_are_aligned_piece_by_piece() -> None:
    """Twenty copies of a clip, each under its own cue: the words land in their own copy
    (cut between cues near every minute), as the one copy aligned alone places them."""
    from mouthsync.media.subtitles import Cue, timed_text

    long, step, dur, heart = _twenty_copies()
    cues = [Cue(k * step + 0.1, k * step + dur - 0.1, f"<i>{FACE2_WORDS}</i>") for k in range(20)]
    _each_copy_reads_alike(speech_timeline(long, transcript=timed_text(cues), use_cache=False), step, heart)


def test_plain_words_on_long_sound_are_placed_then_aligned_piece_by_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twenty copies of a clip and its words twenty times as plain text (no times): the
    words are placed on recognised phones, cut near every minute and aligned piece by
    piece, and each copy's words land in their own copy as the clip aligned alone places
    them (one pass over the whole would cost ~4x the CPU)."""
    from mouthsync.audio import timeline

    long, step, _, heart = _twenty_copies()
    seen: list[float] = []
    real = timeline.align_transcript

    def spy(samples, text, **kw):  # type: ignore[no-untyped-def]
        seen.append(samples.size / long.rate)
        return real(samples, text, **kw)

    monkeypatch.setattr(timeline, "align_transcript", spy)
    tl = speech_timeline(long, transcript=". ".join([FACE2_WORDS] * 20), use_cache=False)
    assert len(seen) >= 2 and max(seen) <= 1.5 * timeline.ALIGN_PIECE_S  # never the whole in one pass
    assert tl.mode == "align" and len(tl.words) == 20 * len(FACE2_WORDS.split())
    _each_copy_reads_alike(tl, step, heart)
