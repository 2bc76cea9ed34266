"""Counting faces on keyframes: the cheap look that decides whether check tracks several."""

from __future__ import annotations

from pathlib import Path

import pytest

from mouthsync.face.count import count_faces, faces_to_track
from tests.conftest import CLIPS, SILENT, WILD
from tests.sync.builders import side_by_side


@pytest.mark.parametrize("clip", CLIPS + WILD, ids=lambda p: p.name)
def test_one_face_on_every_shared_talking_head(clip: Path) -> None:
    counts = count_faces(clip)
    assert counts and all(c == 1 for c in counts)
    assert faces_to_track(clip) == 1


def test_two_shot_has_two(tmp_path: Path) -> None:
    a, b = CLIPS[2], CLIPS[1]
    two = side_by_side(a, b, "left", tmp_path / "two.mp4")
    assert count_faces(two) == [2]
    assert faces_to_track(two) == 2
    assert faces_to_track(two, max_faces=1) == 1


def test_the_count_is_cached_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second look at the same bytes (renamed too) reads the cache, and ``use_cache=False``
    looks again."""
    import shutil

    from mouthsync.face import count as cnt

    two = side_by_side(CLIPS[2], CLIPS[1], "left", tmp_path / "two.mp4")
    assert count_faces(two) == [2]
    looked: list[str] = []
    real = cnt._keyframes
    monkeypatch.setattr(cnt, "_keyframes", lambda path, n: looked.append(path) or real(path, n))
    renamed = shutil.copy(two, tmp_path / "renamed.mp4")
    assert count_faces(renamed) == [2] and faces_to_track(two) == 2
    assert looked == []
    assert count_faces(two, use_cache=False) == [2]
    assert looked == [str(two)]


def test_no_picture_to_look_at(tmp_path: Path) -> None:
    from mouthsync.core.errors import BadInput, NoVideo

    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises((BadInput, NoVideo)):
        count_faces(bad)
    assert SILENT  # the silent clips have pictures: counted like any other
    assert faces_to_track(SILENT[0]) == 1


def test_facecheck_warns_about_a_second_face(tmp_path: Path) -> None:
    from mouthsync.core.findings import Severity
    from mouthsync.face.quality import check_footage

    two = side_by_side(CLIPS[2], CLIPS[1], "right", tmp_path / "two.mp4")
    rep = check_footage(two)
    f = [x for x in rep.findings if x.check == "facecheck.faces"]
    assert rep.faces == 2 and len(f) == 1 and f[0].severity == Severity.WARNING
    assert rep.to_dict()["faces"] == 2
    one = check_footage(CLIPS[1])
    assert one.faces == 1 and not any(x.check == "facecheck.faces" for x in one.findings)


def test_tiles_cover_the_picture_and_keep_one_box_a_face() -> None:
    """``_tiled`` looks at every part of the picture in overlapping tiles, gives boxes as
    fractions of the whole picture, and keeps a face seen in two tiles once."""
    import numpy as np

    from mouthsync.face.count import _tiled

    h, w, side = 1080, 1920, 640
    img = np.zeros((h, w, 3), np.uint8)
    face = (900, 300, 980, 380)  # whole in the tiles from x=480, cut by the ones from x=960
    seen: list[tuple[int, int, int, int]] = []

    def detect(tile: np.ndarray) -> list[tuple[float, list[float]]]:
        # a stand-in detector: the white square is the face, less sure where a tile cuts it
        ys, xs = np.nonzero(tile[..., 0] == 255)
        seen.append(tile.shape[:2])
        if xs.size == 0:
            return []
        th, tw = tile.shape[:2]
        whole = xs.min() > 0 and ys.min() > 0 and xs.max() < tw - 1 and ys.max() < th - 1
        score = 0.9 if whole else 0.5
        return [(score, [xs.min() / tw, ys.min() / th, (xs.max() + 1) / tw, (ys.max() + 1) / th])]

    img[face[1] : face[3], face[0] : face[2]] = 255
    found = _tiled(detect, img, side)
    assert len(found) == 1
    score, box = found[0]
    assert score == 0.9
    assert np.allclose(box, [face[0] / w, face[1] / h, face[2] / w, face[3] / h], atol=1e-6)
    assert all(s == (side, side) for s in seen)  # every tile whole (the last ones flush with the edges)
    assert len(seen) == 4 * 2  # x at 0, 480, 960, 1280; y at 0, 440
    # a face cut by a tile's edge is kept once, from the tile that holds it whole
    img[:] = 0
    img[500:560, 470:530] = 255  # across x=480 (the second column's start)
    found = _tiled(detect, img, side)
    assert len(found) == 1 and found[0][0] == 0.9
    # a picture no bigger than a tile is one tile
    seen.clear()
    assert _tiled(detect, np.zeros((300, 500, 3), np.uint8), side) == [] and seen == [(300, 500)]


def test_a_face_too_small_for_the_whole_picture_is_found_in_tiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """retalking_face3's picture made a third of its size in a 1080p frame (a face of about
    80 px, a speaker in a wide shot): the detector finds nothing on the whole picture, the
    tiles find the face, and check measures it in a crop as on the clip."""
    from mouthsync.face import count as cnt
    from mouthsync.sync.delay import check_sync
    from tests.sync.builders import wide_shot

    clip = next(p for p in CLIPS if p.name == "retalking_face3.mp4")
    wide = wide_shot(clip, 1 / 3, tmp_path / "wide.mp4")  # 196 px of 590
    tiled: list[int] = []
    real = cnt._tiled
    monkeypatch.setattr(cnt, "_tiled", lambda d, img, side: tiled.append(side) or real(d, img, side))
    boxes = cnt.face_boxes(wide, use_cache=False)
    assert tiled and all(len(b) == 1 for b in boxes)  # the whole picture found nothing
    (x0, y0, x1, y1), = boxes[0]
    assert x0 >= 0.2 * (1920 - 196) / 1920 and x1 <= (0.2 * (1920 - 196) + 196) / 1920
    rep = check_sync(wide)
    assert rep.audio_delay_ms is not None
    assert 60 <= rep.details["face_px"] <= 100  # the clip's 237 px face at a third
    assert abs(rep.audio_delay_ms - check_sync(clip).audio_delay_ms) <= 40.0


def test_tiles_give_up_on_a_picture_without_faces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A picture with no face anywhere (a test pattern) is looked at in tiles on the first
    TILE_GIVE_UP keyframes only, so B-roll and screen recordings do not pay for every one."""
    import subprocess

    from mouthsync.face import count as cnt

    pattern = tmp_path / "pattern.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=12",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", str(pattern)], check=True)
    tiled: list[int] = []
    real = cnt._tiled
    monkeypatch.setattr(cnt, "_tiled", lambda d, img, side: tiled.append(side) or real(d, img, side))
    boxes = cnt.face_boxes(pattern, use_cache=False)
    assert len(boxes) == cnt.MAX_SAMPLES and not any(boxes)
    assert tiled == list(cnt.TILE_SIDES) * cnt.TILE_GIVE_UP
