"""How commands print: a readable summary for people, JSON for scripts.

Commands build a plain ``dict`` result (the JSON document) and a list of human lines from
it; :func:`emit` prints one or the other. Progress bars are switched off under ``--json``
so that stdout stays parseable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import typer

from mouthsync.core import progress
from mouthsync.core.findings import Finding, Severity, worst

JSON_HELP = "Print a JSON document on stdout instead of the readable summary."
FAIL_ON_HELP = "Exit with code 1 when a finding reaches this severity (info, warning, error, never)."


def prepare(json_out: bool) -> None:
    """Call first in every command: quiet progress when printing JSON."""
    if json_out:
        progress.set_enabled(False)


def _clean(obj: Any) -> Any:
    """Make a result JSON-safe: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, Finding):
        return _clean(obj.to_dict())
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(_clean(result), indent=2, allow_nan=False)


def emit(result: dict[str, Any], json_out: bool, human: Callable[[dict[str, Any]], list[str]]) -> None:
    """Print ``result`` as JSON or as the lines ``human(result)`` returns."""
    if json_out:
        typer.echo(to_json(result))
    else:
        for line in human(result):
            typer.echo(line)


def exit_for(findings: list[Finding], fail_on: str) -> None:
    """Raise ``typer.Exit(1)`` when the worst finding reaches ``fail_on``."""
    if fail_on.lower() == "never":
        return
    level = Severity.parse(fail_on)
    w = worst(findings)
    if w is not None and w >= level:
        raise typer.Exit(1)
