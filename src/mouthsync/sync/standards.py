"""Broadcast lip-sync tolerances and the verdict a delay earns against them.

Limits are in ms of *audio delay* (our sign: positive = sound after picture). Every
standard allows more lateness than lead, because sound arriving late is what people
experience in nature (light is faster than sound), while sound that leads the picture
is noticed sooner.

- ITU-R BT.1359-1 (1998): detectability threshold +125 / -45 ms, acceptability threshold
  +185 / -90 ms.
- ATSC IS-191 (2003): end-to-end tolerance +45 / -15 ms.
- EBU R37 (2007): end-to-end tolerance +60 / -40 ms.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Standard:
    """One tolerance: ``late_ms`` (sound after picture) and ``early_ms`` (sound first, > 0).

    ``late_warn_ms``/``early_warn_ms`` are an inner band where the offset is already
    detectable but still acceptable (only BT.1359 defines one).
    """

    key: str
    name: str
    late_ms: float
    early_ms: float
    late_warn_ms: float | None = None
    early_warn_ms: float | None = None


STANDARDS: dict[str, Standard] = {
    "bt1359": Standard("bt1359", "ITU-R BT.1359", 185.0, 90.0, 125.0, 45.0),
    "is191": Standard("is191", "ATSC IS-191", 45.0, 15.0),
    "r37": Standard("r37", "EBU R37", 60.0, 40.0),
}
_ALIASES = {"itu": "bt1359", "bt.1359": "bt1359", "atsc": "is191", "ebu": "r37", "ebur37": "r37"}


def get_standard(key: str) -> Standard:
    """Look a standard up by key (``bt1359``, ``is191``, ``r37``, a few aliases)."""
    k = key.lower().replace("-", "").replace("_", "").replace(" ", "")
    k = _ALIASES.get(k, k)
    if k not in STANDARDS:
        raise ValueError(f"unknown standard {key!r}: use one of {', '.join(STANDARDS)}")
    return STANDARDS[k]


def judge(delay_ms: float, standard: str | Standard = "bt1359") -> dict[str, object]:
    """The verdict for ``delay_ms`` against ``standard``.

    ``status``: ``"in_sync"`` (within the inner band, or within tolerance for standards
    without one), ``"detectable"`` (BT.1359: noticeable but acceptable), or
    ``"out_of_sync"``. ``direction`` says which way and ``margin_ms`` how far inside (> 0)
    or outside (< 0) the tolerance the delay is.
    """
    st = standard if isinstance(standard, Standard) else get_standard(standard)
    late = delay_ms >= 0
    limit = st.late_ms if late else st.early_ms
    warn = st.late_warn_ms if late else st.early_warn_ms
    mag = abs(delay_ms)
    if mag > limit:
        status = "out_of_sync"
    elif warn is not None and mag > warn:
        status = "detectable"
    else:
        status = "in_sync"
    direction = "sound after picture" if late else "sound before picture"
    return {
        "standard": st.key,
        "standard_name": st.name,
        "status": status,
        "direction": direction if mag >= 0.5 else "none",
        "limit_ms": limit if late else -limit,
        "margin_ms": limit - mag,
        "passes": status != "out_of_sync",
    }
