"""Speech over a still mouth (``sync.still``): found where a held frame or a listener is
on screen under someone's speech, never on a speaking face, and left out of ``check``'s
measurement with the reason said."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mouthsync.face.track import track_face
from mouthsync.media.decode import decode_audio
from mouthsync.sync.delay import check_sync
from mouthsync.sync.sources import timelines_for
from mouthsync.sync.still import MIN_STILL_S, STILL_SPREAD, aperture_spread, still_mask, still_spans
from tests.conftest import CLIPS, SPEECH, WILD
from tests.sync.builders import ffmpeg

FPS = 25.0


def _talking(seconds: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Frame times and an aperture that opens and closes ~4 times a second, as speech does."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FPS)) / FPS
    ap = 0.06 + 0.05 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6)) + rng.normal(0, 0.01, t.size)
    return t, np.clip(ap, 0.0, None)


def _held(ap: np.ndarray, t: np.ndarray, a: float, b: float, seed: int = 1) -> np.ndarray:
    """``ap`` with the mouth at rest from ``a`` to ``b`` s (tracker jitter only)."""
    rng = np.random.default_rng(seed)
    out = ap.copy()
    m = (t >= a) & (t < b)
    out[m] = 0.012 + rng.normal(0, 0.0005, m.sum())
    return out


def test_a_rest_under_speech_is_a_span_to_the_frame() -> None:
    t, ap = _talking(12.0)
    ap = _held(ap, t, 4.0, 8.0)
    valid = np.ones(t.size, dtype=bool)
    spans = still_spans(t, ap, valid, [(0.2, 11.8)])
    assert len(spans) == 1
    s = spans[0]
    assert abs(s.start_s - 4.0) <= 0.08 and abs(s.end_s - 8.0) <= 0.08, s
    assert s.speech_s == pytest.approx(s.end_s - s.start_s, abs=1e-6)
    assert s.still_picture is None  # no picture change given
    mask = still_mask(t, spans)
    assert mask[(t > 4.1) & (t < 7.9)].all() and not mask[(t < 3.9) | (t > 8.1)].any()


def test_a_rest_without_speech_or_too_short_is_no_span() -> None:
    t, ap = _talking(12.0)
    valid = np.ones(t.size, dtype=bool)
    rest = _held(ap, t, 4.0, 8.0)
    # a pause: the speaker rests while nothing is heard (or only its first half second is)
    assert still_spans(t, rest, valid, [(0.2, 4.5), (8.0, 11.8)]) == []
    # a short rest inside speech (a held closure, a breath)
    short = _held(ap, t, 4.0, 4.0 + MIN_STILL_S - 0.3)
    assert still_spans(t, short, valid, [(0.2, 11.8)]) == []
    # a speaking mouth all through
    assert still_spans(t, ap, valid, [(0.2, 11.8)]) == []
    # frames without a face are not stillness
    gone = valid.copy()
    gone[(t >= 4.0) & (t < 8.0)] = False
    assert still_spans(t, rest, gone, [(0.2, 11.8)]) == []


def test_a_frozen_picture_is_told_from_a_face_holding_still() -> None:
    t, ap = _talking(12.0)
    ap = _held(ap, t, 4.0, 8.0)
    valid = np.ones(t.size, dtype=bool)
    change = np.full(t.size, 0.8)
    frozen = change.copy()
    frozen[(t >= 4.0) & (t < 8.0)] = 0.0
    assert still_spans(t, ap, valid, [(0.2, 11.8)], frozen)[0].still_picture is True
    assert still_spans(t, ap, valid, [(0.2, 11.8)], change)[0].still_picture is False


def test_spread_of_a_speaking_mouth_is_far_above_the_threshold() -> None:
    t, ap = _talking(6.0)
    sp = aperture_spread(t, ap, np.ones(t.size, dtype=bool))
    assert np.nanmin(sp) > 5 * STILL_SPREAD


@pytest.mark.parametrize("clip", CLIPS + WILD, ids=lambda p: p.stem)
def test_no_shared_clip_has_a_still_span(clip: Path) -> None:
    """Every shared clip is a face saying its own words: nothing may be left out (the
    quietest second of speech, on voxceleb_00473, spreads 0.0098, 2.5x the threshold)."""
    tr = track_face(clip)
    tl = timelines_for(decode_audio(clip, rate=16000))[0]
    assert still_spans(tr.times, tr.mouth["aperture"], tr.valid, list(tl.speech), tr.picture_change) == []


@pytest.fixture(scope="module")
def held_frame_edit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 s: retalking_face2 speaking (0-5 s); retalking_face3's first frame held for 6 s
    while another speaker's recording plays (a voice-over on a freeze frame); face3
    speaking (11-16 s)."""
    out = tmp_path_factory.mktemp("still") / "voiceover.mp4"
    face2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
    face3 = next(p for p in CLIPS if p.name == "retalking_face3.mp4")
    other = next(p for p in SPEECH if p.name == "RD_Radio31_000.wav")
    fmt = "aresample=44100,aformat=channel_layouts=mono"
    ffmpeg("-i", str(face2), "-i", str(other), "-i", str(face3), "-filter_complex",
            "[0:v]scale=640:640,setsar=1,fps=25[v0];"
            "[2:v]scale=640:640,setsar=1,fps=25,split[x][y];"
            "[x]trim=0:0.04,loop=150:1:0,setpts=N/25/TB[v1];[y]setpts=PTS-STARTPTS[v2];"
            f"[0:a]{fmt}[a0];[1:a]{fmt},atrim=0:6,asetpts=N/SR/TB[a1];[2:a]{fmt}[a2];"
            "[v0][a0][v1][a1][v2][a2]concat=n=3:v=1:a=1[v][a]",
            "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-crf", "20", "-c:a", "aac", str(out))
    return out


def test_check_leaves_out_a_voice_over_on_a_held_frame(held_frame_edit: Path) -> None:
    rep = check_sync(held_frame_edit)
    assert len(rep.still) == 1, rep.still
    s = rep.still[0]
    assert abs(s.start_s - 5.0) <= 0.2 and abs(s.end_s - 11.0) <= 0.2, s
    assert s.still_picture is True and s.speech_s > 4.0
    found = [f for f in rep.findings if f.check == "sync.still_mouth"]
    assert len(found) == 1 and "held or still picture" in found[0].message
    # a window inside the held frame is not measured, and says why
    inside = [w for w in rep.windows if w.start_s >= s.start_s - 0.1 and w.end_s <= s.end_s + 0.1]
    assert inside and all(w.audio_delay_ms is None and "still mouth" in w.note for w in inside)
    # the speaking parts are: the file reads a confident delay within the search
    assert rep.audio_delay_ms is not None and rep.confidence >= 0.3
    d = rep.to_dict()
    assert d["still_mouth"] == [s.to_dict()]


def test_check_names_a_listener_under_someone_elses_speech(tmp_path: Path) -> None:
    """A live face at rest (the last second of retalking_face1, played forward and back)
    under another speaker's recording: a reaction shot. The picture moves, the mouth
    does not."""
    face1 = next(p for p in CLIPS if p.name == "retalking_face1.mp4")
    other = next(p for p in SPEECH if p.name == "RD_Radio34_002.wav")
    out = tmp_path / "listener.mp4"
    fmt = "aresample=44100,aformat=channel_layouts=mono"
    ffmpeg("-i", str(face1), "-i", str(other), "-filter_complex",
            "[0:v]fps=25,scale=640:640,setsar=1,split[s][r];"
            "[s]trim=0:5,setpts=PTS-STARTPTS[v0];"
            "[r]trim=start=5.1:end=6.0,setpts=PTS-STARTPTS,split[f][b];[b]reverse[bk];"
            "[f][bk]concat=n=2:v=1:a=0,loop=loop=3:size=50:start=0,setpts=N/25/TB[v1];"
            f"[0:a]{fmt},atrim=0:5,asetpts=N/SR/TB[a0];[1:a]{fmt},atrim=0.3:7.3,asetpts=N/SR/TB[a1];"
            "[v0][a0][v1][a1]concat=n=2:v=1:a=1[v][a]",
            "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-crf", "20", "-c:a", "aac", str(out))
    rep = check_sync(out)
    assert len(rep.still) == 1, rep.still
    s = rep.still[0]
    assert s.still_picture is False
    assert abs(s.start_s - 5.0) <= 0.3 and s.end_s >= 11.5, s
    assert any(f.check == "sync.still_mouth" and "listener" in f.message for f in rep.findings)



def test_a_covered_mouth_is_left_out(tmp_path: Path) -> None:
    """A patch over retalking_face2's mouth from 1.5 to 4.0 s: Face Mesh holds the mouth
    shut under it, which is stillness under speech. Measured on the rest, the clip reads
    its own delay (within a frame) with some confidence (0.06 when the held mouth was
    scored)."""
    face2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
    out = tmp_path / "covered.mp4"
    ffmpeg("-i", str(face2), "-vf",
            "drawbox=x=270:y=430:w=300:h=140:color=0x8a6a55:t=fill:enable='between(t,1.5,4)'",
            "-c:a", "copy", "-c:v", "libx264", "-crf", "18", str(out))
    rep = check_sync(out)
    assert len(rep.still) == 1, rep.still
    s = rep.still[0]
    assert abs(s.start_s - 1.5) <= 0.2 and abs(s.end_s - 4.0) <= 0.2 and s.still_picture is False, s
    own = check_sync(face2)
    assert rep.audio_delay_ms is not None and own.audio_delay_ms is not None
    assert abs(rep.audio_delay_ms - own.audio_delay_ms) <= 40.0
    assert rep.confidence >= 0.15
