"""Split microphones: a stereo stream with one voice per channel is measured channel by
channel, and the channel the face speaks is reported (real clips, real recordings)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from mouthsync.core.errors import BadInput
from mouthsync.face.track import track_face
from mouthsync.media.decode import decode_audio, envelopes_of, stereo_head
from mouthsync.sync.channels import split_voices
from mouthsync.sync.delay import analyse, check_sync
from mouthsync.sync.sources import timelines_for
from tests.conftest import CLIPS, SPEECH

FACE = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
OTHER = next(p for p in SPEECH if p.name == "deyu.wav")


def _envelopes(path):  # type: ignore[no-untyped-def]
    return envelopes_of(stereo_head(path))


def _loud_db(path: Path) -> float:
    """Loud speech level: the 90th percentile of 20 ms frame energies, dB."""
    x = decode_audio(path).samples
    e = (x[: x.size // 320 * 320].reshape(-1, 320).astype(np.float64) ** 2).mean(axis=1)
    return float(10 * np.log10(np.percentile(e, 90) + 1e-12))


def _two_mics(out: Path, left_is_face: bool, bleed_db: float | None = None) -> Path:
    """The clip's picture with its own voice on one channel and another person's recording
    on the other (``bleed_db``: each voice also leaks into the other microphone that much
    lower)."""
    v, o = ("[v]", "[o]") if left_is_face else ("[o]", "[v]")
    mix = ""
    if bleed_db is not None:
        g = 10 ** (-bleed_db / 20)
        mix = (f";[v]asplit[v1][v2];[o]asplit[o1][o2];[v1][o2]amix=inputs=2:weights=1 {g}:normalize=0[vv];"
               f"[o1][v2]amix=inputs=2:weights=1 {g}:normalize=0[oo]")
        v, o = ("[vv]", "[oo]") if left_is_face else ("[oo]", "[vv]")
    gain = _loud_db(FACE) - _loud_db(OTHER)  # the two people equally loud in their own microphones
    graph = (f"[0:a]aresample=48000,pan=mono|c0=c0[v];[1:a]aresample=48000,pan=mono|c0=c0,volume={gain:.2f}dB[o]" + mix
             + f";{v}{o}join=inputs=2:channel_layout=stereo:map=0.0-FL|1.0-FR[a]")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(FACE), "-i", str(OTHER),
                    "-filter_complex", graph, "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "flac",
                    "-shortest", str(out)], check=True)
    return out


def test_split_is_told_from_ordinary_stereo(tmp_path: Path) -> None:
    for clip in CLIPS:  # every shared clip's own stereo: one sound, not two voices
        env = _envelopes(clip)
        assert env is None or not split_voices(env)
    assert split_voices(_envelopes(_two_mics(tmp_path / "a.mkv", True)))
    assert split_voices(_envelopes(_two_mics(tmp_path / "b.mkv", True, bleed_db=6.0)))
    one_side = tmp_path / "one.mkv"  # a microphone on the left only, the right silent
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(FACE), "-af", "pan=stereo|c0=c0|c1=0*c0",
                    "-c:v", "copy", "-c:a", "flac", str(one_side)], check=True)
    assert not split_voices(_envelopes(one_side))
    assert not split_voices(None)


def test_one_channel_alone(tmp_path: Path) -> None:
    two = _two_mics(tmp_path / "two.mkv", True)
    left, right = decode_audio(two, channel=0), decode_audio(two, channel=1)
    assert left.channel == "FL" and right.channel == "FR"
    own = decode_audio(FACE)
    n = min(own.samples.size, left.samples.size)
    assert np.corrcoef(left.samples[:n], own.samples[:n])[0, 1] > 0.95
    assert abs(np.corrcoef(right.samples[:n], own.samples[:n])[0, 1]) < 0.2
    with pytest.raises(BadInput):
        decode_audio(two, channel=2)


@pytest.mark.parametrize("left_is_face", [True, False], ids=["face-left", "face-right"])
def test_the_channel_the_face_speaks_is_measured(tmp_path: Path, left_is_face: bool) -> None:
    base = check_sync(FACE)
    two = _two_mics(tmp_path / "two.mkv", left_is_face, bleed_db=12.0)
    rep = check_sync(two)
    want = "FL" if left_is_face else "FR"
    assert rep.details["audio_channel"] == want
    assert [c["name"] for c in rep.details["channels"]] == ["FL", "FR"]
    assert rep.confidence >= 0.3
    assert abs(rep.audio_delay_ms - base.audio_delay_ms) <= 40.0
    assert any(f.check == "sync.channels" for f in rep.findings)
    if left_is_face:  # why: the mix of the two voices reads a wrong delay or none it trusts
        mixed = decode_audio(two)
        m = analyse(track_face(two), timelines_for(mixed), mixed, window_s=1e9)
        assert m.confidence < 0.3 or abs(m.audio_delay_ms - base.audio_delay_ms) > 40.0


def test_channels_in_opposite_polarity_are_measured_on_their_difference(tmp_path: Path) -> None:
    """One channel's polarity reversed (a miswired cable): the mono mix cancels the voice
    ("no speech" before), their difference holds it; ordinary stereo, split microphones
    and one silent channel are not taken for it."""
    from mouthsync.media.decode import stereo_head
    from mouthsync.sync.channels import opposite_polarity

    flipped = tmp_path / "flipped.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(FACE), "-af", "pan=stereo|c0=c0|c1=-1*c0",
                    "-c:v", "copy", "-c:a", "pcm_s16le", str(flipped)], check=True)
    assert opposite_polarity(stereo_head(flipped))
    for clip in CLIPS:
        assert not opposite_polarity(stereo_head(clip))
    assert not opposite_polarity(stereo_head(_two_mics(tmp_path / "a.mkv", True)))
    assert not opposite_polarity(None)
    own = check_sync(FACE)
    rep = check_sync(flipped)
    assert rep.details["audio_channel"] == "L-R"
    assert any(f.check == "sync.polarity" for f in rep.findings)
    assert abs(rep.audio_delay_ms - own.audio_delay_ms) <= 10.0 and rep.confidence >= 0.5
