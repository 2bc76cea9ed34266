"""Broadcast tolerances (``sync.standards``): each standard's limits and names."""

from __future__ import annotations

import pytest

from mouthsync.sync.standards import get_standard, judge


@pytest.mark.parametrize(
    ("delay", "std", "status"),
    [
        (0.0, "bt1359", "in_sync"),
        (120.0, "bt1359", "in_sync"),
        (130.0, "bt1359", "detectable"),
        (-50.0, "bt1359", "detectable"),
        (190.0, "bt1359", "out_of_sync"),
        (-95.0, "bt1359", "out_of_sync"),
        (44.0, "is191", "in_sync"),
        (-16.0, "is191", "out_of_sync"),
        (59.0, "r37", "in_sync"),
        (-41.0, "r37", "out_of_sync"),
    ],
)
def test_standard_limits(delay: float, std: str, status: str) -> None:
    v = judge(delay, std)
    assert v["status"] == status
    assert v["passes"] == (status != "out_of_sync")


def test_standard_aliases_and_unknown() -> None:
    assert get_standard("EBU").key == "r37"
    assert get_standard("ATSC").key == "is191"
    with pytest.raises(ValueError, match="unknown standard"):
        get_standard("smpte")
