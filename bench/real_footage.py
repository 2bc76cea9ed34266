"""check on the kinds of file users bring that the shift protocol does not hold: phone
footage stored turned, anamorphic pixels, a title's sound before the first words or after
the last, telephone sound, echo, clipping, hum, low-rate coding, a blurry or rate-converted
picture; a shaky, flickering, zooming, dim, mirrored or dropped-frame picture, a speaker
in a wide shot, fast speech.

    .venv/bin/python bench/real_footage.py [--variants NAME,NAME] [CLIP ...]

Each variant is made from a shared clip with ffmpeg and checked cold (no cache) with the
default settings; the table prints its delay and confidence beside the clip's own,
whether it reads within a frame of it (of its delay 1.25x shorter for "fast 1.25x", 1.25x
longer for "slow 0.8x"), and
its median lip aperture over the clip's (1.00: the mouth is measured as on the clip;
phone and anamorphic copies must read the same), and the sound's echo decay
(``media.echo``: 0.15-0.35 s for a dry voice, "-" not measured), and which cause of a low
confidence check's warnings name: the sound's low-rate "coding", its "echo", its
"clipping", a "small face", or lips coded past reading ("picture"). Default clips:
retalking_face2 and retalking_face3.
About 10-20 s per variant.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
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
    ("CRF 40", "the picture coded again at CRF 40 as it is (coarse coding alone)"),
    ("soft CRF 40", "the picture at half its size and back, at CRF 40 (softness and coarse coding together)"),
    ("30 fps dup", "25 fps shown at 30 fps by repeating every fifth frame (a rate conversion)"),
    ("shaky", "a handheld camera: the picture cropped by a twentieth, moved on a 2-7 Hz path, and scaled back"),
    ("flicker", "the brightness swinging +-12 % three times a second (lights on mains, a shutter beating)"),
    ("zoom", "a slow push-in: the picture 6 % larger every second, cropped back to its size"),
    ("low light", "dark and flat (brightness -0.2, contrast 0.6) with moving grain (a dim room, high gain)"),
    ("wide shot", "the picture at a third of its width in a 1920x1080 frame (a speaker in a wide shot)"),
    ("VFR drops", "15 % of the frames dropped at random, the others kept at their times (a phone under load)"),
    ("fast 1.25x", "picture and sound played 1.25x faster (fast speech; the clip's delay read 1.25x shorter)"),
    ("slow 0.8x", "picture and sound played at 0.8x (slow speech; the clip's delay read 1.25x longer)"),
    ("mirrored", "the picture flipped left to right (a selfie camera)"),
]
# Variants whose picture and sound run faster than the clip's: its delay reads shorter.
# Every frame is kept at its own time divided by the speed: the output's frame rate is the
# clip's times the speed (25 fps -> 31.25 or 20). Left at the clip's rate, FFmpeg's
# constant-rate output drops the surplus frames late: retalking_face2 at 1.25x showed each
# frame 0-100 ms (mean 80 ms) of the clip's time after its place, a picture 64 ms late,
# and the "fast speech reads early" of sessions 27-30 was that lag (docs/sync.md).
_SPEED = {"fast 1.25x": Fraction(5, 4), "slow 0.8x": Fraction(4, 5)}

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
    elif name in ("blurry", "soft CRF 40", "CRF 40", "30 fps dup"):
        meta = video_meta(clip)
        k = {"blurry": 3, "soft CRF 40": 2}.get(name)
        vf = (f"scale={meta.width // k // 2 * 2}:-2,scale={meta.width}:{meta.height}" if k else
              "fps=30" if name == "30 fps dup" else "null")
        crf = "18" if name == "30 fps dup" else "40"
        _ffmpeg("-i", str(clip), "-vf", vf, "-c:v", "libx264", "-preset", "veryfast", "-crf", crf, "-c:a", "copy", str(out))
    elif name in _PICTURE:
        meta = video_meta(clip)
        _ffmpeg("-i", str(clip), *_PICTURE[name](meta.width, meta.height), *enc, "-c:a", "copy", str(out))
    elif name in _SPEED:
        k = _SPEED[name]
        meta = video_meta(clip)
        rate = Fraction(meta.declared_fps or 25.0).limit_denominator(1001) * k
        _ffmpeg("-i", str(clip), "-filter_complex", f"[0:v]setpts=PTS/{float(k)},fps={rate}[v];[0:a]atempo={float(k)}[a]",
                "-map", "[v]", "-map", "[a]", *enc, "-c:a", "pcm_s16le", str(out))
    else:
        raise ValueError(name)
    return out


def _shake(w: int, h: int) -> list[str]:
    m = max(8, w // 20) // 2 * 2  # the margin the camera moves in
    x = f"{m}+{0.7 * m:.1f}*sin(2*PI*t*3.1)+{0.3 * m:.1f}*sin(2*PI*t*7.3)"
    y = f"{m}+{0.7 * m:.1f}*cos(2*PI*t*2.3)+{0.3 * m:.1f}*sin(2*PI*t*5.9)"
    return ["-vf", f"crop={w - 2 * m}:{h - 2 * m}:'{x}':'{y}',scale={w}:{h}"]


# the picture changed, the sound copied: FFmpeg's video options for a picture w x h
_PICTURE = {
    "shaky": _shake,
    "flicker": lambda w, h: ["-vf", "eq=brightness='0.12*sin(2*PI*t*3)':eval=frame"],
    # (scaled frame by frame and cropped, not zoompan: that re-times the frames at a fixed rate)
    "zoom": lambda w, h: ["-vf", f"scale=w='trunc(iw*(1+0.06*t)/2)*2':h=-2:eval=frame,crop={w}:{h}"],
    "low light": lambda w, h: ["-vf", "eq=brightness=-0.2:contrast=0.6,noise=alls=18:allf=t"],
    "wide shot": lambda w, h: ["-vf", f"scale={w // 3 // 2 * 2}:-2,pad=1920:1080:(ow-iw)*0.2:(oh-ih)/3"],
    "VFR drops": lambda w, h: ["-vf", "select='gt(random(0),0.15)'", "-fps_mode", "vfr"],
    "mirrored": lambda w, h: ["-vf", "hflip"],
}


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
                k = float(_SPEED.get(name, 1.0))
                near = d is not None and own.audio_delay_ms is not None and abs(d - own.audio_delay_ms / k) <= frame_ms / k
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
