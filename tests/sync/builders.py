"""Builders for sync test cases with a known answer, made from real clips at test time.

Whether a shared clip is itself in sync is unknown to the frame, so every accuracy test
measures how well the estimate *follows a known change*: the audio moved by k frames or by
some ms, noise or another voice mixed under it, clips concatenated with a different shift
per segment, or the audio clock stretched by 1001/1000. The picture is never touched: the
video packets are copied, only the audio changes (so a cached face track stays valid).

Shifting is done on the sample array (pad with silence / trim) so the audio keeps its
length and start time; ``delay_s > 0`` means the sound comes *later* than the picture, the
same sign as ``audio_delay_ms``. The sync-fix engineer's tests import these too.
"""

from __future__ import annotations

import os
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mouthsync.media.decode import Audio, decode_audio, frame_times


def shift_samples(samples: np.ndarray, rate: int, delay_s: float) -> np.ndarray:
    """Move audio later (``delay_s > 0``) or earlier by whole samples, keeping the length.

    Later: silence is prepended and the tail trimmed; earlier: the head is dropped and
    silence appended. Sub-frame amounts are exact to one sample (62.5 us at 16 kHz).
    """
    n = samples.shape[-1]
    k = int(round(delay_s * rate))
    out = np.zeros_like(samples)
    if k >= 0:
        if k < n:
            out[..., k:] = samples[..., : n - k]
    else:
        k = -k
        if k < n:
            out[..., : n - k] = samples[..., k:]
    return out


def shifted_audio(audio: Audio, delay_s: float) -> Audio:
    """``audio`` with its content moved by ``delay_s`` (same start, same length)."""
    return Audio(samples=shift_samples(audio.samples, audio.rate, delay_s), rate=audio.rate, start=audio.start)


def random_phones(rng: np.random.Generator, end_s: float, start_s: float = 0.3) -> list:
    """Phones of 60-200 ms drawn from open vowels, closures, fricatives and rounded vowels,
    back to back from ``start_s`` until ``end_s``: speech for synthetic mouths."""
    from mouthsync.audio.types import Phone

    labels = ["AA", "M", "IY", "P", "S", "AE", "B", "OW", "F", "UW"]
    out, t = [], start_s
    while t < end_s:
        d = float(rng.uniform(0.06, 0.2))
        out.append(Phone(t, t + d, str(rng.choice(labels))))
        t += d
    return out


def pink_noise(n: int, seed: int = 0) -> np.ndarray:
    """Unit-RMS pink (1/f power) noise made by shaping white noise in the frequency domain."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    spec /= np.sqrt(f)
    x = np.fft.irfft(spec, n)
    return (x / (np.sqrt(np.mean(x**2)) + 1e-12)).astype(np.float32)


def music_bed(n: int, rate: int, seed: int = 0) -> np.ndarray:
    """Unit-RMS synthetic music, ``n`` samples at ``rate``: chords of plucked harmonic tones
    (a new chord every 2 beats at 104 bpm), a bass line, a kick on every beat and a hi-hat
    on the off-beats, seeded. Music under speech is a different difficulty from noise: it
    is loud where speech is (100 Hz-4 kHz), it has onsets of its own on a steady beat, and
    its tones are voiced like vowels."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    beat = 60.0 / 104.0
    out = np.zeros(n)
    roots = [220.0, 174.6, 261.6, 196.0]  # A, F, C, G
    k = 0
    while k * 2 * beat < n / rate:
        t0 = k * 2 * beat
        root = roots[int(rng.integers(len(roots)))]
        seg = (t >= t0) & (t < t0 + 2 * beat)
        tt = t[seg] - t0
        env = np.exp(-tt / 0.6)
        for ratio in (1.0, 1.26, 1.5):  # a major triad, three harmonics each
            f = root * ratio
            out[seg] += sum(env * np.sin(2 * np.pi * f * h * tt) / h for h in (1, 2, 3))
        out[seg] += 1.5 * env * np.sin(2 * np.pi * root / 2 * tt)  # bass
        k += 1
    for b in np.arange(0, n / rate, beat):
        i0 = int(b * rate)
        m = min(n - i0, int(0.15 * rate))
        tt = np.arange(m) / rate
        out[i0 : i0 + m] += 2.0 * np.exp(-tt / 0.04) * np.sin(2 * np.pi * (60 + 80 * np.exp(-tt / 0.02)) * tt)  # kick
        j0 = int((b + beat / 2) * rate)
        if j0 < n:
            mh = min(n - j0, int(0.05 * rate))
            out[j0 : j0 + mh] += 0.6 * rng.standard_normal(mh) * np.exp(-np.arange(mh) / (0.01 * rate))  # hi-hat
    return (out / (np.sqrt(np.mean(out**2)) + 1e-12)).astype(np.float32)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Mix ``noise`` under ``speech`` so that speech power / noise power = ``snr_db``.

    Speech power is measured on the louder half of 20 ms blocks (the speech, not its
    pauses), so 10 dB means 10 dB while someone talks. ``noise`` is tiled or cut to length.
    """
    n = speech.shape[-1]
    if noise.shape[-1] < n:
        noise = np.tile(noise, int(np.ceil(n / noise.shape[-1])))
    noise = noise[..., :n].astype(np.float64)
    block = max(1, n // max(1, n // 320))
    e = np.array([np.mean(speech[i : i + block].astype(np.float64) ** 2) for i in range(0, n, block)])
    p_speech = float(np.mean(np.sort(e)[len(e) // 2 :])) if len(e) else 0.0
    p_noise = float(np.mean(noise**2)) + 1e-20
    gain = np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10.0)))
    mixed = speech.astype(np.float64) + gain * noise
    peak = float(np.max(np.abs(mixed))) if n else 0.0
    if peak > 1.0:
        mixed /= peak
    return mixed.astype(np.float32)


def noisy_audio(audio: Audio, snr_db: float = 10.0, *, noise: np.ndarray | None = None, seed: int = 0) -> Audio:
    """``audio`` with pink noise (default) or the given recording mixed under it at ``snr_db``."""
    x = audio.mono
    nz = pink_noise(x.size, seed) if noise is None else noise
    return Audio(samples=mix_at_snr(x, nz, snr_db), rate=audio.rate, start=audio.start)


def aac_roundtrip(audio: Audio, bitrate: str = "64k") -> Audio:
    """``audio`` encoded to AAC in an .m4a and decoded back: what a delivered file carries.

    A lossy encode smears transients (the plosive bursts the phones are found from) and adds
    the encoder's priming delay, which the container's edit list must cancel; the result has
    the same rate, start and length as ``audio``.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        wav = write_wav(Path(tmp) / "in.wav", audio)
        m4a = Path(tmp) / "out.m4a"
        ffmpeg("-i", str(wav), "-c:a", "aac", "-b:a", bitrate, str(m4a))
        back = decode_audio(m4a, rate=audio.rate).mono
    n = audio.mono.size
    x = np.zeros(n, dtype=np.float32)
    x[: min(n, back.size)] = back[:n]
    return Audio(samples=x, rate=audio.rate, start=audio.start)


def resample_ratio(samples: np.ndarray, ratio_num: int, ratio_den: int) -> np.ndarray:
    """Stretch audio by ``ratio_num/ratio_den`` (1001/1000 plays 0.1 % longer: +60 ms/min)."""
    from scipy.signal import resample_poly

    return resample_poly(samples.astype(np.float64), ratio_num, ratio_den).astype(np.float32)


def write_wav(path: str | os.PathLike[str], audio: Audio | np.ndarray, rate: int | None = None) -> Path:
    """Write mono 16-bit PCM WAV (the simplest container every tool reads exactly)."""
    if isinstance(audio, Audio):
        rate, x = audio.rate, audio.mono
    else:
        x = audio if audio.ndim == 1 else audio.mean(axis=0)
    assert rate is not None
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")
    p = Path(path)
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm.tobytes())
    return p


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def mux_with_audio(video_src: str | os.PathLike[str], audio: Audio, out: str | os.PathLike[str]) -> Path:
    """Write ``out`` with the video packets of ``video_src`` copied and ``audio`` as its sound.

    ``.mkv`` stores PCM (bit exact); other suffixes get AAC. The audio keeps its start time
    on the media timeline (``-itsoffset``), so only the injected shift differs.
    """
    out = Path(out)
    wav = out.with_suffix(".src.wav")
    write_wav(wav, audio)
    codec = ["-c:a", "pcm_s16le"] if out.suffix.lower() == ".mkv" else ["-c:a", "aac", "-b:a", "192k"]
    try:
        ffmpeg(
            "-i", str(video_src), "-itsoffset", f"{audio.start:.6f}", "-i", str(wav),
            "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", *codec, str(out),
        )
    finally:
        wav.unlink(missing_ok=True)
    return out


def write_shifted_clip(
    src: str | os.PathLike[str], out: str | os.PathLike[str], delay_s: float, rate: int = 48000
) -> Path:
    """Copy ``src`` to ``out`` with its audio moved by ``delay_s`` (> 0: sound later)."""
    audio = decode_audio(src, rate=rate)
    return mux_with_audio(src, shifted_audio(audio, delay_s), out)


@dataclass(frozen=True)
class Segment:
    """One source clip inside a concatenation: where it sits and the shift its audio got."""

    source: str
    start_s: float
    end_s: float
    shift_s: float


def side_by_side(left: str | os.PathLike[str], right: str | os.PathLike[str], audio_from: str, out: str | os.PathLike[str]) -> Path:
    """A two-shot: ``left`` at 480 px beside ``right`` at 360 px (both 25 fps, 5 s), with
    the sound of one of them (``audio_from`` = "left" or "right"). The left face is the
    larger, so "largest face" is wrong whenever the right one speaks."""
    src = 0 if audio_from == "left" else 1
    ffmpeg(
        "-i", str(left), "-i", str(right), "-filter_complex",
        "[0:v]scale=480:480,setsar=1,fps=25[l];[1:v]scale=360:360,setsar=1,fps=25,pad=360:480:0:60[r];"
        "[l][r]hstack=inputs=2[v]",
        "-map", "[v]", "-map", f"{src}:a", "-t", "5", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
        "-c:a", "aac", "-b:a", "128k", str(out),
    )
    return Path(out)


def wide_shot(src: str | os.PathLike[str], scale: float, out: str | os.PathLike[str], x: float = 0.2) -> Path:
    """A speaker in a wide shot: ``src``'s whole picture at ``scale`` of its width, on black
    in a 1920x1080 frame (``x``: where across the free width, a third of the way down), with
    its own sound copied."""
    from mouthsync.media.decode import video_meta

    w = max(2, int(video_meta(src).width * scale) // 2 * 2)
    ffmpeg("-i", str(src), "-vf", f"scale={w}:-2,pad=1920:1080:(ow-iw)*{x}:(oh-ih)/3", "-c:v", "libx264",
           "-preset", "veryfast", "-crf", "20", "-c:a", "copy", str(out))
    return Path(out)


def gallery(sources: list[str | os.PathLike[str]], speaker: int, out: str | os.PathLike[str], columns: int = 2) -> Path:
    """A video call's gallery view: each source in a 426x360 tile (stretched), ``columns``
    tiles a row, 25 fps, with the sound of ``sources[speaker]``; 4.5 s."""
    n = len(sources)
    rows = -(-n // columns)
    tiles = "".join(f"[{i}:v]scale=426:360,fps=25,setsar=1[t{i}];" for i in range(n))
    layout = "|".join(f"{(i % columns) * 426}_{(i // columns) * 360}" for i in range(n))
    pad = f",pad={columns * 426}:{rows * 360}" if n < rows * columns else ""
    inputs = [a for s in sources for a in ("-i", str(s))]
    ffmpeg(*inputs, "-filter_complex",
           tiles + "".join(f"[t{i}]" for i in range(n)) + f"xstack=inputs={n}:layout={layout}{pad}[v]",
           "-map", "[v]", "-map", f"{speaker}:a", "-t", "4.5", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
           "-c:a", "aac", str(out))
    return Path(out)


def build_concatenation(
    sources: list[str | os.PathLike[str]],
    shifts_s: list[float],
    out_dir: str | os.PathLike[str],
    *,
    fps: int = 25,
    side: int = 480,
    audio_rate: int = 16000,
    stretch: tuple[int, int] | None = None,
    name: str = "concat",
) -> tuple[Path, Path, list[Segment]]:
    """Concatenate clips into one long video plus a WAV with a known shift per segment.

    Each source is re-encoded to ``fps`` constant rate at ``side`` x ``side`` (they differ in
    size and rate), its own audio is cut to exactly its video span, shifted by its entry in
    ``shifts_s``, and the pieces are joined. ``stretch=(1001, 1000)`` then resamples the whole
    audio by that ratio (clock drift) and trims it to the video length. Returns the video
    (with the audio muxed in as PCM), the WAV alone, and the segment table (times before
    any stretch).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pieces: list[np.ndarray] = []
    seg_files: list[Path] = []
    segments: list[Segment] = []
    t = 0.0
    for src, shift in zip(sources, shifts_s, strict=True):
        seg, dur, x = _segment(src, fps, side, audio_rate)
        pieces.append(shift_samples(x, audio_rate, shift))
        seg_files.append(seg)
        segments.append(Segment(str(src), t, t + dur, float(shift)))
        t += dur
    listing = out_dir / f"{name}_list.txt"
    listing.write_text("".join(f"file '{p.resolve()}'\n" for p in seg_files))
    video_only = out_dir / f"{name}_video.mp4"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(video_only))
    audio = np.concatenate(pieces)
    total = audio.size
    if stretch is not None:
        audio = resample_ratio(audio, *stretch)
        audio = audio[:total] if audio.size >= total else np.pad(audio, (0, total - audio.size))
    wav = write_wav(out_dir / f"{name}.wav", audio, audio_rate)
    out = out_dir / f"{name}.mkv"
    ffmpeg(
        "-i", str(video_only), "-i", str(wav), "-map", "0:v:0", "-map", "1:a:0",
        "-c:v", "copy", "-c:a", "pcm_s16le", str(out),
    )
    listing.unlink(missing_ok=True)
    return out, wav, segments


# Segments encoded once per test process: the long-material tests build many
# concatenations of the same few clips (face4 x10 encoded the same clip ten times, ~10 s
# of a build). The encoder is deterministic, so a reused segment is the same bytes.
_SEGMENTS: dict[tuple[str, int, int, int], tuple[Path, float, np.ndarray]] = {}
_SEGMENT_DIR: list[Path] = []


def _segment(src: str | os.PathLike[str], fps: int, side: int, audio_rate: int) -> tuple[Path, float, np.ndarray]:
    """``src`` re-encoded to ``fps`` constant rate at ``side`` x ``side`` without sound, its
    length in seconds (whole frames) and its own audio cut to exactly that video span."""
    key = (str(Path(src).resolve()), fps, side, audio_rate)
    hit = _SEGMENTS.get(key)
    if hit is not None and hit[0].exists():
        return hit
    if not _SEGMENT_DIR:
        import atexit
        import shutil
        import tempfile

        _SEGMENT_DIR.append(Path(tempfile.mkdtemp(prefix="mouthsync-segments-")))
        atexit.register(shutil.rmtree, _SEGMENT_DIR[0], True)
    seg = _SEGMENT_DIR[0] / f"seg{len(_SEGMENTS):03d}.mp4"
    ffmpeg(
        "-i", str(src), "-an", "-vf", f"scale={side}:{side},fps={fps}", "-c:v", "libx264",
        "-preset", "ultrafast", "-crf", "20", "-pix_fmt", "yuv420p", str(seg),
    )
    dur = len(frame_times(seg)) / fps
    a = decode_audio(src, rate=audio_rate)
    t0 = float(frame_times(src)[0])
    # audio sample j sits at a.start + j/rate; take the span [t0, t0 + dur)
    first = int(round((t0 - a.start) * audio_rate))
    want = int(round(dur * audio_rate))
    x = np.zeros(want, dtype=np.float32)
    lo = max(first, 0)
    hi = min(first + want, a.samples.size)
    if hi > lo:
        x[lo - first : hi - first] = a.samples[lo:hi]
    x.setflags(write=False)  # shared between builds: shift_samples copies
    _SEGMENTS[key] = (seg, dur, x)
    return _SEGMENTS[key]


def dialogue(first: str | os.PathLike[str], second: str | os.PathLike[str], out: str | os.PathLike[str],
             side: int = 480) -> Path:
    """A two-shot dialogue, frame-exact: ``first`` (left) speaks its clip's 5 s while
    ``second`` (right) holds its first frame; then ``first`` holds its last frame while
    ``second`` speaks. Each voice sounds with its own face, so the file keeps each clip's
    own delay. Built from decoded frames (ffmpeg's hstack and loop filters can slip a
    side by a frame or two)."""
    import av

    def pictures(p: str | os.PathLike[str]) -> list[np.ndarray]:
        with av.open(str(p)) as c:
            return [f.to_ndarray(format="rgb24", width=side, height=side) for f in c.decode(video=0)]

    a, b = pictures(first), pictures(second)
    n = min(len(a), len(b))
    left = a[:n] + [a[n - 1]] * n
    right = [b[0]] * n + b[:n]
    rate = 48000
    half = int(round(n / 25.0 * rate))
    sound = np.zeros(2 * half, dtype=np.float32)
    for i, src in enumerate((first, second)):
        x = decode_audio(src, rate=rate).mono[:half]
        sound[i * half : i * half + x.size] = x
    out = Path(out)
    wav = write_wav(out.with_suffix(".src.wav"), sound, rate)
    try:
        proc = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{2 * side}x{side}",
             "-r", "25", "-i", "-", "-i", str(wav), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k", str(out)],
            stdin=subprocess.PIPE)
        assert proc.stdin is not None
        for lf, rf in zip(left, right, strict=True):
            proc.stdin.write(np.concatenate([lf, rf], axis=1).tobytes())
        proc.stdin.close()
        assert proc.wait() == 0
    finally:
        wav.unlink(missing_ok=True)
    return out


def _swayed(picture: np.ndarray, t: float, seed: int) -> np.ndarray:
    """``picture`` moved as a listener's head moves: a slow nod (up to 6 px down), a sway
    (up to 4 px sideways) and a lean in (up to 3 % larger), each a sine of its own period."""
    import cv2

    h, w = picture.shape[:2]
    ph = seed * 0.9
    dy = 3.0 + 3.0 * np.sin(2 * np.pi * t / 2.3 + ph)
    dx = 4.0 * np.sin(2 * np.pi * t / 3.7 + 2 * ph)
    z = 1.0 + 0.015 * (1 + np.sin(2 * np.pi * t / 5.1 + 3 * ph))
    m = np.array([[z, 0, (1 - z) * w / 2 + dx], [0, z, (1 - z) * h / 2 + dy]], dtype=np.float64)
    return cv2.warpAffine(picture, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def meeting(sources: list[str | os.PathLike[str]], turns: list[int], out: str | os.PathLike[str], *,
            shifts_s: list[float] | None = None, columns: int = 2, tile: tuple[int, int] = (426, 360),
            sway: bool = False) -> Path:
    """A video call's gallery where people speak in turns, frame-exact: ``sources`` in
    ``tile``-sized tiles (stretched), ``columns`` a row, 25 fps; for each entry of ``turns``
    that source speaks its clip's first 4.8 s (with its own sound, moved by its entry of
    ``shifts_s``: sound later when positive) while every other tile listens: it holds its
    clip's frame with the mouth most closed (the tracker's smallest lip aperture), as a
    listener's mouth is at rest. Each source is sampled on the 25 fps clock by its own frame times, so a 30 fps
    clip keeps its speed. Every speaker keeps its clip's own delay plus its shift.
    ``sway``: the listeners' held frames nod, sway and lean as heads do (:func:`_swayed`),
    their mouths closed, instead of holding perfectly still."""
    import av

    turn_s = 4.8
    n = int(round(turn_s * 25))
    tw, th = tile

    def pictures(p: str | os.PathLike[str]) -> list[np.ndarray]:
        with av.open(str(p)) as c:
            got = [(float(f.time), f.to_ndarray(format="rgb24", width=tw, height=th)) for f in c.decode(video=0)]
        times = np.array([t for t, _ in got]) - got[0][0]
        return [got[max(0, int(np.searchsorted(times, j / 25.0 + 1e-6)) - 1)][1] for j in range(n)]

    from mouthsync.face.track import track_face

    def at_rest(p: str | os.PathLike[str]) -> int:
        tr = track_face(p)
        ap = np.where(tr.valid, np.asarray(tr.mouth["aperture"], dtype=np.float64), np.inf)
        t = float(np.asarray(tr.times)[int(np.argmin(ap))] - tr.times[0])
        return min(n - 1, int(round(t * 25)))

    pics = [pictures(p) for p in sources]
    rest = [pics[i][at_rest(p)] for i, p in enumerate(sources)]
    rate = 48000
    per = int(round(turn_s * rate))
    sound = np.zeros(len(turns) * per, dtype=np.float32)
    rows = -(-len(sources) // columns)
    canvas = np.zeros((len(turns) * n, rows * th, columns * tw, 3), dtype=np.uint8)
    for k, who in enumerate(turns):
        x = shift_samples(decode_audio(sources[who], rate=rate).mono[:per], rate, (shifts_s or [0.0] * len(sources))[who])
        sound[k * per : k * per + x.size] = x
        for j in range(n):
            for i in range(len(sources)):
                r, c = divmod(i, columns)
                pic = pics[i][j] if i == who else _swayed(rest[i], (k * n + j) / 25.0, i) if sway else rest[i]
                canvas[k * n + j, r * th : (r + 1) * th, c * tw : (c + 1) * tw] = pic
    out = Path(out)
    wav = write_wav(out.with_suffix(".src.wav"), sound, rate)
    try:
        proc = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
             f"{columns * tw}x{rows * th}", "-r", "25", "-i", "-", "-i", str(wav), "-c:v", "libx264", "-preset",
             "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k", str(out)],
            stdin=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write(canvas.tobytes())
        proc.stdin.close()
        assert proc.wait() == 0
    finally:
        wav.unlink(missing_ok=True)
    return out


def dissolved(sources: list[str | os.PathLike[str]], shifts_s: list[float], out: str | os.PathLike[str], *,
              fade_frames: int = 15, side: int = 480, fps: int = 25, black_frames: int = 0) -> tuple[Path, list[float]]:
    """An edit whose shots cross-fade (dissolve) over ``fade_frames``, frame-exact: each
    picture is mixed linearly into the next, and each clip's own sound, moved by its entry
    in ``shifts_s``, cross-fades over the same frames. ``black_frames`` > 0 dips to black
    instead: over the same frames each shot fades out, that many frames stay black, and the
    next fades in. Returns the file (H.264 + PCM in Matroska) and the middle of every
    transition (s), where the next shot begins. Built from decoded frames, as
    :func:`dialogue` (ffmpeg's ``xfade`` offsets count from its own frame timing); at most
    two sources' pictures are held at once, so a minute of shots builds in little memory."""
    import av

    rate = 48000

    def picks(p: str | os.PathLike[str]) -> tuple[np.ndarray, float]:
        """Which source frame each output frame shows (the nearest in time), and the time
        of the source's first frame."""
        t = np.asarray(frame_times(p), dtype=np.float64)
        first = float(t[0])
        t = t - first
        step = float(np.median(np.diff(t)))
        n = int(round((t[-1] + step) * fps))
        return np.abs(t[None, :] - (np.arange(n) / fps)[:, None]).argmin(axis=1), first

    chosen = [picks(p) for p in sources]
    counts = [len(c) for c, _ in chosen]
    starts = [0]
    for n in counts[:-1]:
        starts.append(starts[-1] + n - fade_frames)
    total = starts[-1] + counts[-1]
    j = np.arange(fade_frames) + 0.5
    if black_frames:  # out over the first part, black, in over the last
        ramp = (fade_frames - black_frames) / 2.0
        fade_in = np.clip((j - ramp - black_frames) / ramp, 0.0, 1.0)
        fade_out = np.clip(1.0 - j / ramp, 0.0, 1.0)
    else:
        fade_in = j / fade_frames
        fade_out = 1.0 - j / fade_frames
    weights = []  # each shot's share of each of its frames
    for i, n in enumerate(counts):
        w = np.ones(n, dtype=np.float32)
        if i > 0:
            w[:fade_frames] = fade_in
        if i < len(counts) - 1:
            w[n - fade_frames:] = np.minimum(w[n - fade_frames:], fade_out)
        weights.append(w)
    sound = np.zeros(int(round(total / fps * rate)) + rate, dtype=np.float32)
    for src, s0, n, w, shift, (_, t0) in zip(sources, starts, counts, weights, shifts_s, chosen, strict=True):
        a = decode_audio(src, rate=rate)
        x = a.mono[: int(round(n / fps * rate))]
        own = a.start - t0  # where the clip's sound starts against its first frame
        gain = np.interp(np.arange(x.size) / rate + own, (np.arange(n) + 0.5) / fps, w).astype(np.float32)
        at = int(round((s0 / fps + shift + own) * rate))
        lo = max(0, at)
        piece = (x * gain)[lo - at :][: sound.size - lo]
        sound[lo : lo + piece.size] += piece
    sound = sound[: int(round(total / fps * rate))]
    held: dict[int, list[np.ndarray]] = {}

    def pictures(i: int) -> list[np.ndarray]:
        if i not in held:
            with av.open(str(sources[i])) as c:
                decoded = [f.to_ndarray(format="rgb24", width=side, height=side) for f in c.decode(video=0)]
            held[i] = [decoded[min(k, len(decoded) - 1)] for k in chosen[i][0]]
        return held[i]

    out = Path(out)
    wav = write_wav(out.with_suffix(".src.wav"), sound, rate)
    try:
        proc = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{side}x{side}",
             "-r", str(fps), "-i", "-", "-i", str(wav), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
             "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", str(out)],
            stdin=subprocess.PIPE)
        assert proc.stdin is not None
        for k in range(total):
            frame = np.zeros((side, side, 3), dtype=np.float32)
            for i, (s0, n) in enumerate(zip(starts, counts, strict=True)):
                if s0 <= k < s0 + n:
                    frame += pictures(i)[k - s0].astype(np.float32) * weights[i][k - s0]
            for i in [i for i in held if starts[i] + counts[i] <= k]:
                del held[i]  # past its last frame
            proc.stdin.write(np.clip(np.round(frame), 0, 255).astype(np.uint8).tobytes())
        proc.stdin.close()
        assert proc.wait() == 0
    finally:
        wav.unlink(missing_ok=True)
    return out, [(s0 + fade_frames / 2) / fps for s0 in starts[1:]]
