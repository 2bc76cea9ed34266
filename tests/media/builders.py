"""Build harder test cases from the shared clips, in temp folders, at test time.

Each builder writes a new file and returns its path; the source is never modified.
"""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av


def restamp_video(src: Path, out: Path, *, factor: float = 1.001, rate: int = 30000) -> Path:
    """Copy ``src`` with every video timestamp multiplied by ``factor``, audio untouched.

    The output video time base is ``1/rate`` so that 30 fps material re-stamped by 1.001
    lands exactly on 1001-tick spacing (29.97 fps) with no rounding jitter.
    """
    with av.open(str(src)) as ic, av.open(str(out), "w") as oc:
        vin, ain = ic.streams.video[0], ic.streams.audio[0]
        vout = oc.add_stream_from_template(vin)
        vout.time_base = Fraction(1, rate)
        aout = oc.add_stream_from_template(ain)
        scale = vin.time_base * Fraction(factor).limit_denominator(100000) * rate
        for p in ic.demux(vin, ain):
            if p.dts is None and p.pts is None:
                continue
            if p.stream is vin:
                p.pts = round(p.pts * scale) if p.pts is not None else None
                p.dts = round(p.dts * scale) if p.dts is not None else None
                p.duration = round(p.duration * scale) if p.duration else 0
                p.time_base = Fraction(1, rate)
                p.stream = vout
            else:
                p.stream = aout
            oc.mux(p)
    return out


def delay_audio(src: Path, out: Path, seconds: float) -> Path:
    """Remux ``src`` with its audio stream starting ``seconds`` later (packets copied)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-itsoffset", f"{seconds}", "-i", str(src),
         "-map", "0:v", "-map", "1:a", "-c", "copy", str(out)],
        check=True,
    )
    return out


def mix_into(src: Path, out: Path, bed_wav: Path, *, volume: float) -> Path:
    """Re-encode ``src``'s audio mixed with ``bed_wav`` at ``volume``; picture copied."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-i", str(bed_wav), "-filter_complex",
         f"[1:a]volume={volume}[b];[0:a][b]amix=inputs=2:duration=first:normalize=0[m]",
         "-map", "0:v", "-map", "[m]", "-c:v", "copy", "-c:a", "aac", "-b:a", "192k", str(out)],
        check=True,
    )
    return out


def drop_frames(src: Path, out: Path, frames: list[int]) -> Path:
    """Re-encode ``src`` small without the listed frames, keeping every other timestamp."""
    expr = "+".join(f"eq(n\\,{i})" for i in frames)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-vf", f"select='not({expr})',scale=256:-2",
         "-vsync", "passthrough", "-c:a", "copy", str(out)],
        check=True,
    )
    return out


def convert_rate_by_copying(src: Path, out: Path, fps: int) -> Path:
    """Re-encode ``src`` small at ``fps`` by repeating pictures (near-lossless, so repeats stay exact)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-vf", f"fps={fps},scale=256:-2",
         "-c:v", "libx264", "-crf", "4", "-c:a", "copy", str(out)],
        check=True,
    )
    return out


def concat_copies(src: Path, out: Path, copies: int) -> Path:
    """``copies`` x ``src`` joined by the concat demuxer, packets copied."""
    listing = out.with_suffix(".txt")
    listing.write_text(f"file '{src}'\n" * copies)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-c", "copy", str(out)], check=True)
    return out


def set_h264_rate(src: Path, out: Path, tick_rate: str, timescale: int = 30000) -> Path:
    """Rewrite the H.264 VUI timing (``tick_rate`` = 2 x fps) without touching timestamps."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c", "copy", "-bsf:v",
                    f"h264_metadata=tick_rate={tick_rate}", "-video_track_timescale", str(timescale),
                    str(out)], check=True)
    return out
