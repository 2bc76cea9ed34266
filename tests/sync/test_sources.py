"""Which speech timelines ``check`` measures with (``sync.sources``): when fewer settle it."""

from __future__ import annotations


def test_phones_settle_only_a_confident_measured_delay_without_steps() -> None:
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.report import SyncReport
    from mouthsync.sync.sources import SETTLED_CONFIDENCE, decides_early, ensemble_modes, settled

    def report(delay: float | None, conf: float, kind: str) -> SyncReport:
        return SyncReport(delay, None, 25.0, conf, [], None, DriftFit(None, None, None, 0, kind), {}, [], None)

    assert settled(report(40.0, SETTLED_CONFIDENCE, "none"))
    assert not settled(report(40.0, 1.0, "drift")), "a drift is measured best with every source"
    assert not settled(report(40.0, SETTLED_CONFIDENCE - 0.01, "none"))
    assert not settled(report(None, 1.0, "insufficient"))
    assert not settled(report(40.0, 1.0, "steps")), "an edited clip's windows need every source"
    # only the default may decide early; 'always' asks for the same three sources up front
    assert decides_early("auto") and not decides_early("always") and not decides_early(None)
    assert not decides_early("the words that were said")
    assert ensemble_modes("always") == ensemble_modes("auto")


def test_given_words_are_text_not_a_mode() -> None:
    from mouthsync.audio.timeline import AUTO
    from mouthsync.sync.sources import AUTO_MODE, given_words

    assert AUTO_MODE == AUTO
    assert given_words("the heart of my california") and given_words("1\n00:00:01,000 --> 00:00:02,000\nhi\n")
    for mode in (None, "", "  ", "auto", "Always", "AUTO"):
        assert not given_words(mode)


def test_cascade_levels_add_one_source_at_a_time_and_end_with_all() -> None:
    from mouthsync.sync.sources import cascade_levels, ensemble_modes

    auto = ensemble_modes("auto")
    assert auto[0][0] is not None and auto[1] == (None, "batch") and auto[2] == (None, "live")
    assert cascade_levels(auto, early=True) == [[1], [1, 2], [0, 1, 2]]
    assert cascade_levels(auto, early=False) == [[0, 1, 2]]
    assert cascade_levels(ensemble_modes(None), early=True) == [[0]]


def test_measure_in_steps_stops_at_the_first_settled_level() -> None:
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.report import SyncReport
    from mouthsync.sync.sources import measure_in_steps

    def report(conf: float) -> SyncReport:
        return SyncReport(10.0, None, 25.0, conf, [], None, DriftFit(None, None, None, 0, "none"), {}, [], None)

    levels = [[1], [1, 2], [0, 1, 2]]
    seen: list[list[int]] = []
    escalations: list[int] = []
    conf = {1: 0.5, 2: 0.85, 3: 0.95}
    level, rep = measure_in_steps(levels, lambda lv: seen.append(lv) or report(conf[len(lv)]),
                                  lambda: escalations.append(1))
    assert level == [1, 2] and rep.confidence == 0.85 and seen == levels[:2] and len(escalations) == 1
    # nothing settles: the last level is taken as it is
    level, rep = measure_in_steps(levels, lambda lv: report(0.1))
    assert level == [0, 1, 2] and rep.confidence == 0.1


def test_a_step_that_overturns_the_one_before_does_not_settle() -> None:
    """The source a step adds must confirm the earlier reading: under another voice 22 dB
    down, one allphone pass read -707 ms at 0.85 where batch allphone read +21 ms, and the
    pair settled at 0.88 far from the clip's own delay."""
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.report import SyncReport
    from mouthsync.sync.sources import measure_in_steps, settled

    def report(delay: float | None, conf: float) -> SyncReport:
        return SyncReport(delay, None, 25.0, conf, [], None, DriftFit(None, None, None, 0, "none"), {}, [], None)

    assert not settled(report(-707.0, 0.88), before=report(21.0, 0.17))
    assert settled(report(30.0, 0.88), before=report(21.0, 0.17)), "within a frame (40 ms at 25 fps)"
    assert settled(report(30.0, 0.88), before=report(None, 0.0)), "nothing read before: nothing to overturn"
    steps = {1: report(21.0, 0.17), 2: report(-707.0, 0.88), 3: report(27.0, 0.57)}
    level, rep = measure_in_steps([[1], [1, 2], [0, 1, 2]], lambda lv: steps[len(lv)])
    assert level == [0, 1, 2] and rep.audio_delay_ms == 27.0
    steps[2] = report(25.0, 0.88)
    level, rep = measure_in_steps([[1], [1, 2], [0, 1, 2]], lambda lv: steps[len(lv)])
    assert level == [1, 2] and rep.audio_delay_ms == 25.0


def test_a_window_read_confidently_off_the_file_does_not_settle() -> None:
    """One confident window more than a frame from the file's delay (a lone window makes
    no steps for the drift line) sends the file on to more sources; an uncertain one, or a
    confident one within a frame, does not."""
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.report import SyncReport, WindowEstimate
    from mouthsync.sync.sources import settled

    def report(*windows: WindowEstimate) -> SyncReport:
        return SyncReport(5.0, None, 25.0, 0.9, list(windows), None, DriftFit(None, None, None, 0, "none"), {}, [], None)

    near = WindowEstimate(0.0, 5.0, 30.0, 0.9, False)
    assert settled(report(near, WindowEstimate(2.5, 7.5, 473.0, 0.1, True)))
    assert not settled(report(near, WindowEstimate(2.5, 7.5, 473.0, 0.34, False)))
    assert not settled(report(near, WindowEstimate(2.5, 7.5, -40.0, 0.9, False)))


def test_a_shot_read_at_the_search_edge_does_not_unsettle() -> None:
    """A shot more than a frame from the file keeps it unsettled however unsure, but not
    one whose reading is the first or last delay searched (the best there is no peak)."""
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.report import SyncReport, WindowEstimate
    from mouthsync.sync.sources import at_search_edge, settled

    def report(shot_ms: float) -> SyncReport:
        return SyncReport(5.0, None, 25.0, 0.9, [], None, DriftFit(None, None, None, 0, "none"), {}, [], None,
                          raw_delay_ms=5.0, details={"search_ms": [-800.0, 800.0]},
                          shots=[WindowEstimate(0.0, 5.0, 4.0, 0.9, False), WindowEstimate(5.0, 10.0, shot_ms, 0.0, True)])

    assert not settled(report(-300.0))
    assert settled(report(-800.0)) and settled(report(799.0))
    assert at_search_edge(report(-800.0), -800.0) and not at_search_edge(report(-800.0))
