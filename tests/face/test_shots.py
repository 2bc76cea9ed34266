"""Picture cuts and shots from the track's picture change: none in a single take, every
cut of a real edit to the frame, and the spike rule (a fade or a pan is not a cut).
Dissolves from the thumbnails: a blend of two pictures is one, a change of light, a pan
or a cut is not. A dip to black between two pictures begins a shot; a fade in from black
at the start does not."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mouthsync.face.facetrack import FaceTrack
from mouthsync.face.shots import (
    blanks,
    dissolves,
    picture_cuts,
    shot_spans,
    span_mask,
    transitions,
)
from mouthsync.face.track import track_face
from tests.conftest import CLIPS, WILD


@pytest.mark.parametrize("path", [*CLIPS, *WILD], ids=lambda p: p.name)
def test_a_single_take_has_no_cut(tracks: dict[str, FaceTrack], path) -> None:
    tr = tracks[path.name]
    assert tr.picture_change is not None and len(tr.picture_change) == len(tr)
    assert picture_cuts(tr) == []
    assert tr.thumbs is not None and tr.thumbs.shape == (len(tr), 18, 32)
    assert dissolves(tr) == []  # hand-held wild clips included
    assert shot_spans(tr) == [(float(tr.times[0]), pytest.approx(float(tr.times[-1]) + float(np.median(np.diff(tr.times)))))]


@pytest.fixture(scope="module")
def edit(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """30 s of six shots (three shared clips twice), 480x480, cut to cut."""
    from tests.sync.builders import build_concatenation

    order = [p for p in CLIPS if p.name in {"retalking_face2.mp4", "retalking_face3.mp4", "retalking_face5.mp4"}]
    video, _, segs = build_concatenation(order * 2, [0.0] * 6, tmp_path_factory.mktemp("edit"), name="edit")
    return video, segs


def test_every_cut_of_an_edit_is_found_to_the_frame(edit, tmp_path) -> None:  # type: ignore[no-untyped-def]
    video, segs = edit
    tr = track_face(video, use_cache=False)
    cuts = picture_cuts(tr)
    assert dissolves(tr) == []  # a cut is not a dissolve
    want = [s.start_s for s in segs[1:]]
    assert len(cuts) == len(want), (cuts, want)
    assert np.allclose(cuts, want, atol=0.5 / 25), (cuts, want)
    spans = shot_spans(tr)
    assert [a for a, _ in spans] == [0.0, *cuts]
    # the mesh restarts its face search at each cut: the box moves to the new face on the
    # cut frame itself and holds still on the next (it used to take two or three frames)
    b = tr.boxes.astype(np.float64)
    centre, width = (b[:, :2] + b[:, 2:]) / 2, b[:, 2] - b[:, 0]
    for c in cuts:
        i = int(np.argmin(np.abs(tr.times - c)))
        after = np.hypot(*(centre[i + 1] - centre[i])) / width[i]
        assert after < 0.05, (c, after)
    # the track saved and loaded keeps the measure
    tr.save(tmp_path / "t.npz")
    assert np.array_equal(FaceTrack.load(tmp_path / "t.npz").picture_change, tr.picture_change, equal_nan=True)
    assert np.array_equal(FaceTrack.load(tmp_path / "t.npz").thumbs, tr.thumbs)


def _fake(change: list[float], fps: float = 25.0) -> SimpleNamespace:
    return SimpleNamespace(picture_change=np.array(change, dtype=np.float32), times=np.arange(len(change)) / fps)


def test_only_a_lone_spike_is_a_cut_and_short_shots_merge() -> None:
    calm = [1.0] * 60
    cut = calm[:30] + [50.0] + calm[31:]
    assert picture_cuts(_fake(cut)) == [pytest.approx(30 / 25)]
    fade = calm[:30] + [40.0, 45.0, 42.0] + calm[33:]  # several frames in a row: not a cut
    assert picture_cuts(_fake(fade)) == []
    weak = calm[:30] + [15.0] + calm[31:]  # under CUT_LEVEL
    assert picture_cuts(_fake(weak)) == []
    assert picture_cuts(_fake([float("nan")] + cut[1:])) == [pytest.approx(30 / 25)]
    # a cut 0.4 s before the end makes no shot of its own
    late = calm[:50] + [50.0] + calm[51:]
    assert len(shot_spans(_fake(late))) == 1
    assert len(shot_spans(_fake(cut))) == 2


def test_restarts_at_cuts_print_nothing(edit, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The restarted mesh logs natively like a new one: the command line stays quiet."""
    import os
    import subprocess
    import sys

    video, _ = edit
    env = {k: v for k, v in os.environ.items() if k not in ("GLOG_minloglevel", "TF_CPP_MIN_LOG_LEVEL")}
    r = subprocess.run([sys.executable, "-m", "mouthsync", "track", str(video), "-o", str(tmp_path / "t.npz"),
                        "--no-cache"], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "", r.stderr[:2000]


def test_facecheck_judges_each_shot_against_itself(edit) -> None:  # type: ignore[no-untyped-def]
    """An edit of clean shots is clean: a cut is not shake or fast motion, another shot's
    light is not an exposure change, another person's mouth is not an occluded one."""
    from mouthsync.face.quality import check_footage

    video, _ = edit
    rep = check_footage(video)
    assert [(s.reason, round(s.start_s, 2)) for s in rep.segments] == [], rep.segments
    assert rep.score == 100.0


def _pictures(fps: float = 25.0) -> SimpleNamespace:
    """Synthetic thumbnails: two textured pictures, each steady for 2 s, with (from frame
    50) a 15-frame linear dissolve from the first into the second, then a 1 s brightness
    and contrast ramp, a 1 s pan and a hard cut back to the first."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:18, 0:32]
    a = 128 + 40 * np.sin(xx / 3.0) * np.cos(yy / 4.0) + rng.normal(0, 3, (18, 32))
    b = 128 + 40 * np.cos(xx / 5.0 + yy / 2.0) + rng.normal(0, 3, (18, 32))
    frames = [a] * 50 + [(1 - w) * a + w * b for w in (np.arange(15) + 0.5) / 15] + [b] * 35
    frames += [128 + (b - 128) * (1 + 0.6 * i / 25) + 30 * i / 25 for i in range(25)]  # light ramp
    last = frames[-1]
    frames += [np.roll(last, i // 2, axis=1) for i in range(25)]  # a pan, a column per two frames
    frames += [a] * 40  # a cut
    th = np.clip(np.round(frames), 0, 255).astype(np.uint8)
    noise = rng.normal(0, 1.0, th.shape)  # a little sensor noise on every frame
    th = np.clip(th + noise, 0, 255).astype(np.uint8)
    return SimpleNamespace(thumbs=th, times=np.arange(len(th)) / fps)


def test_a_dissolve_is_found_and_light_pan_or_cut_are_not() -> None:
    tr = _pictures()
    found = dissolves(tr)
    assert len(found) == 1, found
    start, middle, end = found[0]
    assert abs(middle - 57.5 / 25) <= 1 / 25, found  # the even blend: 7.5 frames in
    assert 50 / 25 <= start < middle < end <= 65 / 25
    mask = span_mask(tr, found)
    assert mask.sum() >= 5 and not mask[:50].any() and not mask[65:].any()
    # the dissolve begins a shot; the pan, the light and the cut (no change spike in this
    # fake) do not
    tr.picture_change = np.zeros(len(tr.times), np.float32)
    assert [round(a, 2) for a, _ in shot_spans(tr)] == [0.0, round(middle, 2)]
    # no thumbnails (an old track): no dissolves
    assert dissolves(SimpleNamespace(thumbs=None, times=tr.times)) == []


def test_a_dip_to_black_begins_a_shot_and_a_fade_in_or_a_flash_does_not() -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(40, 215, (18, 32)).astype(np.float64)
    b = rng.integers(40, 215, (18, 32)).astype(np.float64)
    ramp = [(i + 0.5) / 6 for i in range(6)]
    frames = [a * w for w in ramp] + [a] * 40  # fades in from black at the start
    frames += [a * (1 - w) for w in ramp] + [a * 0] * 3 + [b * w for w in ramp] + [b] * 40
    th = np.clip(np.round(frames), 0, 255).astype(np.uint8)
    times = np.arange(len(th)) / 25.0
    tr = SimpleNamespace(thumbs=th, times=times, picture_change=np.zeros(len(th), np.float32),
                         valid=np.ones(len(th), bool))
    dark = np.flatnonzero(th.reshape(len(th), -1).std(axis=1) < 4.0)
    tr.valid[dark] = False  # no face in a black picture
    found = blanks(tr)
    assert len(found) == 1, found  # not the fade in at the start
    assert abs(found[0][1] - (46 + 6 + 1) / 25) <= 1 / 25, found  # the middle black frame
    assert [round(x, 2) for x, _ in shot_spans(tr)] == [0.0, round(found[0][1], 2)]
    # a face found on a dark frame: not blank
    tr.valid[:] = True
    assert blanks(tr) == []
    # a hard cut into black and one out of it already bound the run: no shot inside it
    tr.valid[dark] = False
    tr.picture_change = np.zeros(len(th), np.float32)
    first, last = int(dark[dark > 10][0]), int(dark[-1]) + 1
    tr.picture_change[[first, last]] = 60.0
    found = transitions(tr)
    assert found.blanks == [] and [t for t, _ in found.starts()] == [pytest.approx(first / 25), pytest.approx(last / 25)]
    # the same picture on both sides (a flash, a dropout to black inside a take): no shot
    same = np.clip(np.round([a] * 30 + [a * 0] * 3 + [a] * 30), 0, 255).astype(np.uint8)
    one = SimpleNamespace(thumbs=same, times=np.arange(63) / 25.0, valid=np.r_[[True] * 30, [False] * 3, [True] * 30])
    assert blanks(one) == []
