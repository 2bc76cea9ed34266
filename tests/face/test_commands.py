"""``mouthsync track`` and ``facecheck`` through the real command line."""

from __future__ import annotations

import json

import numpy as np

from mouthsync.cli import main
from tests.conftest import CLIPS, SPEECH


def test_track_command_writes_npz_and_json(tmp_path, capsys) -> None:
    clip = next(p for p in CLIPS if p.name == "retalking_face5.mp4")
    out = tmp_path / "t.npz"
    assert main(["track", str(clip), "-o", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["frames"] == doc["valid_frames"] == 122
    with np.load(out) as z:
        assert z["landmarks"].shape == (122, 478, 3)


def test_track_command_bad_inputs_exit_2(tmp_path, capsys) -> None:
    assert main(["track", str(SPEECH[0])]) == 2
    err = capsys.readouterr().err
    assert "no video stream" in err and "Traceback" not in err
    clip = CLIPS[0]
    assert main(["track", str(clip), "-o", str(clip)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err


def test_facecheck_reuses_a_track_and_refuses_another_videos(tmp_path, capsys) -> None:
    a = next(p for p in CLIPS if p.name == "retalking_face3.mp4")
    b = next(p for p in CLIPS if p.name == "retalking_face2.mp4")  # same frame times as a
    trk = tmp_path / "a.npz"
    assert main(["track", str(a), "-o", str(trk)]) == 0
    capsys.readouterr()
    assert main(["facecheck", str(a), "--track", str(trk), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == 100.0
    assert main(["facecheck", str(b), "--track", str(trk)]) == 2
    assert "another video" in capsys.readouterr().err
