"""Long material whose sound clock drifts: 1001/1000 measured and named, drifts steep
enough to leave the delay search followed, and steep known clock mismatches (25 vs 24 fps)
found, named and fixed. (Split from test_long so that the two test workers share the long
cases.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from mouthsync.sync.delay import check_sync
from tests.conftest import CLIPS
from tests.sync.builders import build_concatenation

pytestmark = pytest.mark.slow


def test_drift_of_1001_over_1000_is_measured_named_and_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """66 s of one shared clip repeated, the sound clock 1000/1001 slow (+60 ms/min):
    ``check`` measures and names the drift; ``fix --drift auto --report`` (what was
    reviewed, not measured again) resamples the sound, snapped to the NTSC ratio, and every
    confident window of the result reads within one frame of the same window on the
    undrifted build.

    One source repeated keeps every segment's own (unknown) offset equal, so the stretch is
    the only thing that changes the delay over time; mixed sources carry per-clip offsets
    as large as a minute of drift (docs/sync.md), which check rightly reports as steps.
    """
    import json

    from mouthsync.cli import main
    from tests.media.test_remux import packets

    drifted = _face4(tmp_path / "drift", 0.0, (1001, 1000))
    assert main(["check", str(drifted), "--json"]) in (0, 1)
    report = tmp_path / "drift.check.json"
    report.write_text(capsys.readouterr().out)
    rep = json.loads(report.read_text())
    assert rep["drift"]["kind"] == "drift"
    assert rep["details"]["transcript"] == "needed", "a drift is measured with every phone source"
    assert rep["drift_ms_per_min"] == pytest.approx(60.0, rel=0.10)
    assert "1000/1001" in (rep["drift"]["interpretation"] or "")
    assert len([w for w in rep["windows"] if not w["uncertain"]]) >= 0.6 * len(rep["windows"])

    fixed = tmp_path / "fixed.mkv"
    assert main(["fix", str(drifted), "-o", str(fixed), "--delay", "auto", "--drift", "auto",
                 "--report", str(report), "--json"]) == 0
    side = json.loads(Path(str(fixed) + ".fix.json").read_text())
    assert side["measured"]["drift_ms_per_min"] == pytest.approx(60.0, rel=0.10)
    assert side["audio_speed"] == pytest.approx(1001 / 1000, abs=2e-5)  # snapped to the NTSC ratio
    assert packets(fixed) == packets(drifted)

    clean = _face4(tmp_path / "clean", 0.0, None)
    ref = check_sync(clean)
    got = check_sync(fixed)
    frame_ms = 1000.0 / got.fps
    # fix also removed the drifted file's overall delay; compare shapes over time
    offset = (got.audio_delay_ms or 0.0) - (ref.audio_delay_ms or 0.0)
    before = {round(w.start_s, 2): w for w in ref.windows}
    compared = 0
    for w in got.windows:
        b = before.get(round(w.start_s, 2))
        if b is None or b.audio_delay_ms is None or w.audio_delay_ms is None or b.uncertain or w.uncertain:
            continue
        compared += 1
        assert abs((w.audio_delay_ms - offset) - b.audio_delay_ms) <= frame_ms, (w, b)
    assert compared >= 0.6 * len(got.windows)
    assert got.drift.kind != "drift" or abs(got.drift_ms_per_min or 0.0) < 10.0


def _face4(out_dir: Path, shift_s: float, stretch: tuple[int, int] | None, copies: int = 10) -> Path:
    """retalking_face4 x ``copies`` (6.6 s each), its sound ``shift_s`` late, then stretched
    by the clock ratio ``stretch`` (None: not at all)."""
    face4 = [p for p in CLIPS if p.name == "retalking_face4.mp4"]
    video, _, _ = build_concatenation(face4 * copies, [shift_s] * copies, out_dir, stretch=stretch)
    return video


def _stretched_face4(tmp_path: Path, shift_s: float, stretch: tuple[int, int], copies: int = 10):  # type: ignore[no-untyped-def]
    """:func:`_face4` and check's report of it."""
    video = _face4(tmp_path, shift_s, stretch, copies)
    return video, check_sync(video)


def _confident_windows_on_the_line(rep, tol_ms: float) -> None:  # type: ignore[no-untyped-def]
    """Every confident window within ``tol_ms`` of the reported drift line (through the
    headline at ``delay_at_s``)."""
    mid_ms, at = rep.audio_delay_ms, rep.details["delay_at_s"]
    assert mid_ms is not None
    for w in rep.windows:
        if not w.uncertain and w.audio_delay_ms is not None:
            line = mid_ms + rep.drift_ms_per_min / 60.0 * (0.5 * (w.start_s + w.end_s) - at)
            assert abs(w.audio_delay_ms - line) <= tol_ms, (w.start_s, w.audio_delay_ms, line)


def test_steep_drift_beyond_the_old_search_is_measured(tmp_path: Path) -> None:
    """A drift of ~300 ms/min (audio 0.5 % slow): the whole-clip search starts from the
    window line, so the drift is not clipped at the edge of a search around zero, and the
    headline delay (at the middle, with the drift undone) is confident again."""
    _, rep = _stretched_face4(tmp_path, 0.0, (201, 200))
    assert rep.drift.kind == "drift"
    assert rep.drift_ms_per_min == pytest.approx(300.0, rel=0.10)
    assert rep.confidence >= 0.3
    assert rep.details["delay_at_s"] == pytest.approx(33.0, abs=3.0)
    _confident_windows_on_the_line(rep, 60.0)  # (within a frame and a half)


def test_a_drift_that_carries_the_delay_out_of_the_search_is_followed(tmp_path: Path) -> None:
    """The sound 300 ms late and 1 % slow (600 ms/min): over 66 s the delay runs from
    +0.3 s to about +0.96 s, past the +-800 ms search. Half an hour of a 1000/1001 drift
    does the same (0 to +1.8 s); the windows past the edge read +800 or a wrong peak, and
    the headline at the middle did too. The headline and every window are now searched
    around the drift line where it leaves the search."""
    _, rep = _stretched_face4(tmp_path, 0.3, (101, 100))
    assert rep.drift.kind == "drift"
    assert rep.drift_ms_per_min == pytest.approx(600.0, rel=0.05)
    assert rep.confidence >= 0.3
    mid_ms, at = rep.audio_delay_ms, rep.details["delay_at_s"]
    assert mid_ms is not None and mid_ms == pytest.approx(300.0 + 600.0 / 60.0 * at, abs=40.0)
    late = [w for w in rep.windows if not w.uncertain and w.audio_delay_ms is not None and w.start_s > 55.0]
    assert late, "windows past the edge of the search are measured"
    _confident_windows_on_the_line(rep, 40.0)
    assert min(w.audio_delay_ms for w in late) > 850.0  # (beyond the old search)
    advice = [f.advice for f in rep.findings if f.check == "sync.delay"]
    assert advice == ["mouthsync fix FILE -o OUT --drift auto"]


def test_a_steep_known_clock_mismatch_is_found_named_and_fixed(tmp_path: Path) -> None:
    """The sound 4 % long (a 24 fps picture played at 25 without its sound: +2.5 s/min):
    the delay moves 208 ms inside every 5 s window and leaves the +-800 ms search within
    20 s, so no window line starts the drift search (it read "steps", confidence 0.00).
    The known steep ratios are searched over the whole clip with the drift undone; then
    ``fix --drift auto`` resamples the sound and check reads it in sync (33 s: 0 to +1.4 s;
    the drift measures within 1 %, and snaps to 25/24 as it moves the delay by a few ms
    over the file)."""
    from mouthsync.sync.correct import fix_sync

    video, rep = _stretched_face4(tmp_path, 0.0, (25, 24), copies=5)
    assert rep.drift.kind == "drift" and rep.drift.method.startswith("known clock ratios")
    assert rep.details["clock_ratio"] == pytest.approx(25 / 24)  # what a later cascade level scans near
    assert rep.drift_ms_per_min == pytest.approx(2500.0, rel=0.01)
    assert "24 fps picture played at 25 fps" in (rep.drift.interpretation or "")
    assert rep.confidence >= 0.3
    # the agreement curve is drawn over the delays it was searched on (around +0.7 s)
    assert rep.curve.delays_ms[0] < rep.audio_delay_ms < rep.curve.delays_ms[-1]
    # The drawn curve is the one the peak was found on (the jaw-leaning velocity); the
    # headline is placed on the lips (docs/sync.md, "Finding on the jaw, placing on the
    # lips"), so their tops may part by a few ms. Here 1 ms with session 30's drift fit,
    # 8 ms once the fit is centred on its own vertex (session 31: 2499.5 -> 2497.7 ms/min,
    # the headline 691.0 -> 690.0 ms against the 690.8 the stretch puts at 16.58 s).
    assert rep.curve.delays_ms[int(rep.curve.agreement.argmax())] == pytest.approx(rep.audio_delay_ms, abs=20.0)
    confident = [w for w in rep.windows if not w.uncertain]
    assert len(confident) >= 0.5 * len(rep.windows)
    _confident_windows_on_the_line(rep, 40.0)
    fixed = tmp_path / "fixed.mp4"
    res = fix_sync(video, fixed, drift="auto")
    assert res.plan.speed == 25 / 24
    again = check_sync(fixed)
    assert again.drift.kind == "none" and again.confidence >= 0.5
    assert again.audio_delay_ms is not None and abs(again.audio_delay_ms) <= 40.0  # (delay auto: all removed)


def test_a_short_take_in_sync_is_not_called_drifting(tmp_path: Path) -> None:
    """25 s of retalking_face2 repeated, nothing stretched. The whole-clip agreement is
    nearly flat over slopes on so little material: the warp search read -52.6 ms/min (22 ms
    over the file, just past the half frame that names a drift) where the agreement stood
    only 0.0008 above no drift at all. A drift must now beat no drift by
    ``search.DRIFT_MIN_GAIN`` (session 31), so this reads "none" and finds no drift."""
    face2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
    video, _, _ = build_concatenation([face2] * 5, [0.0] * 5, tmp_path)
    rep = check_sync(video)
    assert rep.drift.kind == "none"
    assert "sync.drift" not in {f.check for f in rep.findings}
    assert rep.audio_delay_ms is not None and rep.confidence >= 0.3
