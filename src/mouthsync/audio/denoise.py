"""Speech denoising before phone recognition: RNNoise, whose trained weights ship compiled
into the ``pyrnnoise`` wheel's ``librnnoise.so`` (nothing is downloaded).

Why: under noise the recogniser's phones follow the noise, and the expected mouth with
them. Spectral subtraction was measured and rejected (docs/sync.md); RNNoise is a small
recurrent network trained on speech against many noise types. It costs ~3.3 CPU-s per
minute of audio (the wheel's current, larger model), so it runs only where
:func:`noise_gate` finds a stationary noise bed, and its output is cached by content.

Timing matters more than anything here: the filter's output lags its input by a fixed
number of samples (two 10 ms frames), which :data:`LATENCY_48K` removes, so a phone
recognised on denoised audio sits where it sits in the original (tested to the sample).
The library is loaded with ``ctypes`` from the package folder without importing the
``pyrnnoise`` Python package, which would import its file-I/O dependencies for nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.util
import io
import threading
from functools import cache
from pathlib import Path

import numpy as np

from mouthsync.core.errors import MouthsyncError
from mouthsync.media.resample import resample

RNN_RATE = 48000
FRAME = 480  # samples per RNNoise frame at 48 kHz (10 ms)
# Output lag of rnnoise_process_frame in samples at 48 kHz: two frames (20 ms), one of
# overlap-add synthesis and one of look-ahead (measured by cross-correlating input and
# output on the shared clips' speech; tests/audio/test_denoise.py keeps it at 0 samples).
LATENCY_48K = 2 * FRAME
_LOCK = threading.Lock()


@cache
def _lib() -> ctypes.CDLL:
    spec = importlib.util.find_spec("pyrnnoise")
    if spec is None or not spec.submodule_search_locations:
        raise MouthsyncError("pyrnnoise is not installed (pip install pyrnnoise): it carries the RNNoise model")
    path = Path(next(iter(spec.submodule_search_locations))) / "librnnoise.so"
    if not path.exists():
        raise MouthsyncError(f"RNNoise library missing from the pyrnnoise package: {path}")
    lib = ctypes.CDLL(str(path))
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float)]
    lib.rnnoise_process_frame.restype = ctypes.c_float
    lib.rnnoise_get_frame_size.restype = ctypes.c_int
    if lib.rnnoise_get_frame_size() != FRAME:
        raise MouthsyncError("unexpected RNNoise frame size")
    return lib


def rnnoise_48k(x48: np.ndarray) -> np.ndarray:
    """Denoise 48 kHz mono float audio in [-1, 1], aligned with the input to the sample."""
    lib = _lib()
    n = x48.size
    # pad: the lag to flush at the end, and whole frames
    total = int(np.ceil((n + LATENCY_48K) / FRAME)) * FRAME
    buf = np.zeros(total, dtype=np.float32)
    buf[:n] = x48 * 32768.0
    out = np.empty_like(buf)
    frame = np.empty(FRAME, dtype=np.float32)
    ptr = frame.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    with _LOCK:
        st = lib.rnnoise_create(None)
        try:
            for i in range(total // FRAME):
                frame[:] = buf[i * FRAME : (i + 1) * FRAME]
                lib.rnnoise_process_frame(st, ptr, ptr)  # returns a voice probability: unused
                out[i * FRAME : (i + 1) * FRAME] = frame
        finally:
            lib.rnnoise_destroy(st)
    y = out[LATENCY_48K : LATENCY_48K + n] / 32768.0
    return y.astype(np.float32)


def denoise(samples: np.ndarray, rate: int) -> np.ndarray:
    """``samples`` (mono float, any rate) with RNNoise applied, same rate, length and timing."""
    x = np.asarray(samples, dtype=np.float32)
    if x.size == 0:
        return x.copy()
    y48 = rnnoise_48k(resample(x, rate, RNN_RATE))
    y = resample(y48, RNN_RATE, rate)
    if y.size < x.size:
        y = np.pad(y, (0, x.size - y.size))
    return np.clip(y[: x.size], -1.0, 1.0).astype(np.float32)


# When to denoise before recognition: the quietest frames hold a stationary broadband bed
# (hiss, fan, room noise: spectrally flat) loud enough to matter. Measured on the shared
# clips (docs/sync.md, "Denoising"): their own beds have flatness 0.01-0.12 (room tone
# with speech remnants), pink noise at 10 dB SNR 0.19-0.38, another speaker mixed at 10 dB
# 0.05-0.12. RNNoise helps the first and hurts the last (it keeps the other voice and
# blurs the speaker's onsets), so a competing voice is left alone.
STATIONARY_FLATNESS = 0.15
MAX_SNR_DB = 25.0
DENOISE_POLICY = f"rnnoise-flat{STATIONARY_FLATNESS}-snr{MAX_SNR_DB}"


def noise_gate(samples: np.ndarray, rate: int) -> tuple[bool, dict[str, object]]:
    """Whether ``samples`` hold a stationary noise bed worth removing, and the measures.

    Digital-silence ends (padding of a shifted or edited soundtrack) are left out of the
    measurement, so a padded copy is judged like the original. Cheap (~0.05 CPU-s per
    minute).
    """
    from mouthsync.audio.phones import trim_digital_silence

    return _gate(trim_digital_silence(np.asarray(samples, dtype=np.float32))[0], rate)  # as for_recognition


def _gate(core: np.ndarray, rate: int) -> tuple[bool, dict[str, object]]:
    """:func:`noise_gate` on audio whose digital-silence ends are already cut."""
    from mouthsync.media.audio_quality import noise_bed

    info: dict[str, object] = {}
    if core.size < rate // 2:
        return False, info
    bed = noise_bed(core, rate)
    info["noise_flatness"] = None if bed.flatness is None else round(float(bed.flatness), 3)
    info["snr_db"] = None if bed.snr_db is None else round(float(bed.snr_db), 1)
    noisy = not (bed.flatness is None or bed.flatness < STATIONARY_FLATNESS or bed.snr_db is None or bed.snr_db > MAX_SNR_DB)
    return noisy, info


def for_recognition(samples: np.ndarray, rate: int, *, use_cache: bool = True) -> tuple[np.ndarray, dict[str, object]]:
    """``samples`` denoised when :func:`noise_gate` calls for it, and what was decided.

    The digital-silence ends stay exact zeros (the recogniser cuts them off). The denoised
    audio is cached by content: RNNoise costs ~3.3 CPU-s per minute, and ``check`` needs
    the same denoised audio in each of its three speech workers (:func:`prepare`).
    """
    from mouthsync.audio.phones import FRAME_SAMPLES, trim_digital_silence
    from mouthsync.audio.silence import first_audible

    x = np.asarray(samples, dtype=np.float32)
    # cut on the recogniser's 10 ms grid, as recognition does: RNNoise's frames then fall
    # alike on a copy delayed by whole frames
    core, head = trim_digital_silence(x)
    noisy, info = _gate(core, rate)
    info["denoised"] = noisy
    if not noisy:
        return x, info
    cfile = _cache_file(core, rate) if use_cache else None
    clean: np.ndarray | None = None
    if cfile is not None and cfile.exists():
        with contextlib.suppress(OSError, ValueError):
            loaded = np.load(cfile, allow_pickle=False)
            if loaded.shape == core.shape:
                clean = loaded
    if clean is None:
        clean = denoise(core, rate)
        if cfile is not None:
            from mouthsync.core.atomic import write_bytes_atomic

            buf = io.BytesIO()
            np.save(buf, clean)
            with contextlib.suppress(OSError):  # a read-only cache must not stop the analysis
                write_bytes_atomic(cfile, buf.getvalue())
    out = x.copy()
    out[head : head + core.size] = clean
    # where the input was digital silence (padding) the output is too: RNNoise's output on
    # the few silent samples left before the grid's cut (under one 10 ms step) is not sound
    out[: head + first_audible(core[:FRAME_SAMPLES])] = 0.0
    return out, info


_PREPARING = threading.Lock()


def prepare(samples: np.ndarray, rate: int) -> bool:
    """Denoise ``samples`` into the cache now if the gate calls for it (returns whether it
    did): the speech workers started next then read it instead of each computing it.
    Callers in several threads take turns, so the same audio is denoised once."""
    with _PREPARING:
        return bool(for_recognition(samples, rate)[1]["denoised"])


def _cache_file(core: np.ndarray, rate: int) -> Path | None:
    from mouthsync.core.cache import cache_path

    h = hashlib.sha256(np.ascontiguousarray(core, dtype=np.float32).tobytes())
    h.update(f"{rate}:{DENOISE_POLICY}:{LATENCY_48K}".encode())
    return cache_path("denoised-" + h.hexdigest()[:32], ".npy")
