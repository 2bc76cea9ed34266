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

from mouthsync.media.markers import POINT_SHOW_S, Clock, Cue, Marker, layered_cues, markers_document

_COLOURS = {"error": "Red", "warning": "Yellow", "info": "Blue"}
# The clip's score is shown this long at the start of a subtitle track.
HEAD_SHOW_S = 4.0


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


def footage_cues(markers: list[Marker], first_s: float, end_s: float) -> list[Cue]:
    """Subtitle cues: the score for the first seconds, then each segment's note while it lasts."""
    return layered_cues(markers, first_s, end_s, show_s=lambda k, m: HEAD_SHOW_S if k == 0 else POINT_SHOW_S)


def footage_markers_text(d: dict[str, Any], fmt: str, clock: Clock, first_s: float, end_s: float) -> str:
    """The ``facecheck --json`` document ``d``'s markers in format ``fmt`` (a suffix)."""
    markers = footage_markers(d, first_s)
    return markers_document(markers, footage_cues(markers, first_s, end_s), fmt, clock,
                            f"mouthsync facecheck {Path(str(d.get('source') or 'clip')).name}")
