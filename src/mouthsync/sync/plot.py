"""The ``check --plot`` figure: delay over time (per window) and the agreement curve.

Two panels because users ask two questions: *where* does the sync change (top: window
delays with confidence as marker opacity, the drift line, the tolerance band of the
chosen standard, the sections a viewer will notice shaded and, in an edit, the picture cuts
with each shot's own delay) and *how sure* is the number (bottom: the agreement over
candidate delays; one sharp peak is trustworthy, several similar peaks are not).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mouthsync.core.atomic import atomic_path
from mouthsync.core.errors import BadInput
from mouthsync.sync.standards import get_standard
from mouthsync.sync.steps import inside_takes


def drift_legend(drift: object) -> tuple[bool, str | None]:
    """Whether to draw the drift line, and its legend text.

    Only a drift is a line. Through the steps of an edit a fitted line shows a slope that
    is not there (an edit with +200 ms in its middle read "-157 ms/min"), so steps get a
    legend entry without a line.
    """
    kind = getattr(drift, "kind", None)
    slope = getattr(drift, "ms_per_min", None)
    if kind == "drift" and slope is not None and getattr(drift, "intercept_ms", None) is not None:
        return True, f"drift {slope:+.1f} ms/min"
    if kind == "steps":
        return False, "delay steps without a line: an edit or cut?"
    return False, None


# Picture formats by file suffix (``--plot out.jpg`` used to get PNG bytes under that name).
PLOT_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".svg": "svg", ".pdf": "pdf"}


def plot_format(out: str | os.PathLike[str]) -> str:
    """The picture format ``out``'s suffix asks for; :class:`BadInput` for one we cannot write."""
    fmt = PLOT_FORMATS.get(Path(out).suffix.lower())
    if fmt is None:
        raise BadInput(f"--plot {out}: give a .png, .jpg, .svg or .pdf file name")
    return fmt


def plot_report(report: object, out: str | os.PathLike[str], inputs: tuple[str, ...] = ()) -> Path:
    """Write the two-panel picture for a :class:`~mouthsync.sync.report.SyncReport`
    atomically, in the format its suffix names."""
    data = render_plot(report, plot_format(out))
    out = Path(out)
    with atomic_path(out, inputs) as tmp:
        tmp.write_bytes(data)
    return out


def render_plot(report: object, fmt: str = "png") -> bytes:
    """The two-panel picture (delay over time, agreement over candidate delays) as bytes."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rep = report
    st = get_standard(rep.verdict.get("standard", "bt1359"))  # type: ignore[attr-defined]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6.5), constrained_layout=True)
    ax1.axhspan(-st.early_ms, st.late_ms, color="tab:green", alpha=0.12, label=f"{st.name} tolerance")
    ax1.axhline(0, color="0.6", lw=0.8)
    for i, sec in enumerate(rep.verdict.get("sections", [])):  # type: ignore[attr-defined]
        ax1.axvspan(sec["start_s"], sec["end_s"], color="tab:red", alpha=0.10,
                    label="sections a viewer will notice" if i == 0 else None)
    for i, st in enumerate(getattr(rep, "still", None) or []):
        ax1.axvspan(st.start_s, st.end_s, color="0.5", alpha=0.15, hatch="//",
                    label="speech over a still mouth (not measured)" if i == 0 else None)
    wins = rep.windows  # type: ignore[attr-defined]
    for w in wins:
        if w.audio_delay_ms is None:
            continue
        alpha = 0.25 + 0.75 * float(w.confidence)
        ax1.plot([w.start_s, w.end_s], [w.audio_delay_ms] * 2, color="tab:blue", alpha=alpha, lw=2)
        ax1.plot([(w.start_s + w.end_s) / 2], [w.audio_delay_ms], "o", color="tab:red" if w.uncertain else "tab:blue", alpha=alpha)
    for i, sh in enumerate(getattr(rep, "shots", None) or []):
        # the cuts, and each shot's own delay as a bar across it (hollow when uncertain)
        if i:  # the first shot starts with the file, not at a cut
            ax1.axvline(sh.start_s, color="0.35", lw=0.6, ls="--", label="shot changes (cuts, dissolves)" if i == 1 else None)
        if sh.audio_delay_ms is not None:
            ax1.plot([sh.start_s, sh.end_s], [sh.audio_delay_ms] * 2, color="black", lw=3.5,
                     alpha=0.3 if sh.uncertain else 0.85, solid_capstyle="butt",
                     label="delay per shot (faint: uncertain)" if i == 0 else None)
    inside = inside_takes(rep.steps)  # type: ignore[attr-defined]
    for i, sp in enumerate(inside):
        # a step inside a shot: the span it lies in, and each part's delay up to and from it
        if sp.hi_s - sp.lo_s > 0.05:
            ax1.axvspan(sp.lo_s, sp.hi_s, color="tab:orange", alpha=0.25, label="delay steps here" if i == 0 else None)
        else:  # placed to the sample (inserted silence)
            ax1.axvline(sp.at_s, color="tab:orange", lw=1.5, label="delay steps here" if i == 0 else None)
        a = inside[i - 1].cut_s if i else (wins[0].start_s if wins else sp.cut_s)
        b = inside[i + 1].cut_s if i + 1 < len(inside) else (wins[-1].end_s if wins else sp.cut_s)
        ax1.plot([a, sp.cut_s], [sp.before_ms] * 2, color="tab:orange", lw=2.5,
                 label="delay per part (fix --delay steps)" if i == 0 else None)
        ax1.plot([sp.cut_s, b], [sp.after_ms] * 2, color="tab:orange", lw=2.5)
    drift = rep.drift  # type: ignore[attr-defined]
    line, label = drift_legend(drift)
    if inside:  # the steps found are drawn above: no vaguer "without a line" entry
        label = None if not line else label
    if line and wins:
        x = np.array([wins[0].start_s, wins[-1].end_s])
        ax1.plot(x, drift.at(x), "--", color="tab:orange", label=label)
    elif label:
        ax1.plot([], [], " ", label=label)
    if rep.audio_delay_ms is not None:  # type: ignore[attr-defined]
        ax1.axhline(rep.audio_delay_ms, color="tab:purple", lw=1, ls=":", label=f"overall {rep.audio_delay_ms:+.0f} ms")  # type: ignore[attr-defined]
    ax1.set_xlabel("time (s)")
    ax1.set_ylabel("audio delay (ms, + = sound late)")
    ax1.set_title(f"{Path(rep.source).name}: delay per window (opacity = confidence)")  # type: ignore[attr-defined]
    ax1.legend(loc="best", fontsize=8)
    curve = rep.curve  # type: ignore[attr-defined]
    if curve is not None and np.isfinite(curve.agreement).any():
        ax2.plot(curve.delays_ms, curve.agreement, color="tab:blue", label="combined agreement (z)")
        if rep.audio_delay_ms is not None:  # type: ignore[attr-defined]
            ax2.axvline(rep.audio_delay_ms, color="tab:purple", ls=":", label="estimate")  # type: ignore[attr-defined]
        ax2.legend(loc="best", fontsize=8)
    else:
        ax2.text(0.5, 0.5, "no agreement curve (no face or no speech)", ha="center", va="center", transform=ax2.transAxes)
    ax2.set_xlabel("candidate audio delay (ms)")
    ax2.set_ylabel("agreement")
    at = (getattr(rep, "details", None) or {}).get("delay_at_s")
    where = "" if at is None else f" at {at:.0f} s, the drift undone"
    ax2.set_title(f"agreement over candidate delays{where} (confidence {rep.confidence:.2f})")  # type: ignore[attr-defined]
    buf = io.BytesIO()
    fig.savefig(buf, dpi=110, format=fmt)
    plt.close(fig)
    return buf.getvalue()
