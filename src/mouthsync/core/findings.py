"""Findings: the unit of judgement every command that judges returns.

A finding names the check, where it happened, what was measured against which threshold,
how bad it is, and one line on what to do about it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    """Ordered so that ``--fail-on`` can compare levels."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    @classmethod
    def parse(cls, name: str) -> Severity:
        try:
            return cls[name.upper()]
        except KeyError as exc:
            raise ValueError(f"unknown severity {name!r}: use info, warning or error") from exc


@dataclass
class Finding:
    """One judged observation.

    ``start_s``/``end_s`` are seconds on the media timeline (``None`` for the whole file).
    """

    check: str
    severity: Severity
    message: str
    advice: str = ""
    value: float | None = None
    threshold: float | None = None
    unit: str = ""
    start_s: float | None = None
    end_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.name.lower()
        return d

    def line(self) -> str:
        where = ""
        if self.start_s is not None:
            where = f" [{self.start_s:.2f}s" + (f"-{self.end_s:.2f}s]" if self.end_s is not None else "]")
        advice = f" -> {self.advice}" if self.advice else ""
        return f"{self.severity.name.lower():7s} {self.check}{where}: {self.message}{advice}"


def worst(findings: list[Finding]) -> Severity | None:
    """Highest severity among ``findings``, or ``None`` when there are none."""
    return max((f.severity for f in findings), default=None)
