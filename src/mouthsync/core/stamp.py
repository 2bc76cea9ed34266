"""Which file a saved report was measured from: path, size and modification time.

Why: ``fix --report CHECK.json`` applies what an editor reviewed instead of measuring
again. Applied to another file, or to the same file after it changed (above all a file
``fix`` already corrected, whose picture is the same), the correction would be wrong or
applied twice. Size and modification time are free to read and change with any rewrite;
a content hash would cost a full read of a master that can be many GB.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def file_stamp(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``path`` (absolute), its size in bytes and modification time (ns)."""
    p = Path(path).resolve()
    st = p.stat()
    return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def stamp_mismatch(path: str | os.PathLike[str], stamp: dict[str, Any] | None) -> str:
    """Why ``path`` is not the file ``stamp`` was taken of ("" when it is)."""
    if not stamp:
        return "the report does not say which file it measured"
    now = file_stamp(path)
    if now["size"] != stamp.get("size"):
        return f"its size is {now['size']} bytes, the measured file's {stamp.get('size')}"
    if now["mtime_ns"] != stamp.get("mtime_ns"):
        return "it was modified after the report was made"
    return ""
