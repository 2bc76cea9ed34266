"""Audio quality facts for ``probe``: loudness, peaks, clipping, noise, speech activity.

This lives in ``media/`` (not ``audio/``) because ``probe`` sits at the start of the data
flow and may not import later stages; it is self-contained on purpose. Everything is
measured, nothing assumed:

* integrated loudness per ITU-R BS.1770-4 with ``pyloudnorm`` (gated, K-weighted, LUFS);
* true peak by 4x polyphase oversampling (the BS.1770 annex method), in dBTP;
* clipping as the share of samples sitting at full scale, and runs of them;
* speech activity from WebRTC's VAD (its model is compiled into ``webrtcvad-wheels``),
  giving leading/trailing silence and long pauses;
* noise floor from the quietest 30 ms frames, speech level from voiced frames, their
  difference as a speech-to-noise estimate;
* how long the speech takes to die away in its room (``media.echo``: a hall's echo);
* what sits under the speech: the quietest frames tell whether there is a bed at all, and
  their spectral flatness tells broadband noise (flat) from tonal content such as music
  (peaky). We call the latter "tonal (music-like)", not "music": it is an honest
  description of what is measured. When speech fills even the quietest frames (or the
  flatness is in between) the answer is "unknown" rather than a guess.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mouthsync.media.echo import echo_decay
from mouthsync.media.resample import resample

VAD_RATE = 16000
FRAME_S = 0.03
#: A sample at or above this magnitude is at full scale (-0.009 dBFS).
CLIP_LEVEL = 0.999
DB_FLOOR = -120.0
#: Flatness of the quietest frames below which a bed is tonal. Measured: sustained chords
#: mixed 20 dB under speech give 1e-5..1e-3; voiced speech alone 0.015..0.07; room tone
#: and hiss 0.1..0.6.
TONAL_FLATNESS = 0.005
NOISE_FLATNESS = 0.05
WHITE_FLATNESS = 0.3


@dataclass
class AudioQuality:
    """Measured audio facts. Levels in dBFS/LUFS/dBTP; times in seconds on the timeline."""

    loudness_lufs: float | None
    true_peak_dbtp: float
    sample_peak_dbfs: float
    clipped_ratio: float
    clipped_runs: int
    noise_floor_dbfs: float
    speech_level_dbfs: float | None
    snr_db: float | None
    speech_ratio: float
    speech_segments: list[tuple[float, float]] = field(default_factory=list)
    leading_silence_s: float = 0.0
    trailing_silence_s: float = 0.0
    long_pauses: list[tuple[float, float]] = field(default_factory=list)
    background: str = "none"
    background_flatness: float | None = None
    #: Correlation of a stereo pair's samples over its louder half (None: not two
    #: channels). Near -1: one signal with one channel's polarity reversed, which a mono
    #: mix cancels; the speech figures above are then measured on their difference.
    channel_correlation: float | None = None
    #: How long the speech takes to die away (s, 60 dB extrapolated from its first 20 dB;
    #: ``media.echo``): 0.15-0.33 for a dry voice, from ``echo.NAMED_DECAY_S`` a hall or a
    #: bare room. None: too few clear speech endings to tell.
    echo_decay_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["speech_segments"] = [list(s) for s in self.speech_segments]
        d["long_pauses"] = [list(s) for s in self.long_pauses]
        return d


def _db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else DB_FLOOR


def true_peak(samples: np.ndarray, rate: int) -> float:
    """Maximum of the 4x oversampled signal (BS.1770 true peak), linear.

    Above 96 kHz the signal is already oversampled enough, as the standard allows.
    """
    from scipy.signal import resample_poly

    factor = 4 if rate < 96000 else 1
    peak = 0.0
    for ch in np.atleast_2d(samples):
        y = resample_poly(ch.astype(np.float64), factor, 1) if factor > 1 else ch
        peak = max(peak, float(np.max(np.abs(y))) if y.size else 0.0)
    return peak


def clipping(samples: np.ndarray) -> tuple[float, int]:
    """Share of samples at full scale, and the number of runs of 3 or more of them.

    A lone full-scale sample can be an honest peak; runs of three are flattened tops.
    """
    total, runs = 0, 0
    chans = np.atleast_2d(samples)
    for ch in chans:
        hot = np.abs(ch) >= CLIP_LEVEL
        total += int(hot.sum())
        if hot.any():
            edges = np.diff(np.concatenate([[0], hot.astype(np.int8), [0]]))
            lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
            runs += int((lengths >= 3).sum())
    return total / max(1, chans.size), runs


def vad_flags(mono16k: np.ndarray, aggressiveness: int = 2) -> np.ndarray:
    """WebRTC VAD decision per 30 ms frame of 16 kHz mono audio."""
    import webrtcvad

    vad = webrtcvad.Vad(aggressiveness)
    n = int(FRAME_S * VAD_RATE)
    pcm = (np.clip(mono16k, -1, 1) * 32767).astype("<i2")
    count = len(pcm) // n
    return np.array(
        [vad.is_speech(pcm[i * n : (i + 1) * n].tobytes(), VAD_RATE) for i in range(count)],
        dtype=bool,
    )


def speech_segments(
    flags: np.ndarray, *, bridge_s: float = 0.3, min_speech_s: float = 0.09
) -> list[tuple[float, float]]:
    """Turn frame flags into (start, end) segments relative to the audio's first sample.

    Gaps shorter than ``bridge_s`` are bridged (stop closures, breaths inside a phrase)
    and blips shorter than ``min_speech_s`` dropped (clicks the VAD mistakes for speech).
    """
    segs: list[list[float]] = []
    i = 0
    while i < len(flags):
        if flags[i]:
            j = i
            while j < len(flags) and flags[j]:
                j += 1
            s, e = i * FRAME_S, j * FRAME_S
            if segs and s - segs[-1][1] < bridge_s:
                segs[-1][1] = e
            else:
                segs.append([s, e])
            i = j
        else:
            i += 1
    return [(round(s, 3), round(e, 3)) for s, e in segs if e - s >= min_speech_s]


def _frame_rms(mono: np.ndarray, rate: int) -> np.ndarray:
    n = int(FRAME_S * rate)
    count = len(mono) // n
    frames = mono[: count * n].reshape(count, n).astype(np.float64)
    return np.sqrt(np.mean(frames**2, axis=1))


def spectral_flatness(mono: np.ndarray, rate: int, starts: np.ndarray) -> float:
    """Median spectral flatness (geometric / arithmetic mean of power) of chosen frames.

    Flatness near 1 is white noise; tonal content (music, hum) pushes it towards 0.
    Only 100 Hz - 5 kHz is used, where both speech beds and music carry energy.
    """
    n = int(FRAME_S * rate)
    win = np.hanning(n)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    band = (freqs >= 100) & (freqs <= 5000)
    vals = []
    for i in starts:
        seg = mono[i * n : (i + 1) * n]
        if len(seg) < n:
            continue
        p = np.abs(np.fft.rfft(seg * win))[band] ** 2 + 1e-20
        vals.append(float(np.exp(np.mean(np.log(p))) / np.mean(p)))
    return float(np.median(vals)) if vals else float("nan")


@dataclass
class NoiseBed:
    """What sits under the speech: levels in dBFS, flatness of the quietest frames."""

    noise_floor_dbfs: float
    speech_level_dbfs: float | None
    snr_db: float | None
    flatness: float | None
    background: str


def noise_bed(mono: np.ndarray, rate: int, flags: np.ndarray | None = None) -> NoiseBed:
    """Noise floor, speech level, their difference, and the kind of bed under the speech.

    ``flags``: per-30 ms WebRTC VAD speech flags, computed here when not given. Shared by
    ``probe`` (the audio-quality verdict) and the speech timeline (whether to denoise
    before recognition, :mod:`mouthsync.audio.denoise`).
    """
    if flags is None:
        flags = vad_flags(resample(mono, rate, VAD_RATE))
    rms = _frame_rms(mono, rate)
    m = min(len(rms), len(flags))
    rms, flags = rms[:m], flags[:m]
    rms_db = np.array([_db(v) for v in rms]) if m else np.array([DB_FLOOR])

    # Noise floor: the quietest tenth of frames, speech frames excluded when there are
    # enough others (VAD marks everything as speech when music runs throughout).
    quiet_pool = rms_db[~flags] if (~flags).sum() >= 10 else rms_db
    noise_floor = float(np.percentile(quiet_pool, 10)) if quiet_pool.size else DB_FLOOR
    speech_level = float(np.median(rms_db[flags])) if flags.any() else None
    snr = (speech_level - noise_floor) if speech_level is not None else None

    # What sits under the speech: look at the quietest frames of the whole file.
    background, flatness = "none", None
    if m:
        order = np.argsort(rms_db)
        quietest = order[: max(5, m // 10)]
        floor_db = float(np.median(rms_db[quietest]))
        if floor_db > -60.0:
            flatness = spectral_flatness(mono, rate, np.sort(quietest))
            if not math.isfinite(flatness):
                background = "unknown"
            elif flatness < TONAL_FLATNESS:
                background = "tonal (music-like)"
            elif flatness >= WHITE_FLATNESS:
                background = "broadband noise"  # no speech frame is this flat
            elif speech_level is not None and floor_db > speech_level - 12.0:
                background = "unknown"  # speech fills even the quietest frames
            elif flatness >= NOISE_FLATNESS:
                background = "broadband noise"
            else:
                background = "unknown"
    return NoiseBed(noise_floor, speech_level, snr, flatness, background)


#: Two channels whose samples correlate below this are one signal in opposite polarity.
OPPOSITE_MAX_CORR = -0.5


def channel_correlation(chans: np.ndarray) -> float | None:
    """The correlation of a stereo pair's samples (2, n) over the louder half of its 10 ms
    blocks (at 16 kHz; any rate works, the blocks are 160 samples); None for another
    channel count, under 1600 samples or silence.

    Why the louder half: silence and hiss correlate at random and would pull a reversed
    pair's -1 towards 0. Measured: every shared stereo clip (one voice on both channels)
    is positive, split microphones (two voices) near 0, a reversed channel -1.
    """
    if chans.ndim != 2 or chans.shape[0] != 2 or chans.shape[1] < 1600:
        return None
    hop = 160
    n = chans.shape[1] // hop
    # per-block sums on views of the samples (an hour of 48 kHz stereo is 1.4 GB as float32:
    # no whole-length copies)
    a, b = chans[0, : n * hop].reshape(n, hop), chans[1, : n * hop].reshape(n, hop)
    aa = np.einsum("ij,ij->i", a, a, dtype=np.float64)
    bb = np.einsum("ij,ij->i", b, b, dtype=np.float64)
    ab = np.einsum("ij,ij->i", a, b, dtype=np.float64)
    loud = aa + bb >= np.median(aa + bb)
    den = float(np.sqrt(aa[loud].sum() * bb[loud].sum()))
    return float(ab[loud].sum()) / den if den > 0 else None


def measure(
    samples: np.ndarray,
    rate: int,
    *,
    long_pause_s: float = 0.7,
) -> AudioQuality:
    """Measure ``samples`` ((n,) or (channels, n) float in [-1, 1]) at ``rate`` Hz.

    Times in the result are relative to the first sample; the caller adds the stream's
    start time to place them on the media timeline.
    """
    import pyloudnorm

    chans = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    corr = channel_correlation(chans)
    # a pair in opposite polarity cancels in the mix: its speech is in the difference
    mono = 0.5 * (chans[0] - chans[1]) if corr is not None and corr < OPPOSITE_MAX_CORR else chans.mean(axis=0)
    duration = chans.shape[1] / rate

    loudness: float | None = None
    if duration >= 0.4:  # BS.1770 gating blocks are 400 ms
        meter = pyloudnorm.Meter(rate)
        value = float(meter.integrated_loudness(chans.T.astype(np.float64)))
        loudness = value if math.isfinite(value) else None

    clipped_ratio, clipped_runs = clipping(chans)

    mono16k = resample(mono, rate, VAD_RATE)
    flags = vad_flags(mono16k)
    segs = speech_segments(flags)
    bed = noise_bed(mono, rate, flags)

    lead = segs[0][0] if segs else duration
    trail = max(0.0, duration - segs[-1][1]) if segs else duration
    pauses = [
        (segs[k][1], segs[k + 1][0])
        for k in range(len(segs) - 1)
        if segs[k + 1][0] - segs[k][1] >= long_pause_s
    ]
    return AudioQuality(
        loudness_lufs=loudness,
        true_peak_dbtp=_db(true_peak(chans, rate)),
        sample_peak_dbfs=_db(float(np.max(np.abs(chans))) if chans.size else 0.0),
        clipped_ratio=clipped_ratio,
        clipped_runs=clipped_runs,
        noise_floor_dbfs=bed.noise_floor_dbfs,
        speech_level_dbfs=bed.speech_level_dbfs,
        snr_db=bed.snr_db,
        speech_ratio=float(flags.mean()) if flags.size else 0.0,
        speech_segments=segs,
        leading_silence_s=round(lead, 3),
        trailing_silence_s=round(trail, 3),
        long_pauses=pauses,
        background=bed.background,
        background_flatness=bed.flatness,
        channel_correlation=None if corr is None else round(corr, 3),
        echo_decay_s=echo_decay(mono16k, VAD_RATE) if flags.any() else None,
    )
