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
from mouthsync.core.errors import BadInput
from mouthsync.core.findings import Finding, Severity, worst
from mouthsync.core.jsonsafe import dumps

JSON_HELP = "Print a JSON document on stdout instead of the readable summary."
FAIL_ON_HELP = "Exit with code 1 when a finding reaches this severity (info, warning, error, never)."


def prepare(json_out: bool, fail_on: str | None = None) -> None:
    """Call first in every command: quiet progress when printing JSON, and a bad
    ``--fail-on`` refused before any work is done (not after it, with outputs written)."""
    if fail_on is not None and fail_on.lower() != "never":
        try:
            Severity.parse(fail_on)
        except ValueError:
            raise BadInput(f"--fail-on must be info, warning, error or never, not {fail_on!r}") from None
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


def sound_file_said(placed_by: str, lineup: dict[str, Any] | None, start_s: float | None) -> str:
    """One line on where a sound file given with ``--audio`` went (``check`` and ``fix``
    say it alike): by the camera's sound, by timecode, or where it starts, and why."""
    at = f": first sample at {start_s:+.4f} s" if start_s is not None else ""
    if placed_by == "timecode":
        return f"placed by timecode{at}"
    if lineup is None:
        return f"laid where it starts (the video has no sound of its own to line it up with){at}"
    if placed_by == "sound":
        said = (f"lined up with the camera's sound (match {lineup['match']:.2f} over "
                f"{lineup['overlap_s']:.1f} s){at}")
        if lineup.get("clock_ppm"):
            said += f"; its clock runs {lineup['clock_ppm']:+.1f} ppm against the camera's, resampled to it"
        return said
    if lineup["matched"]:
        return (f"holds the camera's own sound, {-lineup['offset_s'] * 1000:+.1f} ms against it (within the "
                f"lip-sync search): laid where it starts{at} (--line-up always places it by that sound)")
    return f"does not match the camera's sound (match {lineup['match']:.2f}): laid where it starts{at}"
