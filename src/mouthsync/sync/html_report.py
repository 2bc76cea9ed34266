"""``check --html``: one self-contained HTML page a person can read, keep and pass on.

Why a page: the verdict is one line, but trusting it means seeing it. The page holds the
verdict against the chosen standard, what to do about it, the plot, the mouth at the lip
closures of the speech (heard and where the delay puts them), the windows and shots, drift
and every finding. Pictures are embedded (``data:`` URLs), nothing is fetched, so the file
opens offline and can be mailed as it is. Values are escaped by Jinja2's autoescape: file
names and messages may hold ``<`` or ``&``.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mouthsync.core.atomic import write_text_atomic
from mouthsync.sync.moments import Moment, closure_moments

THUMB_PX = 128
# A mouth crop is this many mouth widths on a side: lips, chin tip and nostrils in view.
CROP_WIDTHS = 2.2

_STATUS_TEXT = {
    "in_sync": ("In sync", "ok"),
    "detectable": ("Noticeable, still acceptable", "warn"),
    "out_of_sync": ("Out of sync", "bad"),
    "uncertain": ("Not sure", "unsure"),
    "unknown": ("Cannot measure", "unsure"),
    "no_face": ("Cannot measure", "unsure"),
}


def _jpeg_data_url(img: np.ndarray) -> str:
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _mouth_crop(img: np.ndarray, marks: np.ndarray, scale: float, sar: float = 1.0) -> np.ndarray | None:
    """A crop around the mouth (landmarks in source pixels, the picture scaled by
    ``scale``), square as shown (pixels ``sar`` times as wide as high), THUMB_PX on a side;
    None when the mouth is not in the frame."""
    import cv2

    from mouthsync.face.mouth import MOUTH_CORNER_L, MOUTH_CORNER_R, MOUTH_REGION

    pts = marks[list(MOUTH_REGION), :2] * scale
    if not np.isfinite(pts).all():
        return None
    cx, cy = pts.mean(axis=0)
    width = float(np.linalg.norm((marks[MOUTH_CORNER_L, :2] - marks[MOUTH_CORNER_R, :2]) * (sar, 1.0))) * scale
    half = max(16.0, CROP_WIDTHS * width / 2.0)  # in picture rows
    h, w = img.shape[:2]
    x0, y0 = int(round(cx - half / sar)), int(round(cy - half))
    x1, y1 = int(round(cx + half / sar)), int(round(cy + half))
    if x1 <= 0 or y1 <= 0 or x0 >= w or y0 >= h:
        return None
    pad = ((max(0, -y0), max(0, y1 - h)), (max(0, -x0), max(0, x1 - w)), (0, 0))
    crop = np.pad(img[max(0, y0):min(h, y1), max(0, x0):min(w, x1)], pad, mode="edge")
    return cv2.resize(crop, (THUMB_PX, THUMB_PX), interpolation=cv2.INTER_AREA)


def _moment_rows(report: Any, moments: list[Moment]) -> list[dict[str, Any]]:
    """Each moment with its two mouth thumbnails (heard / closed)."""
    from mouthsync.face.mouth import CLOSURE_THRESHOLD
    from mouthsync.media.decode import frames_at

    if not moments:
        return []
    track = report.evidence.track
    times = [t for m in moments for t in (m.heard_s, m.closed_s)]
    frames = frames_at(report.source, times, max_side=1280)
    tt = np.asarray(track.times)
    rows = []
    for k, m in enumerate(moments):
        pics = []
        for fr in frames[2 * k : 2 * k + 2]:
            i = int(np.argmin(np.abs(tt - fr.time)))
            scale = fr.image.shape[1] / float(track.width)
            crop = _mouth_crop(fr.image, track.landmarks[i], scale, track.sar) if track.valid[i] else None
            if crop is not None and fr.rotation:
                crop = np.ascontiguousarray(np.rot90(crop, fr.rotation // 90))  # phone footage: upright
            pics.append({"url": _jpeg_data_url(crop) if crop is not None else "", "time": fr.time})

        def state(a: float) -> str:
            return "no face" if not np.isfinite(a) else ("lips shut" if a < CLOSURE_THRESHOLD else f"open {a:.2f}")

        rows.append({
            "phone": m.phone, "heard_s": m.heard_s, "closed_s": m.closed_s, "delay_ms": m.delay_ms, "offset_ms": m.offset_ms,
            "delay_from": m.delay_from, "heard": pics[0], "closed": pics[1],
            "heard_state": state(m.aperture_heard), "closed_state": state(m.aperture_closed),
            "same_frame": abs(pics[0]["time"] - pics[1]["time"]) < 1e-6,
        })
    return rows


def _headline(d: dict[str, Any]) -> dict[str, Any]:
    v = d["verdict"]
    text, tone = _STATUS_TEXT.get(str(v.get("status")), (str(v.get("status", "")).replace("_", " "), "unsure"))
    delay = d["audio_delay_ms"]
    if delay is None:
        what = "no delay measured"
    elif abs(delay) < 0.5:
        what = "sound and picture together"
    else:
        what = f"sound {abs(delay):.0f} ms {'after' if delay > 0 else 'before'} the picture"
        if d.get("audio_delay_frames") is not None:
            what += f" ({abs(d['audio_delay_frames']):.1f} frames)"
    return {"text": text, "tone": tone, "what": what}


def _shot_openings(d: dict[str, Any]) -> list[str]:
    """How each shot begins: the file's start, then each shot change ``check`` reports
    (``details.shot_changes``: a cut, or a dissolve or dip to black with its span)."""
    if not d.get("shots"):
        return []
    out = ["start"]
    for c in (d.get("details") or {}).get("shot_changes") or []:
        out.append(c["kind"] + (f" {c['start_s']:.2f}-{c['end_s']:.2f} s" if "start_s" in c else ""))
    return out


# Words shown in full up to this many characters (a long programme's transcript is cut).
HEARD_CHARS = 1500


def _heard(report: Any) -> dict[str, str] | None:
    """What the phones came from, for a person to judge: the words given (aligned), the
    words the machine recognised, or phonetic recognition alone. A machine transcript
    that reads as nonsense (music, another language, a muffled or distant voice) explains
    a low confidence at a glance. None without evidence (the timelines were not kept)."""
    ev = getattr(report, "evidence", None)
    if ev is None or not ev.timelines:
        return None
    worded = [tl for tl in ev.timelines if tl.words]
    if not worded:
        return {"source": "phonetic recognition only (no words recognised or given)", "text": ""}
    tl = worded[0]
    text = " ".join(w.text for w in tl.words)
    if len(text) > HEARD_CHARS:
        text = text[:HEARD_CHARS].rsplit(" ", 1)[0] + " …"
    given = tl.mode == "align"
    return {"source": "the words given, aligned to the sound" if given
            else "the words the machine recognised (not checked by a person)", "text": text}


def render_html(report: Any, *, command: str = "", moments: int = 6) -> str:
    """The page for ``report`` (a :class:`~mouthsync.sync.report.SyncReport`); thumbnails of
    the lip closures only when it kept its evidence."""
    import jinja2

    from mouthsync import __version__
    from mouthsync.sync.plot import render_plot

    d = report.to_dict()
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(resources.files("mouthsync.sync").joinpath("templates/check_report.html").read_text("utf-8"))
    plot = "data:image/png;base64," + base64.b64encode(render_plot(report)).decode("ascii")
    return template.render(
        d=d,
        name=Path(report.source).name,
        headline=_headline(d),
        openings=_shot_openings(d),
        plot=plot,
        moments=_moment_rows(report, closure_moments(report, moments)),
        evidence=getattr(report, "evidence", None) is not None,
        heard=_heard(report),
        findings=d["findings"],
        created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        command=command,
    )


def write_html(report: Any, out: str | os.PathLike[str], inputs: tuple[str, ...] = (), *, command: str = "") -> Path:
    """Write the page atomically (nothing is left behind if it fails half-way)."""
    return write_text_atomic(out, render_html(report, command=command), inputs)
