"""Worker processes started before their job is known, so that their imports overlap the
caller's own start-up.

Why: a tracking worker spends ~0.4 s importing MediaPipe and a speech worker ~0.25 s
importing PocketSphinx before either does any work, and ``check`` could start them only
once it had imported its own modules and probed the file (0.45 and 0.7 s after the
process started), while the second core sat idle. ``mouthsync check`` starts one spare of
each as the process starts (:func:`start_for_command`; ``fix`` too when it measures, and
``track`` and ``facecheck`` a tracking worker); each imports what it needs, then
waits on its stdin for a job. The code that would have started a worker takes the spare
instead (:func:`take`) and sends it the job (:meth:`Spare.send`). A spare nobody takes
(a cached track or timeline: stopped as soon as that is known, since it may still be
importing on the core a warm check could use; several faces, a short clip) is stopped when
the command is done (:func:`drop`, in ``mouthsync.entry``); a waiting spare costs no CPU,
and a later file of the same ``check`` can still take it.

A worker module supports this by calling :func:`job_argv` after its imports.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass

SPARE_ARG = "--spare"
TRACK_WORKER = "mouthsync.face._worker"
SPEECH_WORKER = "mouthsync.audio._worker"

_LOCK = threading.Lock()
_SPARES: dict[str, Spare] = {}


@dataclass
class Spare:
    """A started worker waiting for its job, and the temp folder it runs in (its TMPDIR:
    whatever a library leaves there when the worker is stopped half-way goes with it)."""

    proc: subprocess.Popen[str]
    tmp: tempfile.TemporaryDirectory[str]

    def send(self, argv: list[str]) -> subprocess.Popen[str] | None:
        """Give the worker its command-line arguments; returns the running process, or None
        when it could not take them (it died meanwhile: start a fresh worker instead; the
        folder stays for it)."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(argv) + "\n")
            self.proc.stdin.close()
        except OSError:  # a broken pipe: the spare is gone
            with contextlib.suppress(OSError):
                self.proc.kill()
            with contextlib.suppress(OSError):
                self.proc.wait()
            return None
        finally:
            self.proc.stdin = None  # (``communicate`` would flush it again)
        return self.proc

    def stop(self) -> None:
        """Stop the worker if it still runs and remove its folder; idempotent."""
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.kill()
        with contextlib.suppress(OSError):
            self.proc.wait()
        for fh in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if fh is not None:
                with contextlib.suppress(OSError):
                    fh.close()
        self.tmp.cleanup()


def worker_env(tmp: str, **extra: str) -> dict[str, str]:
    """The environment a worker runs in: this one, quiet native logging, TMPDIR in ``tmp``."""
    return dict(os.environ, GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="3", TMPDIR=tmp, **extra)


def _popen(module: str, argv: list[str], tmp: str, progress_out: bool, stdin: int | None = None,
           **env: str) -> subprocess.Popen[str]:
    """``python -m module *argv``, adopted (stopped at exit): stdout a pipe for progress lines
    (``progress_out``) or discarded, stderr a pipe (its last line explains a failure)."""
    from mouthsync.core.children import adopt

    return adopt(subprocess.Popen(
        [sys.executable, "-m", module, *argv], stdin=stdin,
        stdout=subprocess.PIPE if progress_out else subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=worker_env(tmp, **env),
    ))


def start(module: str, *, progress_out: bool) -> None:
    """Start a spare of ``module`` (``python -m module --spare``) unless one is waiting;
    ``progress_out`` as for :func:`launch`."""
    from mouthsync.core.children import closing

    with _LOCK:
        if closing() or module in _SPARES:
            return
        tmp = tempfile.TemporaryDirectory(prefix="mouthsync-spare-")
        try:
            proc = _popen(module, [SPARE_ARG], tmp.name, progress_out, subprocess.PIPE, MOUTHSYNC_NO_PROGRESS="1")
        except OSError:
            tmp.cleanup()
            return
        _SPARES[module] = Spare(proc, tmp)


def launch(module: str, argv: list[str], tmp: str, *, spare: Spare | None, progress_out: bool,
           **env: str) -> subprocess.Popen[str]:
    """Run worker ``module`` on ``argv``: in ``spare`` (from :func:`take`) when it takes the
    job, else in a fresh process whose TMPDIR is ``tmp`` and whose environment adds ``env``.
    ``progress_out``: its stdout is a pipe for progress lines, else discarded."""
    proc = spare.send(argv) if spare is not None else None
    return proc if proc is not None else _popen(module, argv, tmp, progress_out, **env)


def take(module: str) -> Spare | None:
    """The waiting spare of ``module``, now the caller's (None: none, or it has died)."""
    with _LOCK:
        spare = _SPARES.pop(module, None)
    if spare is not None and spare.proc.poll() is not None:
        spare.stop()
        return None
    return spare


def waiting(module: str) -> Spare | None:
    """The spare of ``module`` waiting for a job, left in place (None: none waits). For a
    caller that watches a spare's fate without taking it (a test that a job went to it)."""
    with _LOCK:
        return _SPARES.get(module)


def drop(module: str | None = None) -> None:
    """Stop the spare of ``module`` (every spare: None) that nobody took."""
    with _LOCK:
        gone = [_SPARES.pop(m) for m in list(_SPARES) if module is None or m == module]
    for spare in gone:
        spare.stop()


def _option(args: list[str], name: str, default: str) -> str:
    """The value given to option ``name`` in ``args`` (``--name V`` or ``--name=V``)."""
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return default


def start_for_command(args: list[str]) -> None:
    """Start the spares the command line ``args`` will need: ``check`` on a file, and
    ``fix`` when it measures first (``--delay auto``, its default, or a delay by parts or
    ``--drift auto``, without ``--report``): one tracking and one speech worker; ``track``
    and ``facecheck``: one tracking worker. ``MOUTHSYNC_SPARES=0`` turns this off."""
    if os.environ.get("MOUTHSYNC_SPARES", "1") == "0" or len(args) < 2:
        return
    if args[0] not in ("check", "fix", "track", "facecheck") or any(a in ("--help", "-h") for a in args):
        return
    if args[0] in ("track", "facecheck"):  # tracking only (facecheck --track reads a saved one)
        if not (args[0] == "facecheck" and _option(args, "--track", "")):
            start(TRACK_WORKER, progress_out=True)
        return
    if args[0] == "fix":
        measures = (_option(args, "--delay", "auto") in ("auto", "steps", "shots", "channels")
                    or _option(args, "--drift", "none") == "auto")
        if not measures or any(a == "--report" or a.startswith("--report=") for a in args):
            return
    if _option(args, "--faces", "auto") in ("auto", "1"):  # several faces are tracked in one process
        start(TRACK_WORKER, progress_out=True)
    start(SPEECH_WORKER, progress_out=False)


def job_argv(argv: list[str]) -> list[str] | None:
    """In a worker: its arguments, read from stdin when it was started as a spare (after
    its imports); None when the spare was dismissed (stdin closed without a job)."""
    if argv != [SPARE_ARG]:
        return argv
    line = sys.stdin.readline()
    if not line.strip():
        return None
    got = json.loads(line)
    return [str(a) for a in got]
