"""``mouthsync facecheck FILE``: where the footage will hurt lip sync, with a contact sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mouthsync.commands.output import FAIL_ON_HELP, JSON_HELP, emit, exit_for, prepare


def _human(r: dict[str, Any]) -> list[str]:
    lines = [f"{r['source']}: footage score {r['score']:.0f}/100 over {r['frames']} frames"]
    for f in r["findings"]:
        if f["check"] == "facecheck.faces":
            lines.append(f"  warning: {f['message']} -> {f['advice']}")
    if not r["segments"] and r["score"] >= 90:
        lines.append("no problems found: mouth visible, frontal, sharp, steady, even light, clean coding")
    elif not r["segments"]:
        lines.append("  problems too brief to list as segments lowered the score (--json has the per-frame measures)")
    for s in r["segments"]:
        lines.append(
            f"  {s['start_s']:6.2f}s-{s['end_s']:6.2f}s  {s['severity']:7s} {s['message']} "
            f"(value {s['value']:.3g}) -> {s['recommendation']}"
        )
    if r.get("contact_sheet"):
        lines.append(f"contact sheet of the worst moments: {r['contact_sheet']}")
    if r.get("markers"):
        lines.append(f"markers: {r['markers']}")
    return lines


def register(app: typer.Typer) -> None:
    @app.command("facecheck")
    def facecheck(
        file: Path = typer.Argument(..., help="Video file with a face."),
        sheet: Path | None = typer.Option(None, "--sheet", help="Write a contact-sheet PNG of the worst moments here."),
        track: Path | None = typer.Option(None, "--track", help="Reuse a track written by 'mouthsync track'."),
        markers: Path | None = typer.Option(None, "--markers", help="Write the problem spans as timeline markers, in the format the suffix names: .edl (DaVinci Resolve: Import Timeline Markers from EDL), .csv, or .srt / .vtt (a subtitle track to play beside the clip)."),
        markers_start: str | None = typer.Option(None, "--markers-start", help="Timecode of the clip's first frame on your timeline, for --markers (default: the picture's own timecode, else 01:00:00:00)."),
        fail_on: str = typer.Option("error", "--fail-on", help=FAIL_ON_HELP),
        json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Judge the footage for lip reading: occlusion, head turn, blur, shake, flicker, compression."""
        prepare(json_out, fail_on)
        from mouthsync.core.atomic import check_output_path
        from mouthsync.core.errors import BadInput
        from mouthsync.face.facetrack import FaceTrack
        from mouthsync.face.quality import check_footage, contact_sheet
        from mouthsync.media.markers import check_options, marker_format

        check_options(markers, markers_start)
        for out in (sheet, markers):
            if out is not None:
                check_output_path(out, [file])
        if sheet is not None and markers is not None and sheet.resolve() == markers.resolve():
            raise BadInput("--sheet and --markers must be different files")
        tr = FaceTrack.load(track) if track is not None else None
        report = check_footage(file, track=tr)
        result = report.to_dict()
        if sheet is not None:
            contact_sheet(file, report, sheet)
            result["contact_sheet"] = str(sheet)
        if markers is not None:
            from mouthsync.face.footage_markers import footage_markers_text
            from mouthsync.media.markers import picture_clock, write_markers

            text = footage_markers_text(result, marker_format(markers), picture_clock(file, markers_start),
                                        report.times)
            result["markers"] = str(write_markers(markers, text, (str(file),)))
        emit(result, json_out, _human)
        exit_for(report.findings, fail_on)
