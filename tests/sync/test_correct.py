"""Planning and applying corrections: units, signs, drift lines, exact nudges, the sidecar."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from mouthsync.core.errors import BadInput, BadOutput
from mouthsync.media.decode import decode_audio, frame_times
from mouthsync.sync.correct import (
    fix_sync,
    measured_fps,
    parse_delay,
    parse_drift,
    plan_fix,
    sidecar_path,
    snap_drift,
)

from ..conftest import CLIPS, WILD
from ..media.test_remux import audio_lag_samples, native_rate, packets

FACE1 = next(p for p in CLIPS if p.name == "retalking_face1.mp4")  # VFR
FACE2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
FACE4 = next(p for p in CLIPS if p.name == "retalking_face4.mp4")  # 30 fps


def test_parse_delay_units_and_sign() -> None:
    assert parse_delay("auto", 25.0) is None
    assert parse_delay("40ms", 25.0) == pytest.approx(0.040)
    assert parse_delay("+0.04s", 25.0) == pytest.approx(0.040)
    assert parse_delay("-2f", 25.0) == pytest.approx(-0.080)
    assert parse_delay("1.5 frames", 30.0) == pytest.approx(0.050)
    assert parse_delay("0", 25.0) == 0.0
    for bad in ("2", "forty ms", "40 mss", ""):
        with pytest.raises(BadInput):
            parse_delay(bad, 25.0)
    with pytest.raises(BadInput, match="frame rate"):
        parse_delay("2f", None)


def test_parse_and_snap_drift() -> None:
    assert parse_drift("none") is None
    assert parse_drift("auto") == "auto"
    assert parse_drift("60") == 60.0
    assert parse_drift("-3.6ms/min") == -3.6
    with pytest.raises(BadInput):
        parse_drift("fast")
    speed, name = snap_drift(57.0)  # within 10 % of 60 ms/min
    assert speed == 1001 / 1000 and "1000/1001" in name
    speed, name = snap_drift(20.0)  # no known mismatch: taken as measured
    assert speed == pytest.approx(1 + 20 / 60000) and name == ""
    # steep mismatches snap to the nearest within 12 ms/min: 25/24 and 25/23.976 lie
    # 63 ms/min apart, and 10 % of 2.5 s/min would take either for the other
    assert snap_drift(2496.0) == (25 / 24, "24 fps picture played at 25")
    assert snap_drift(2560.0)[0] == pytest.approx(25 / (24000 / 1001))
    assert snap_drift(2530.0) == (pytest.approx(1 + 2530 / 60000), "")
    assert snap_drift(2485.0, minutes=0.55)[0] == 25 / 24  # 15 ms/min moves 8 ms over 33 s
    assert snap_drift(2485.0, minutes=60.0)[1] == ""  # and 0.9 s over an hour
    assert snap_drift(-4880.0)[0] == 44100 / 48000


def test_frames_use_the_measured_rate_even_on_vfr() -> None:
    t = frame_times(FACE1)
    fps = measured_fps(FACE1)
    assert fps == pytest.approx((t.size - 1) / (t[-1] - t[0]))
    assert 21.5 < fps < 22.7  # not the declared 30
    plan = plan_fix(FACE1, delay="-2f")
    assert plan.delay_ms == pytest.approx(-2000 / fps)
    assert plan.shift_s == pytest.approx(2 / fps)  # sound 2 frames early -> moved later
    assert plan.speed == 1.0


def test_a_frame_nudge_counts_whole_frames_of_a_constant_rate_file_with_a_gap(tmp_path: Path) -> None:
    """One frame missing (a dropped frame) must not stretch every frame of the nudge: the
    average over the span read 24.8 fps for this 25 fps clip, and 2f became 80.6 ms."""
    src = tmp_path / "gap.mp4"
    with av.open(str(FACE2)) as ic, av.open(str(src), "w") as oc:
        vin = ic.streams.video[0]
        vout = oc.add_stream_from_template(vin)
        packets = [p for p in ic.demux(vin) if p.size]
        # one picture from the middle (frame times are read from packets alone)
        mid = sorted(p.pts for p in packets)[60]
        drop = next(p for p in packets if p.pts == mid)
        for p in packets:
            if p is not drop:
                p.stream = vout
                oc.mux(p)
    t = frame_times(src)
    assert t.size == 124 and np.diff(t).max() == pytest.approx(0.08)
    assert measured_fps(src) == pytest.approx(25.0, abs=1e-6)
    assert measured_fps(FACE1) == pytest.approx((frame_times(FACE1).size - 1) / np.ptp(frame_times(FACE1)))


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One minute of real footage: FACE2 looped 12 times, streams copied."""
    out = tmp_path_factory.mktemp("long") / "face2_x12.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-stream_loop",
            "11",
            "-i",
            str(FACE2),
            "-c",
            "copy",
            str(out),
        ],
        check=True,
    )
    return out


def test_plan_from_a_report_recovers_the_delay_line(long_clip: Path) -> None:
    """A check report with windows on d(t) = 100 ms + 60 ms/min * t (one outlier)."""
    k = 0.001
    windows = []
    for s in np.arange(0.0, 55.0, 2.5):
        c = s + 2.5
        d = 0.100 + k * c
        if s == 20.0:
            d += 0.5  # a window that locked on the wrong peak
        windows.append(
            {"start_s": s, "end_s": s + 5, "audio_delay_ms": d * 1000, "confidence": 0.8}
        )
    report = {
        "audio_delay_ms": 130.0,
        "audio_delay_frames": 3.25,
        "fps": 25.0,
        "confidence": 0.8,
        "drift_ms_per_min": 58.0,
        "windows": windows,
        "verdict": "test",
    }
    plan = plan_fix(long_clip, delay="auto", drift="auto", report=report)
    assert plan.speed == 1001 / 1000  # snapped
    # the corrected sound at picture time t comes from t + d(t)
    for t in (0.0, 10.0, 50.0):
        u = plan.speed * t - plan.shift_s
        assert u - t == pytest.approx(0.100 + k * t, abs=1e-6)
    # without drift correction the constant delay removed is check's overall figure
    plan0 = plan_fix(long_clip, delay="auto", drift="none", report=report)
    assert plan0.speed == 1.0 and plan0.shift_s == pytest.approx(-0.130)
    # check saying the windows step (an edit) rather than drift: no resampling, a warning
    stepped = dict(report, drift={"kind": "steps", "ms_per_min": 58.0})
    plan_s = plan_fix(long_clip, delay="auto", drift="auto", report=stepped)
    assert plan_s.speed == 1.0 and "edit" in plan_s.drift_note
    assert [f.severity.name for f in plan_s.findings] == ["WARNING"]
    # on a 5 s clip the same drift moves less than a quarter frame: not worth resampling
    short = plan_fix(FACE2, delay="auto", drift="auto", report=report)
    assert short.speed == 1.0 and "not corrected" in short.drift_note


def test_low_confidence_or_missing_measurement_refuses() -> None:
    report = {"audio_delay_ms": 80.0, "confidence": 0.05, "windows": [], "verdict": "silence"}
    with pytest.raises(BadInput, match="confidence"):
        plan_fix(FACE2, delay="auto", report=report)
    report = {"audio_delay_ms": None, "confidence": 0.0, "windows": [], "verdict": "no face"}
    with pytest.raises(BadInput, match="no face"):
        plan_fix(FACE2, delay="auto", report=report)


def test_a_speaker_perhaps_unmeasured_refuses() -> None:
    """check measured fewer faces than the picture shows, and the face it chose is not
    beyond doubt (``sync.faces``): the delay may be a silent face's, so --delay auto
    writes nothing and says how to measure every face; an explicit delay still works."""
    faces = {"check": "sync.faces", "severity": "warning", "value": 6.0,
             "message": "6 faces are in the picture and 4 were measured: the speaker may be one of the others"}
    report = {"audio_delay_ms": 302.4, "confidence": 0.33, "windows": [], "verdict": {"status": "out_of_sync"},
              "findings": [faces]}
    with pytest.raises(BadInput, match=r"6 faces are in the picture.*check FILE --faces 6"):
        plan_fix(FACE2, delay="auto", report=report)
    assert plan_fix(FACE2, delay="auto", report=dict(report, findings=[])).delay_ms == pytest.approx(302.4)
    assert plan_fix(FACE2, delay="40ms", report=report).delay_ms == pytest.approx(40.0)


@pytest.mark.parametrize(
    ("src", "delay", "delay_s"),
    [
        (FACE2, "40ms", 0.040),
        (FACE2, "-2f", -0.080),
        (FACE2, "0.0123s", 0.0123),
        (FACE4, "3f", 0.100),  # 30 fps
        (FACE1, "-60ms", -0.060),  # VFR
        (WILD[1], "-130ms", -0.130),  # 16 kHz mono
        (WILD[2], "1f", 0.040),
    ],
    ids=lambda v: v.name if isinstance(v, Path) else str(v),
)
def test_explicit_nudge_moves_the_audio_exactly(
    tmp_path: Path, src: Path, delay: str, delay_s: float
) -> None:
    out = tmp_path / f"fixed{src.suffix}"
    res = fix_sync(src, out, delay=delay)
    rate = native_rate(src)
    fps = measured_fps(src)
    want_s = delay_s if not delay.endswith("f") else float(delay[:-1]) / fps
    want = -int(round(want_s * rate))  # removing a delay moves the sound earlier
    assert res.remux.shift_samples == want
    got = audio_lag_samples(
        decode_audio(src, rate=rate), decode_audio(out, rate=rate), abs(want) + rate // 10
    )
    assert got == want  # to the sample
    assert packets(out) == packets(src)
    side = json.loads(sidecar_path(out).read_text())
    assert side["audio_delay_removed_ms"] == pytest.approx(want_s * 1000)
    assert side["audio_shift_samples"] == want
    assert side["delay_source"] == delay
    assert side["source"]["sha256"] == res.source_sha256 and len(res.source_sha256) == 64
    assert side["video_packets_copied"] == len(packets(src))
    assert side["tool"] == "mouthsync" and side["version"]


def test_drift_given_in_ms_per_minute(tmp_path: Path) -> None:
    out = tmp_path / "d.mp4"
    res = fix_sync(FACE2, out, delay="0ms", drift="60")
    assert res.plan.speed == pytest.approx(1.001)
    assert res.remux.audio_mode == "encode"
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
    assert packets(out) == packets(FACE2)
    side = json.loads(sidecar_path(out).read_text())
    assert side["drift_removed_ms_per_min"] == pytest.approx(60.0)
    assert side["audio_speed"] == pytest.approx(1.001)


def test_output_errors(tmp_path: Path) -> None:
    with pytest.raises(BadOutput, match="overwrite the input"):
        fix_sync(FACE2, FACE2, delay="1f")
    with pytest.raises(BadOutput, match="does not exist"):
        fix_sync(FACE2, tmp_path / "nope" / "o.mp4", delay="1f")
    with pytest.raises(BadInput, match="more than 10 s"):
        fix_sync(FACE2, tmp_path / "o.mp4", delay="12s")
    assert list(tmp_path.iterdir()) == []


def test_one_shift_for_an_edit_warns_about_the_sections_left() -> None:
    """check found parts that read differently (an edit): fix --delay auto still removes
    the whole file's delay, and says which parts stay off."""
    sections = [{"start_s": 20.0, "end_s": 40.0, "audio_delay_ms": 210.0, "status": "out_of_sync", "windows": 7}]
    report = {"audio_delay_ms": 23.0, "confidence": 0.74, "windows": [], "drift": {"kind": "steps"},
              "verdict": {"status": "out_of_sync", "sections": sections}}
    plan = plan_fix(FACE2, delay="auto", report=report)
    assert plan.delay_ms == pytest.approx(23.0)
    [f] = [f for f in plan.findings if f.check == "fix.sections"]
    assert "20.0-40.0 s (+210 ms)" in f.message
    assert "no picture cut" in f.advice  # --delay shots would refuse a file without cuts
    shots = [{"start_s": 0.0, "end_s": 20.0, "audio_delay_ms": 20.0, "confidence": 0.9, "uncertain": False},
             {"start_s": 20.0, "end_s": 40.0, "audio_delay_ms": 210.0, "confidence": 0.9, "uncertain": False}]
    [g] = [f for f in plan_fix(FACE2, delay="auto", report={**report, "shots": shots}).findings
           if f.check == "fix.sections"]
    assert "--delay shots" in g.advice
    # a drift's late windows are the drift's business, not an edit's
    drifting = {**report, "drift": {"kind": "drift"}}
    assert not [f for f in plan_fix(FACE2, delay="auto", report=drifting).findings if f.check == "fix.sections"]


def test_delay_shots_moves_only_confident_shots_that_are_off() -> None:
    """--delay shots: a shot keeps its own reading only when confident and more than a
    frame from the whole file; neighbours at the file's delay run together."""

    def shot(a: float, b: float, d: float | None, conf: float = 0.9, unc: bool = False) -> dict:
        return {"start_s": a, "end_s": b, "audio_delay_ms": d, "confidence": conf, "uncertain": unc}

    base = {"audio_delay_ms": 20.0, "confidence": 0.7, "windows": [], "drift": {"kind": "steps"},
            "verdict": {"status": "out_of_sync"}}
    shots = [shot(0, 1, 30.0), shot(1, 2, 12.0), shot(2, 3, 215.0), shot(3, 4, 400.0, 0.1, True), shot(4, 5, 25.0)]
    plan = plan_fix(FACE2, delay="shots", report={**base, "shots": shots})
    assert plan.delay_source == "shots" and plan.delay_ms == pytest.approx(20.0)
    assert [(p["start_s"], p["end_s"], p["delay_ms"], p["from"]) for p in plan.pieces] == [
        (0, 2, 20.0, "file"), (2, 3, 215.0, "shot"), (3, 5, 20.0, "file")]
    assert any(f.check == "fix.shots" and "3.0-4.0 s" in f.message for f in plan.findings)
    within = plan_fix(FACE2, delay="shots", report={**base, "shots": [shot(0, 1, 30.0), shot(1, 2, 12.0)]})
    assert within.pieces is None and any("one shift" in f.message for f in within.findings)
    with pytest.raises(BadInput, match="no picture cut"):
        plan_fix(FACE2, delay="shots", report={**base, "shots": []})
    with pytest.raises(BadInput, match="does not combine"):
        plan_fix(FACE2, delay="shots", drift="auto", report={**base, "shots": shots})


def test_verify_warns_when_a_moved_shot_still_reads_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """--verify after --delay shots: a shot moved on its own reading that check still reads
    off (confidently) is a warning; an unmoved or uncertain one is not."""
    import mouthsync.sync.delay as sd
    from mouthsync.sync.correct import _verify

    shots = [{"start_s": 0.0, "end_s": 5.0, "audio_delay_ms": 90.0, "confidence": 0.8, "uncertain": False},
             {"start_s": 5.0, "end_s": 9.0, "audio_delay_ms": 120.0, "confidence": 0.8, "uncertain": False},
             {"start_s": 9.0, "end_s": 12.0, "audio_delay_ms": 300.0, "confidence": 0.1, "uncertain": True}]
    after = {"audio_delay_ms": 5.0, "confidence": 0.8, "shots": shots}
    monkeypatch.setattr(sd, "check_sync", lambda *a, **k: after)
    pieces = [{"start_s": 0.0, "end_s": 5.0, "delay_ms": 20.0, "from": "file"},
              {"start_s": 5.0, "end_s": 12.0, "delay_ms": 200.0, "from": "shot"}]
    findings: list = []
    _verify("out.mp4", 25.0, findings, 0, pieces)
    [f] = findings
    assert f.check == "fix.verify" and "5.0-9.0 s" in f.message and f.start_s == 5.0
