"""The one run finder (``core.runs``)."""

from __future__ import annotations

import numpy as np

from mouthsync.core.runs import true_runs, without


def test_runs_at_the_edges_inside_and_none() -> None:
    m = np.array([1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    assert true_runs(m).tolist() == [[0, 2], [4, 5], [6, 9]]
    assert true_runs(np.zeros(5, bool)).shape == (0, 2)
    assert true_runs(np.zeros(0, bool)).shape == (0, 2)
    assert true_runs(np.ones(3, bool)).tolist() == [[0, 3]]


def test_without_takes_out_holes() -> None:
    assert without([(0.0, 1.0), (2.0, 3.0)], [(0.5, 2.5)]) == [(0.0, 0.5), (2.5, 3.0)]
    assert without([(0.0, 1.0)], [(0.2, 0.3), (0.6, 0.7)]) == [(0.0, 0.2), (0.3, 0.6), (0.7, 1.0)]
    assert without([(0.0, 1.0)], [(-1.0, 5.0)]) == []
    assert without([(0.0, 1.0)], []) == [(0.0, 1.0)]


def test_join_runs_bridges_short_gaps_only() -> None:
    from mouthsync.core.runs import join_runs

    runs = true_runs(np.array([1, 1, 0, 1, 0, 0, 0, 1], dtype=bool))  # gaps of 1 and 3
    assert join_runs(runs, 1) == [[0, 4], [7, 8]]
    assert join_runs(runs, 3) == [[0, 8]]
    assert join_runs(runs, 0) == [[0, 2], [3, 4], [7, 8]]
    assert join_runs(true_runs(np.zeros(4, dtype=bool)), 5) == []
