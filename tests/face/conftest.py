"""Face-stage fixtures: every shared clip tracked once per run (the cache shares the work)."""

from __future__ import annotations

import pytest

from mouthsync.face.facetrack import FaceTrack
from mouthsync.face.track import track_face
from tests.conftest import CLIPS, WILD


@pytest.fixture(scope="session")
def tracks() -> dict[str, FaceTrack]:
    return {p.name: track_face(p) for p in [*CLIPS, *WILD]}
