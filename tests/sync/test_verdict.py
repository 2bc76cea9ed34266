"""check's verdict: sections of a file that read worse than the whole, and the whole
file's verdict set by them."""

from __future__ import annotations

import pytest


def test_sections_out_of_tolerance_are_runs_of_confident_windows() -> None:
    """An edit whose middle is late: the run of confident windows that reads out of
    tolerance is a section (across an uncertain window), a lone bad window is not."""
    from mouthsync.sync.report import WindowEstimate
    from mouthsync.sync.standards import get_standard
    from mouthsync.sync.verdict import out_of_tolerance_sections

    def w(i: int, d: float, unc: bool = False) -> WindowEstimate:
        return WindowEstimate(2.5 * i, 2.5 * i + 5.0, d, 0.1 if unc else 0.9, unc)

    delays = [20, 25, 210, 205, -300, 220, 15, 10, 200, 20]
    wins = [w(i, d, unc=(i == 4)) for i, d in enumerate(delays)]
    st = get_standard("bt1359")
    [sec] = out_of_tolerance_sections(wins, st, "in_sync")
    assert (sec["start_s"], sec["end_s"], sec["status"], sec["windows"]) == (5.0, 17.5, "out_of_sync", 3)
    assert sec["audio_delay_ms"] == 210.0
    assert out_of_tolerance_sections(wins, st, "out_of_sync") == []  # nothing worse than the whole
    assert out_of_tolerance_sections([w(0, 20), w(1, 210), w(2, 20)], st, "in_sync") == []
    # late then early without an in-sync window between: two sections, not one median
    flip = out_of_tolerance_sections([w(i, d) for i, d in enumerate([210, 220, -200, -210])], st, "in_sync")
    assert [(x["audio_delay_ms"], x["windows"]) for x in flip] == [(215.0, 2), (-205.0, 2)]


def test_a_late_section_sets_the_verdict_of_an_in_sync_file() -> None:
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.report import WindowEstimate
    from mouthsync.sync.verdict import judge_report

    wins = [WindowEstimate(2.5 * i, 2.5 * i + 5.0, d, 0.9, False) for i, d in enumerate([10, 15, 210, 220, 12, 8])]
    findings, verdict = judge_report(20.0, 0.8, "", DriftFit(0.0, 20.0, 40.0, 6, "steps"), wins, "bt1359", 40.0)
    assert verdict["status"] == "out_of_sync" and verdict["passes"] is False
    assert "5.0-12.5 s reads +215 ms" in verdict["reason"]
    assert [f.check for f in findings if f.severity.name == "ERROR"] == ["sync.section"]
    # the same windows without the late pair: in sync, no section
    calm = [w for w in wins if w.audio_delay_ms < 100]
    _, verdict = judge_report(20.0, 0.8, "", DriftFit(0.0, 20.0, 5.0, 4, "none"), calm, "bt1359", 40.0)
    assert verdict["status"] == "in_sync" and "sections" not in verdict


def test_sections_of_an_edit_end_at_its_picture_cuts() -> None:
    """With picture cuts, a section's ends move to the nearest cut within the hop (windows
    place the change only to within a window) and the advice is the per-shot fix."""
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.report import WindowEstimate
    from mouthsync.sync.verdict import judge_report

    wins = [WindowEstimate(2.5 * i, 2.5 * i + 5.0, d, 0.9, False) for i, d in enumerate([10, 15, 210, 220, 12, 8])]
    steps = DriftFit(0.0, 20.0, 40.0, 6, "steps")
    def shots_at(*cuts: float) -> list[WindowEstimate]:  # uncertain shots: only their cuts count
        ends = [0.0, *cuts, 40.0]
        return [WindowEstimate(a, b, None, 0.0, True) for a, b in zip(ends[:-1], ends[1:], strict=True)]

    findings, verdict = judge_report(20.0, 0.8, "", steps, wins, "bt1359", 40.0, shots=shots_at(6.2, 11.4, 30.0),
                                     snap_s=2.5)
    [sec] = verdict["sections"]
    assert (sec["start_s"], sec["end_s"], sec["at_cuts"]) == (6.2, 11.4, True)
    [f] = [f for f in findings if f.check == "sync.section"]
    assert (f.start_s, f.end_s) == (6.2, 11.4) and "--delay shots" in f.advice
    # a cut further than the hop from a section's end leaves that end alone
    _, far = judge_report(20.0, 0.8, "", steps, wins, "bt1359", 40.0, shots=shots_at(1.0), snap_s=2.5)
    assert (far["sections"][0]["start_s"], far["sections"][0]["end_s"]) == (5.0, 12.5)


def test_a_confident_shot_out_of_tolerance_is_a_section_of_its_own() -> None:
    """A single late 5 s shot holds too few windows for a window section: the shot itself
    is one, unless a window section already covers it; an uncertain shot never is."""
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.report import WindowEstimate
    from mouthsync.sync.verdict import judge_report

    wins = [WindowEstimate(2.5 * i, 2.5 * i + 5.0, d, 0.9, False) for i, d in enumerate([10, 15, 12, 8, 14, 9])]
    shots = [WindowEstimate(0.0, 5.0, 12.0, 0.9, False), WindowEstimate(5.0, 10.0, 220.0, 0.5, False),
             WindowEstimate(10.0, 17.5, 400.0, 0.1, True)]
    none = DriftFit(0.0, 10.0, 5.0, 6, "none")
    findings, verdict = judge_report(12.0, 0.8, "", none, wins, "bt1359", 40.0, shots=shots)
    assert verdict["status"] == "out_of_sync"
    assert verdict["sections"] == [{"start_s": 5.0, "end_s": 10.0, "audio_delay_ms": 220.0, "status": "out_of_sync",
                                    "windows": 0, "shot": True, "at_cuts": True}]
    assert [f.start_s for f in findings if f.check == "sync.section"] == [5.0]
    # covered by a section of the windows: not listed twice
    late = [WindowEstimate(2.5 * i, 2.5 * i + 5.0, d, 0.9, False) for i, d in enumerate([10, 215, 225, 8, 14, 9])]
    _, v2 = judge_report(12.0, 0.8, "", none, late, "bt1359", 40.0, shots=shots)
    assert len(v2["sections"]) == 1 and "shot" not in v2["sections"][0]


def test_sparse_coding_explains_a_low_confidence() -> None:
    from mouthsync.sync.verdict import coding_finding

    f = coding_finding("mp3float", 32000.0, 0.02)
    assert f is not None and f.check == "sync.audio" and "MP3 at 32 kbit/s" in f.message
    assert coding_finding("opus", 15500.0, 0.19) is not None
    assert coding_finding("mp3float", 32000.0, 0.8) is None  # confident: nothing to explain
    assert coding_finding("aac", 128000.0, 0.1) is None  # coded well: not the reason
    assert coding_finding("pcm_s16le", 256000.0, 0.1) is None
    assert coding_finding("flac", 40000.0, 0.1) is None  # lossless, however small
    assert coding_finding("", None, 0.1) is None  # sound not from a file


def test_echo_explains_a_low_confidence() -> None:
    from mouthsync.sync.verdict import echo_finding

    f = echo_finding(0.93, 0.0)
    assert f is not None and f.check == "sync.echo" and "0.9 s" in f.message
    assert echo_finding(0.93, 0.8) is None  # confident: nothing to explain
    assert echo_finding(0.3, 0.0) is None  # a dry voice: not the reason
    assert echo_finding(None, 0.0) is None  # not measured


def test_clipping_explains_a_low_confidence() -> None:
    from mouthsync.sync.verdict import clipping_finding

    f = clipping_finding(0.24, 0.0)
    assert f is not None and f.check == "sync.clipping" and "24.0%" in f.message
    assert clipping_finding(0.24, 0.8) is None  # confident: nothing to explain
    assert clipping_finding(2e-4, 0.0) is None  # a few honest peaks: not the reason


def test_a_small_face_explains_a_low_confidence() -> None:
    from mouthsync.sync.verdict import SMALL_FACE_PX, small_face_finding

    f = small_face_finding(29.0, 0.0)
    assert f is not None and f.check == "sync.face_size" and "29 px" in f.message and f.value == 29.0
    assert small_face_finding(29.0, 0.8) is None  # confident: nothing to explain
    assert small_face_finding(SMALL_FACE_PX, 0.0) is None  # large enough: not the reason
    assert small_face_finding(None, 0.0) is None and small_face_finding(float("nan"), 0.0) is None


def test_lips_coded_past_reading_hold_the_confidence() -> None:
    """Nothing is held at or below the face's line (or when the coding is not known); half
    at 3 QP over it, all at 6 (twice the quantiser step), and a finding says why."""
    from mouthsync.face.coding import MouthCoding
    from mouthsync.sync.verdict import picture_finding, picture_weight

    assert picture_weight(None) == 1.0 and picture_finding(None) is None
    fine = MouthCoding(qp=40.0, face_px=200.0, frames=60)
    assert picture_weight(fine) == 1.0 and picture_finding(fine) is None
    assert picture_weight(MouthCoding(qp=48.0, face_px=200.0, frames=60)) == pytest.approx(0.5)
    gone = MouthCoding(qp=51.0, face_px=100.0, frames=60)  # 12 QP over a small face's line
    assert picture_weight(gone) == 0.0
    f = picture_finding(gone)
    assert f is not None and f.check == "sync.picture" and "quantiser 51" in f.message and "held to nothing" in f.message
    assert f.threshold == pytest.approx(39.0)
