"""The H.264 quantiser read from the decoder, over a region of the picture."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from mouthsync.media.quantiser import EXPORT_OPTIONS, QUANTISER_THREADS, region_qp
from tests.conftest import CLIPS

FACE2 = next(c for c in CLIPS if c.stem == "retalking_face2")


def _coded(tmp_path: Path, name: str, *video: str) -> Path:
    out = tmp_path / f"{name}.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(FACE2), "-t", "1", "-an", *video, str(out)],
                   check=True)
    return out


def _qps(path: Path, box: tuple[int, int, int, int], export: bool = True) -> list[float | None]:
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        vs.thread_type = QUANTISER_THREADS
        if export:
            vs.codec_context.options = dict(EXPORT_OPTIONS)
        return [region_qp(f, box) for f in c.decode(vs)]


def test_h264_quantiser_over_a_region_follows_the_encoders_choice(tmp_path: Path) -> None:
    """A constant-QP encode reads that QP wherever one looks; a CRF encode reads its
    coarseness, a higher CRF higher."""
    box = (300, 400, 560, 560)  # the mouth's part of the 844 px picture
    # one QP for every frame type (x264 otherwise codes I 3 finer and B 2 coarser)
    fixed = _qps(_coded(tmp_path, "qp30", "-c:v", "libx264", "-x264-params", "qp=30:ipratio=1:pbratio=1"), box)
    assert fixed and all(q == pytest.approx(30.0) for q in fixed)
    fine = _qps(_coded(tmp_path, "crf20", "-c:v", "libx264", "-crf", "20"), box)
    coarse = _qps(_coded(tmp_path, "crf47", "-c:v", "libx264", "-crf", "47"), box)
    assert all(q is not None for q in fine + coarse)
    assert 14 <= np.median(fine) <= 28 and 42 <= np.median(coarse) <= 51
    # the frame's edge holds no block of a box beyond it
    assert _qps(_coded(tmp_path, "qp31", "-c:v", "libx264", "-qp", "31"), (2000, 2000, 2100, 2100))[0] is None


def test_no_quantiser_where_the_decoder_gives_none_on_the_h264_scale(tmp_path: Path) -> None:
    """Not exported (option off), another codec's scale (MPEG-4 part 2, VP9) or a codec
    whose decoder exports nothing (HEVC): None, never a number on the wrong scale."""
    box = (300, 400, 560, 560)
    assert set(_qps(_coded(tmp_path, "noexport", "-c:v", "libx264", "-qp", "30"), box, export=False)) == {None}
    assert set(_qps(_coded(tmp_path, "mpeg4", "-c:v", "mpeg4", "-q:v", "20"), box)) == {None}
    assert set(_qps(_coded(tmp_path, "vp9", "-c:v", "libvpx-vp9", "-crf", "50", "-b:v", "0", "-deadline", "realtime",
                           "-cpu-used", "8"), box)) == {None}


def test_high_bit_depth_reads_on_the_8_bit_scale(tmp_path: Path) -> None:
    """10-bit H.264 exports its quantisers 12 above the 8-bit scale (6 a bit of depth):
    they are read on that scale, so the same CRF reads alike in 8 and 10 bits, and a
    constant QP' of 42 (x264 counts 10-bit quantisers from the extended scale) reads 30."""
    box = (300, 400, 560, 560)
    eight = _qps(_coded(tmp_path, "crf23", "-c:v", "libx264", "-crf", "23"), box)
    ten = _qps(_coded(tmp_path, "crf23_10", "-c:v", "libx264", "-pix_fmt", "yuv420p10le", "-crf", "23"), box)
    assert abs(float(np.median(ten)) - float(np.median(eight))) < 2.0
    fixed = _qps(_coded(tmp_path, "qp42_10", "-c:v", "libx264", "-pix_fmt", "yuv420p10le",
                        "-x264-params", "qp=42:ipratio=1:pbratio=1"), box)
    assert fixed and all(q == pytest.approx(30.0) for q in fixed)
