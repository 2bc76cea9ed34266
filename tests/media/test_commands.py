"""probe and prep through the command line: JSON document, readable summary, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from mouthsync.cli import main

from ..conftest import CLIPS, SILENT

FACE1 = next(p for p in CLIPS if p.name == "retalking_face1.mp4")


def test_probe_json_and_exit_codes(capsys) -> None:
    assert main(["probe", "--json", str(FACE1)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["video"]["vfr"] is True and round(doc["video"]["measured_fps"], 1) == 22.1
    assert {"timing", "audio", "findings"} <= doc.keys()
    assert any(f["check"] == "video.vfr" and f["severity"] == "warning" for f in doc["findings"])
    # The VFR warning fails the run only when asked to.
    assert main(["probe", "--fast", "--fail-on", "warning", str(FACE1)]) == 1
    capsys.readouterr()
    assert main(["probe", "--fast", str(SILENT[0])]) == 1  # no audio: an error finding
    out = capsys.readouterr().out
    assert "no audio stream" in out and "findings:" in out


def test_probe_human_summary(capsys) -> None:
    assert main(["probe", str(FACE1)]) == 0
    out = capsys.readouterr().out
    assert "VARIABLE frame rate" in out and "22.131 fps" in out and "LUFS" in out


def test_prep_cli_writes_output_and_sidecar(capsys, tmp_path: Path) -> None:
    out = tmp_path / "clean.mov"
    assert main(["prep", str(CLIPS[1]), "-o", str(out), "--fps", "30", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    side = Path(doc["sidecar"])
    assert out.exists() and side == tmp_path / "clean.mov.prep.json" and side.exists()
    assert doc["fps"] == 30.0 and doc["frame_count"] == 150
    assert json.loads(side.read_text())["changes"] == doc["changes"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.mov", "clean.mov.prep.json"]
