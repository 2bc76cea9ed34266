"""How commands print: a readable summary for people, JSON for scripts.

Commands build a plain ``dict`` result (the JSON document) and a list of human lines from
it; :func:`emit` prints one or the other. Progress bars are switched off under ``--json``
so that stdout stays parseable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from mouthsync.core import progress
from mouthsync.core.findings import Finding, Severity, worst
from mouthsync.core.jsonsafe import dumps

JSON_HELP = "Print a JSON document on stdout instead of the readable summary."
FAIL_ON_HELP = "Exit with code 1 when a finding reaches this severity (info, warning, error, never)."


def prepare(json_out: bool) -> None:
    """Call first in every command: quiet progress when printing JSON."""
    if json_out:
        progress.set_enabled(False)


def to_json(result: dict[str, Any]) -> str:
    return dumps(result)


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


def denoised_line(snr_db: float | None) -> str:
    """The readable note that steady noise was removed before recognition (``check`` and
    ``phones`` say it the same way)."""
    above = f" (speech {snr_db:.0f} dB above it)" if snr_db is not None else ""
    return f"steady background noise{above} removed before recognising the phones (RNNoise)"
