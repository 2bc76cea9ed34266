"""Several faces in the picture: ``check --faces N`` measures each and reports the speaker."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mouthsync.cli import main
from mouthsync.core.errors import BadInput
from mouthsync.core.findings import Severity
from mouthsync.face.identities import follow_identities
from mouthsync.face.track import track_faces
from mouthsync.sync.delay import check_sync
from tests.conftest import CLIPS
from tests.sync.builders import dialogue, side_by_side, write_shifted_clip

FACE3 = next(p for p in CLIPS if p.name == "retalking_face3.mp4")
FACE2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")


@pytest.fixture(scope="module")
def two_shots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("two")
    return {side: side_by_side(FACE3, FACE2, side, d / f"{side}.mp4") for side in ("left", "right")}


def _box(pts: list[tuple[float, float]]) -> np.ndarray:
    a = np.zeros((478, 3), np.float32)
    a[:, 0] = np.linspace(pts[0][0], pts[1][0], 478)
    a[:, 1] = np.linspace(pts[0][1], pts[1][1], 478)
    return a


def test_identities_follow_boxes_not_detection_order() -> None:
    """Face Mesh lists faces in no stable order; identities follow the boxes, and a face
    lost for a few frames comes back as itself."""
    left, right = _box([(0, 0), (100, 100)]), _box([(300, 10), (380, 90)])
    frames = []
    for i in range(30):
        if 10 <= i < 15:
            cands = [right]  # the left face is lost (turned away)
        else:
            cands = [left + i * 0.5, right] if i % 2 else [right, left + i * 0.5]
        frames.append((i * 0.04, cands, 1.0, np.full((18, 32), i, np.uint8), 0))
    times, ids, change, thumbs, turns = follow_identities(iter(frames))
    assert len(times) == 30 and len(ids) == 2 and change.shape == (30,) and turns.shape == (30,)
    assert thumbs.shape == (30, 18, 32) and thumbs[7, 0, 0] == 7
    first = next(d for d in ids if 0 in d and d[0][0, 0] < 50)
    assert sorted(first) == [i for i in range(30) if not 10 <= i < 15]
    assert all(a[0, 0] < 200 for a in first.values())


@pytest.mark.slow
def test_two_faces_are_tracked_apart(two_shots: dict[str, Path]) -> None:
    tracks = track_faces(two_shots["left"], max_faces=2)
    assert len(tracks) == 2
    centres = sorted(float(np.nanmedian((t.boxes[:, 0] + t.boxes[:, 2]) / 2)) for t in tracks)
    assert centres[0] < 480 < centres[1]
    for t in tracks:
        assert t.coverage > 0.95
        # each identity stays on its own side in every frame
        cx = (t.boxes[t.valid, 0] + t.boxes[t.valid, 2]) / 2
        assert (cx < 480).all() or (cx > 480).all()
        # the picture change is kept here too (shots), the same for every identity
        assert t.picture_change is not None and len(t.picture_change) == len(t)
        np.testing.assert_array_equal(t.picture_change, tracks[0].picture_change)
    from mouthsync.face.shots import picture_cuts

    assert picture_cuts(tracks[0]) == []  # one take side by side


@pytest.mark.slow
@pytest.mark.parametrize("side", ["left", "right"])
def test_check_picks_the_face_that_speaks(two_shots: dict[str, Path], side: str) -> None:
    """The speaker is found whichever face speaks, and its delay is the one measured on the
    speaker's own clip (within a frame: the two-shot is re-encoded and rescaled)."""
    rep = check_sync(two_shots[side], faces=2)
    faces = rep.details["faces"]
    assert len(faces) == 2
    chosen = faces[rep.details["speaker_face"]]
    cx = (chosen["box"][0] + chosen["box"][2]) / 2
    assert (cx < 480) == (side == "left")
    other = faces[1 - rep.details["speaker_face"]]
    assert rep.confidence >= 0.3 and other["confidence"] < rep.confidence - 0.15
    alone = check_sync(FACE3 if side == "left" else FACE2)
    assert rep.audio_delay_ms is not None and alone.audio_delay_ms is not None
    assert abs(rep.audio_delay_ms - alone.audio_delay_ms) <= 40.0
    assert rep.findings[0].check == "sync.speaker" and rep.findings[0].severity == Severity.INFO


@pytest.mark.slow
def test_default_check_counts_the_faces_and_finds_the_speaker(two_shots: dict[str, Path]) -> None:
    """Without --faces the two-shot is noticed (keyframe face count) and the speaker kept;
    a one-face clip stays on the one-face path (no ``details.faces``)."""
    rep = check_sync(two_shots["left"])
    chosen = rep.details["faces"][rep.details["speaker_face"]]
    assert (chosen["box"][0] + chosen["box"][2]) / 2 < 480
    assert "faces" not in check_sync(FACE3).details


@pytest.mark.slow
def test_check_cli_faces_json(two_shots: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(two_shots["left"]), "--faces", "2", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["details"]["speaker_face"] in (0, 1) and len(out["details"]["faces"]) == 2
    assert main(["check", str(two_shots["left"]), "--faces", "0"]) == 2
    assert main(["check", str(two_shots["left"]), "--faces", "two"]) == 2


@pytest.mark.slow
def test_podcast_two_faces_two_microphones(two_shots: dict[str, Path], tmp_path: Path) -> None:
    """A two-shot whose two people each have their own microphone channel: every channel
    is matched to the face that speaks it, with that person's own delay."""
    import subprocess

    from mouthsync.media.decode import decode_audio

    def loud_db(p: Path) -> float:
        x = decode_audio(p).samples
        e = (x[: x.size // 320 * 320].reshape(-1, 320).astype(np.float64) ** 2).mean(axis=1)
        return float(10 * np.log10(np.percentile(e, 90) + 1e-12))

    gain = loud_db(FACE3) - loud_db(FACE2)
    pod = tmp_path / "podcast.mkv"  # left face's voice on the left channel, right face's on the right
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(two_shots["left"]), "-i", str(FACE3),
                    "-i", str(FACE2), "-filter_complex",
                    "[1:a]aresample=48000,pan=mono|c0=c0[l];"
                    f"[2:a]aresample=48000,pan=mono|c0=c0,volume={gain:.2f}dB[r];"
                    "[l][r]join=inputs=2:channel_layout=stereo:map=0.0-FL|1.0-FR[a]",
                    "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "flac", "-shortest", str(pod)], check=True)
    rep = check_sync(pod)
    assert not any(f.check == "sync.channels" and f.severity == Severity.WARNING for f in rep.findings)
    rows = {c["name"]: c for c in rep.details["channels"]}
    assert set(rows) == {"FL", "FR"}
    for name, own, left in (("FL", FACE3, True), ("FR", FACE2, False)):
        row = rows[name]
        cx = (row["box"][0] + row["box"][2]) / 2
        assert (cx < 480) == left, f"{name} matched to the wrong face"
        alone = check_sync(own).audio_delay_ms
        assert row["confidence"] >= 0.3 and abs(row["audio_delay_ms"] - alone) <= 40.0
    # the right microphone 200 ms late (a radio link's latency): said, with the amount
    late = tmp_path / "late_right.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(pod), "-filter_complex",
                    "[0:a]channelsplit=channel_layout=stereo[l][r];[r]adelay=200,atrim=end=5[rl];"
                    "[l][rl]join=inputs=2:channel_layout=stereo:map=0.0-FL|1.0-FR[a]",
                    "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "flac", str(late)], check=True)
    rep = check_sync(late)
    warn = [f for f in rep.findings if f.check == "sync.channels" and f.severity == Severity.WARNING]
    assert len(warn) == 1 and "not in time with each other" in warn[0].message
    rows = {c["name"]: c for c in rep.details["channels"]}
    assert rows["FR"]["audio_delay_ms"] - rows["FL"]["audio_delay_ms"] == pytest.approx(200.0, abs=40.0)
    # fix --delay channels moves each microphone by its own reading
    from mouthsync.sync.correct import fix_sync

    fixed = tmp_path / "fixed.mkv"
    r = fix_sync(late, fixed, delay="channels", report=rep)
    assert [c["from"] for c in r.plan.channels] == ["channel", "channel"]
    after = check_sync(fixed)
    assert not any(f.check == "sync.channels" and f.severity == Severity.WARNING for f in after.findings)
    rows = {c["name"]: c for c in after.details["channels"]}
    assert abs(rows["FR"]["audio_delay_ms"]) <= 40.0 and abs(rows["FL"]["audio_delay_ms"]) <= 40.0
    with pytest.raises(BadInput, match="one voice per channel"):
        fix_sync(two_shots["left"], tmp_path / "x.mkv", delay="channels")


@pytest.mark.slow
def test_a_dialogue_is_measured_on_both_faces(tmp_path: Path) -> None:
    """Two people speaking in turn (face2 left, then face3 right, each still while the
    other talks): both faces speak at the file's delay, so every window is read from
    whoever talks in it; a shifted copy follows the shift."""
    clip = dialogue(FACE2, FACE3, tmp_path / "dialogue.mp4")
    rep = check_sync(clip)
    assert sorted(rep.details.get("speaking_faces") or []) == [0, 1], rep.details.get("faces")
    own = [check_sync(c).audio_delay_ms for c in (FACE2, FACE3)]
    assert rep.audio_delay_ms is not None and abs(rep.audio_delay_ms - float(np.mean(own))) <= 20.0, (rep.audio_delay_ms, own)
    assert rep.confidence >= 0.5
    assert rep.still == [] and all(w.audio_delay_ms is not None for w in rep.windows)
    # measured together (``sync.speaker``), or in turns where the pooled reading came out
    # weaker than the best face's (``sync.speakers``): since session 30 the pooled one reads
    # +48 ms at 0.79 against face 0's +38 at 1.00, so in turns; either names the dialogue
    assert any(f.check in ("sync.speaker", "sync.speakers") and "dialogue" in f.message
               and f.severity == Severity.INFO for f in rep.findings)
    late = write_shifted_clip(clip, tmp_path / "late.mp4", 0.12)
    rep2 = check_sync(late)
    assert rep2.audio_delay_ms is not None and abs(rep2.audio_delay_ms - rep.audio_delay_ms - 120.0) <= 40.0


def test_a_delay_at_the_search_edge_is_no_peak() -> None:
    """``at_search_edge``: the first or last candidate delay searched (raw), within a grid
    step; the speaker choice puts such a face after one that reads confidently inside."""
    from mouthsync.sync.delay import at_search_edge
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.report import SyncReport

    def rep(raw: float | None) -> SyncReport:
        return SyncReport(raw, None, 25.0, 0.5, [], None, DriftFit(None, None, None, 0, "none"), {}, [], None,
                          raw_delay_ms=raw, details={"search_ms": [-800.0, 800.0]})

    assert at_search_edge(rep(800.0)) and at_search_edge(rep(-799.0))
    assert not at_search_edge(rep(796.0)) and not at_search_edge(rep(27.9)) and not at_search_edge(rep(None))
    assert not at_search_edge(SyncReport(800.0, None, 25.0, 0.5, [], None, DriftFit(None, None, None, 0, "none"), {},
                                         [], None, raw_delay_ms=800.0))  # nothing searched on record
