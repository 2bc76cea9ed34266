import json
from pathlib import Path

import numpy as np
import pytest

from mouthsync.core.findings import Finding, Severity
from mouthsync.core.jsonsafe import dumps


def test_strict_json_from_result_types() -> None:
    doc = {
        "nan": float("nan"),
        "np": np.float32(1.5),
        "n": np.int64(3),
        "path": Path("/tmp/x.mp4"),
        "finding": Finding("c", Severity.WARNING, "m"),
        "seq": (1, float("inf")),
    }
    text = dumps(doc)
    back = json.loads(text)  # strict: no NaN token
    assert "NaN" not in text and "Infinity" not in text
    assert back["nan"] is None and back["np"] == 1.5 and back["n"] == 3
    assert back["path"] == "/tmp/x.mp4" and back["seq"] == [1, None]
    assert back["finding"]["severity"] == "warning"


def test_unserialisable_is_an_error_not_a_silent_string() -> None:
    with pytest.raises(TypeError):
        dumps({"x": object()})
