"""Atomic output: write to a temporary name in the target folder, rename when complete.

A crash or Ctrl-C in the middle of writing leaves nothing at the target path, and an input
file is never overwritten (the check compares resolved paths and inode identity).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from mouthsync.core.errors import BadOutput


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_output_path(out: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Validate that ``out`` can be written and is none of ``inputs``; return it as a Path."""
    path = Path(out)
    for src in inputs:
        if _same_file(path, Path(src)):
            raise BadOutput(f"refusing to overwrite the input {src}: choose another output path")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise BadOutput(f"cannot write {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise BadOutput(f"cannot write {path}: {parent} is not a folder")
    if path.exists() and path.is_dir():
        raise BadOutput(f"cannot write {path}: it is a folder")
    if not os.access(parent, os.W_OK):
        raise BadOutput(f"cannot write {path}: folder {parent} is not writable")
    # The permission bits do not tell everything (root passes them on a read-only mount,
    # /proc, a full disk's quota): a file made and removed there does, before any work.
    try:
        fd, probe = tempfile.mkstemp(prefix=".mouthsync-probe.", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise BadOutput(f"cannot write {path}: {exc.strerror or exc} in folder {parent}") from None
    return path


def _new_file_mode() -> int:
    """0666 less the process umask (read once: setting the umask to read it is not
    thread-safe, so it is done at import)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_NEW_FILE_MODE = _new_file_mode()


@contextlib.contextmanager
def atomic_path(
    out: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()
) -> Iterator[Path]:
    """Yield a temporary path beside ``out``; rename it onto ``out`` only if the block succeeds.

    The temporary name keeps the suffix of ``out`` so that muxers choosing a container by
    extension (FFmpeg, PyAV) pick the right one.
    """
    path = check_output_path(out, inputs)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent or "."
        )
    except OSError as exc:  # (the folder changed since it was checked)
        raise BadOutput(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give the output the mode a plain write
        # would: the old file's when one is replaced, else 0666 less the umask
        with contextlib.suppress(OSError):
            os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else _NEW_FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_text_atomic(
    out: str | os.PathLike[str], text: str, inputs: Iterable[str | os.PathLike[str]] = ()
) -> Path:
    """Write ``text`` to ``out`` atomically and return the final path."""
    with atomic_path(out, inputs) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(out)


def write_bytes_atomic(
    out: str | os.PathLike[str], data: bytes, inputs: Iterable[str | os.PathLike[str]] = ()
) -> Path:
    """Write ``data`` to ``out`` atomically and return the final path."""
    with atomic_path(out, inputs) as tmp:
        tmp.write_bytes(data)
    return Path(out)
