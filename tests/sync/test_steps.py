"""Steps of the delay inside a take (``sync.steps``): runs of window delays, the pause a
correction switches in, and the parts ``fix --delay steps`` moves."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.sync.report import WindowEstimate
from mouthsync.sync.steps import DelayStep, cut_for, delay_runs, find_steps, pauses_in


def _w(i: int, d: float | None, unc: bool = False) -> WindowEstimate:
    return WindowEstimate(2.5 * i, 2.5 * i + 5.0, d, 0.1 if unc else 0.9, unc)


def test_runs_are_confident_windows_within_a_frame_and_a_lone_window_is_not_one() -> None:
    delays = [0, 10, -5, 5, 400, 200, 210, 190, None, 205, 30, 20]
    wins = [_w(i, d, unc=(i == 8)) for i, d in enumerate(delays)]
    runs = delay_runs(wins, 40.0)
    assert [[w.audio_delay_ms for w in r] for r in runs] == [[0, 10, -5, 5], [200, 210, 190, 205], [30, 20]]
    # runs of one window between two that agree do not split them
    assert len(delay_runs([_w(i, d) for i, d in enumerate([0, 5, 300, 10, 0])], 40.0)) == 1
    assert delay_runs([_w(0, 0), _w(1, 200)], 40.0) == []
    # at the end of the file one confident window backed by the uncertain one before it
    tail = [_w(i, d, unc=(i in (4, 5))) for i, d in enumerate([0, 5, -3, 2, 148, 188, 180])]
    assert [[w.audio_delay_ms for w in r] for r in delay_runs(tail, 40.0)] == [[0, 5, -3, 2], [180]]
    unbacked = [_w(i, d, unc=(i == 4)) for i, d in enumerate([0, 5, -3, 2, 20, 180])]
    assert len(delay_runs(unbacked, 40.0)) == 1


def test_pauses_are_the_gaps_between_speech() -> None:
    assert pauses_in([(3.0, 4.0), (0.5, 2.0), (4.0, 6.0), (6.5, 9.0)]) == [(2.0, 3.0), (6.0, 6.5)]


def test_the_cut_goes_in_a_pause_long_enough_for_both_delays_else_at_the_step() -> None:
    # the sound is 0 s late before and 0.2 s after: a cut at c plays the input at c and
    # c + 0.2, so the pause must cover both, plus the fade
    pauses = [(9.0, 9.1), (10.4, 10.9), (14.0, 15.0)]
    cut, in_pause = cut_for(10.2, 0.0, 0.2, pauses, 8.0, 12.0)
    assert in_pause and cut == pytest.approx(0.5 * (10.4 + 10.9) - 0.1)
    # the only long pause is too far from the step, or outside the span searched
    assert cut_for(12.5, 0.0, 0.2, pauses, 8.0, 16.0) == (12.5, False)
    assert cut_for(13.8, 0.0, 0.2, pauses, 8.0, 13.9) == (13.8, False)
    # a short pause does not hide a step larger than itself
    assert cut_for(9.0, 0.0, 0.2, [(8.95, 9.15)], 8.0, 12.0) == (9.0, False)
    assert cut_for(9.0, 0.0, 0.2, [(8.9, 9.15)], 8.0, 12.0)[1]


class _FakeSignals:
    """A measured mouth that follows a prediction made of the sound 0 s late before 20.3 s
    and 0.2 s late after: the split fit peaks where the step is."""

    def __init__(self) -> None:
        self.times = np.arange(0.0, 40.0, 0.04)
        rng = np.random.default_rng(3)
        self.grid = np.arange(-2.0, 42.0, 0.001)
        self.expected = np.convolve(rng.standard_normal(self.grid.size), np.ones(120) / 120, "same")
        d = np.where(self.times < 20.3, 0.0, 0.2)
        self.mouth = np.interp(self.times + d, self.grid, self.expected)
        self.speech = [(0.0, 25.0), (25.5, 40.0)]
        self.audio = None  # no sound: no digital silence to place the step by

    def split_fit(self, sel, before_s, after_s, splits, weights):  # type: ignore[no-untyped-def]
        t = self.times[sel]
        pa, pb = np.interp(t + before_s, self.grid, self.expected), np.interp(t + after_s, self.grid, self.expected)
        x = self.mouth[sel]
        return np.array([np.corrcoef(x, np.where(t < s, pa, pb))[0, 1] for s in splits])


def test_a_step_is_placed_where_the_split_fits_best_and_its_parts_measured_again() -> None:
    sig = _FakeSignals()
    wins = [_w(i, 0.0 if 2.5 * i + 5.0 <= 20.3 else 200.0 if 2.5 * i >= 20.3 else None, unc=not (
        2.5 * i + 5.0 <= 20.3 or 2.5 * i >= 20.3)) for i in range(15)]
    seen = []

    def measure(sel: np.ndarray) -> float | None:
        t = sig.times[sel]
        seen.append((float(t[0]), float(t[-1])))
        return 0.004 if t[0] < 1.0 else 0.203

    [st] = find_steps(sig, delay_runs(wins, 40.0), {"opening": 1.0}, 40.0, 0.0, measure)
    assert isinstance(st, DelayStep)
    assert abs(st.at_s - 20.3) <= 0.25 and st.lo_s <= 20.3 <= st.hi_s and st.gain > 0
    # the nearest pause in the sound (25.0-25.5 s) is 4.6 s away: the switch is at the step
    assert st.cut_s == st.at_s and not st.in_pause
    assert (st.before_ms, st.after_ms) == (pytest.approx(4.0), pytest.approx(203.0))
    assert seen[0][0] == 0.0 and seen[1][1] == pytest.approx(39.96)
    d = st.to_dict()
    assert d["step_ms"] == pytest.approx(199.0) and d["between_s"][0] <= d["at_s"] <= d["between_s"][1]
    # a part measured more than a frame from its run keeps the run's median
    [st2] = find_steps(sig, delay_runs(wins, 40.0), {"opening": 1.0}, 40.0, 0.0, lambda sel: 0.5)
    assert (st2.before_ms, st2.after_ms) == (0.0, 200.0)


def test_a_shot_between_the_runs_at_a_third_delay_refutes_the_step() -> None:
    """Two runs (0 ms, then 200 ms) with uncertain windows between: a confident shot there
    reading 100 ms says the sound changed twice, at cuts, and no step is told; shots that
    read either run's delay, or an uncertain one, leave the step as it was."""
    sig = _FakeSignals()
    wins = [_w(i, 0.0 if 2.5 * i + 5.0 <= 20.3 else 200.0 if 2.5 * i >= 20.3 else None, unc=not (
        2.5 * i + 5.0 <= 20.3 or 2.5 * i >= 20.3)) for i in range(15)]
    runs = delay_runs(wins, 40.0)

    def found(shots: list[WindowEstimate]) -> int:
        return len(find_steps(sig, runs, {"opening": 1.0}, 40.0, 0.0, lambda sel: None, shots=shots))

    def shot(a: float, b: float, d: float, unc: bool = False) -> WindowEstimate:
        return WindowEstimate(a, b, d, 0.1 if unc else 0.6, unc)

    assert found([]) == 1
    assert found([shot(0.0, 18.0, 0.0), shot(18.0, 22.0, 100.0), shot(22.0, 40.0, 200.0)]) == 0
    assert found([shot(0.0, 18.0, 0.0), shot(18.0, 22.0, 30.0), shot(22.0, 40.0, 200.0)]) == 1  # within a frame of 0
    assert found([shot(0.0, 18.0, 0.0), shot(18.0, 22.0, 100.0, unc=True), shot(22.0, 40.0, 200.0)]) == 1
    assert found([shot(0.0, 10.0, 100.0), shot(10.0, 40.0, 200.0)]) == 1  # a third level, but inside a run


def test_step_pieces_move_each_part_by_its_own_reading() -> None:
    from mouthsync.core.errors import BadInput
    from mouthsync.sync.correct import plan_fix
    from tests.conftest import CLIPS

    face2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
    step = DelayStep(at_s=2.41, cut_s=2.3, before_ms=5.0, after_ms=125.0, lo_s=2.2, hi_s=2.6, gain=0.1,
                     in_pause=True)
    report = {"audio_delay_ms": 60.0, "confidence": 0.9, "windows": [], "drift": {"kind": "steps"},
              "verdict": {"status": "detectable"}, "steps": [step.to_dict()]}
    plan = plan_fix(face2, delay="steps", report=report)
    assert plan.delay_source == "steps"
    assert [(p["start_s"], p["end_s"], p["delay_ms"], p["from"]) for p in plan.pieces or []] == [
        (0.0, 2.3, 5.0, "step"), (2.3, 4.96, 125.0, "step")]
    assert not [f for f in plan.findings if f.check == "fix.steps"]
    inside = {**report, "steps": [{**step.to_dict(), "in_pause": False}]}
    assert [f.check for f in plan_fix(face2, delay="steps", report=inside).findings] == ["fix.steps"]
    # one shift for a take that steps: said, with the way to move each part
    [warn] = [f for f in plan_fix(face2, delay="auto", report=report).findings if f.check == "fix.steps"]
    assert "2.41 s (+5 -> +125 ms)" in warn.message and "--delay steps" in warn.advice
    with pytest.raises(BadInput, match="no step in the delay"):
        plan_fix(face2, delay="steps", report={**report, "steps": [], "drift": {"kind": "none"}})
    with pytest.raises(BadInput, match="does not combine with --drift"):
        plan_fix(face2, delay="steps", drift="auto", report=report)



def test_a_late_step_that_the_drift_line_reads_as_pull_down_is_told_as_steps() -> None:
    """Windows of a real take (50 s of shared clips) whose sound is 320 ms late from 36 s:
    the robust line reads +53 ms/min, "NTSC pull-down"; the runs fit every confident window
    within a frame and the line misses the late ones by far. A clock drift follows its line."""
    from mouthsync.sync.drift import fit_drift
    from mouthsync.sync.steps import steps_beat_line

    rows = [(20, 0.61), (-1, 1.0), (-1, 1.0), (10, 1.0), (11, 1.0), (-22, 0.35), (23, 0.51), (30, 0.2), (28, 0.0),
            (20, 0.58), (-2, 1.0), (-1, 1.0), (11, 1.0), (12, 0.21), (322, 0.51), (323, 0.63), (348, 0.19),
            (348, 0.0), (340, 0.0)]

    def fit(delays: list[float], confs: list[float]) -> tuple[str, bool]:
        wins = [WindowEstimate(2.5 * i, 2.5 * i + 5.0, d, c, c < 0.3) for i, (d, c) in enumerate(zip(delays, confs, strict=True))]
        c = np.array([w.start_s + 2.5 for w in wins])
        f = fit_drift(c, np.array(delays, dtype=float), np.array(confs), frame_ms=40.0)
        return f.kind, steps_beat_line(delay_runs(wins, 40.0), f, 40.0)

    assert fit([r[0] for r in rows], [r[1] for r in rows]) == ("drift", True)
    # +120 ms at 30.2 s of 50 through AAC: the line misses both ends by ~1.5-2 frames and
    # every window more than the two levels do
    aac = [(-2, 0.68), (0, 1.0), (-1, 1.0), (10, 1.0), (-3, 1.0), (3, 0.73), (5, 0.73), (29, 0.31), (41, 0.0),
           (20, 0.62), (0, 1.0), (118, 0.0), (119, 1.0), (115, 1.0), (120, 0.7), (141, 0.77), (148, 0.14),
           (568, 0.05), (127, 0.68)]
    assert fit([r[0] for r in aac], [r[1] for r in aac])[1]
    ramp = [2.5 * i + (3.0 if i % 3 == 0 else -2.0) for i in range(20)]  # 60 ms per minute
    assert fit(ramp, [0.9] * 20) == ("drift", False)


def test_a_block_of_inserted_zeros_places_the_step_to_the_sample() -> None:
    """A recorder that filled a 200 ms dropout with zeros at 12.345 s of its sound: the
    step (0 before, 0.2 s after) is where the block starts; a natural pause that is not
    digital silence, a block far shorter or longer than the step, or a step the other way
    (sound dropped, not inserted) places nothing."""
    from mouthsync.media.decode import Audio
    from mouthsync.sync.steps import inserted_silence

    rate = 16000
    rng = np.random.default_rng(1)
    x = (0.05 * rng.standard_normal(30 * rate)).astype(np.float32)
    x[int(5.0 * rate): int(5.6 * rate)] *= 0.001  # a quiet pause, not digital silence
    i = int(12.345 * rate)
    x = np.concatenate([x[:i], np.zeros(int(0.2 * rate), np.float32), x[i:]])[: 30 * rate]
    audio = Audio(samples=x, rate=rate, start=0.5)  # the sound starts 0.5 s into the picture
    # picture time of the step: its sound time less the delay before it
    assert inserted_silence(audio, 0.0, 0.2, 10.0, 15.0, 13.5) == pytest.approx(12.845, abs=1e-3)
    assert inserted_silence(audio, 0.04, 0.24, 10.0, 15.0, 13.5) == pytest.approx(12.805, abs=1e-3)
    assert inserted_silence(audio, 0.0, 0.5, 10.0, 15.0, 13.5) is None  # the block is too short
    assert inserted_silence(audio, 0.0, 0.1, 10.0, 15.0, 13.5) is None  # ... or too long
    assert inserted_silence(audio, 0.2, 0.0, 10.0, 15.0, 13.5) is None  # sound dropped
    assert inserted_silence(audio, 0.0, 0.2, 14.0, 18.0, 15.0) is None  # outside the span


def test_an_uncertain_window_across_disagreeing_shots_says_so() -> None:
    from types import SimpleNamespace

    from mouthsync.sync.steps import note_shot_changes

    def est(a: float, b: float, ms: float | None, unsure: bool, note: str = "") -> SimpleNamespace:
        return SimpleNamespace(start_s=a, end_s=b, audio_delay_ms=ms, uncertain=unsure, note=note)

    shots = [est(0, 4.68, 20.0, False), est(4.68, 10.72, 199.0, False), est(10.72, 15.0, 190.0, False)]
    wins = [est(0, 5, 20.0, True, "weak"), est(2.5, 7.5, 190.0, False), est(7.5, 12.5, 150.0, True, "weak")]
    note_shot_changes(wins, shots, 40.0)
    assert wins[0].note.startswith("spans the shot change at 4.68 s") and "+20 and +199 ms" in wins[0].note
    assert wins[1].note == ""  # confident: left alone
    assert wins[2].note == "weak"  # 199 and 190 agree within a frame: not the reason
