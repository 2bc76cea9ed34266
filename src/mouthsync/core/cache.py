"""Content-keyed cache for expensive results (face tracks, speech timelines).

Keys combine a hash of the input file's bytes with the settings that shaped the result, so
a renamed file hits the cache and a changed setting misses it. The folder is
``$MOUTHSYNC_CACHE`` or ``~/.cache/mouthsync``; ``MOUTHSYNC_CACHE=off`` disables caching.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

_HASH_CHUNK = 1 << 20


def cache_dir() -> Path | None:
    """The cache folder, or ``None`` when caching is off."""
    env = os.environ.get("MOUTHSYNC_CACHE")
    if env and env.lower() in {"off", "0", "none", "no"}:
        return None
    root = Path(env) if env else Path.home() / ".cache" / "mouthsync"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return root


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's content (hex), read in chunks so memory stays flat."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def cache_key(
    kind: str, path: str | os.PathLike[str], settings: dict[str, Any], *, digest: str | None = None
) -> str:
    """A key for ``kind`` of result computed from ``path`` with ``settings``.

    Pass ``digest`` (from :func:`file_digest`) when the caller needs the hash anyway, so a
    large file is read once, not twice.
    """
    blob = json.dumps(
        {"kind": kind, "file": digest or file_digest(path), "settings": settings}, sort_keys=True, default=str
    )
    return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


def cache_path(key: str, suffix: str) -> Path | None:
    """Where a cached result with ``key`` lives (``None`` when caching is off)."""
    root = cache_dir()
    return None if root is None else root / f"{key}{suffix}"
