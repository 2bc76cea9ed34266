"""One way to turn results into strict JSON, for `--json` output and every sidecar.

Results carry numpy scalars, paths, NaN for "not measured" and objects with ``to_dict``;
strict JSON has none of these. Every writer goes through :func:`dumps` so that a sidecar
and the ``--json`` document of the same result never disagree, and neither ever contains
the non-standard ``NaN`` token that strict parsers reject.
"""

from __future__ import annotations

import json
import math
from os import PathLike
from typing import Any


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON types: NaN/inf -> None, numpy scalars -> numbers, paths -> str."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, PathLike):
        return str(obj)
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return jsonable(obj.to_dict())
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()  # numpy scalar
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """Strict JSON text of ``obj`` (raises if something is still not serialisable)."""
    return json.dumps(jsonable(obj), indent=indent, allow_nan=False)
