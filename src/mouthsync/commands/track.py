"""``mouthsync track FILE -o TRACK.npz``: per-frame landmarks, head pose and mouth measures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mouthsync.commands.output import JSON_HELP, emit, prepare


def _human(r: dict[str, Any]) -> list[str]:
    lines = [
        f"{r['source']}: {r['valid_frames']}/{r['frames']} frames with a face "
        f"({r['coverage']:.1%}), {r['fps']:.2f} fps measured, {r['width']}x{r['height']}",
    ]
    if r.get("aperture_mean") is not None:
        lines.append(
            f"mouth aperture mean {r['aperture_mean']:.3f}, p95 {r['aperture_p95']:.3f} "
            f"(x inter-ocular distance); lips closed in {r['closure_frames']} frames; "
            f"median |yaw| {r['yaw_abs_median']:.1f} deg"
        )
    sm = (r.get("settings") or {}).get("smoothing")
    if sm:
        lines.append(
            f"smoothing {sm['strength']:g}: kept {sm['energy_kept']:.0%} of speech-band mouth motion, "
            f"jitter {sm['jitter_before']:.4f} -> {sm['jitter_after']:.4f}"
        )
        if sm.get("warning"):
            lines.append(f"warning: {sm['warning']}")
    if r.get("output"):
        lines.append(f"track written to {r['output']}")
    return lines


def register(app: typer.Typer) -> None:
    @app.command("track")
    def track(
        file: Path = typer.Argument(..., help="Video file with a face."),
        output: Path | None = typer.Option(None, "-o", "--output", help="Write the track here (.npz)."),
        smooth: float = typer.Option(
            0.0, "--smooth",
            help="One-Euro stabilisation strength: 0 off (the default), 0.5 light, 1 the usual, >=3 flattens articulation.",
        ),
        max_faces: int = typer.Option(1, "--max-faces", help="Faces to look for; the speaker is kept."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Track again even if cached."),
        json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Track the speaker's face: landmarks, head pose and mouth measurements per frame."""
        prepare(json_out)
        from mouthsync.core.atomic import check_output_path
        from mouthsync.core.errors import BadInput
        from mouthsync.face.track import track_face

        if max_faces < 1:
            raise BadInput(f"--max-faces {max_faces}: must be 1 or more")
        if output is not None:
            check_output_path(output, [file])
        tr = track_face(file, smooth=smooth or None, use_cache=not no_cache, max_faces=max_faces)
        result = tr.summary()
        if output is not None:
            tr.save(output, inputs=(file,))
            result["output"] = str(output)
        emit(result, json_out, _human)
