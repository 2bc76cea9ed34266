import pytest

from mouthsync.core.errors import BadInput, BadOutput, Interrupted, MouthsyncError, NoAudio
from mouthsync.core.findings import Finding, Severity, worst


def test_severity_order_and_parse() -> None:
    assert Severity.INFO < Severity.WARNING < Severity.ERROR
    assert Severity.parse("Warning") is Severity.WARNING
    with pytest.raises(ValueError, match="unknown severity"):
        Severity.parse("fatal")


def test_finding_dict_and_line() -> None:
    f = Finding("timing.start_offset", Severity.WARNING, "audio starts 500.0 ms after the picture",
                "run prep", value=500.0, unit="ms", start_s=0.0, end_s=0.5)
    d = f.to_dict()
    assert d["severity"] == "warning" and d["value"] == 500.0 and d["check"] == "timing.start_offset"
    line = f.line()
    assert "\n" not in line and "[0.00s-0.50s]" in line and "-> run prep" in line
    assert worst([]) is None
    assert worst([f, Finding("x", Severity.ERROR, "y")]) is Severity.ERROR


def test_errors_are_one_line_with_exit_codes() -> None:
    e = NoAudio("clip.mp4: has no audio\n stream")
    assert str(e) == "clip.mp4: has no audio stream"
    assert isinstance(e, BadInput) and isinstance(e, MouthsyncError)
    assert e.exit_code == 2 and BadOutput("x").exit_code == 2 and Interrupted("x").exit_code == 130
