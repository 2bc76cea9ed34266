"""``mouthsync fix FILE -o OUT``: remove an audio delay (and drift) without touching the picture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mouthsync.commands.output import (
    FAIL_ON_HELP,
    JSON_HELP,
    emit,
    exit_for,
    prepare,
    sound_file_said,
)
from mouthsync.core.errors import BadInput

DELAY_HELP = (
    "The audio delay to REMOVE, with check's sign (positive: sound after picture). "
    "'auto' measures it with check; or give it with a unit: 40ms, 0.04s, -2f (frames at "
    "the file's measured rate). '--delay 40ms' moves the sound 40 ms earlier; '--delay -2f' "
    "moves it two frames later. Paste check's audio_delay_ms as '<value>ms'. 'shots' "
    "(an edit): each shot between picture cuts that check reads confidently more than a "
    "frame off is moved by its own reading, the others by the whole file's; the audio is "
    "re-encoded. 'steps' (one take whose delay changes where sound was dropped, inserted or "
    "edited): each part between the steps check finds is moved by its own reading, switching "
    "in the nearest pause. 'turns' (a meeting or call whose speakers take turns at their own "
    "delays): each speaker's turns move by that speaker's reading, switching in the pauses "
    "between speakers. 'channels' (split microphones, one voice per channel): each channel moves "
    "by its own reading when check reads it confidently, else by the file's."
)
DRIFT_HELP = (
    "Clock drift to remove, in ms per minute with check's sign (positive: the sound falls "
    "further behind over time): 'none' (default), 'auto' (check's figure, snapped to "
    "1000/1001, 25/24 or 48/44.1 when close), or a number such as 60. Corrected by "
    "resampling the audio, never by dropping frames."
)


def _human(r: dict[str, Any]) -> list[str]:
    lines = []
    src = {"auto": "measured by check", "shots": "the whole file's, measured by check",
           "channels": "the measured channel's, by check"}.get(
        r["delay_source"], f"given as {r['delay_source']}")
    if r["delay_source"] == "turns":
        lines.append(f"Removed the audio delay speaker by speaker, as check read each speaker's turns "
                     f"(the headline speaker reads {r['audio_delay_removed_ms']:+.1f} ms at {r['fps']:.3f} fps)")
    elif r["delay_source"] == "steps":
        lines.append(f"Removed the audio delay part by part, as check read each part "
                     f"(the whole file reads {r['audio_delay_removed_ms']:+.1f} ms at {r['fps']:.3f} fps)")
    else:
        # with drift the delay grows along the file: say where on the line it was read
        at = f" at {r['delay_reference_s']:.1f} s" if r.get("drift_removed_ms_per_min") else ""
        lines.append(
            f"Removed audio delay {r['audio_delay_removed_ms']:+.1f} ms{at} "
            f"({r['audio_delay_removed_frames']:+.2f} frames at {r['fps']:.3f} fps), {src}"
        )
    if r.get("pieces") and r["delay_source"] == "steps":
        lines.append(f"Parts moved on their own ({len(r['pieces'])}, switched at the steps check found):")
    elif r.get("pieces") and r["delay_source"] == "turns":
        lines.append(f"Turns moved on their own ({len(r['pieces'])}, switched in the pauses between speakers):")
    elif r.get("pieces"):
        lines.append(f"Shots moved on their own ({len(r['pieces'])} stretches, cross-faded at the cuts):")
    for p in r.get("pieces") or []:
        whose = ("its own reading" if p["from"] in ("shot", "step") else "the whole file's" if p["from"] == "file"
                 else f"{p['from']}'s reading")
        lines.append(f"    {p['start_s']:7.2f}-{p['end_s']:7.2f} s  {p['delay_ms']:+7.1f} ms removed ({whose})")
    if r.get("channels"):
        lines.append("Channels moved on their own:")
        for c in r["channels"]:
            whose = "its own reading" if c["from"] == "channel" else "the file's"
            lines.append(f"    {c['name']:8s} {c['delay_ms']:+7.1f} ms removed ({whose})")
    m = r.get("measured")
    if m and r["delay_source"] in ("auto", "shots", "steps", "turns") and m.get("confidence") is not None:
        v = m.get("verdict") or {}
        status = v.get("status", v) if isinstance(v, dict) else v
        lines.append(f"  check before the fix: confidence {m['confidence']:.2f}, verdict: {status}")
    if r["audio_speed"] != 1.0:
        lines.append(
            f"Removed drift {r['drift_removed_ms_per_min']:+.2f} ms/min "
            f"(audio resampled, speed x{r['audio_speed']:.6f}; {r['drift_note']})"
        )
    elif r["drift_note"]:
        lines.append(f"Drift {r['drift_note']}")
    how = (
        "packets copied, timestamps moved (lossless)"
        if r["audio_mode"] == "copy"
        else f"re-encoded as {r['audio_codec']} (samples shifted exactly"
        + (", resampled)" if r["audio_speed"] != 1.0 else ")")
    )
    shift = r["audio_shift_applied_ms"]
    where = "earlier" if shift < 0 else "later"
    lines.append(
        f"Audio: moved {abs(shift):.2f} ms {where} at t=0 "
        f"({abs(r['audio_shift_samples'])} samples at {r['sample_rate']} Hz); {how}"
    )
    snd = r.get("sound")
    if snd:
        how = sound_file_said(snd.get("placed_by", ""), snd.get("lineup"), snd["placed_at_s"])
        lines.append(f"Sound: replaced by {snd['path']}, {how}; then the delay above removed")
    lines.append(f"Video: {r['video_packets_copied']} packets copied bit for bit")
    if r.get("audio_stream", "all") != "all":
        audio = [s for s in r["streams"] if s["kind"] == "audio"]
        moved = [s["index"] for s in audio if s["action"] != "copied"]
        kept = [s["index"] for s in audio if s["action"] == "copied"]
        lines.append(
            f"Only audio stream {r['audio_stream']} (file stream #{', #'.join(map(str, moved))}) moved"
            + (f"; the other audio (file stream #{', #'.join(map(str, kept))}) copied untouched" if kept else "")
        )
    for s in r["streams"]:
        if s["action"] == "dropped":
            lines.append(f"  stream {s['index']} ({s['kind']}) dropped: {s['note']}")
        elif s["action"] in ("rebuilt", "converted"):
            lines.append(f"  stream {s['index']} ({s['kind']} {s['codec']}): {s['note']}")
    for f in r.get("findings", []):
        advice = f" -> {f['advice']}" if f.get("advice") else ""
        lines.append(f"  {f['severity']}: {f['message']}{advice}")
    v = r.get("verified")
    if v:
        d = v.get("audio_delay_ms")
        reads = "no delay" if d is None else f"{d:+.1f} ms ({d * r['fps'] / 1000:+.2f} frames)"
        lines.append(
            f"Verified: check on the output reads {reads}, confidence {v.get('confidence') or 0:.2f}"
        )
    lines.append(f"Wrote {r['output']['path']}")
    lines.append(f"Record {r['sidecar']}")
    return lines


def load_check_report(path: Path, file: Path, sound: Path | None, audio_stream: int | None) -> dict[str, Any]:
    """The check of ``file`` inside a saved ``check --json`` document (one file's, or one of
    several files'), refused unless it measured this very file (and sound file, and audio
    stream) as it is now (:mod:`mouthsync.core.stamp`)."""
    import json

    from mouthsync.core.stamp import stamp_mismatch

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"{path}: cannot read a check report ({exc})") from None
    found = doc.get("files") if isinstance(doc, dict) and isinstance(doc.get("files"), list) else [doc]
    checks = [c for c in found if isinstance(c, dict) and "audio_delay_ms" in c and "verdict" in c]
    if not checks:
        raise BadInput(f"{path}: not a check report (write one with: mouthsync check FILE --json > REPORT)")
    target = str(file.resolve())
    mine = [c for c in checks if ((c.get("inputs") or {}).get("file") or {}).get("path") == target]
    if not mine:
        raise BadInput(f"{path} holds no check of {file}: run mouthsync check {file} --json > {path.name} again")
    rep = mine[0]
    why = stamp_mismatch(file, rep["inputs"]["file"])
    if why:
        raise BadInput(f"{path} was made before {file} changed ({why}): check it again")
    measured_sound = rep["inputs"].get("audio")
    if (sound is None) != (measured_sound is None):
        said = "with --audio " + measured_sound["path"] if measured_sound else "with the file's own sound"
        raise BadInput(f"{path} measured {file} {said}: give fix the same sound")
    if sound is not None:
        why = ("it is another file" if str(sound.resolve()) != measured_sound["path"]
               else stamp_mismatch(sound, measured_sound))
        if why:
            raise BadInput(f"{path} measured another state of {sound} ({why}): check it again")
    stream = int((rep.get("details") or {}).get("audio_stream") or 0)
    if (audio_stream or 0) != stream:
        raise BadInput(f"{path} measured audio stream {stream}: give --audio-stream {stream}, or check stream {audio_stream or 0}")
    return rep


def register(app: typer.Typer) -> None:
    @app.command("fix")
    def fix_cmd(
        file: Path = typer.Argument(..., help="Video with sound to correct (never overwritten)."),
        out: Path = typer.Option(
            ..., "-o", "--out", help="Corrected file to write (.mp4, .mov, .mkv, ...)."
        ),
        delay: str = typer.Option("auto", "--delay", help=DELAY_HELP),
        drift: str = typer.Option("none", "--drift", help=DRIFT_HELP),
        audio_mode: str = typer.Option(
            "auto",
            "--audio-mode",
            help="auto: copy audio packets when the container can express the move exactly, "
            "else re-encode the audio only; copy / encode force one.",
        ),
        min_confidence: float = typer.Option(
            0.3,
            "--min-confidence",
            help="With --delay auto, refuse to fix below this check confidence.",
        ),
        verify: bool = typer.Option(
            False, "--verify", help="Run check on the output and report the delay it still reads."
        ),
        audio_stream: int | None = typer.Option(
            None,
            "--audio-stream",
            help="Measure and move only this audio stream (counted from 0: a dub track that is off "
            "while the others are right); the other audio streams are copied untouched. "
            "Default: measure the first, move them all.",
        ),
        sound: Path | None = typer.Option(
            None, "--audio",
            help="Replace FILE's sound with this file's (a recorder's, a dub): lined up with FILE's own "
            "sound when they match, then its delay removed (--delay auto measures it there); "
            "--audio-stream then names its stream.",
        ),
        line_up: str = typer.Option("auto", "--line-up", help="With --audio: place the file by the camera's own sound when they hold the same speech. auto (default): only when it starts farther away than the lip-sync search reaches (a recorder; a mix or stem a few frames off is measured where it starts), always, never."),
        transcript: str = typer.Option(
            "auto", "--transcript",
            help="What is said, when fix measures (as for check): 'auto', 'always', 'none', the words, a file of "
            "them (.txt, .srt, .vtt, .ass) or 'subtitles' (FILE's own subtitle stream).",
        ),
        track_rate: float | None = typer.Option(
            None, "--track-rate",
            help="When fix measures: track the face in at most about this many frames a second (as for check: "
            "every second frame of 50/60 fps footage at 30, about twice as fast). Default: every frame.",
        ),
        report: Path | None = typer.Option(
            None, "--report",
            help="Apply what a saved check measured (mouthsync check FILE --json > REPORT) instead of "
            "measuring again: the delay, drift, shots, steps, turns and channels you reviewed. Refused when "
            "REPORT is of another file, or FILE changed since.",
        ),
        json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
        fail_on: str = typer.Option("never", "--fail-on", help=FAIL_ON_HELP),
    ) -> None:
        """Remove an audio delay (and clock drift) without re-encoding the picture.

        The sign follows check: --delay 40ms means the sound is 40 ms late and moves it
        40 ms earlier. A sidecar OUT.fix.json records what was done.
        """
        prepare(json_out, fail_on)
        from mouthsync.media.subtitles import read_transcript
        from mouthsync.sync.correct import fix_sync, per_part

        if (report is not None and per_part(delay) is None and delay.strip().lower() != "auto"
                and str(drift).strip().lower() != "auto"):
            raise BadInput(f"--report applies check's measurement, which --delay {delay} does not use: give --delay "
                           "auto (or shots, steps, turns, channels) or --drift auto with it, or leave --report out")
        import math

        if track_rate is not None and not (math.isfinite(track_rate) and track_rate >= 1):
            raise BadInput(f"--track-rate must be at least 1 frame a second, not {track_rate:g}")
        if audio_mode not in ("auto", "copy", "encode"):
            raise typer.BadParameter("use auto, copy or encode", param_hint="--audio-mode")
        result = fix_sync(
            file,
            out,
            delay=delay,
            drift=drift,
            mode=audio_mode,
            min_confidence=min_confidence,
            verify=verify,
            audio_stream=audio_stream,
            sound=sound,
            line_up=line_up,
            transcript=read_transcript(transcript, file),
            track_rate=track_rate,
            report=None if report is None else load_check_report(report, file, sound, audio_stream),
        )
        emit(result.to_dict(), json_out, _human)
        exit_for(result.findings, fail_on)
