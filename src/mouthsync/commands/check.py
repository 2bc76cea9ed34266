"""``mouthsync check FILE``: audio delay, confidence, per-window delays, drift and verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mouthsync.commands.output import (
    FAIL_ON_HELP,
    JSON_HELP,
    denoised_line,
    emit,
    exit_for,
    prepare,
    sound_file_said,
)
from mouthsync.core.atomic import check_output_path
from mouthsync.core.errors import BadInput

# Up to this many windows are listed one per line; a longer file (a 10-minute interview has
# 239) gets a one-line strip over time and the list of the windows that stand out.
MAX_LISTED_WINDOWS = 16
# Shortest --window: a few words, so that a window's mouth and speech can agree at all.
MIN_WINDOW_S = 2.0
STRIP_WIDTH = 60
MAX_OFF_LISTED = 12


def _window_line(w: dict[str, Any]) -> str:
    dl = "   n/a  " if w["audio_delay_ms"] is None else f"{w['audio_delay_ms']:+7.1f}"
    flag = f"  uncertain: {w['note']}" if w["uncertain"] else ""
    return f"    {w['start_s']:7.2f}-{w['end_s']:7.2f} s  {dl} ms  conf {w['confidence']:.2f}{flag}"


def _clock(t: float) -> str:
    m, sec = divmod(int(round(t)), 60)
    return f"{m // 60}:{m % 60:02d}:{sec:02d}" if m >= 60 else f"{m}:{sec:02d}"


def _window_mark(w: dict[str, Any], d: dict[str, Any]) -> str:
    """``=`` within a frame of what the whole file reads there (its delay, or its drift
    line), ``+`` / ``-`` sound later / earlier than that by more than a frame, ``?`` uncertain."""
    from mouthsync.sync.report import off_whole_file_ms

    off = off_whole_file_ms(d, w["audio_delay_ms"], 0.5 * (w["start_s"] + w["end_s"]))
    if w["uncertain"] or off is None:
        return "?"
    frame_ms = 1000.0 / d["fps"] if d.get("fps") else 40.0
    return "=" if abs(off) <= frame_ms else ("+" if off > 0 else "-")


def _window_summary(d: dict[str, Any]) -> list[str]:
    """Many windows at a glance: counts, a strip over time, and the confident windows that
    read more than a frame away from the whole file (where the sync changes)."""
    ws = d["windows"]
    marks = [_window_mark(w, d) for w in ws]
    n_unc = marks.count("?")
    off = [w for w, m in zip(ws, marks, strict=True) if m in "+-"]
    length = ws[0]["end_s"] - ws[0]["start_s"]
    hop = ws[1]["start_s"] - ws[0]["start_s"]
    ref = "its drift line" if d["drift"]["kind"] == "drift" else "the whole file"
    lines = [
        f"  windows       : {len(ws)} of {length:g} s every {hop:g} s: {len(ws) - n_unc} confident "
        f"({len(ws) - n_unc - len(off)} within a frame of {ref}, {len(off)} further), {n_unc} uncertain"
    ]
    cols = min(STRIP_WIDTH, len(ws))
    strip = []
    for c in range(cols):
        part = marks[c * len(ws) // cols : (c + 1) * len(ws) // cols]
        late, early = part.count("+"), part.count("-")
        strip.append(("+" if late >= early else "-") if late + early else ("=" if "=" in part else "?"))
    lines.append(f"                  {_clock(ws[0]['start_s'])} |{''.join(strip)}| {_clock(ws[-1]['end_s'])}")
    lines.append("                  = within a frame, + sound later, - sound earlier, ? uncertain; --json or --plot: every window")
    if off:
        lines.append("  windows more than a frame away:")
        lines += [_window_line(w) for w in off[:MAX_OFF_LISTED]]
        if len(off) > MAX_OFF_LISTED:
            lines.append(f"    ... and {len(off) - MAX_OFF_LISTED} more")
    return lines


def _shot_lines(d: dict[str, Any]) -> list[str]:
    """The shots between picture cuts, each with its own delay: up to ``MAX_LISTED_WINDOWS``
    one per line, else those more than a frame away from the whole file."""
    shots = d.get("shots") or []
    if len(shots) < 2:
        return []
    marked = [(w, _window_mark(w, d) in "+-") for w in shots]
    away = [x for x in marked if x[1]]
    kinds = [c["kind"] for c in (d.get("details") or {}).get("shot_changes") or []]
    if kinds and set(kinds) != {"cut"}:
        plural = {"cut": "picture cuts", "dissolve": "dissolves", "dip to black": "dips to black"}
        named = [f"{kinds.count(k)} {('picture cut' if k == 'cut' else k) if kinds.count(k) == 1 else plural[k]}"
                 for k in plural if k in kinds]
        where = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    else:
        where = "picture cuts"
    lines = [f"  shots         : {len(shots)} between {where}, {len(away)} more than a frame away from the whole file"]
    listed = marked if len(shots) <= MAX_LISTED_WINDOWS else away[:MAX_OFF_LISTED]
    for w, off in listed:
        lines.append(_window_line(w) + ("  <- off" if off else ""))
    if len(shots) > MAX_LISTED_WINDOWS and len(away) > MAX_OFF_LISTED:
        lines.append(f"    ... and {len(away) - MAX_OFF_LISTED} more")
    return lines


def _human(d: dict[str, Any]) -> list[str]:
    from mouthsync.sync.steps import inside_takes

    v = d["verdict"]
    lines = [f"{d['source']}"]
    if d["audio_delay_ms"] is None:
        lines.append(f"  audio delay   : not measurable ({v.get('reason', v['status'])})")
    else:
        lead = "sound after picture" if d["audio_delay_ms"] >= 0 else "sound before picture"
        at = d["details"].get("delay_at_s")
        where = f"; at {at:.1f} s, the middle: it drifts" if at is not None else ""
        if inside_takes(d.get("steps")):
            where += "; over the whole file, but it steps: see below"
        lines.append(
            f"  audio delay   : {d['audio_delay_ms']:+.1f} ms = {d['audio_delay_frames']:+.2f} frames at {d['fps']:.3f} fps ({lead}{where})"
        )
    lines.append(f"  confidence    : {d['confidence']:.2f}")
    if d["details"].get("transcript") == "skipped":
        lines.append("  speech        : phonetic recognition settled the delay; words not transcribed (--transcript always adds them)")
    elif d["details"].get("phones_from") == "align":
        lines.append("  speech        : the words given, aligned to the sound")
    chans = d["details"].get("channels")
    if chans:
        for c in chans:
            dl = "  n/a" if c["audio_delay_ms"] is None else f"{c['audio_delay_ms']:+.1f} ms"
            mark = "measured" if c["name"] == d["details"].get("audio_channel") else ""
            face = f"  face at {c['box']}" if c.get("box") else ""
            lines.append(f"  channel {c['name']:5s}: {dl}  conf {c['confidence']:.2f}{face}  {mark}".rstrip())
    elif d["details"].get("audio_channel") == "L-R":
        lines.append("  audio         : speech measured on the difference of the two channels (they are in opposite polarity)")
    elif d["details"].get("audio_channel"):
        lines.append(f"  audio         : speech measured on the {d['details']['audio_channel']} (centre) channel alone, where a master carries its dialogue")
    if "placement" in d["details"]:
        pl = d["details"]["placement"]
        said = sound_file_said(pl["by"], d["details"].get("lineup"), pl["start_s"])
        lines.append(f"  sound file    : {said}")
    if d["details"].get("denoised"):
        lines.append(f"  audio         : {denoised_line(d['details'].get('noise_snr_db'))}")
    for f in d["details"].get("faces", []):
        talking = d["details"].get("speaking_faces") or []
        mark = ("speaks in turns (at its own delay)" if f["face"] in talking and "turns" in d["details"]
                else "speaks (a dialogue: measured together)" if f["face"] in talking and len(talking) > 1
                else "speaker" if f["face"] == d["details"].get("speaker_face") else "")
        dl = "  n/a" if f["audio_delay_ms"] is None else f"{f['audio_delay_ms']:+.1f} ms"
        lines.append(f"  face {f['face']}        : box {f['box']}  {dl}  conf {f['confidence']:.2f}  {mark}".rstrip())
    every = [*(d["details"].get("turns") or []), *(d["details"].get("unsure_speakers") or [])]
    for t in sorted(every, key=lambda t: t["talks"][0][0] if t["talks"] else float("inf")):
        # a meeting: where each speaker talks (unsure ones too: those turns are not judged)
        unsure = t in (d["details"].get("unsure_speakers") or [])
        talks = ", ".join(f"{a:.1f}-{b:.1f}" for a, b in t["talks"]) or "-"
        lines.append(f"  turns face {t['face']}  : {talks} s" + (" (too unsure to judge)" if unsure else ""))
    status = v["status"].replace("_", " ")
    why = f" ({v['reason']})" if v.get("reason") else ""
    lines.append(f"  verdict       : {status} against {v['standard_name']}{why}")
    dr = d["drift"]
    if dr["kind"] == "drift":
        interp = f" - {dr['interpretation']}" if dr.get("interpretation") else ""
        lines.append(f"  drift         : {dr['ms_per_min']:+.1f} ms/min{interp}")
    elif dr["kind"] == "steps":
        steps = d.get("steps") or []
        inside = inside_takes(steps)
        if inside:
            lines.append("  drift         : none; the delay steps instead")
        else:
            lines.append(f"  drift         : windows disagree without a line (spread {dr['residual_ms']:.0f} ms): edit or cut?")
        for sp in inside:
            a, b = sp["between_s"]
            where = ("where the inserted silence starts" if sp.get("placed_by") == "inserted silence"
                     else "in a pause" if sp["in_pause"] else "inside speech")
            span = f" (between {a:.1f} and {b:.1f} s)" if b - a > 0.05 else ""
            lines.append(f"  step          : {sp['before_ms']:+.0f} -> {sp['after_ms']:+.0f} ms at {sp['at_s']:.2f} s"
                         f"{span}; fix switches at {sp['cut_s']:.2f} s, {where}")
        at_cuts = len(steps) - len(inside)
        if at_cuts:
            lines.append(f"  steps         : {at_cuts} more at picture cuts (see the shots)")
    elif dr["kind"] == "none":
        lines.append(f"  drift         : none ({dr['ms_per_min']:+.1f} ms/min)")
    if len(d["windows"]) > MAX_LISTED_WINDOWS:
        lines += _window_summary(d)
    elif len(d["windows"]) > 1:
        lines.append("  windows       :")
        for w in d["windows"]:
            lines.append(_window_line(w))
    lines += _shot_lines(d)
    for sp in d.get("still_mouth") or []:
        lines.append(f"  still mouth   : {sp['start_s']:.2f}-{sp['end_s']:.2f} s, speech heard for {sp['speech_s']:.1f} s "
                     f"({sp['what']}?): not measured there")
    for f in d["findings"]:
        if f["severity"] != "info":
            lines.append(f"  {f['severity']}: {f['message']}" + (f" -> {f['advice']}" if f.get("advice") else ""))
    if d.get("plot"):
        lines.append(f"  plot          : {d['plot']}")
    if d.get("html"):
        lines.append(f"  report        : {d['html']}")
    if d.get("markers"):
        lines.append(f"  markers       : {d['markers']}")
    return lines


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(
        files: list[Path] = typer.Argument(..., metavar="FILE", help="Video with the speaker's face (and, unless --audio, the sound). Several: each is checked in turn and a table sums them up (--plot and --html then name folders)."),
        audio: Path | None = typer.Option(None, "--audio", help="Measure this audio file against FILE's picture (one FILE). A recorder's sound (dual-system) is first lined up with the camera's own sound, wherever it started; a dub or another take is laid on the first frame."),
        audio_stream: int = typer.Option(0, "--audio-stream", help="Which audio stream to measure, counted from 0 (a master with one stream per language)."),
        window: float = typer.Option(5.0, "--window", help="Window length in seconds for per-window delays."),
        hop: float = typer.Option(2.5, "--hop", help="Step between windows in seconds."),
        standard: str = typer.Option("bt1359", "--standard", help="Tolerance to judge against: bt1359, is191 or r37."),
        max_delay: float = typer.Option(800.0, "--max-delay", help="Search delays up to this many ms either way."),
        transcript: str = typer.Option("auto", "--transcript", help="What is said: 'auto' (phonetic recognition, plus the words recognised and aligned unless the phones alone settle the delay on a long clip), 'always' (the words too, always), the words themselves or a file of them (aligned: .txt, or subtitles .srt/.vtt/.ass), 'subtitles' (the file's own subtitle stream), or 'none' (phonetic recognition only, fastest). Words that do not settle the delay on their own are weighed against the recognised speech (condensed, translated, another take)."),
        faces: str = typer.Option("auto", "--faces", help="Faces to measure: 'auto' (count them on a few keyframes; when there are several, measure each and report the one whose mouth agrees with the speech), or a number (1: the first face found, fastest)."),
        track_rate: float | None = typer.Option(None, "--track-rate", help="Track the face in at most about this many frames a second: at 30, every second frame of 50/60 fps footage (about twice as fast; the precision of 25-30 fps footage, measured: within 25 ms where every frame of 50 fps gives 11). Default: every frame."),
        plot: Path | None = typer.Option(None, "--plot", help="Write a PNG: delay over time and the agreement curve."),
        html: Path | None = typer.Option(None, "--html", help="Write a self-contained HTML report: verdict, what to do, the plot, the mouth at lip closures (heard and seen), windows, shots and findings."),
        markers: Path | None = typer.Option(None, "--markers", help="Write what was found as timeline markers, in the format the suffix names: .edl (DaVinci Resolve: Import Timeline Markers from EDL), .csv, or .srt / .vtt (a subtitle track showing the delay as the clip plays). Several files: a folder, one NAME.check.edl each."),
        markers_start: str | None = typer.Option(None, "--markers-start", help="Timecode of the clip's first frame on your timeline, for --markers (default: the picture's own timecode, else 01:00:00:00)."),
        line_up: str = typer.Option("auto", "--line-up", help="With --audio: place the file by the camera's own sound when they hold the same speech. auto (default): only when it starts farther away than the lip-sync search reaches (a recorder; a mix or stem a few frames off is measured where it starts), always, never."),
        json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
        fail_on: str = typer.Option("error", "--fail-on", help=FAIL_ON_HELP),
    ) -> None:
        """Measure the audio delay (ms, frames), confidence, per-window delays, drift and verdict."""
        prepare(json_out, fail_on)
        from mouthsync.sync.standards import get_standard

        try:
            get_standard(standard)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        import math

        if not all(math.isfinite(v) and v > 0 for v in (window, hop, max_delay)):
            raise BadInput("--window, --hop and --max-delay must be positive numbers")
        if window < MIN_WINDOW_S:
            # a window must hold several words for its mouth to agree with its speech; 0.5 s
            # windows read an in-sync clip "out of sync" at the search's edge
            raise BadInput(f"--window must be at least {MIN_WINDOW_S:g} s (a few words), not {window:g}")
        from mouthsync.sync.delay import MAX_SEARCH_S, MIN_SEARCH_MS

        if max_delay < MIN_SEARCH_MS:
            # in ms: "--max-delay 1.5" meant seconds and searched +-1.5 ms, two candidates
            # whose better one is the search's edge (confidence 0), without a word
            raise BadInput(f"--max-delay is in ms and must be at least {MIN_SEARCH_MS:g} (a few frames each way), "
                           f"not {max_delay:g}")
        if max_delay > MAX_SEARCH_S * 1000.0:
            raise BadInput(f"--max-delay can be at most {MAX_SEARCH_S * 1000.0:g} ms, not {max_delay:g} "
                           "(a sound further off is a different take: line it up with --audio)")
        n_faces: int | str = faces.strip().lower()
        if n_faces != "auto":
            try:
                n_faces = int(n_faces)
            except ValueError:
                raise BadInput(f"--faces must be 'auto' or a number, not {faces!r}") from None
            if n_faces < 1:
                raise BadInput("--faces must be at least 1")
        if track_rate is not None and not (math.isfinite(track_rate) and track_rate >= 1):
            raise BadInput(f"--track-rate must be at least 1 frame a second, not {track_rate:g}")
        named = [p.resolve() for p in (plot, html, markers) if p is not None]
        if len(files) == 1 and len(set(named)) < len(named):
            raise BadInput("--plot, --html and --markers must be different files")
        settings: dict[str, Any] = dict(
            audio_stream=audio_stream, window_s=window, hop_s=hop, standard=standard, max_delay_s=max_delay / 1000.0,
            transcript=transcript, faces=n_faces,
            line_up=line_up, track_rate=track_rate)
        outputs = {"plot": plot, "html": html, "markers": markers, "markers_start": markers_start}
        from mouthsync.media.markers import check_options

        check_options(markers, markers_start, folder=len(files) > 1)
        if len(files) == 1:
            if plot is not None:
                from mouthsync.sync.plot import plot_format

                plot_format(plot)  # a suffix we cannot write fails before the work
            inputs = [files[0]] + ([audio] if audio else [])
            for out in (plot, html, markers):
                if out is not None:
                    check_output_path(out, inputs)
            report, result = _check_one(files[0], audio, outputs, inputs, settings)
            emit(result, json_out, _human)
            exit_for(report.findings, fail_on)
            return
        _check_many(files, audio, outputs, settings, json_out, fail_on)


def _check_one(
    file: Path, audio: Path | None, outputs: dict[str, Any], inputs: list[Path], settings: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """Check one file and write its picture, page and markers (``outputs``: paths or None,
    and the markers' start timecode); the report and its JSON document."""
    from mouthsync.core.stamp import file_stamp
    from mouthsync.media.subtitles import read_transcript
    from mouthsync.sync.delay import check_sync

    plot, html, markers = outputs["plot"], outputs["html"], outputs["markers"]
    words = read_transcript(settings["transcript"], file)  # none, a file of words or subtitles, the file's own
    report = check_sync(file, audio_path=audio, keep_evidence=html is not None, **{**settings, "transcript": words})
    result = report.to_dict()
    # which files were measured, for fix --report (it refuses another or a changed file)
    result["inputs"] = {"file": file_stamp(file), "audio": None if audio is None else file_stamp(audio)}
    if plot is not None:
        from mouthsync.sync.plot import plot_report

        result["plot"] = str(plot_report(report, plot, tuple(map(str, inputs))))
    if html is not None:
        import shlex
        import sys

        from mouthsync.sync.html_report import write_html

        command = "mouthsync " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        result["html"] = str(write_html(report, html, tuple(map(str, inputs)), command=command))
    if markers is not None:
        result["markers"] = str(_write_markers(file, result, markers, outputs["markers_start"], inputs))
    return report, result


def _write_markers(file: Path, result: dict[str, Any], out: Path, start: str | None, inputs: list[Path]) -> Path:
    """The report's markers on ``file``'s picture timeline: from its first frame, labelled
    with its own timecode unless ``start`` names one."""
    from mouthsync.media.markers import marker_format, picture_clock, write_markers
    from mouthsync.sync.markers import markers_text

    text = markers_text(result, marker_format(out), picture_clock(file, start))
    return write_markers(out, text, tuple(map(str, inputs)))


def _output_names(files: list[Path], folder: Path, suffix: str) -> list[Path]:
    """``NAME.check.png`` / ``.html`` in ``folder`` for each input, numbered when two inputs
    share a name (``a/take.mp4`` and ``b/take.mp4``)."""
    out: list[Path] = []
    used: set[str] = set()
    for f in files:
        name, k = f"{f.stem}.check{suffix}", 2
        while name in used:
            name, k = f"{f.stem}-{k}.check{suffix}", k + 1
        used.add(name)
        out.append(folder / name)
    return out


def _check_many(
    files: list[Path], audio: Path | None, outputs: dict[str, Any], settings: dict[str, Any],
    json_out: bool, fail_on: str,
) -> None:
    """Quality control of a delivery: every file in turn, a bad one reported and skipped
    (exit 2 at the end), the others judged as one (``--fail-on`` over all findings)."""
    import sys

    from mouthsync.core.errors import MouthsyncError
    from mouthsync.core.findings import Finding

    if audio is not None:
        raise BadInput("--audio goes with one FILE (it is measured against that file's picture)")
    per_file: dict[str, list[Path | None]] = {}
    for key, suffix in (("plot", ".png"), ("html", ".html"), ("markers", ".edl")):
        folder = outputs[key]
        if folder is not None and not folder.is_dir():
            raise BadInput(f"with several files, --{key} names an existing folder (one NAME.check file each), not {folder}")
        per_file[key] = _output_names(files, folder, suffix) if folder is not None else [None] * len(files)
        for out in per_file[key]:
            if out is not None:
                check_output_path(out, files)
    results: list[dict[str, Any]] = []
    findings: list[Finding] = []
    failed = 0
    for k, f in enumerate(files):
        if not json_out:
            print(f"[{k + 1}/{len(files)}] {f}", file=sys.stderr, flush=True)
        try:
            mine = {**outputs, **{key: names[k] for key, names in per_file.items()}}
            report, result = _check_one(f, None, mine, [f], settings)
        except MouthsyncError as exc:
            print(f"mouthsync: error: {exc}", file=sys.stderr, flush=True)
            results.append({"source": str(f), "error": str(exc)})
            failed += 1
            continue
        results.append(result)
        findings += report.findings
    emit({"files": results, "checked": len(files) - failed, "failed": failed}, json_out, _human_many)
    if failed:
        raise typer.Exit(2)
    exit_for(findings, fail_on)


def _human_many(d: dict[str, Any]) -> list[str]:
    """Each file's summary, then one line per file: delay, frames, confidence, verdict."""
    lines: list[str] = []
    for r in d["files"]:
        if "error" not in r:
            lines += _human(r) + [""]
    lines.append(f"{len(d['files'])} files: {d['checked']} checked, {d['failed']} could not be")
    for r in d["files"]:
        if "error" in r:
            said = r["error"] if r["source"] in r["error"] else f"{r['source']}: {r['error']}"
            lines.append(f"  {'error':>9s}  {'':>7s}  {'':>9s}  {said}")
            continue
        dl = "n/a" if r["audio_delay_ms"] is None else f"{r['audio_delay_ms']:+.1f} ms"
        fr = "" if r["audio_delay_frames"] is None else f"{r['audio_delay_frames']:+.2f} f"
        lines.append(f"  {dl:>9s}  {fr:>7s}  conf {r['confidence']:.2f}  {r['verdict']['status'].replace('_', ' '):12s}  {r['source']}")
    return lines
