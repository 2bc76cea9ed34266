from mouthsync.core import progress as prog


def test_progress_is_silent_when_disabled(capsys) -> None:
    prog.set_enabled(False)
    try:
        with prog.progress("Work", 3) as advance:
            for _ in range(3):
                advance()
    finally:
        prog.set_enabled(None)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_progress_counts_when_enabled(capsys) -> None:
    prog.set_enabled(True)
    try:
        with prog.progress("Work", 2) as advance:
            advance()
            advance()
    finally:
        prog.set_enabled(None)
    assert capsys.readouterr().out == ""  # never on stdout: --json stays parseable
