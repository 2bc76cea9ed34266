"""Split microphones: a stereo stream whose two channels carry different voices.

Interviews and video podcasts are often recorded with one microphone per person, each on
its own channel. Mixed to mono, the person on screen and the other one talk over each
other at about the same level, which is far harder than the "another voice 10 dB down"
case (a clip whose voice is mixed with another recording at 0 dB mostly reads a wrong
delay). Measured on its own, each channel holds one voice, and the one the face speaks
agrees with the mouth.

How they are told apart, measured on the shared material: the loudness envelopes
(20 ms frames, dB) of an ordinary stereo track correlate at 1.00 (every shared clip), those
of two different voices at -0.45 to -0.23, and at 0.07-0.47 with the other voice leaking
6 dB down into each microphone. A channel much quieter than the other (a microphone on one
channel, the other silent) is not a second voice.
"""

from __future__ import annotations

import numpy as np

from mouthsync.media.audio_quality import OPPOSITE_MAX_CORR, channel_correlation

# Envelopes correlating less than this are two different signals.
SPLIT_MAX_CORR = 0.7
# A channel whose loud level is this far below the other's holds no voice of its own.
MAX_LEVEL_GAP_DB = 25.0


def split_voices(envelopes: np.ndarray | None) -> bool:
    """Whether two channels' loudness envelopes (2, frames; ``media.decode.envelopes_of``)
    look like two microphones on two people rather than one stereo picture of one sound."""
    if envelopes is None or envelopes.ndim != 2 or envelopes.shape[0] != 2 or envelopes.shape[1] < 25:
        return False
    a, b = envelopes
    loud_a, loud_b = float(np.percentile(a, 95)), float(np.percentile(b, 95))
    if abs(loud_a - loud_b) > MAX_LEVEL_GAP_DB or min(loud_a, loud_b) < -60.0:
        return False
    sel = (a > np.median(a)) | (b > np.median(b))
    if sel.sum() < 25 or np.std(a[sel]) < 1e-6 or np.std(b[sel]) < 1e-6:
        return False
    return float(np.corrcoef(a[sel], b[sel])[0, 1]) < SPLIT_MAX_CORR


def opposite_polarity(head: np.ndarray | None) -> bool:
    """Whether a stereo pair's samples (2, n; ``media.decode.stereo_head``) are one sound
    with one channel's polarity reversed (a miswired balanced cable, a phase-flipped
    channel in a mix): their correlation (``media.audio_quality.channel_correlation``)
    under ``OPPOSITE_MAX_CORR``.

    Why: mixed to mono the voice cancels. retalking_face2 made so read "no speech" (PCM)
    or +687 ms at confidence 0.00 (AAC, the second channel at 0.9): the mix is silence or
    a remnant. Their difference is the voice (+27.9 ms at 0.76 and +28.5 at 1.00).
    """
    if head is None:
        return False
    r = channel_correlation(head)
    return r is not None and r < OPPOSITE_MAX_CORR
