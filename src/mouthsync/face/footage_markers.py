"""``facecheck --markers``: where the footage will hurt lip sync, as timeline markers and a
review subtitle track (the formats: :mod:`mouthsync.media.markers`).

Why: ``facecheck`` lists its segments (mouth occluded, head turned, blur, shake, flicker,
heavy coding) with their times; an editor choosing takes or spans to judge sync on wants
them on the timeline. One marker per segment, red for an error (no face, the mouth
covered), yellow for a warning, blue for information, named by its reason, its note the
message and what to do; the clip's score at its first frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mouthsync.media.decode import frame_step
from mouthsync.media.markers import Clock, Marker, layered_cues, markers_document

_COLOURS = {"error": "Red", "warning": "Yellow", "info": "Blue"}


def footage_markers(d: dict[str, Any], first_s: float) -> list[Marker]:
    """The markers of the ``facecheck --json`` document ``d`` whose first frame is at
    ``first_s``: the score there, then one per segment in time order."""
    score = float(d["score"])
    head = Marker(first_s, first_s, "score", "Green" if score >= 90 else "Yellow" if score >= 60 else "Red",
                  f"facecheck {score:.0f}/100",
                  f"facecheck: footage score {score:.0f}/100 over {d['frames']} frames, "
                  f"{len(d['segments'])} problem span{'s' if len(d['segments']) != 1 else ''}",
                  (("score", f"{score:.1f}"),))
    out = [head]
    for s in sorted(d["segments"], key=lambda s: (s["start_s"], s["end_s"])):
        value = s.get("value")
        out.append(Marker(s["start_s"], s["end_s"], s["reason"], _COLOURS.get(s["severity"], "Blue"),
                          s["reason"].replace("_", " "), f"{s['message']} -> {s['recommendation']}",
                          (("severity", s["severity"]),
                           ("value", None if value is None or value != value else f"{value:.4g}"))))
    return out


def footage_markers_text(d: dict[str, Any], fmt: str, clock: Clock, times: np.ndarray) -> str:
    """The markers of the ``facecheck --json`` document ``d`` of frames shown at ``times`` in
    format ``fmt`` (a suffix); its subtitle track shows the score for the first seconds,
    then each segment's note while it lasts."""
    first = float(times[0]) if len(times) else 0.0
    end = float(times[-1]) + frame_step(times) if len(times) else 0.0
    markers = footage_markers(d, first)
    return markers_document(markers, layered_cues(markers, first, end), fmt, clock,
                            f"mouthsync facecheck {Path(str(d.get('source') or 'clip')).name}")
