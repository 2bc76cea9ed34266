"""``check --markers``: what ``check`` found, placed on the clip's timeline for an editor
(the formats: :mod:`mouthsync.media.markers`).

What becomes a marker (all from the report's JSON document, so a saved ``check --json``
gives the same markers): the whole file's verdict at the first frame (green in sync,
yellow detectable, red out of tolerance, blue uncertain); the sections a viewer will
notice (``verdict.sections``, red or yellow); steps inside a take (purple); in an edit,
each shot that reads more than a frame from the whole file that no section marks
(fuchsia); stretches only uncertain windows cover, with why (blue); speech over a still
mouth (cyan).

The subtitle track (``.srt``, ``.vtt``) shows, for every stretch, the delay the window
centred nearest it reads, and under it the marker that covers it: watching with it shows
whether what is measured is what is seen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mouthsync.media.markers import HEAD_SHOW_S, Clock, Cue, Marker, layered_cues, markers_document
from mouthsync.sync.report import off_whole_file_ms

_COLOURS = {"file": "Green", "out_of_sync": "Red", "detectable": "Yellow", "step": "Purple", "shot": "Fuchsia",
            "uncertain": "Blue", "still": "Cyan"}
_NAMES = {"out_of_sync": "out of sync", "detectable": "detectable", "step": "step to", "shot": "shot",
          "uncertain": "uncertain", "still": "still mouth"}


def _marker(start_s: float, end_s: float, kind: str, text: str, delay_ms: float | None = None,
            confidence: float | None = None, name: str = "") -> Marker:
    """A marker of ``kind`` (colour and name from it unless ``name`` is given)."""
    if not name:
        name = _NAMES[kind] + ("" if delay_ms is None else f" {delay_ms:+.0f} ms")
    return Marker(start_s, end_s, kind, _COLOURS[kind], name, text,
                  (("audio_delay_ms", None if delay_ms is None else f"{delay_ms:.1f}"),
                   ("confidence", None if confidence is None else f"{confidence:.3f}")))


def _frames(ms: float, fps: float) -> str:
    return f"{ms * fps / 1000.0:+.1f} f"


def _delay_words(ms: float | None, fps: float) -> str:
    if ms is None:
        return "not measured"
    return f"{ms:+.0f} ms ({_frames(ms, fps)})"


def file_marker(d: dict[str, Any]) -> Marker:
    """The whole file's delay and verdict, at its first frame."""
    v = d["verdict"]
    status = str(v.get("status", "unknown"))
    kind = {"out_of_sync": "out_of_sync", "detectable": "detectable", "in_sync": "file"}.get(status, "uncertain")
    said = status.replace("_", " ")
    why = f" ({v['reason']})" if v.get("reason") else ""
    drift = d.get("drift") or {}
    drifting = f", drifting {drift['ms_per_min']:+.1f} ms/min" if drift.get("kind") == "drift" else ""
    if d["audio_delay_ms"] is None:  # nothing to judge: say why
        text, head = f"mouthsync, whole file: not measured{why}", "mouthsync not measured"
    else:
        text = (f"mouthsync, whole file: sound {_delay_words(d['audio_delay_ms'], d['fps'])}{drifting}, conf "
                f"{d['confidence']:.2f}: {said} against {v.get('standard_name', v.get('standard', ''))}{why}")
        head = f"mouthsync {d['audio_delay_ms']:+.0f} ms {said}"
    start = d["windows"][0]["start_s"] if d.get("windows") else 0.0
    return _marker(start, start, kind, text, d["audio_delay_ms"], d["confidence"], name=head)


def _uncertain_runs(windows: list[dict[str, Any]]) -> list[tuple[float, float, str]]:
    """Stretches covered only by uncertain windows (a confident window's span cuts them),
    each with the most frequent reason among its windows (the first of equals)."""
    sure = [(w["start_s"], w["end_s"]) for w in windows if not w["uncertain"] and w["audio_delay_ms"] is not None]
    runs: list[list[Any]] = []
    for w in windows:
        if not w["uncertain"] and w["audio_delay_ms"] is not None:
            continue
        a, b = w["start_s"], w["end_s"]
        for s0, s1 in sure:  # the parts a confident window already measures are not uncertain
            if s0 <= a < s1:
                a = s1
            if s0 < b <= s1:
                b = s0
        if b - a < 0.5:
            continue
        if runs and a <= runs[-1][1] + 1e-6:
            runs[-1][1] = max(runs[-1][1], b)
            runs[-1][2].append(w.get("note") or "")
        else:
            runs.append([a, b, [w.get("note") or ""]])
    out = []
    for a, b, notes in runs:
        named = [n for n in notes if n]
        out.append((a, b, max(named, key=named.count) if named else "mouth and speech agree weakly"))
    return out


def report_markers(d: dict[str, Any]) -> list[Marker]:
    """Every marker of the ``check --json`` document ``d``, in time order (the file's own
    first)."""
    fps = float(d.get("fps") or 25.0)
    out: list[Marker] = []
    for sec in (d.get("verdict") or {}).get("sections", []):
        bad = sec["status"] == "out_of_sync"
        what = "out of tolerance" if bad else "detectable"
        shot = " (a shot)" if sec.get("shot") else " (a speaker's turn)" if sec.get("turn") else ""
        out.append(_marker(sec["start_s"], sec["end_s"], sec["status"],
                          f"sound {_delay_words(sec['audio_delay_ms'], fps)}{shot}: {what}", sec["audio_delay_ms"]))
    for st in d.get("steps") or []:
        if st.get("at_cut"):
            continue  # the shots say it
        out.append(_marker(st["at_s"], st["at_s"], "step",
                          f"delay steps {st['before_ms']:+.0f} -> {st['after_ms']:+.0f} ms ({_frames(st['step_ms'], fps)}): "
                          "sound dropped or inserted, or an audio edit", st["after_ms"]))
    shots = d.get("shots") or []
    if len(shots) > 1:
        for sh in shots:
            mid = 0.5 * (sh["start_s"] + sh["end_s"])
            off = off_whole_file_ms(d, sh["audio_delay_ms"], mid)
            if sh["uncertain"] or off is None or abs(off) <= 1000.0 / fps:
                continue
            if any(m.start_s <= mid <= m.end_s and m.kind in ("out_of_sync", "detectable") for m in out):
                continue  # a section already marks it
            out.append(_marker(sh["start_s"], sh["end_s"], "shot",
                              f"shot reads sound {_delay_words(sh['audio_delay_ms'], fps)}, the whole file "
                              f"{_delay_words(d['audio_delay_ms'], fps)}", sh["audio_delay_ms"], sh["confidence"]))
    if len(d.get("windows") or []) > 1:
        for a, b, why in _uncertain_runs(d["windows"]):
            out.append(_marker(a, b, "uncertain", f"not measured here: {why}"))
    for sp in d.get("still_mouth") or []:
        out.append(_marker(sp["start_s"], sp["end_s"], "still",
                          f"speech over a still mouth ({sp['what']}?): left out of the measurement"))
    out.sort(key=lambda m: (m.start_s, m.end_s))
    return [file_marker(d)] + out


def _reading_line(w: dict[str, Any], fps: float, where: str = "here") -> str:
    if w["audio_delay_ms"] is None:
        return f"{where}: not measured"
    flag = " (uncertain)" if w["uncertain"] else ""
    return f"{where}: sound {_delay_words(w['audio_delay_ms'], fps)}, conf {w['confidence']:.2f}{flag}"


def cues(d: dict[str, Any], markers: list[Marker]) -> list[Cue]:
    """Subtitle cues that follow each other without overlap: each stretch shows the delay
    read by the window centred nearest it, and under it what the markers say there (the
    whole file's verdict for the first seconds, a moment's marker for a few seconds). A file
    measured as one window shows its verdict throughout instead of the window's figure.

    In an edit, a window that spans a picture cut reads a mix of two shots (or nothing
    sure): a stretch shows its own shot's reading instead ("this shot: ..."), throughout a
    shot of up to two windows' length, and where the window spans a cut in a longer one."""
    windows = d.get("windows") or []
    if not windows:
        return []
    fps = float(d.get("fps") or 25.0)
    t0, t_end = windows[0]["start_s"], max(w["end_s"] for w in windows)
    one = len(windows) == 1
    centres = [0.5 * (w["start_s"] + w["end_s"]) for w in windows]
    head_s = t_end - t0 if one else HEAD_SHOW_S
    shots = d.get("shots") or []
    cuts = [sh["start_s"] for sh in shots[1:]] if len(shots) > 1 else []
    length = windows[0]["end_s"] - windows[0]["start_s"]

    def base(mid: float) -> str | None:
        if one:
            return None
        w = windows[min(range(len(windows)), key=lambda i: abs(centres[i] - mid))]
        shot = next((sh for sh in shots if sh["start_s"] <= mid < sh["end_s"]), None) if cuts else None
        if shot is not None and (shot["end_s"] - shot["start_s"] <= 2.0 * length
                                 or any(w["start_s"] < c < w["end_s"] for c in cuts)):
            return _reading_line(shot, fps, "this shot")
        return _reading_line(w, fps)

    return layered_cues(markers, t0, t_end, head_s=head_s, base=base,
                        bounds=[*(0.5 * (a + b) for a, b in zip(centres, centres[1:], strict=False)), *cuts])


def markers_text(d: dict[str, Any], fmt: str, clock: Clock) -> str:
    """The markers of the ``check --json`` document ``d`` in format ``fmt`` (a suffix)."""
    markers = report_markers(d)
    return markers_document(markers, cues(d, markers), fmt, clock,
                            f"mouthsync check {Path(str(d.get('source') or 'clip')).name}")
