"""The ``mouthsync`` command line: thin wrappers that parse, call one public function, print.

Each command lives in ``mouthsync/commands/<name>.py`` and exposes ``register(app)``; this
module only assembles them and turns user-facing errors into one line and an exit code
(0 success, 1 findings at ``--fail-on`` level, 2 bad input, 130 interrupted).
"""

from __future__ import annotations

import importlib
import json
import os
import sys

import typer

from mouthsync.core.errors import MouthsyncError

# Order is the order shown in --help: the workflow, left to right.
COMMANDS = ("probe", "prep", "track", "facecheck", "phones", "check", "fix")

app = typer.Typer(
    name="mouthsync",
    help="Measure, fix and validate lip sync in talking-head video (offline, CPU).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"mouthsync.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"mouthsync.commands.{name}":
                continue  # command not built yet
            raise
        module.register(app)


_register_all()


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        from mouthsync import __version__

        typer.echo(__version__)
        raise typer.Exit(0)


def _json_error(argv: list[str] | None, message: str, kind: str, code: int) -> None:
    """With ``--json``, the error as a document on stdout too: a script reading stdout gets
    one either way (several files already put their errors in theirs)."""
    if "--json" in (sys.argv[1:] if argv is None else argv):
        print(json.dumps({"error": message, "kind": kind, "exit_code": code}))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, mapping errors to one stderr line and an exit code."""
    os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ logging quiet
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        # With standalone_mode=False click *returns* the code of typer.Exit(n) instead of
        # raising it, so the return value carries exit_for()'s 1.
        rc = app(args=argv, standalone_mode=False)
    except MouthsyncError as exc:
        print(f"mouthsync: error: {exc}", file=sys.stderr)
        _json_error(argv, str(exc), type(exc).__name__, exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mouthsync: interrupted; no partial output was left behind", file=sys.stderr)
        _json_error(argv, "interrupted; no partial output was left behind", "Interrupted", 130)
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:  # click's own usage errors
        return int(exc.code or 0)
    except Exception as exc:  # click.UsageError and friends
        # Typer >= 0.2x vendors click as typer._click, so match by shape, not by import.
        names = {k.__name__ for k in type(exc).__mro__}
        if "ClickException" in names:
            exc.show()
            return 2
        if "Abort" in names:
            print("mouthsync: interrupted", file=sys.stderr)
            return 130
        raise
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
