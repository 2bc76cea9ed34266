"""How much picture compression costs ``check``, and what ``facecheck`` says about it.

    .venv/bin/python bench/compression.py [--variants NAME,NAME] [--verbose] [CLIP ...]

Why: ``facecheck`` flags "heavy compression blocks on the lips", and a flag is only worth
its place where the footage really hurts the sync reading. Every shared clip's picture is
coded again (H.264 at rising CRF, at half size, and MPEG-4 part 2 at its coarsest, whose
8x8 blocks no deblocking filter hides) with its sound copied, and each copy is put through
the shift protocol of issue 5 on the clean sound and under pink noise at 10 dB: the copy's
estimate for the sound moved by k frames must be within one frame of the *original*
picture's unshifted estimate plus k (the sound is the same; only the picture changed).
Printed per variant: that share, the median absolute error, the median confidence, how
well the copy's lip aperture follows the original's frame by frame (Pearson r), and what
``facecheck`` reports on the copy (share of face frames flagged ``compression`` and
``blur``, the lips' median blockiness, the clip score), and how much confidence ``check``
keeps on lips coded that coarsely (``face.coding``, ``verdict.picture_weight``; with
``--unheld`` the estimates are read without it, as before it was built).

The speech timelines are those of ``bench/sync_accuracy.py`` (the same shifted sounds,
cached by content), so after that benchmark only the tracks are new: about 3 minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from tests.sync.builders import noisy_audio, shifted_audio  # noqa: E402

from mouthsync.face.coding import mouth_coding  # noqa: E402
from mouthsync.face.quality import check_footage  # noqa: E402
from mouthsync.face.track import track_face  # noqa: E402
from mouthsync.media.decode import decode_audio  # noqa: E402
from mouthsync.sync.verdict import picture_weight  # noqa: E402
from sync_accuracy import CLIPS, RATE, estimate, frame_s  # noqa: E402

# name -> FFmpeg video options (the sound is copied)
VARIANTS: dict[str, list[str]] = {
    "x264 crf 23": ["-c:v", "libx264", "-preset", "medium", "-crf", "23"],
    "x264 crf 35": ["-c:v", "libx264", "-preset", "medium", "-crf", "35"],
    "x264 crf 41": ["-c:v", "libx264", "-preset", "medium", "-crf", "41"],
    "x264 crf 45": ["-c:v", "libx264", "-preset", "medium", "-crf", "45"],
    "x264 crf 51": ["-c:v", "libx264", "-preset", "medium", "-crf", "51"],
    "half crf 41": ["-vf", "scale=trunc(iw/4)*2:-2", "-c:v", "libx264", "-preset", "medium", "-crf", "41"],
    "mpeg4 q 31": ["-c:v", "mpeg4", "-q:v", "31"],
    "mpeg4 q 20": ["-c:v", "mpeg4", "-q:v", "20"],
}
KS = (-12, -6, -3, 0, 3, 6, 12)  # whole-frame shifts, clean sound
NOISE_KS = (-12, -6, -3, 0, 3, 6, 12)  # under pink noise at 10 dB (seed 7, as the protocol)


def make(name: str, clip: Path, folder: Path) -> Path:
    out = folder / f"{clip.stem}-{name.replace(' ', '_')}.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(clip), *VARIANTS[name], "-c:a", "copy",
                    str(out)], check=True)
    return out


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 10:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _median(values: list[float]) -> float:
    """Median of the known values; NaN when none is (no quantiser outside H.264)."""
    known = [v for v in values if np.isfinite(v)]
    return float(np.median(known)) if known else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="*", help="clip stems (default: every shared clip)")
    ap.add_argument("--variants", help="comma-separated subset of: " + ", ".join(VARIANTS))
    ap.add_argument("--verbose", action="store_true", help="a row per clip and variant")
    ap.add_argument("--unheld", action="store_true", help="read every confidence as if the lips' coding were not known")
    args = ap.parse_args()
    names = ["original"] + [v.strip() for v in args.variants.split(",")] if args.variants else ["original", *VARIANTS]
    clips = [c for c in CLIPS if not args.clips or c.stem in args.clips]
    rows: dict[str, dict[str, list[float]]] = {n: {} for n in names}

    def add(name: str, key: str, values: list[float]) -> None:
        rows[name].setdefault(key, []).extend(values)

    t_start = time.time()
    with tempfile.TemporaryDirectory(prefix="mouthsync-compression-") as tmp:
        for clip in clips:
            own = track_face(clip)
            fd = frame_s(own)
            a = decode_audio(clip, rate=RATE)
            pink = noisy_audio(a, 10.0, seed=7)
            sounds = [("clean", k, shifted_audio(a, k * fd) if k else a) for k in KS]
            sounds += [("pink", k, shifted_audio(pink, k * fd) if k else pink) for k in NOISE_KS]
            e0, _ = estimate(own, a)
            if e0 is None:
                print(f"{clip.stem}: no reading on the original; skipped")
                continue
            for name in names:
                path = clip if name == "original" else make(name, clip, Path(tmp))
                tr = own if name == "original" else track_face(path)
                if len(tr) != len(own):
                    print(f"{clip.stem} {name}: {len(tr)} frames against {len(own)}; skipped")
                    continue
                coding = mouth_coding(path, [tr])[0]  # as check reads it: on the copy's own clock
                picture = None if args.unheld else coding
                # the copy's frames are the original's, coded again: put them on the original's
                # clock, so that what is measured is the picture alone (a new container moves
                # both streams' start by the sound's priming, and Matroska rounds times to ms)
                tr = replace(tr, times=own.times.copy(), fps=own.fps)
                errs = {"clean": [], "pink": []}
                confs = []
                sure_wrong = 0  # off by more than a frame at a confidence fix --delay auto acts on
                sure_right = 0  # within a frame at such a confidence
                for group, k, sound in sounds:
                    d, conf = estimate(tr, sound, picture=picture)
                    errs[group].append(np.inf if d is None else abs(d - e0 - k * fd) / fd)
                    confs.append(conf)
                    sure_wrong += errs[group][-1] > 1.0 and conf >= 0.3
                    sure_right += errs[group][-1] <= 1.0 and conf >= 0.3
                fc = check_footage(path, track=own if name == "original" else track_face(path))
                face = tr.valid
                share = {r: float(fc.flags[r][face].mean()) if face.any() else float("nan")
                         for r in ("compression", "blur")}
                blk = float(np.nanmedian(fc.metrics["blockiness"])) if np.isfinite(fc.metrics["blockiness"]).any() \
                    else float("nan")
                r_ap = _corr(own.mouth["aperture"], tr.mouth["aperture"])
                for g in ("clean", "pink"):
                    add(name, f"{g}_ok", [float(e <= 1.0) for e in errs[g]])
                    add(name, f"{g}_err", [e * fd * 1000 for e in errs[g]])
                add(name, "conf", confs)
                add(name, "sure_wrong", [float(sure_wrong)])
                add(name, "sure_right", [float(sure_right)])
                add(name, "kept", [picture_weight(coding)])
                add(name, "r", [r_ap])
                add(name, "compression", [share["compression"]])
                add(name, "blur", [share["blur"]])
                add(name, "blk", [blk])
                add(name, "score", [fc.score])
                qp = fc.metrics["mouth_qp"]
                mouth_qp = float(np.nanmedian(qp)) if np.isfinite(qp).any() else float("nan")
                add(name, "qp", [mouth_qp])
                if args.verbose:
                    face_px = float(np.nanmedian(tr.boxes[:, 2] - tr.boxes[:, 0]))
                    print(f"{clip.stem:18s} {name:12s} clean {np.mean([e <= 1 for e in errs['clean']]):4.0%} "
                          f"pink {np.mean([e <= 1 for e in errs['pink']]):4.0%} conf {np.median(confs):.2f} "
                          f"wrong>=.3 {sure_wrong} right>=.3 {sure_right} kept {picture_weight(coding):.2f} "
                          f"sampled qp {coding.qp if coding else float('nan'):4.1f} r {r_ap:.3f} compression {share['compression']:4.0%} "
                          f"blur {share['blur']:4.0%} blk {blk:.2f} qp {mouth_qp:4.1f} face {face_px:.0f} px "
                          f"score {fc.score:.0f}", flush=True)
    print(f"\n{len(clips)} clips, shifts {list(KS)} frames clean and under pink noise at 10 dB; "
          f"{time.time() - t_start:.0f} s")
    print(f"{'variant':12s} {'clean<=1f':>9s} {'pink<=1f':>9s} {'med err ms':>10s} {'conf':>5s} {'aperture r':>10s} "
          f"{'wrong>=.3':>9s} {'right>=.3':>9s} {'kept':>5s} {'flag comp':>9s} {'flag blur':>9s} {'blockiness':>10s} {'lips QP':>7s} {'score':>5s}")
    for name in names:
        r = rows[name]
        if not r:
            continue
        err = np.asarray(r["clean_err"] + r["pink_err"])
        print(f"{name:12s} {np.mean(r['clean_ok']):9.1%} {np.mean(r['pink_ok']):9.1%} "
              f"{np.median(err[np.isfinite(err)]):10.1f} {np.median(r['conf']):5.2f} {np.nanmin(r['r']):5.3f}/{np.nanmedian(r['r']):.3f} "
              f"{int(np.sum(r['sure_wrong'])):9d} {int(np.sum(r['sure_right'])):9d} {np.median(r['kept']):5.2f} {np.nanmean(r['compression']):9.0%} {np.nanmean(r['blur']):9.0%} {np.nanmedian(r['blk']):10.2f} {_median(r['qp']):7.1f} "
              f"{np.median(r['score']):5.0f}")
    print("aperture r: min/median over clips of the copy's lip aperture against the original's, frame by frame")
    print(f"wrong>=.3 / right>=.3: estimates more than / within a frame off at confidence 0.3 or more "
          f"(fix --delay auto acts), of {len(clips) * (len(KS) + len(NOISE_KS))} per variant")
    print("kept: the median share of its confidence check keeps on the copy's lips (face.coding)"
          + ("; --unheld: not applied" if args.unheld else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
