"""How coarsely the encoder quantised a region of a picture, read from the decoder.

Why: heavy H.264 compression leaves no 8x8 block edges to see (its in-loop deblocking
filter smooths them away); it smears the lips' fine detail instead, and the mouth
measures smear with it. Coded again at CRF 45, the shared clips' lip aperture followed
the original's with r 0.16-0.97 and ``check`` followed whole-frame shifts in 70 % of
cases against 100 % (``bench/compression.py``), while the block-edge measure flagged 4 %
of those frames. The quantiser the encoder chose for the blocks over the mouth says
directly how much detail was thrown away there.

FFmpeg's decoders export it on request as "video encoding parameters" side data
(``export_side_data=venc_params``; ``libavutil/video_enc_params.h``): a frame quantiser
and, per block, its position, size and delta. H.264 (QP 0-51, the step doubling every 6;
high bit depths export it 6 higher per bit, taken back to the 8-bit scale here) is read here; VP9 and the MPEG-2 family export it on other scales that are not measured
against the mouth, and HEVC and AV1 decoders export nothing: those give None.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

#: Decoder options that make FFmpeg attach the quantisers to every decoded frame.
EXPORT_OPTIONS = {"export_side_data": "venc_params"}
#: The decoder threading to use with them: with frame threads, FFmpeg 8's H.264 decoder
#: now and then attached a B-frame's table before filling it (every block QP 0; one frame
#: in 60-300, another each run; PyAV 18). Slice threads (or none) never did in 10 runs.
QUANTISER_THREADS = "SLICE"

# AVVideoEncParams: nb_blocks (unsigned), blocks_offset and block_size (size_t), type
# (enum), qp (int32), then delta_qp[4][2]; native sizes and alignment, as FFmpeg lays it
_HEADER = struct.Struct("@INNii")
_H264 = 1  # AV_VIDEO_ENC_PARAMS_H264
_BLOCK_FIELDS = 5  # AVVideoBlockParams: src_x, src_y, w, h, delta_qp (int32 each)


def _params(frame: Any) -> bytes | None:
    """The raw encoding-parameters side data of a decoded frame, if the decoder gave one."""
    try:
        for sd in iter(frame.side_data):  # PyAV's mapping view fails on some side data types
            if str(sd.type).endswith("VIDEO_ENC_PARAMS"):
                return bytes(sd)
    except (AttributeError, TypeError, ValueError):
        return None
    return None


def _depth_offset(frame: Any) -> int:
    """What the decoder's H.264 quantisers carry above the 8-bit scale: 6 QP per bit of
    depth beyond 8 (the standard's QpBdOffset; a 10-bit encode at CRF 23 exported 36
    where the same encode in 8 bits exported 24, and at CRF 51, 63)."""
    try:
        bits = int(frame.format.components[0].bits)
    except (AttributeError, IndexError, TypeError, ValueError):
        return 0
    return 6 * max(0, bits - 8)


def region_qp(frame: Any, box: tuple[int, int, int, int]) -> float | None:
    """Mean H.264 quantiser (QP, on the 8-bit scale 0-51 whatever the bit depth) of the
    coded blocks that overlap ``box`` (x0, y0, x1, y1, stored pixels) in a frame decoded
    with :data:`EXPORT_OPTIONS`; None when the stream is not H.264, the decoder exported
    nothing, or no block overlaps."""
    raw = _params(frame)
    if raw is None or len(raw) < _HEADER.size:
        return None
    nb, offset, size, kind, qp = _HEADER.unpack_from(raw, 0)
    if kind != _H264:
        return None
    qp -= _depth_offset(frame)
    if nb == 0:  # one quantiser for the whole frame
        return float(qp)
    if size < 4 * _BLOCK_FIELDS or offset + nb * size > len(raw) or size % 4:
        return None
    blocks = np.frombuffer(raw, dtype=np.int32, count=nb * size // 4, offset=offset).reshape(nb, size // 4)
    x, y, w, h, delta = (blocks[:, i] for i in range(_BLOCK_FIELDS))
    x0, y0, x1, y1 = box
    inside = (x + w > x0) & (x < x1) & (y + h > y0) & (y < y1)
    if not inside.any():
        return None
    return float(qp + delta[inside].mean())
