"""``mouthsync phones``: phone timeline, visemes, lip events, rate; Rhubarb mouth shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mouthsync.commands.output import JSON_HELP, denoised_line, emit, prepare

FORMAT_HELP = (
    "Write Rhubarb Lip Sync mouth cues instead of the summary: tsv, json, xml or dat "
    "(Moho switch data), to stdout or to --output."
)


def _human(r: dict[str, Any]) -> list[str]:
    lines = [
        f"{r['file']}: {r['duration']:.2f} s, {r['mode']} ({r['language_note']})",
        f"speech: {r['speech_s']:.2f} s in {len(r['speech'])} segment(s); "
        f"pauses: {len(r['pauses'])}; breaths: {len(r['breaths'])}",
        f"rate: {r['rate']['phones_per_s']:.1f} phones/s"
        + (
            f"; fast speech (> {r['rate']['fast_threshold']:.0f}/s) at "
            + ", ".join(f"{a:.2f}-{b:.2f}s" for a, b in r["rate"]["fast_segments"])
            if r["rate"]["fast_segments"]
            else ""
        ),
    ]
    counts = r["event_counts"]
    lines.append("events: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
    if r["settings"].get("denoised"):
        lines.append("audio: " + denoised_line(r["settings"].get("snr_db")))
    if r["settings"].get("machine_transcript") is not None:
        lines.append(f"machine transcript (not checked): {r['settings']['machine_transcript']}")
    if r["words"]:
        lines.append("words: " + " ".join(f"{w['text']}@{w['start']:.2f}" for w in r["words"]))
    if r["settings"].get("align_plausible") is False:
        lines.append(
            f"warning: implausible alignment (words cover {r['settings']['align_coverage']:.0%} of the "
            f"detected speech at {r['rate']['phones_per_s']:.1f} phones/s); does the transcript match the audio?"
        )
    if r.get("unknown_words"):
        lines.append("not in the dictionary (spelled letter by letter): " + ", ".join(r["unknown_words"]))
    spoken = [f"{lab}@{a:.2f}" for a, _b, lab in r["phones"] if lab != "SIL"]
    if not r["speech"] and not spoken:
        lines.append("no speech found: the sound holds silence or noise only (nothing to time a mouth to)")
    else:
        lines.append("phones: " + " ".join(spoken))
    for a, b in r["pauses"]:
        lines.append(f"pause {a:.2f}-{b:.2f}s ({b - a:.2f} s)")
    return lines


def register(app: typer.Typer) -> None:
    @app.command("phones")
    def phones(
        file: Path = typer.Argument(..., help="Audio or video file (its first audio stream, unless --audio-stream)."),
        audio_stream: int = typer.Option(0, "--audio-stream", help="Which audio stream to read, counted from 0 (a master with one stream per language)."),
        transcript: str | None = typer.Option(
            None, "--transcript", "-t", help="What is said, aligned: the text, a file of it (.txt, or subtitles .srt/.vtt/.ass), or 'subtitles' (the file's own subtitle stream)."
        ),
        language: str = typer.Option(
            "en", "--language", help="Language spoken; the phone recogniser is English-only."
        ),
        fmt: str | None = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
        extended_shapes: str = typer.Option(
            "GHX", "--extended-shapes", help="Extended Rhubarb shapes to use (subset of GHX; '' for none)."
        ),
        output: Path | None = typer.Option(None, "--output", "-o", help="Write the --format output here."),
        dat_frame_rate: float = typer.Option(24.0, "--dat-frame-rate", help="Frame rate of --format dat."),
        dat_preston_blair: bool = typer.Option(
            False, "--dat-preston-blair", help="Preston Blair shape names in --format dat."
        ),
        no_cache: bool = typer.Option(False, "--no-cache", help="Recompute even if a cached timeline exists."),
        json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Phone timeline (PocketSphinx), visemes, lip events, speech rate; Rhubarb export."""
        prepare(json_out or fmt is not None)
        from mouthsync.audio import rhubarb
        from mouthsync.audio.timeline import speech_timeline_in_process
        from mouthsync.audio.visemes import viseme_of
        from mouthsync.core.atomic import write_text_atomic
        from mouthsync.core.errors import BadInput
        from mouthsync.core.progress import progress
        from mouthsync.media.subtitles import read_transcript

        if fmt is not None and fmt.lower() not in rhubarb.FORMATS:
            raise BadInput(f"unknown --format {fmt!r}: use one of {', '.join(rhubarb.FORMATS)}")
        try:
            extended = rhubarb.parse_extended(extended_shapes)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        if not 0 < dat_frame_rate <= 1000:
            raise BadInput(f"--dat-frame-rate {dat_frame_rate:g}: must be a frame rate above 0 (24, 25, 30...)")
        if output is not None and fmt is None:
            raise BadInput("--output needs --format (tsv, json, xml or dat)")
        if json_out and fmt is not None and output is None:
            raise BadInput("--json and --format both print on stdout: write the --format output with -o FILE")
        source: Any = file
        if audio_stream:
            from mouthsync.audio.timeline import RATE
            from mouthsync.media.decode import decode_audio

            source = decode_audio(file, rate=RATE, mono=True, audio_stream=audio_stream, dialogue=True)
        # in a worker process: PocketSphinx holds the GIL for a whole decode, so in this
        # one an interrupt waited for it (12.7 s on 4 minutes of sound, 21 s with the
        # words); here the wait is interruptible and the worker is stopped at once
        job = speech_timeline_in_process(
            source, transcript=read_transcript(transcript, file), use_cache=not no_cache, language=language
        )
        try:
            with progress("Speech", 1) as advance:
                tl = job.result()
                advance(1)
        except BaseException:
            job.cancel()
            raise
        if fmt is not None:
            # Rhubarb's cues start at 0 and its duration is where they end: sound that starts
            # after the picture is preceded by rest, not shifted to 0 (and not ended early)
            begin = min(0.0, tl.start)
            cues = rhubarb.mouth_cues(tl.phones, extended=extended, start=begin, end=tl.end)
            text = rhubarb.export(
                cues,
                fmt,
                extended=extended,
                sound_file=str(file),
                duration=tl.end - begin,
                dat_frame_rate=dat_frame_rate,
                preston_blair=dat_preston_blair,
            )
            if output is None:
                typer.echo(text, nl=False)
                return
            write_text_atomic(output, text, inputs=[file])
            if not json_out:
                typer.echo(f"wrote {len(cues)} mouth cues to {output}", err=True)
                return
        d = tl.to_dict()
        visemes: list[list[Any]] = []
        for ph in tl.phones:
            v = viseme_of(ph.label)
            if visemes and visemes[-1][2] == v:
                visemes[-1][1] = ph.end
            else:
                visemes.append([ph.start, ph.end, v])
        counts: dict[str, int] = {}
        for e in tl.events:
            counts[e.kind] = counts.get(e.kind, 0) + 1
        d.update(
            file=str(file),
            speech_s=sum(b - a for a, b in tl.speech),
            event_counts=counts,
            visemes=visemes,
            unknown_words=tl.settings.get("unknown_words", []),
        )
        emit(d, json_out, _human)
