import numpy as np
import pytest

from mouthsync.core.errors import BadInput, NoAudio
from mouthsync.media.decode import decode_audio, frame_times, iter_frames

from ..conftest import CLIPS, SILENT


def test_vfr_frame_times_are_real_timestamps() -> None:
    vfr = next(p for p in CLIPS if p.name == "retalking_face1.mp4")
    t = frame_times(vfr)
    assert len(t) == 135
    gaps = np.diff(t)
    assert gaps.min() < 0.04 < gaps.max()  # uneven spacing survives
    assert 21.5 < 1 / gaps.mean() < 22.7


def test_avi_header_counting_ticks_is_not_truncation(tmp_path) -> None:
    """H.264 copied into AVI gets a 1/50 time base at 25 fps, and the header counts 250
    "frames" (ticks) for 125 pictures; its PCM header counts samples, not packets. Both
    read as truncated files before the time they cover was compared instead."""
    import subprocess

    src = tmp_path / "h264.avi"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(CLIPS[1]), "-c:v", "copy",
                    "-c:a", "pcm_s16le", str(src)], check=True)
    assert len(frame_times(src)) == 125
    assert decode_audio(src, rate=16000).duration == pytest.approx(5.0, abs=0.05)
    cut = tmp_path / "cut.avi"  # a real truncation is still one
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(BadInput, match="truncated"):
        frame_times(cut)


def test_frames_carry_times_and_scale() -> None:
    frames = list(iter_frames(CLIPS[1], max_side=200))
    assert len(frames) == 125
    assert frames[0].image.shape == (200, 200, 3)
    assert frames[-1].time == pytest.approx(4.96, abs=1e-6)


def test_audio_decodes_at_requested_rate() -> None:
    a = decode_audio(CLIPS[1], rate=16000)
    assert a.rate == 16000 and a.samples.ndim == 1
    assert a.duration == pytest.approx(5.0, abs=0.05)
    assert 0.01 < float(np.abs(a.samples).max()) <= 1.0


def test_no_audio_is_a_clear_error() -> None:
    with pytest.raises(NoAudio, match="no audio stream"):
        decode_audio(SILENT[0])


def test_not_media(tmp_path) -> None:
    p = tmp_path / "fake.mp4"
    p.write_text("hello, I am text")
    with pytest.raises(BadInput, match="not a readable media file"):
        decode_audio(p)


def test_unhidden_aac_priming_is_removed(tmp_path) -> None:
    from .builders import delay_audio

    face4 = next(p for p in CLIPS if p.name == "retalking_face4.mp4")
    late = delay_audio(face4, tmp_path / "late.mp4", 0.5)
    rate = 44100  # native: no resampler between the two decodes
    a, b = decode_audio(face4, rate=rate), decode_audio(late, rate=rate)
    # Stream-copied AAC lost its priming edit; without the fix the first 1024 samples
    # (23 ms) would be encoder warm-up reported as sound. Now sample 0 is real sound:
    n = 2 * rate
    assert np.allclose(b.samples[:n], a.samples[:n], atol=1e-4)
    assert b.start == pytest.approx(0.5, abs=0.001)  # FFmpeg's own remux lands 0.77 ms early


def test_aac_end_padding_is_trimmed_to_the_container() -> None:
    face4 = next(p for p in CLIPS if p.name == "retalking_face4.mp4")
    a = decode_audio(face4, rate=44100)
    assert a.duration == pytest.approx(6.577007, abs=1.5 / 44100)  # ffprobe's stream duration


def test_holes_in_the_audio_timeline_are_filled_with_silence(tmp_path) -> None:
    import subprocess

    import av

    face4 = next(p for p in CLIPS if p.name == "retalking_face4.mp4")
    listing = tmp_path / "list.txt"
    listing.write_text(f"file '{face4}'\n" * 3)
    joined = tmp_path / "joined.mp4"  # the concat demuxer leaves a 16 ms hole per join
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-c", "copy", str(joined)], check=True)
    with av.open(str(joined)) as c:
        st = c.streams.audio[0]
        pts = [p.pts for p in c.demux(st) if p.pts is not None and p.size]
    jumps = [b for a, b in zip(pts, pts[1:], strict=False) if b - a > 1024 + 8]
    assert len(jumps) == 2
    rate = 44100
    a, ref = decode_audio(joined, rate=rate), decode_audio(face4, rate=rate)
    # The third copy's sound sits where its packets say (after its 1024 priming samples).
    third = (jumps[1] + 1024) / rate
    i = int(round((third - a.start) * rate))
    window = a.samples[i - 2000 : i + rate + 2000]
    corr = np.correlate(window, ref.samples[:rate], "valid")
    assert abs(int(np.argmax(corr)) - 2000) <= 2


def test_pcm_in_quicktime_is_not_taken_for_truncated(tmp_path) -> None:
    """QuickTime counts PCM audio in samples (221 184 "frames" in 216 packets): a whole
    file must decode, and the same file cut in half must still be refused."""
    import subprocess

    mov = tmp_path / "pcm24.mov"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(CLIPS[1]), "-c:v", "copy", "-c:a", "pcm_s24le",
                    "-movflags", "+faststart", str(mov)], check=True)
    a = decode_audio(mov, rate=16000)
    assert a.duration == pytest.approx(5.0, abs=0.05)
    cut = tmp_path / "pcm24_cut.mov"
    cut.write_bytes(mov.read_bytes()[: mov.stat().st_size // 2])
    with pytest.raises(BadInput, match="truncated"):
        decode_audio(cut, rate=16000)


def test_video_digest_is_of_the_picture_alone(tmp_path) -> None:
    """The same video packets under other audio (what ``fix`` writes) share the digest; a
    re-encoded picture, moved timestamps, a display rotation or a pixel aspect do not."""
    import subprocess

    from mouthsync.media.decode import video_digest

    src = CLIPS[1]
    ff = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src)]
    quieter = tmp_path / "quieter.mp4"  # picture copied, audio re-encoded differently
    subprocess.run([*ff, "-c:v", "copy", "-af", "volume=0.5", "-c:a", "aac", "-b:a", "64k", str(quieter)], check=True)
    later = tmp_path / "later.mp4"  # the same packets, every timestamp 0.5 s later
    subprocess.run([*ff, "-c", "copy", "-output_ts_offset", "0.5", str(later)], check=True)
    encoded = tmp_path / "encoded.mp4"
    subprocess.run([*ff, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy", str(encoded)], check=True)
    turned = tmp_path / "turned.mp4"  # the same packets, flagged to be shown a quarter turned
    subprocess.run([*ff, "-c", "copy", "-metadata:s:v:0", "rotate=90", str(turned)], check=True)
    wide = tmp_path / "wide.mp4"  # the same packets, shown with non-square pixels
    subprocess.run([*ff, "-c", "copy", "-aspect", "16:9", str(wide)], check=True)
    d = video_digest(src)
    assert len(d) == 64
    assert video_digest(quieter) == d
    # shown otherwise, tracked otherwise: the cache handed the one's track for the other
    assert len({d, video_digest(turned), video_digest(wide)}) == 3
    assert video_digest(encoded) != d
    assert video_digest(later) != d
    assert video_digest(CLIPS[2]) != d
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(BadInput):
        video_digest(bad)


def test_frames_at_gives_the_shown_frame_and_the_phone_rotation(tmp_path) -> None:
    """frames_at picks the frame on screen at each time (any order), and reports the
    display rotation of phone footage (stored sideways, flagged to be turned)."""
    import subprocess

    from mouthsync.media.decode import frames_at

    src = CLIPS[1]
    every = list(iter_frames(src, threads=False))
    want = [3.0, 0.0, 1.234, 4.9, 1.25]
    got = frames_at(src, want)
    for t, fr in zip(want, got, strict=True):
        shown = max((f for f in every if f.time <= t + 1e-6), key=lambda f: f.time)
        assert fr.time == pytest.approx(shown.time) and np.array_equal(fr.image, shown.image)
        assert fr.rotation == 0
    side = tmp_path / "side.mp4"  # the picture stored turned a quarter, as a phone's sensor does
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-vf", "transpose=2", "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "18", "-an", str(side)], check=True)
    phone = tmp_path / "phone.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(side), "-c", "copy",
                    "-metadata:s:v:0", "rotate=270", str(phone)], check=True)
    (fr,) = frames_at(phone, [2.0])
    assert fr.rotation == 270
    upright = np.rot90(fr.image, fr.rotation // 90).astype(int)
    (orig,) = frames_at(src, [2.0])
    assert upright.shape == orig.image.shape
    assert np.abs(upright - orig.image.astype(int)).mean() < 8  # the same picture, re-encoded


def test_dialogue_is_the_centre_channel_of_a_surround_master(tmp_path) -> None:
    """With ``dialogue``, a 5.0 stream gives its centre channel alone (the voice, without the
    1 kHz tone in the four other channels); stereo is mixed as before."""
    import subprocess

    from mouthsync.media.decode import decode_audio

    src = CLIPS[1]
    five = tmp_path / "five.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-f", "lavfi", "-i",
                    "sine=frequency=1000:sample_rate=48000:duration=5", "-filter_complex",
                    "[0:a]aresample=48000,pan=mono|c0=c0[v];[1:a]volume=0.3,asplit=4[a][b][c][d];"
                    "[a][b][v][c][d]join=inputs=5:channel_layout=5.0:map=0.0-FL|1.0-FR|2.0-FC|3.0-BL|4.0-BR[o]",
                    "-map", "[o]", "-t", "4", "-c:a", "pcm_s16le", str(five)], check=True)
    centre = decode_audio(five, rate=16000, dialogue=True)
    mixed = decode_audio(five, rate=16000)
    assert centre.channel == "FC" and mixed.channel == ""
    assert centre.samples.ndim == 1 and centre.samples.shape == mixed.samples.shape

    def tone_share(x: np.ndarray) -> float:
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(x.size, 1 / 16000)
        return float(spec[np.abs(f - 1000) < 5].sum() / spec.sum())

    assert tone_share(mixed.samples) > 0.3 and tone_share(centre.samples) < 0.01
    stereo = decode_audio(src, rate=16000, dialogue=True)
    assert stereo.channel == "" and np.array_equal(stereo.samples, decode_audio(src, rate=16000).samples)


def test_audio_with_cover_art_has_no_picture(tmp_path) -> None:
    """A podcast or song file with artwork holds a one-frame video stream: it is not a
    picture to check, and the error says so."""
    import subprocess

    from mouthsync.core.errors import NoVideo

    art, src = tmp_path / "art.jpg", tmp_path / "episode.m4a"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(CLIPS[1]), "-frames:v", "1", str(art)], check=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(CLIPS[1]), "-i", str(art), "-map", "0:a", "-map", "1",
                    "-c", "copy", "-disposition:v", "attached_pic", str(src)], check=True)
    with pytest.raises(NoVideo, match="only cover art"):
        frame_times(src)
    assert decode_audio(src, rate=16000).duration == pytest.approx(5.0, abs=0.05)


def test_rate_of_counts_a_constant_rate_with_a_frame_missing_at_its_own_rate() -> None:
    from mouthsync.media.decode import rate_of

    t = np.arange(125) / 25.0
    assert rate_of(t) == pytest.approx(25.0)
    assert rate_of(np.delete(t, 60)) == pytest.approx(25.0)  # (n - 1) / span read 24.8
    vfr = np.cumsum(np.random.default_rng(0).uniform(0.03, 0.06, 100))
    assert rate_of(vfr) == pytest.approx(99 / (vfr[-1] - vfr[0]))
    assert rate_of(np.array([1.0])) == 0.0


def test_audio_says_how_it_was_coded(tmp_path) -> None:
    """The codec and the bits per second of its packets: what tells a sparse MP3 from the
    AAC of the shared clips (check explains a low confidence with it)."""
    import subprocess

    face2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
    out = tmp_path / "mp3.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(face2), "-c:v", "copy", "-ac", "1",
                    "-c:a", "libmp3lame", "-b:a", "32k", str(out)], check=True)
    a = decode_audio(out)
    assert a.codec.startswith("mp3") and a.coded_bps == pytest.approx(32000, rel=0.05)
    b = decode_audio(face2)
    assert b.codec == "aac" and 100_000 < (b.coded_bps or 0) < 160_000


def test_decoding_from_a_time_in_a_transport_stream(tmp_path) -> None:
    """MPEG-TS has no index: a seek to its last keyframe's time landed past the last frame,
    and the empty decode then failed with "generator raised StopIteration". It seeks again
    further back; a time past the end gives the last pictures; skipping the
    packets a seek lands among before a keyframe gives the same frames."""
    import subprocess

    import av

    from mouthsync.media.decode import decode_from, keyframe_times

    ts = tmp_path / "clip.ts"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(CLIPS[1]), "-an", "-c:v", "libx264", "-g", "25",
                    str(ts)], check=True)
    ft, keys = frame_times(ts), keyframe_times(ts)
    for target in (float(keys[-1]), float(ft[-1]) + 5.0, float(keys[1]) + 0.1):
        got = {}
        for skip in (False, True):
            with av.open(str(ts)) as c:
                got[skip] = [f.time for f in decode_from(c, c.streams.video[0], target, skip_to_key=skip)]
        assert got[False] and got[False] == got[True]
        # from a keyframe at or before the target (seeking back in doubling steps may
        # reach an earlier one), to the end
        assert any(abs(got[False][0] - k) < 1e-6 for k in keys) and got[False][0] <= target
        assert abs(got[False][-1] - ft[-1]) < 1e-6
