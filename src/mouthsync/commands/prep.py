"""``mouthsync prep FILE -o OUT``: constant frame rate, streams from zero, 48 kHz, a record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mouthsync.commands.output import FAIL_ON_HELP, JSON_HELP, emit, exit_for, prepare


def _human(r: dict[str, Any]) -> list[str]:
    lines = [
        f"Wrote {r['path']}: {r['frame_count']} frames at {r['fps']:.3f} fps "
        f"({r['video_duration']:.3f} s), audio {r['audio_rate']} Hz x{r['audio_channels']} "
        f"({r['audio_duration']:.3f} s)",
        f"Output 0 s = source {r['source_time_at_output_zero']:.3f} s",
        "Changes:",
    ]
    for c in r["changes"]:
        kind = c["kind"]
        if kind in ("audio_head", "audio_tail"):
            where = "start" if kind == "audio_head" else "end"
            lines.append(f"  audio {where}: {c['action']} {c['seconds'] * 1000:.1f} ms ({c['why']})")
        elif kind == "video_retime":
            lines.append(
                f"  picture: {c['from']} -> constant {c['to_fps']:.3f} fps by timestamps "
                f"({c['frames_in']} frames in, {c['frames_out']} out, "
                f"{c['frames_repeated']} held, {c['frames_dropped']} skipped)"
            )
        elif kind == "trim_silence":
            lines.append(
                f"  trimmed silence: {c['head_s']:.2f} s head, {c['tail_s']:.2f} s tail "
                f"(margin {c['margin_s']:.2f} s; pauses inside kept)"
            )
        elif kind == "audio_resample":
            lines.append(f"  audio resampled {c['from_hz']} -> {c['to_hz']} Hz")
        elif kind == "audio_downmix":
            lines.append(f"  audio mixed down: {c['from_channels']} -> {c['to_channels']} channels")
        elif kind == "streams_left_out":
            lines.append(f"  left out: {', '.join(c['streams'])} ({c['note']})")
        elif kind == "audio_streams":
            lines.append(f"  {c['count']} audio streams kept: {c['note']}")
        elif kind == "encode":
            lines.append(f"  encoded: video {c['video']}, audio {c['audio']}")
        elif kind == "upright":
            lines.append(f"  picture turned upright ({c['rotation_deg']} degrees, as players show it): {c['why']}")
        elif kind == "square_pixels":
            lines.append(f"  pixels squared: {c['from']} at aspect {c['sar']} -> {c['to']}")
        elif kind == "timecode":
            lines.append(f"  timecode: {c['from']} -> {c['to']} ({c['note']})")
        elif kind == "subtitles":
            for st in c["streams"]:
                lines.append(f"  subtitles (stream {st['stream']}, {st['from']} -> {st['to']}): {st['cues']} cues "
                             "moved onto the output's timeline")
    for f in r["findings"]:
        lines.append(f"  {f['severity']}: {f['message']} -> {f['advice']}")
    lines.append(f"Record {r['sidecar']}")
    return lines


def register(app: typer.Typer) -> None:
    @app.command("prep")
    def prep_cmd(
        file: Path = typer.Argument(..., help="Video with sound to clean up (never overwritten)."),
        out: Path = typer.Option(..., "-o", "--out", help="Output file (.mp4 -> AAC, .mov/.mkv -> PCM)."),
        fps: str = typer.Option(
            None, "--fps", help="Output frame rate (25, 29.97, 30000/1001...). "
            "Default: the standard rate nearest the measured one."
        ),
        trim_silence: bool = typer.Option(
            False, "--trim-silence", help="Cut silence at head and tail only (pauses inside kept)."
        ),
        margin: float = typer.Option(0.25, "--margin", help="Seconds of silence kept around speech when trimming."),
        json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
        fail_on: str = typer.Option("error", "--fail-on", help=FAIL_ON_HELP),
    ) -> None:
        """Write the clean intermediate: constant frame rate, both streams from 0, 48 kHz audio."""
        prepare(json_out, fail_on)
        from mouthsync.media.prep import prep

        result = prep(file, out, fps=fps, trim_silence=trim_silence, margin=margin)
        emit(result.to_dict(), json_out, _human)
        exit_for(result.findings, fail_on)
