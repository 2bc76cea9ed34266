"""Bad input through the command line: one line on stderr, exit 2, no traceback, nothing written.

Runs every registered command that takes the case (commands still being built are
skipped until they appear in ``mouthsync --help``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mouthsync.cli import app, main

from .conftest import CLIPS, SILENT, SPEECH

REGISTERED = {c.name for c in app.registered_commands}

# How each command is called on FILE (writing into OUT when it writes at all), and which
# streams it needs. Commands with a required output get it in OUT's folder.
CALLS: dict[str, tuple[list[str], set[str]]] = {
    "probe": (["probe", "{file}"], set()),
    "prep": (["prep", "{file}", "-o", "{out}.mp4"], {"audio", "video"}),
    "track": (["track", "{file}", "-o", "{out}.npz"], {"video"}),
    "facecheck": (["facecheck", "{file}"], {"video"}),
    "phones": (["phones", "{file}"], {"audio"}),
    "check": (["check", "{file}"], {"audio", "video"}),
    "fix": (["fix", "{file}", "-o", "{out}.mp4", "--delay", "40ms"], {"audio", "video"}),
}
WRITERS = [c for c in ("prep", "track", "fix") if c in REGISTERED]


def _args(cmd: str, file: Path, out: Path) -> list[str]:
    return [a.format(file=file, out=out) for a in CALLS[cmd][0]]


def _run_bad(capsys, tmp_path: Path, argv: list[str], match: str) -> None:
    before = set(tmp_path.rglob("*"))
    code = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, (argv, code, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert match in lines[0].lower(), lines[0]
    assert set(tmp_path.rglob("*")) == before, "partial output left behind"


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    zero = d / "zero.mp4"
    zero.write_bytes(b"")
    text = d / "notes.mp4"
    text.write_text("this is a shopping list, not a video\n" * 20)
    src = CLIPS[1]
    cut = d / "truncated.mp4"  # moov at the end: the index is gone
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    fast = d / "faststart.mp4"  # index first: it promises frames the file no longer has
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c", "copy",
                    "-movflags", "+faststart", str(fast)], check=True)
    cut_fast = d / "truncated_faststart.mp4"
    cut_fast.write_bytes(fast.read_bytes()[: fast.stat().st_size // 2])
    mkv = d / "whole.mkv"  # Matroska counts no frames: its streams' duration tags say it
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c", "copy", str(mkv)], check=True)
    cut_mkv = d / "truncated.mkv"
    cut_mkv.write_bytes(mkv.read_bytes()[: mkv.stat().st_size // 2])
    return {"zero": zero, "text": text, "truncated": cut, "truncated_faststart": cut_fast,
            "truncated_mkv": cut_mkv}


@pytest.mark.parametrize("case,match", [
    ("zero", "empty"),
    ("text", "not a readable media file"),
    ("truncated", "not a readable media file"),
    ("truncated_faststart", "truncated"),
    ("truncated_mkv", "truncated"),
])
@pytest.mark.parametrize("cmd", [c for c in CALLS if c in REGISTERED])
def test_unreadable_input(capsys, tmp_path: Path, bad_files, cmd: str, case: str, match: str) -> None:
    _run_bad(capsys, tmp_path, _args(cmd, bad_files[case], tmp_path / "out"), match)


@pytest.mark.parametrize("cmd", [c for c, (_, needs) in CALLS.items() if "audio" in needs and c in REGISTERED])
def test_video_without_audio(capsys, tmp_path: Path, cmd: str) -> None:
    _run_bad(capsys, tmp_path, _args(cmd, SILENT[0], tmp_path / "out"), "no audio stream")


@pytest.mark.parametrize("cmd", [c for c, (_, needs) in CALLS.items() if "video" in needs and c in REGISTERED])
def test_audio_without_video(capsys, tmp_path: Path, cmd: str) -> None:
    _run_bad(capsys, tmp_path, _args(cmd, SPEECH[0], tmp_path / "out"), "no video stream")


def test_missing_file(capsys, tmp_path: Path) -> None:
    _run_bad(capsys, tmp_path, ["probe", str(tmp_path / "nope.mp4")], "no such file")


@pytest.mark.parametrize("cmd", WRITERS)
def test_unwritable_output(capsys, tmp_path: Path, cmd: str) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    for out in (tmp_path / "missing_dir" / "out", blocker / "out"):
        _run_bad(capsys, tmp_path, _args(cmd, CLIPS[1], out), "cannot write")


@pytest.mark.parametrize("cmd", [c for c in ("prep", "fix") if c in REGISTERED])
def test_output_equal_to_input_is_refused(capsys, tmp_path: Path, cmd: str) -> None:
    src = tmp_path / "in" / "clip.mp4"
    src.parent.mkdir()
    shutil.copy(CLIPS[1], src)
    before = src.read_bytes()
    argv = _args(cmd, src, tmp_path / "x")
    i = argv.index("-o")
    for spelled in (str(src), str(src.parent / ".." / "in" / "clip.mp4")):
        argv[i + 1] = spelled
        _run_bad(capsys, tmp_path, argv, "overwrite the input")
    assert src.read_bytes() == before


def test_bad_option_value_is_one_line(capsys, tmp_path: Path) -> None:
    _run_bad(capsys, tmp_path, ["prep", str(CLIPS[1]), "-o", str(tmp_path / "o.mp4"), "--fps", "fast"], "--fps")


@pytest.mark.parametrize("cmd", [c for c in ("probe", "prep", "facecheck", "check", "fix") if c in REGISTERED])
def test_bad_fail_on_is_refused_before_any_work(capsys, tmp_path: Path, cmd: str) -> None:
    """Before, the command did its work, wrote its outputs, then died with a traceback."""
    _run_bad(capsys, tmp_path, _args(cmd, CLIPS[1], tmp_path / "o") + ["--fail-on", "bogus"], "--fail-on")


@pytest.mark.parametrize(("args", "match"), [
    (["--max-delay", "inf"], "--max-delay"),
    (["--max-delay", "5000"], "--max-delay"),
    (["--max-delay", "1.5"], "in ms"),
    (["--window", "nan"], "--window"),
    (["--window", "0.5", "--hop", "0.1"], "--window"),
])
def test_check_refuses_numbers_it_cannot_search_with(capsys, tmp_path: Path, args: list[str], match: str) -> None:
    _run_bad(capsys, tmp_path, ["check", str(CLIPS[1])] + args, match)


@pytest.mark.parametrize(("args", "match"), [
    (["--delay", "10s"], "off the picture"),
    (["--delay", "-5s"], "off the picture"),
    (["--delay", "40ms", "--drift", "nan"], "--drift"),
    (["--delay", "40ms", "--min-confidence", "nan"], "--min-confidence"),
    (["--delay", "40ms", "--report", "{report}"], "--report"),
])
def test_fix_refuses_a_move_that_cannot_work(capsys, tmp_path: Path, args: list[str], match: str) -> None:
    """A sound moved off the picture wrote a file with no audio stream and exit 0."""
    report = tmp_path / "in" / "r.json"
    report.parent.mkdir()
    report.write_text("{}")
    argv = ["fix", str(CLIPS[1]), "-o", str(tmp_path / "o.mp4")] + [a.format(report=report) for a in args]
    _run_bad(capsys, tmp_path, argv, match)


@pytest.mark.parametrize("cmd", [c for c in CALLS if c in REGISTERED])
def test_json_output_gets_an_error_document_too(capsys, tmp_path: Path, bad_files, cmd: str) -> None:
    """A script reading ``--json`` from stdout got nothing on a bad file (several files
    already listed their errors in their document): it gets the error, its kind and code."""
    import json

    code = main([*_args(cmd, bad_files["text"], tmp_path / "out"), "--json"])
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert code == 2 == doc["exit_code"]
    assert doc["error"] in err and "not a readable media file" in doc["error"]
    assert doc["kind"] == "BadInput"


def test_track_needs_a_face_to_look_for(capsys, tmp_path: Path) -> None:
    """``--max-faces 0`` reached MediaPipe and ended in its traceback."""
    _run_bad(capsys, tmp_path, ["track", str(CLIPS[1]), "--max-faces", "0"], "must be 1 or more")


def test_an_interrupted_json_run_prints_a_document(capsys, monkeypatch) -> None:
    import json

    import mouthsync.cli as cli

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "app", interrupted)
    assert cli.main(["probe", str(CLIPS[1]), "--json"]) == 130
    out, err = capsys.readouterr()
    assert json.loads(out) == {"error": "interrupted; no partial output was left behind",
                               "kind": "Interrupted", "exit_code": 130}
    assert "interrupted" in err
    assert cli.main(["probe", str(CLIPS[1])]) == 130
    assert capsys.readouterr().out == ""
