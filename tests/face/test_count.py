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
