"""facecheck on degraded versions of a shared clip: each problem found where it was put."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mouthsync.cli import main
from mouthsync.face.mouth import MOUTH_REGION
from mouthsync.face.quality import FootageReport, check_footage
from mouthsync.face.track import track_face
from tests.conftest import CLIPS, WILD

SRC = next(p for p in CLIPS if p.name == "retalking_face2.mp4")  # 844x844, 25 fps, 5 s
T0, T1 = 2.0, 3.0
ON = f"between(t,{T0},{T1})"


def _mouth_box() -> tuple[int, int, int, int]:
    tr = track_face(SRC)
    p = tr.landmarks[:, list(MOUTH_REGION), :2]
    x0, y0 = np.nanmin(p[..., 0]) - 12, np.nanmin(p[..., 1]) - 12
    x1, y1 = np.nanmax(p[..., 0]) + 12, np.nanmax(p[..., 1]) + 12
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def _filters() -> dict[str, list[str]]:
    x, y, w, h = _mouth_box()
    skin = "0x855F4E"  # this speaker's cheek colour: a hand-like, flat occluder
    return {
        "occluded_skin": ["-vf", f"drawbox=x={x}:y={y}:w={w}:h={h}:color={skin}:t=fill:enable='{ON}'"],
        "blur": ["-vf", f"gblur=sigma=5:enable='{ON}'"],
        "occluded": ["-vf", f"drawbox=x={x}:y={y}:w={w}:h={h}:color=black:t=fill:enable='{ON}'"],
        "flicker": ["-vf", f"eq=brightness='0.10*(2*mod(n,2)-1)*{ON}':eval=frame"],
        "shake": ["-vf", f"crop=w=iw-48:h=ih-48:x='24+22*sin(n*2.1)*{ON}':y='24+22*cos(n*1.7)*{ON}'"],
        # the picture rolls +-26 deg in a triangle wave of 0.4 s: a steady ~260 deg/s
        "fast_motion": ["-vf", f"rotate='0.45*(4*abs(mod((t-{T0})/0.4+0.25,1)-0.5)-1)*{ON}'"],
    }


@pytest.fixture(scope="module")
def degraded(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("degraded")
    out: dict[str, Path] = {}
    for name, vf in _filters().items():
        dst = d / f"{name}.mp4"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(SRC), *vf, "-c:v", "libx264",
                        "-preset", "veryfast", "-crf", "18", "-an", str(dst)], check=True)
        out[name] = dst
    dst = d / "compression.mp4"  # the whole clip, re-encoded at the coarsest quantiser
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(SRC), "-c:v", "libx264", "-crf", "51",
                    "-an", str(dst)], check=True)
    out["compression"] = dst
    return out


def _covered(rep: FootageReport, reason: str, a: float, b: float) -> float:
    """Share of frames in [a, b) flagged with ``reason``."""
    sel = (rep.times >= a) & (rep.times < b)
    return float(rep.flags[reason][sel].mean())


@pytest.mark.slow
@pytest.mark.parametrize("reason", ["blur", "occluded", "occluded_skin", "flicker", "shake", "fast_motion"])
def test_degradation_flagged_in_its_time_range(degraded, reason) -> None:
    rep = check_footage(degraded[reason])
    reason = reason.replace("_skin", "")
    assert _covered(rep, reason, T0 + 0.1, T1 - 0.1) > 0.9
    segs = [s for s in rep.segments if s.reason == reason]
    assert segs, rep.to_dict()
    for s in segs:  # nothing of that kind outside the damaged second (±0.25 s of smoothing)
        assert s.start_s >= T0 - 0.25 and s.end_s <= T1 + 0.25, s
    others = [s for s in rep.segments if s.reason != reason]
    assert not others, others
    assert rep.score < 95


@pytest.mark.slow
def test_heavy_compression_flagged(degraded) -> None:
    rep = check_footage(degraded["compression"])
    assert rep.flags["compression"].mean() > 0.8
    assert {s.reason for s in rep.segments} == {"compression"}


@pytest.mark.slow
def test_h264_smearing_the_lips_is_flagged_by_its_quantiser(tmp_path: Path) -> None:
    """H.264 coded coarsely leaves no block edges (its deblocking filter smooths them): the
    lips' quantiser says it. retalking_face1 at CRF 47 (its aperture followed the
    original's with r 0.85 at CRF 45 and the sync reading failed) is flagged with the
    quantiser as the value; at CRF 35 (r 0.98) it is not."""
    src = next(p for p in CLIPS if p.name == "retalking_face1.mp4")
    reps = {}
    for crf in ("35", "47"):
        dst = tmp_path / f"crf{crf}.mp4"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(src), "-c:v", "libx264", "-crf", crf, "-an",
                        str(dst)], check=True)
        reps[crf] = check_footage(dst)
    coarse = reps["47"]
    assert np.nanmedian(coarse.metrics["blockiness_1s"]) < 1.22  # no block edges to see
    assert np.nanmedian(coarse.metrics["mouth_qp"]) >= 46
    assert coarse.flags["compression"].mean() > 0.8
    seg = max((s for s in coarse.segments if s.reason == "compression"), key=lambda s: s.end_s - s.start_s)
    assert "quantiser" in seg.message and seg.value >= 46
    fine = reps["35"]
    assert 30 <= np.nanmedian(fine.metrics["mouth_qp"]) <= 40
    assert not fine.flags["compression"].any() and fine.segments == []


@pytest.mark.parametrize("path", [*CLIPS, *WILD], ids=lambda p: p.name)
def test_clean_shared_clips_not_flagged(path) -> None:
    rep = check_footage(path)
    assert rep.segments == [], [s.to_dict() for s in rep.segments]
    assert rep.score == pytest.approx(100.0)


@pytest.mark.slow
def test_facecheck_command_json_and_sheet(degraded, tmp_path, capsys) -> None:
    sheet = tmp_path / "sheet.png"
    code = main(["facecheck", str(degraded["occluded"]), "--json", "--sheet", str(sheet)])
    assert code == 1  # an occluded mouth is an error-level finding
    doc = json.loads(capsys.readouterr().out)
    assert any(s["reason"] == "occluded" for s in doc["segments"])
    assert sheet.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import cv2

    img = cv2.imread(str(sheet))
    assert img.shape[0] >= 100 and img.shape[1] >= 320
    jpg = tmp_path / "sheet.jpg"  # the format its name says (it held PNG bytes)
    assert main(["facecheck", str(degraded["occluded"]), "--sheet", str(jpg)]) == 1
    assert jpg.read_bytes()[:3] == b"\xff\xd8\xff"


@pytest.mark.slow
def test_facecheck_markers_place_the_covered_second(degraded, tmp_path, capsys) -> None:
    """The mouth covered from 2 to 3 s: a red marker there in the EDL (25 frames long, 2 s
    after the first frame's 01:00:00:00), and a cue over that second in the subtitles."""
    edl = tmp_path / "m.edl"
    assert main(["facecheck", str(degraded["occluded"]), "--markers", str(edl)]) == 1
    assert f"markers: {edl}" in capsys.readouterr().out
    text = edl.read_text()
    m = re.search(r"^\d{3} +001 +V +C +(\S+) .*\n(.*) \|C:ResolveColorRed \|M:occluded \|D:(\d+)", text, flags=re.M)
    assert m, text
    assert m[1] in ("01:00:01:24", "01:00:02:00", "01:00:02:01") and 22 <= int(m[3]) <= 30
    assert m[2].startswith("mouth ") and "-> use footage where nothing covers the mouth" in m[2]
    vtt = tmp_path / "m.vtt"
    assert main(["facecheck", str(degraded["occluded"]), "--markers", str(vtt), "--markers-start", "00:00:00:00"]) == 1
    cues = re.findall(r"^(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n(?:facecheck: [^\n]*\n)?(mouth (?:occluded|covered)[^\n]*)", vtt.read_text(), re.M)
    assert len(cues) == 1 and cues[0][0][:8] in ("00:00:01", "00:00:02") and cues[0][1][:8] in ("00:00:02", "00:00:03")


def test_head_turn_flagged_where_the_pose_says_so() -> None:
    """The real track with yaw forced to 50 deg for one second: flagged there, only there."""
    import dataclasses

    tr = track_face(SRC)
    pose = tr.pose.copy()
    sel = (tr.times >= T0) & (tr.times < T1)
    pose[sel, 0] = 50.0
    rep = check_footage(SRC, track=dataclasses.replace(tr, pose=pose))
    assert rep.flags["head_turned"][sel].all() and not rep.flags["head_turned"][~sel].any()
    assert [s.reason for s in rep.segments if s.reason != "fast_motion"] == ["head_turned"]
    # the forced 50 deg jump is also an (honest) burst of fast motion at its two edges


@pytest.mark.slow
def test_a_face_a_few_dozen_pixels_wide_is_flagged(tmp_path: Path) -> None:
    """voxceleb_620900105 at a quarter of its 224 px in a 1080p frame (a face of about
    31 px): flagged as too small the whole clip long, with its width; the clip itself is
    not (test_clean_shared_clips_not_flagged)."""
    from mouthsync.face.mouth import SMALL_FACE_PX
    from tests.sync.builders import wide_shot

    src = next(p for p in WILD if p.name == "voxceleb_620900105.mp4")
    rep = check_footage(wide_shot(src, 0.25, tmp_path / "wide.mp4"))
    small = [s for s in rep.segments if s.reason == "small_face"]
    assert len(small) == 1 and small[0].end_s - small[0].start_s >= 0.9 * (rep.times[-1] - rep.times[0])
    assert 25 <= small[0].value < SMALL_FACE_PX
    assert rep.score < 100


@pytest.mark.slow
def test_exposure_step_is_exposure_not_flicker(tmp_path) -> None:
    dst = tmp_path / "exposure.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(SRC), "-vf",
                    f"eq=brightness=0.25:enable='between(t,{T0},{T0 + 2})'", "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "18", "-an", str(dst)], check=True)
    rep = check_footage(dst)
    assert _covered(rep, "exposure", T0 + 0.6, T0 + 1.4) > 0.9
    assert not rep.flags["flicker"].any()
    assert not rep.flags["exposure"][rep.times < T0 - 0.6].any()


@pytest.mark.slow
@pytest.mark.parametrize("cover", ["box", "skin", "blur"])
def test_a_mouth_covered_the_whole_clip_long_is_occluded(tmp_path: Path, cover: str) -> None:
    """A cover present from the first frame to the last is the shot's typical mouth, so
    only the face itself can show it: the lips hold no structure beside the eyes'."""
    x, y, w, h = _mouth_box()
    vf = {
        "box": f"drawbox=x={x}:y={y}:w={w}:h={h}:color=black:t=fill",
        "skin": f"drawbox=x={x}:y={y}:w={w}:h={h}:color=0x855F4E:t=fill",
        "blur": f"split[a][b];[b]crop={w}:{h}:{x}:{y},boxblur=20:3[m];[a][m]overlay={x}:{y}",  # blurred out
    }[cover]
    dst = tmp_path / f"{cover}.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(SRC), "-filter_complex", vf, "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "18", "-an", str(dst)], check=True)
    rep = check_footage(dst)
    assert rep.flags["occluded"].mean() > 0.8, rep.to_dict()
    assert {s.reason for s in rep.segments} == {"occluded"}
    assert all("covered or blurred out" in s.message and s.value < 0.35 for s in rep.segments)
