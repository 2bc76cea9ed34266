"""Small faces: the crop Face Mesh tracks a medium or wide shot in (``face.region``), and
tracking and check on a real clip placed small in a 1080p frame."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from mouthsync.core.errors import NoFace
from mouthsync.face.region import MIN_FACE_PX, face_regions
from mouthsync.face.track import track_face
from mouthsync.sync.delay import check_sync
from tests.conftest import CLIPS

FACE = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
TILE = (320, 1100, 300)  # the clip scaled to 320 px, placed at x=1100, y=300 of 1920x1080


@pytest.fixture(scope="module")
def wide_shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wide") / "wide.mp4"
    w, x, y = TILE
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(FACE), "-filter_complex",
                    f"[0:v]scale={w}:-2[f];color=c=0x556677:s=1920x1080:r=25:d=5[bg];"
                    f"[bg][f]overlay=x={x}:y={y}:shortest=1[v]",
                    "-map", "[v]", "-map", "0:a", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
                    "-c:a", "copy", str(out)], check=True)
    return out


def test_a_face_small_on_a_quarter_of_the_keyframes_gets_its_crop() -> None:
    """Faces that are large enough on most keyframes but under what Face Mesh can track on
    some (a zoom, an edit between shots) are tracked in crops: the whole picture lost
    those shots (a 1280x360 two-shot lost a third of its frames)."""
    w, h = 1280, 360
    big = [[0.19, 0.30, 0.34, 0.75], [0.69, 0.30, 0.84, 0.75]]  # 96 px at 640
    small = [[0.21, 0.35, 0.30, 0.70], [0.71, 0.35, 0.80, 0.70]]  # 58 px at 640
    assert face_regions([big] * 8, w, h, 640, 2) is None
    crops = face_regions([big] * 6 + [small] * 3, w, h, 640, 2)
    assert crops is not None and len(crops) == 2
    assert crops[0][0] + crops[0][2] <= crops[1][0]  # left face's crop, then the right's


def test_one_small_face_among_larger_ones_puts_every_face_in_a_crop() -> None:
    """A video call's gallery: the tiles' faces differ in size. On the whole picture Face
    Mesh measured the larger ones and never found one of 58 px (at 640), so every face is
    tracked in its own crop; faces all large enough stay on the whole picture."""
    w, h = 1280, 720
    large = [0.67, 0.15, 0.80, 0.39]  # 83 px at 640 (the gallery of the test below)
    larger = [0.67, 0.69, 0.81, 0.94]  # 90 px
    small = [0.23, 0.61, 0.32, 0.77]  # 58 px
    crops = face_regions([[large, larger, small]] * 4, w, h, 640, 3)
    assert crops is not None and len(crops) == 3
    for (x0, y0, cw, ch), b in zip(crops, sorted([large, larger, small]), strict=True):
        assert x0 <= b[0] * w and x0 + cw >= b[2] * w and y0 <= b[1] * h and y0 + ch >= b[3] * h
    assert face_regions([[large, larger]] * 4, w, h, 640, 2) is None  # both large enough


def test_region_only_for_one_small_face() -> None:
    w, h = 1920, 1080
    small = [[[0.62, 0.37, 0.68, 0.48]]] * 6  # a face 115 px wide: 38 px at 640
    crops = face_regions(small, w, h, 640, 1)
    assert crops is not None and len(crops) == 1
    crop = crops[0]
    x0, y0, cw, ch = crop
    assert all(v % 2 == 0 for v in crop) and x0 >= 0 and y0 >= 0 and x0 + cw <= w and y0 + ch <= h
    face = np.array(small[0][0]) * [w, h, w, h]
    assert x0 < face[0] - 100 and x0 + cw > face[2] + 100 and y0 < face[1] and y0 + ch > face[3] + 100
    large = [[[0.3, 0.2, 0.7, 0.8]]] * 6
    assert face_regions(large, w, h, 640, 1) is None
    at_limit = MIN_FACE_PX * 3 / w  # 80 px at 640 from a 1920 px frame
    assert face_regions([[[0.5, 0.4, 0.5 + at_limit, 0.6]]] * 6, w, h, 640, 1) is None
    two = [[[0.1, 0.4, 0.15, 0.5], [0.8, 0.4, 0.85, 0.5]]] * 6
    assert face_regions(two, w, h, 640, 1) is None  # two faces are not one
    assert face_regions([[]] * 6, w, h, 640, 1) is None
    assert face_regions([], w, h, 640, 1) is None
    # two small faces far apart: one crop each, left to right whatever the detection order
    crops = face_regions([[[0.72, 0.4, 0.78, 0.5], [0.19, 0.41, 0.27, 0.55]]] * 6, w, h, 640, 2)
    assert crops is not None and len(crops) == 2 and crops[0][0] < crops[1][0]
    assert crops[0][0] + crops[0][2] < crops[1][0]  # apart
    assert face_regions([[[0.40, 0.4, 0.45, 0.5], [0.46, 0.4, 0.51, 0.5]]] * 6, w, h, 640, 2) is None  # side by side


def test_check_measures_a_wide_two_shot(tmp_path: Path) -> None:
    """Two people, small, far apart in a 1080p frame: each tracked in a crop of their own,
    and the one whose voice it is found with their own delay."""
    left, right = next(p for p in CLIPS if p.name == "retalking_face3.mp4"), FACE
    two = tmp_path / "two.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(left), "-i", str(right), "-filter_complex",
                    "[0:v]scale=320:-2,fps=25[a];[1:v]scale=320:-2,fps=25[b];color=c=0x556677:s=1920x1080:r=25:d=5[bg];"
                    "[bg][a]overlay=x=300:y=350:shortest=1[t];[t][b]overlay=x=1300:y=350:shortest=1[v]",
                    "-map", "[v]", "-map", "0:a", "-t", "5", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
                    "-c:a", "aac", str(two)], check=True)
    rep = check_sync(two)
    faces = rep.details["faces"]
    assert len(faces) == 2
    chosen = faces[rep.details["speaker_face"]]
    assert (chosen["box"][0] + chosen["box"][2]) / 2 < 960  # the left person speaks
    assert rep.confidence >= 0.3
    assert abs(rep.audio_delay_ms - check_sync(left).audio_delay_ms) <= 40.0


def test_a_small_face_is_tracked_in_a_crop(wide_shot: Path) -> None:
    with pytest.raises(NoFace):  # why: the whole 1080p picture shrunk to 640 px loses it
        track_face(wide_shot, crop=None, use_cache=False)
    tr = track_face(wide_shot)
    assert tr.settings.get("crop") is not None
    assert tr.coverage > 0.95
    w, x, y = TILE
    cx = (tr.boxes[tr.valid, 0] + tr.boxes[tr.valid, 2]) / 2
    cy = (tr.boxes[tr.valid, 1] + tr.boxes[tr.valid, 3]) / 2
    assert ((cx > x) & (cx < x + w)).all() and ((cy > y) & (cy < y + w)).all()  # landmarks in source pixels


@pytest.mark.parametrize("faces", ["auto", 1])
def test_check_measures_a_wide_shot(wide_shot: Path, faces: str | int) -> None:
    base = check_sync(FACE)
    rep = check_sync(wide_shot, faces=faces)
    assert rep.confidence >= 0.3
    assert abs(rep.audio_delay_ms - base.audio_delay_ms) <= 40.0


@pytest.mark.slow
@pytest.mark.parametrize("speaker", [2, 3])
def test_check_finds_the_speaker_in_a_video_calls_gallery(tmp_path: Path, speaker: int) -> None:
    """Four people in a 2x2 gallery, every face measured (with three on the whole
    picture, one person never was, and a silent face read +328 ms at confidence 0.53).
    retalking_face4 (bottom left) speaking: the speaker at its own delay.
    retalking_face5 (bottom right) speaking: it reads -57 ms at 0.46 (alone -60), and the
    silent face3 read the search's edge at 0.49 and was taken for the speaker."""
    from tests.sync.builders import gallery

    names = ["retalking_face2.mp4", "retalking_face3.mp4", "retalking_face4.mp4", "retalking_face5.mp4"]
    clips = [next(p for p in CLIPS if p.name == n) for n in names]
    rep = check_sync(gallery(clips, speaker, tmp_path / "gallery.mp4"))
    faces = rep.details["faces"]
    assert len(faces) == 4
    box = faces[rep.details["speaker_face"]]["box"]
    assert (box[1] + box[3]) / 2 > 360 and ((box[0] + box[2]) / 2 < 426) == (speaker == 2)  # its tile
    assert rep.confidence >= 0.3
    assert abs(rep.audio_delay_ms - check_sync(clips[speaker]).audio_delay_ms) <= 40.0
    assert not [f for f in rep.findings if f.check == "sync.faces"]


@pytest.mark.slow
def test_faces_left_unmeasured_are_named(tmp_path: Path) -> None:
    """Six people in a 3x2 gallery: four are measured by default, and check says the
    speaker may be one of the other two (retalking_face4, left column, speaks: the faces
    measured are the other columns'; none agrees with its sound beyond doubt)."""
    from tests.conftest import WILD
    from tests.sync.builders import gallery

    clips = [*CLIPS, WILD[0]]
    rep = check_sync(gallery(clips, 3, tmp_path / "six.mp4", columns=3))
    named = [f for f in rep.findings if f.check == "sync.faces"]
    assert len(rep.details["faces"]) == 4
    assert len(named) == 1 and named[0].value == 6.0 and "--faces 6" in (named[0].advice or "")
    from mouthsync.core.errors import BadInput
    from mouthsync.sync.correct import plan_fix

    with pytest.raises(BadInput, match="--faces 6"):  # fix --delay auto writes nothing
        plan_fix(tmp_path / "six.mp4", delay="auto", report=rep)
