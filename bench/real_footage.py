"""check on the kinds of file users bring that the shift protocol does not hold: phone
footage stored turned, anamorphic pixels, a title's sound before the first words or after
the last, telephone sound, echo, clipping, hum, low-rate coding, a blurry or rate-converted
picture.

    .venv/bin/python bench/real_footage.py [--variants NAME,NAME] [CLIP ...]

Each variant is made from a shared clip with ffmpeg and checked cold (no cache) with the
default settings; the table prints its delay and confidence beside the clip's own,
whether it reads within a frame of it, and its median lip aperture over the clip's (1.00:
the mouth is measured as on the clip; phone and anamorphic copies must read the same), and
the sound's echo decay (``media.echo``: 0.15-0.35 s for a dry voice, "-" not measured),
and which cause of a low confidence check's warnings name: the sound's low-rate "coding",
its "echo", its "clipping", a "small face", or lips coded past reading ("picture"). Default clips:
retalking_face2 and retalking_face3.
About 10-20 s per variant.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from tests.conftest import CLIPS, WILD  # noqa: E402

from mouthsync.media.decode import video_meta  # noqa: E402
from mouthsync.sync.delay import check_sync  # noqa: E402

HEAD_S = 3.0
# (name, what it is, how ffmpeg makes it from the clip: video filter, flag, or a sound
# joined before/after the clip over a title card)
VARIANTS: list[tuple[str, str]] = [
    ("upside down", "stored turned half a turn, flagged rotate=180 (a phone held the other way)"),
    ("sideways", "stored turned a quarter, flagged rotate=270 (portrait)"),
    ("4:3 pixels", "stored 3/4 as wide with 4:3 pixels (an anamorphic master)"),
    ("tone head", f"{HEAD_S:.0f} s title card over a low 220 Hz tone, then the clip"),
    ("noise head", f"{HEAD_S:.0f} s title card over room noise, then the clip"),
    ("music head", f"{HEAD_S:.0f} s title card over a synthetic music bed, then the clip"),
    ("tone tail", f"the clip, then {HEAD_S:.0f} s title card over the tone"),
    ("8 kHz sound", "the sound resampled to 8 kHz (a telephone line)"),
    ("room echo", "the sound in a reverberant room (sox reverb: 50 % reverberance, a hall-sized room)"),
    ("small room", "the sound in a small room (sox reverb 30 50 30)"),
    ("clipped", "the sound raised 20 dB into hard clipping (an overdriven camera input)"),
    ("mains hum", "50 Hz hum and its harmonics 20 dB under the speech (a ground loop)"),
    ("MP3 64k", "the sound as MP3 at 64 kbit/s mono"),
    ("MP3 48k", "the sound as MP3 at 48 kbit/s mono"),
    ("MP3 32k", "the sound as MP3 at 32 kbit/s mono (an old web upload)"),
    ("Opus 16k", "the sound as Opus at 16 kbit/s mono (a video call's recording)"),
    ("blurry", "the picture at a third of its size and back, at CRF 40 (a heavy web re-encode)"),
    ("CRF 51", "the picture coded again at x264's coarsest, CRF 51 (the lips smeared past reading)"),
    ("30 fps dup", "25 fps shown at 30 fps by repeating every fifth frame (a rate conversion)"),
]

# the sound coded again, the picture copied: FFmpeg's audio options
_RECODED = {
    "8 kHz sound": ["-af", "aresample=8000", "-c:a", "pcm_s16le"],
    "clipped": ["-af", "volume=20dB,asoftclip=type=hard", "-c:a", "pcm_s16le"],
    "MP3 64k": ["-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k"],
    "MP3 48k": ["-ac", "1", "-c:a", "libmp3lame", "-b:a", "48k"],
    "MP3 32k": ["-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k"],
    "Opus 16k": ["-ac", "1", "-c:a", "libopus", "-b:a", "16k"],
}
# a room's echo: sox reverb's reverberance (%), HF damping (%) and room scale (%)
_ECHOES = {"room echo": ["50", "50", "100"], "small room": ["30", "50", "30"]}

_SOUNDS = {
    "tone": f"sine=f=220:d={HEAD_S}:sample_rate=44100,volume=0.05",
    "noise": f"anoisesrc=c=pink:a=0.01:d={HEAD_S}:r=44100:seed=1",
    "music": (f"aevalsrc=0.05*sin(2*PI*(220+110*floor(mod(t*2\\,4)))*t)+0.03*sin(2*PI*330*t)*lt(mod(t\\,0.5)\\,0.1)"
              f":d={HEAD_S}:s=44100"),
}


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def _titled(clip: Path, out: Path, sound: str, before: bool) -> None:
    meta = video_meta(clip)
    fps = meta.declared_fps or 25.0
    card = f"color=c=navy:s={meta.width}x{meta.height}:r={fps}:d={HEAD_S}"
    mono = "aformat=sample_rates=44100:channel_layouts=mono"
    parts = ["[0:v]format=yuv420p,setsar=1[vt]", f"[1:a]{mono}[at]", "[2:v]setsar=1[vc]", f"[2:a]{mono}[ac]"]
    order = "[vt][at][vc][ac]" if before else "[vc][ac][vt][at]"
    _ffmpeg("-f", "lavfi", "-i", card, "-f", "lavfi", "-i", _SOUNDS[sound], "-i", str(clip), "-filter_complex",
            ";".join(parts) + f";{order}concat=n=2:v=1:a=1[v][a]", "-map", "[v]", "-map", "[a]",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-c:a", "pcm_s16le", str(out))


def make(name: str, clip: Path, folder: Path) -> Path:
    """The variant ``name`` of ``clip``, written in ``folder``."""
    out = folder / f"{clip.stem}-{name.replace(' ', '_').replace(':', '')}.mkv"
    enc = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18"]
    if name in ("upside down", "sideways"):
        stored = folder / f"{clip.stem}-stored.mp4"
        turn, flag = ("hflip,vflip", "rotate=180") if name == "upside down" else ("transpose=2", "rotate=270")
        _ffmpeg("-i", str(clip), "-vf", turn, *enc, "-c:a", "copy", str(stored))
        out = out.with_suffix(".mp4")  # the flag is an MP4 display matrix
        _ffmpeg("-i", str(stored), "-c", "copy", "-metadata:s:v:0", flag, str(out))
    elif name == "4:3 pixels":
        meta = video_meta(clip)  # the same picture shown: 3/4 as many pixels across, each 4/3 as wide
        _ffmpeg("-i", str(clip), "-vf", f"scale={meta.width * 3 // 4 // 2 * 2}:{meta.height},setsar=4/3", *enc,
                "-c:a", "copy", str(out))
    elif name.endswith(("head", "tail")):
        _titled(clip, out, name.split()[0], before=name.endswith("head"))
    elif name in _ECHOES:
        dry, wet = folder / f"{clip.stem}-dry.wav", folder / f"{clip.stem}-wet.wav"
        _ffmpeg("-i", str(clip), "-vn", "-ac", "1", str(dry))
        # no dither: sox dithers at random, and that alone moved face2's small-room reading 13 ms
        subprocess.run(["sox", "-D", str(dry), str(wet), "reverb", *_ECHOES[name]], check=True)
        _ffmpeg("-i", str(clip), "-i", str(wet), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "pcm_s16le", str(out))
    elif name in _RECODED:
        _ffmpeg("-i", str(clip), "-c:v", "copy", *_RECODED[name], str(out))
    elif name == "mains hum":  # 50 Hz and its odd harmonics, 20 dB under the speech's level
        hum = "aevalsrc=0.02*(sin(2*PI*50*t)+0.5*sin(2*PI*150*t)+0.3*sin(2*PI*250*t)):s=44100"
        _ffmpeg("-i", str(clip), "-f", "lavfi", "-i", hum, "-filter_complex",
                "[0:a]aformat=channel_layouts=mono[s];[1:a]aformat=channel_layouts=mono[h];"
                "[s][h]amix=inputs=2:duration=first:normalize=0[a]",
                "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "pcm_s16le", str(out))
    elif name == "CRF 51":
        _ffmpeg("-i", str(clip), "-c:v", "libx264", "-preset", "veryfast", "-crf", "51", "-c:a", "copy", str(out))
    elif name in ("blurry", "30 fps dup"):
        meta = video_meta(clip)
        vf = (f"scale={meta.width // 3 // 2 * 2}:-2,scale={meta.width}:{meta.height}" if name == "blurry" else "fps=30")
        crf = "40" if name == "blurry" else "18"
        _ffmpeg("-i", str(clip), "-vf", vf, "-c:v", "libx264", "-preset", "veryfast", "-crf", crf, "-c:a", "copy", str(out))
    else:
        raise ValueError(name)
    return out


def _aperture(report) -> float:  # type: ignore[no-untyped-def]
    """The median lip aperture of the face the report measured (NaN without one)."""
    ev = report.evidence
    if ev is None or ev.track is None:
        return float("nan")
    return float(np.nanmedian(ev.track.mouth["aperture"]))


def main() -> int:
    args = sys.argv[1:]
    only: list[str] | None = None
    if "--variants" in args:  # a comma-separated subset of the variants' names
        i = args.index("--variants")
        only = [v.strip() for v in args[i + 1].split(",")]
        del args[i : i + 2]
    variants = [(n, w) for n, w in VARIANTS if only is None or n in only]
    wanted = args or ["retalking_face2", "retalking_face3"]
    clips = [p for p in CLIPS + WILD if p.stem in wanted]
    print(f"{'clip':18s} {'variant':12s} {'delay ms':>9s} {'conf':>5s} {'clip ms':>8s} {'clip conf':>9s} "
          f"{'<= 1 frame':>10s} {'aperture':>8s} {'echo s':>6s} {'named':>11s} {'s':>5s}")
    ok = total = 0
    with tempfile.TemporaryDirectory(prefix="mouthsync-bench-") as tmp:
        for clip in clips:
            own = check_sync(clip, use_cache=False, keep_evidence=True)
            own_ap = _aperture(own)
            frame_ms = 1000.0 / own.fps
            for name, _ in variants:
                t0 = time.time()
                rep = check_sync(make(name, clip, Path(tmp)), use_cache=False, keep_evidence=True)
                d = rep.audio_delay_ms
                named = ",".join(w for f, w in (("sync.audio", "coding"), ("sync.echo", "echo"), ("sync.clipping", "clipping"),
                                                ("sync.face_size", "small face"), ("sync.picture", "picture"))
                                 if any(x.check == f for x in rep.findings))
                echo = rep.details.get("echo_decay_s")
                near = d is not None and own.audio_delay_ms is not None and abs(d - own.audio_delay_ms) <= frame_ms
                ok += near
                total += 1
                print(f"{clip.stem:18s} {name:12s} {d if d is not None else float('nan'):+9.1f} {rep.confidence:5.2f} "
                      f"{own.audio_delay_ms:+8.1f} {own.confidence:9.2f} {'yes' if near else 'NO':>10s} "
                      f"{_aperture(rep) / own_ap:8.2f} {'-' if echo is None else f'{echo:.2f}':>6s} {named:>11s} "
                      f"{time.time() - t0:5.1f}", flush=True)
    print(f"\nwithin a frame of the clip's own reading: {ok}/{total}")
    for name, what in variants:
        print(f"  {name:12s} {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
