"""Shared test fixtures: where the real media lives, and helpers to build harder cases from it.

Real clips come from ``../shared/data`` beside the repository (override with
``MOUTHSYNC_DATA``). They are never copied into the repo; derived cases are built in
temporary folders at test time.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MOUTHSYNC_DATA", REPO.parent / "shared" / "data"))

CLIPS = sorted((DATA / "clips").glob("*.mp4"))
WILD = sorted((DATA / "wild").glob("*.mp4"))
SPEECH = sorted((DATA / "speech").glob("*.wav"))
SILENT = sorted((DATA / "silent").glob("*.mp4"))

os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")
os.environ.setdefault("GLOG_minloglevel", "2")


def pytest_configure(config: pytest.Config) -> None:
    if not CLIPS:
        raise pytest.UsageError(f"shared media not found at {DATA}: set MOUTHSYNC_DATA")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


# One cache folder per test run, shared by all xdist workers of that run (so a clip is
# tracked once per run, not once per test), and never the user's own cache.
_RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"solo-{os.getpid()}"
TEST_CACHE = Path(tempfile.gettempdir()) / f"mouthsync-test-cache-{_RUN_ID}"
os.environ["MOUTHSYNC_CACHE"] = str(TEST_CACHE)


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 17 s talking-head clip (three shared clips joined, each with its own sound): long
    enough to be tracked in chunks by several processes (``face.chunks``)."""
    from tests.sync.builders import build_concatenation

    out, _, _ = build_concatenation(CLIPS[1:4], [0.0, 0.0, 0.0], tmp_path_factory.mktemp("long"), name="long")
    return out
