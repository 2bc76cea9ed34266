"""``mouthsync probe FILE``: timing and audio facts, and findings with what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mouthsync.commands.output import FAIL_ON_HELP, JSON_HELP, emit, exit_for, prepare


def _fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{unit}"


def _human(r: dict[str, Any]) -> list[str]:
    lines = [f"{r['path']}  ({r['format']}, {r['size_bytes'] / 1e6:.2f} MB)"]
    v, a, t = r["video"], r["audio"], r["timing"]
    if v:
        lines.append(
            f"video  {v['codec']} {v['width']}x{v['height']}  {v['frame_count']} frames  "
            f"{v['start']:.3f}-{v['end']:.3f} s"
        )
        rate = (
            f"       rate: measured {v['measured_fps']:.3f} fps (timestamps {v['timestamp_fps']:.3f}), "
            f"declared {_fmt(v['declared_fps'], '.3f')}, bitstream {_fmt(v['bitstream_fps'], '.3f')}"
        )
        lines.append(rate)
        s = v["spacing_ms"]
        lines.append(
            f"       spacing {s['min']:.1f}/{s['median']:.1f}/{s['max']:.1f} ms (min/median/max)  "
            f"{'VARIABLE' if v['vfr'] else 'constant'} frame rate; missing slots {v['missing_frames']}, "
            f"repeated pictures {_fmt(v['repeated_pictures'], 'd')}"
        )
    if a:
        lines.append(
            f"audio  {a['codec']} {a['sample_rate']} Hz x{a['channels']}  "
            f"{a['start']:.3f}-{a['end']:.3f} s"
        )
        q = a.get("quality")
        if q:
            lines.append(
                f"       loudness {_fmt(q['loudness_lufs'], '.1f', ' LUFS')}, true peak "
                f"{q['true_peak_dbtp']:.1f} dBTP, clipped {q['clipped_ratio'] * 100:.3f} %"
            )
            lines.append(
                f"       noise floor {q['noise_floor_dbfs']:.0f} dBFS, speech/noise "
                f"{_fmt(q['snr_db'], '.0f', ' dB')}, speech {q['speech_ratio'] * 100:.0f} % of frames, "
                f"background: {q['background']}"
            )
            if q.get("echo_decay_s") is not None:
                lines.append(f"       echo: speech dies away in {q['echo_decay_s']:.2f} s (dry voice 0.15-0.35)")
            lines.append(
                f"       silence: {q['leading_silence_s']:.2f} s lead, {q['trailing_silence_s']:.2f} s tail, "
                f"{len(q['long_pauses'])} long pause(s)"
            )
    tc = r.get("timecode") or {}
    if tc.get("picture_start_of_day_clock"):
        lines.append(f"timecode  first frame at {tc['picture_start_of_day_clock']} of the day")
    if tc.get("sound_start_of_day_clock"):
        lines.append(f"timecode  first sample at {tc['sound_start_of_day_clock']} of the day (broadcast WAV time reference)")
    for o in r.get("other_audio", []):
        span = (f"  {o['start']:.3f}-{o['start'] + o['duration']:.3f} s"
                if o.get("start") is not None and o.get("duration") else "")
        lang = f" [{o['language']}]" if o.get("language") and o["language"] != "und" else ""
        lines.append(
            f"audio  stream {o['audio_stream']}: {o['codec']} {o['sample_rate']} Hz x{o['channels']}{lang}{span}"
            f"  (not measured; check/fix --audio-stream {o['audio_stream']})"
        )
    for sub in r.get("subtitles", []):
        lang = f" [{sub['language']}]" if sub.get("language") and sub["language"] != "und" else ""
        what = ("text: check --transcript subtitles aligns its words" if sub["text"]
                else "pictures: no words to read")
        lines.append(f"subs   {sub['codec']}{lang}  ({what})")
    if t["start_offset_ms"] is not None:
        lines.append(
            f"timing audio starts {t['start_offset_ms']:+.1f} ms and ends {t['end_offset_ms']:+.1f} ms "
            f"relative to the picture (+ = later)"
        )
        if t["drift_ms_per_min"] is not None:
            lines.append(
                f"       drift {t['drift_ms_per_min']:+.1f} ms/min "
                f"({t['drift_frames_per_min']:+.2f} frames/min): {t['drift_basis']}"
            )
    lines.append("findings:" if r["findings"] else "findings: none")
    for f in r["findings"]:
        where = f" [{f['start_s']:.2f}-{f['end_s']:.2f} s]" if f["start_s"] is not None else ""
        lines.append(f"  {f['severity']:7s} {f['check']}{where}: {f['message']}")
        if f["advice"]:
            lines.append(f"          -> {f['advice']}")
    return lines


def register(app: typer.Typer) -> None:
    @app.command("probe")
    def probe_cmd(
        file: Path = typer.Argument(..., help="Media file to examine (video, audio, or both)."),
        json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
        fast: bool = typer.Option(
            False, "--fast", help="Timestamps and headers only: skip audio quality and picture repeats."
        ),
        fail_on: str = typer.Option("error", "--fail-on", help=FAIL_ON_HELP),
    ) -> None:
        """Facts and findings about timing (frame rate, VFR, offsets, drift) and audio quality."""
        prepare(json_out, fail_on)
        from mouthsync.media.probe import probe

        info = probe(file, audio_quality=not fast, pictures=not fast)
        emit(info.to_dict(), json_out, _human)
        exit_for(info.findings, fail_on)
