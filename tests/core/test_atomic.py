from pathlib import Path

import pytest

from mouthsync.core.atomic import atomic_path, check_output_path, write_text_atomic
from mouthsync.core.errors import BadOutput


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "result.txt"
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_on_success(tmp_path: Path) -> None:
    out = tmp_path / "result.txt"
    write_text_atomic(out, "done")
    assert out.read_text() == "done"
    assert [p.name for p in tmp_path.iterdir()] == ["result.txt"]


def test_refuses_input_as_output(tmp_path: Path) -> None:
    src = tmp_path / "in.mp4"
    src.write_bytes(b"x")
    with pytest.raises(BadOutput, match="overwrite the input"):
        check_output_path(tmp_path / "." / "in.mp4", [src])


def test_unwritable_folder(tmp_path: Path) -> None:
    with pytest.raises(BadOutput, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out.mp4")


def test_outputs_get_the_mode_a_plain_write_gives(tmp_path: Path) -> None:
    """The temporary file is private (mkstemp); the output must not stay so: a new file gets
    what a plain write gives (0666 less the umask), a replaced file keeps its mode."""
    out = tmp_path / "new.txt"
    write_text_atomic(out, "x")
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert out.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
    out.chmod(0o640)
    write_text_atomic(out, "y")
    assert out.stat().st_mode & 0o777 == 0o640


def test_a_folder_that_takes_no_files_is_refused_before_any_work() -> None:
    """/proc passes the permission test for root but takes no files: a check with
    ``--plot /proc/x.png`` ran its whole analysis, then died with a traceback."""
    import subprocess
    import sys

    from tests.conftest import CLIPS

    with pytest.raises(BadOutput, match="cannot write /proc/x.png"):
        check_output_path("/proc/x.png")
    r = subprocess.run([sys.executable, "-m", "mouthsync", "check", str(CLIPS[1]), "--plot", "/proc/x.png"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mouthsync: error: cannot write /proc/x.png:"), r.stderr
