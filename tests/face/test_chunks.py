"""Chunks of a long clip: where they start, how processes claim them, and that a run
stops where its next chunk is taken."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mouthsync.face.chunks import (
    CHUNK_SECONDS,
    PARALLEL_MIN_SECONDS,
    Claims,
    chunk_starts,
    track_chunks,
)
from mouthsync.face.track import DEFAULT_MAX_SIDE
from mouthsync.media.decode import frame_times, keyframe_times, video_meta


def test_a_short_clip_is_one_chunk() -> None:
    ft = np.arange(0, PARALLEL_MIN_SECONDS - 0.5, 0.04)
    assert chunk_starts(ft, ft[::25]) == [0.0]
    assert chunk_starts(np.zeros(0), np.zeros(0)) == [0.0]


def test_chunks_start_on_the_keyframes_nearest_every_chunk_length() -> None:
    ft = 0.3 + np.arange(0, 31.0, 1 / 29.97)  # a clip that does not start at zero
    every_second = ft[::30]
    starts = chunk_starts(ft, every_second)
    assert starts[0] == ft[0]
    assert set(starts[1:]) <= set(every_second.tolist())
    assert np.all(np.abs(np.diff(starts) - CHUNK_SECONDS) <= 0.5)
    assert ft[-1] - starts[-1] < 1.5 * CHUNK_SECONDS
    # keyframes every 10 s (x264's default at 25 fps): chunks of 10 s
    ft = np.arange(0, 60.0, 0.04)
    assert chunk_starts(ft, ft[::250]) == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    # no keyframe after the first (an endless group of pictures): one chunk, no seeks
    assert chunk_starts(ft, ft[:1]) == [0.0]


def test_every_frames_picture_change_is_that_of_its_thumbnails(long_clip: Path) -> None:
    """Chunks start without the frame before (no seek back to an earlier keyframe); the
    first frame's change is filled in from the chunk before, as one pass computes it."""
    from mouthsync.face.frames import centred, picture_change
    from mouthsync.face.track import track_face

    tr = track_face(long_clip, workers=2)
    assert tr.thumbs is not None and tr.picture_change is not None
    assert np.isnan(tr.picture_change[0])
    want = [picture_change(centred(a), centred(b)) for a, b in zip(tr.thumbs[:-1], tr.thumbs[1:], strict=True)]
    np.testing.assert_allclose(tr.picture_change[1:], want, rtol=1e-6)


def test_claims_in_a_folder_are_exclusive_between_processes(tmp_path: Path) -> None:
    a, b = Claims(6, str(tmp_path)), Claims(6, str(tmp_path))
    assert a.claim(0) and b.claim(3)
    assert not b.claim(0) and not a.claim(3) and not a.claim(0)
    assert not a.claim(6) and not a.claim(-1)
    # the middle of the longest unclaimed run (1, 2 | 4, 5): its second half
    assert a.next_start() in (2, 5)
    for k in (1, 2, 4):
        assert a.claim(k)
    assert b.next_start() == 5
    assert b.claim(5) and a.next_start() is None


def test_claims_of_one_process() -> None:
    c = Claims(3)
    assert c.claim(1) and not c.claim(1)
    assert c.next_start() in (0, 2)


def test_a_run_stops_where_the_next_chunk_is_taken(long_clip: Path, tmp_path: Path) -> None:
    """Two claimers over one folder, one after the other: the second tracks only what the
    first left, and the chunks together are every frame once."""
    ft = frame_times(long_clip)
    starts = chunk_starts(ft, keyframe_times(long_clip))
    n = len(starts)
    meta = video_meta(long_clip)
    args = (DEFAULT_MAX_SIDE, 1, meta.width, meta.height)
    first = Claims(n, str(tmp_path))
    assert first.claim(1)  # as if another process were on chunk 1
    mine = track_chunks(str(long_clip), starts, 0, Claims(n, str(tmp_path)), args)
    # it tracked chunk 0, stopped at 1 (taken) and went on at the longest free stretch
    assert 0 in mine and 1 not in mine
    assert set(mine) == set(range(n)) - {1}
    rest = track_chunks(str(long_clip), starts, 1, first, args)
    assert rest == {}  # chunk 1 was claimed but never tracked by ``first``: nothing left to claim
    times = np.concatenate([mine[k]["times"] for k in sorted(mine)])
    want = ft[(ft < starts[1] - 1e-9) | (ft >= starts[2] - 1e-9)] if n > 2 else ft[ft < starts[1] - 1e-9]
    np.testing.assert_allclose(times, want, atol=1e-9)


def test_a_transport_stream_is_tracked_frame_for_frame(long_clip: Path, tmp_path: Path) -> None:
    """MPEG-TS has no index: a seek can land after the time asked for (``decode_from``
    seeks again further back). Every frame is tracked once, in one process or two."""
    import subprocess

    from mouthsync.face.track import track_face

    ts = tmp_path / "long.ts"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(long_clip), "-c:v", "copy", "-c:a", "mp2",
                    str(ts)], check=True)
    ft = frame_times(ts)
    assert len(chunk_starts(ft, keyframe_times(ts))) >= 3
    one = track_face(ts, use_cache=False, workers=1)
    two = track_face(ts, use_cache=False, workers=2)
    np.testing.assert_allclose(one.times, ft, atol=1e-6)
    np.testing.assert_array_equal(one.landmarks, two.landmarks)
