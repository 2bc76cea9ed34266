"""``check`` reads the same delay whatever the file was coded with: the codecs and
containers users deliver (HEVC 10-bit, VP9 + Opus in WebM, ProRes + 24-bit PCM in MOV,
MPEG-2 + MP2 in a transport stream, Motion JPEG + PCM in AVI, AV1)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mouthsync.sync.delay import check_sync
from tests.conftest import CLIPS

FACE2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")

CODINGS = {
    "hevc10.mp4": ["-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error", "-c:a", "aac"],
    "vp9.webm": ["-c:v", "libvpx-vp9", "-b:v", "1M", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"],
    "prores.mov": ["-c:v", "prores_ks", "-profile:v", "2", "-c:a", "pcm_s24le"],
    "mpeg2.ts": ["-c:v", "mpeg2video", "-q:v", "4", "-c:a", "mp2"],
    "mjpeg.avi": ["-c:v", "mjpeg", "-q:v", "5", "-c:a", "pcm_s16le"],
    "av1.mp4": ["-c:v", "libsvtav1", "-preset", "12", "-crf", "40", "-c:a", "aac"],
}


@pytest.fixture(scope="module")
def own() -> float:
    rep = check_sync(FACE2)
    assert rep.audio_delay_ms is not None
    return rep.audio_delay_ms


@pytest.mark.parametrize("name", sorted(CODINGS))
def test_the_delay_reads_the_same_in_every_coding(name: str, own: float, tmp_path: Path) -> None:
    out = tmp_path / name
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(FACE2), *CODINGS[name], str(out)], check=True,
                   capture_output=True)  # (SVT-AV1 logs its settings whatever ffmpeg's level)
    rep = check_sync(out, use_cache=False)
    assert rep.fps == pytest.approx(25.0, rel=1e-3)
    assert rep.audio_delay_ms is not None and abs(rep.audio_delay_ms - own) < 25.0, rep.audio_delay_ms
    assert rep.confidence > 0.2
