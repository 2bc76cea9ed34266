"""Where the delay changes inside a take, and where a correction can cut without being heard.

Why: a recorder or streaming encoder that drops or inserts a block of sound, or an audio
edit slipped against an unbroken picture, leaves a take whose first part is in sync and
whose rest is a few frames off. The windows of ``check`` show two levels (``drift.kind``
``"steps"``), but only to the hop of the windows (2.5 s), and there is no picture cut to
move the sound at (``fix --delay shots``). This module finds each step:

1. **Runs**: consecutive confident windows that read within a frame of each other; a
   lone window that disagrees with both neighbours is not a run (one bad window is not an
   edit), except at either end of the file when the uncertain window beside it agrees.
2. **The step**: between two runs, the time where the mouth agrees best with the sound
   taken at the first run's delay before it and the second run's after it
   (:meth:`~mouthsync.sync.signals.Signals.split_fit`, 40 ms steps over the span the two
   runs' windows leave open).
3. **The cut**: a move inside a pause is silent. The pause in the sound that covers both
   delays nearest to the step (within :data:`MAX_CUT_MOVE_S`) takes the cut; without one,
   the cut goes at the step itself (with the short cross-fade of ``media.remux``). A
   picture cut near the step is an edit: the step is the cut (``fix --delay shots`` moves
   whole shots; ``--delay steps`` switches there too).
   When the sound comes later after the step and a block of digital silence about as
   long as the step lies in the span (what a recorder or encoder writes into a dropout),
   the step is where the block starts, to the sample, and the switch skips it whole.
4. **The ends**: before the first run and after the last, no run on the other side can
   show a step; there a block of inserted digital silence of two frames or more is a
   step when the mouth agrees (:func:`_dropouts_at_the_ends`).
5. **The parts' delays**: each stretch between cuts is measured again on its own frames,
   to better than a frame; a stretch that cannot be measured keeps its run's median.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mouthsync.audio.silence import silent_runs
from mouthsync.sync.drift import DriftFit

# Split candidates every 40 ms: one frame at 25 fps (the step cannot be placed finer
# than the picture shows it).
SPLIT_STEP_S = 0.04
# Frames either side of the bracket that take part in the split fit, so that a bracket of a
# second or two still has several seconds of speech to correlate.
CONTEXT_S = 2.5
# Splits whose fit is within this share of the gain, or PLATEAU_MIN, of the best one are
# as good as the best: the step lies somewhere in that plateau. PLATEAU_MIN is the split
# fit's own jitter from one 40 ms split to the next on the shared clips (0.005-0.015).
PLATEAU_SHARE = 0.01
PLATEAU_MIN = 0.012
# Frames this long before and after a picture cut stay out of the split fit.
CUT_GUARD_S = (0.2, 0.4)
# A picture cut this close to the plateau of a step is where the step is.
CUT_SNAP_S = 0.3
# A step must fit the mouth better than either delay alone by this much (correlation):
# measured 0.10-0.30 for steps of 120-320 ms made in the shared clips.
MIN_GAIN = 0.03
# A pause this far from the step still takes the cut (the speech between them moves by
# the wrong part's delay; a pause cut is silent, a cut in a word is not).
MAX_CUT_MOVE_S = 1.0
# Shortest pause, beyond the difference of the two delays, that hides a cut and its fade
# (5 ms, media.remux.PIECE_FADE_S) with room for where speech activity ends.
MIN_PAUSE_MARGIN_S = 0.02


@dataclass
class DelayStep:
    """One change of the delay inside the file (check's sign, ms; times on the picture's
    clock). ``cut_s`` is where ``fix --delay steps`` switches from one delay to the next:
    the middle of a pause when one is near (``in_pause``), else ``at_s``."""

    at_s: float
    cut_s: float
    before_ms: float
    after_ms: float
    lo_s: float  # the step lies between lo_s and hi_s (the plateau of the split fit)
    hi_s: float
    gain: float  # split fit at the step minus the better single delay (correlation units)
    in_pause: bool
    at_cut: bool = False  # at a picture cut (an edit): the switch is the cut itself
    # what placed it: "mouth" (the split fit), "cut" (a picture cut), "inserted silence"
    placed_by: str = "mouth"

    def to_dict(self) -> dict[str, Any]:
        return {
            "at_s": round(self.at_s, 3),
            "cut_s": round(self.cut_s, 3),
            "before_ms": round(self.before_ms, 1),
            "after_ms": round(self.after_ms, 1),
            "step_ms": round(self.after_ms - self.before_ms, 1),
            "between_s": [round(self.lo_s, 3), round(self.hi_s, 3)],
            "gain": round(self.gain, 4),
            "in_pause": self.in_pause,
            "at_cut": self.at_cut,
            "placed_by": self.placed_by,
        }


def inside_takes(steps: list[Any] | None) -> list[Any]:
    """The steps that lie inside a take (a dropout, an audio edit), not at a picture cut,
    where the shots already say the delay changes. ``steps``: :class:`DelayStep` objects or
    their dicts (``check --json``)."""
    return [s for s in steps or [] if not (s.get("at_cut") if isinstance(s, dict) else s.at_cut)]


def delay_runs(windows: list[Any], frame_ms: float) -> list[list[Any]]:
    """Runs of consecutive confident windows whose delays stay within a frame of the
    run's median; runs of one window are dropped, then neighbours that agree are joined.

    At either end of the file one confident window makes a run when the uncertain window
    next to it reads within a frame of it: a step in the last few seconds leaves room for
    only one confident window after it (a +160 ms step at 41 s of 50: 148 and 188 ms
    uncertain, then 180 ms at 0.60)."""
    runs: list[list[Any]] = []
    for w in windows:
        if w.uncertain or w.audio_delay_ms is None:
            continue
        if runs and abs(w.audio_delay_ms - _median(runs[-1])) <= frame_ms:
            runs[-1].append(w)
        else:
            runs.append([w])
    joined: list[list[Any]] = []
    for n, r in enumerate(runs):
        if len(r) < 2 and not (n in (0, len(runs) - 1) and _backed_at_end(r[0], windows, frame_ms, n == 0)):
            continue
        if joined and abs(_median(r) - _median(joined[-1])) <= frame_ms:
            joined[-1].extend(r)
        else:
            joined.append(r)
    return joined


def steps_beat_line(runs: list[list[Any]], drift: Any, frame_ms: float) -> bool:
    """Whether window delays that the robust line reads as a drift are better told as
    steps: every confident window within a frame of its run's median, while the line misses
    some by more than two frames, or by more than one and a half with twice the levels'
    spread. A step late in a file bends the line into a slope (a
    +320 ms step at 36 s of 50 read as "+53 ms/min, NTSC pull-down"); a clock drift follows
    its line. ``runs``: :func:`delay_runs` of the windows."""
    if not drift.has_line:
        return False
    if len(runs) < 2:
        return False
    line = np.array([w.audio_delay_ms - drift.at(0.5 * (w.start_s + w.end_s)) for r in runs for w in r])
    level = np.array([w.audio_delay_ms - _median(r) for r in runs for w in r])
    if np.max(np.abs(level)) > frame_ms:
        return False
    # a far miss, or a line that misses every window more than the levels do (a 120 ms
    # step in the middle of 50 s reads as a 144 ms/min slope missing both ends by ~60 ms)
    rms_line, rms_level = float(np.sqrt(np.mean(line**2))), float(np.sqrt(np.mean(level**2)))
    return bool(np.max(np.abs(line)) > 2.0 * frame_ms
                or (np.max(np.abs(line)) > 1.5 * frame_ms and rms_line > 2.0 * rms_level))


def shots_refute_line(shots: list[Any], drift: Any, frame_ms: float) -> bool:
    """Whether the shots of an edit say that a drift line is the wrong reading: two or more
    confident shots, and one of them more than two frames off the line at its middle.

    Why: across cuts the windows that straddle a cut read in between the shots' delays,
    so a few steps can line up as a slope (a 15 s edit with dissolves, shots +38, +247 and
    +192 ms, read "+832 ms/min"). A take that really drifts, cut into shots, keeps every
    shot on its line."""
    if not drift.has_line:
        return False
    good = [s for s in shots if s.audio_delay_ms is not None and not s.uncertain]
    if len(good) < 2:
        return False
    off = [abs(s.audio_delay_ms - drift.at(0.5 * (s.start_s + s.end_s))) for s in good]
    return bool(max(off) > 2.0 * frame_ms)


def note_shot_changes(windows: list[Any], shots: list[Any], frame_ms: float, drift: DriftFit | None = None) -> None:
    """Say why an uncertain window reads badly when it spans a change between two confident
    shots that disagree by more than a frame: each side has its own delay, so no single
    delay fits the window ("several delays fit about equally well" said the same less
    usefully). With a ``drift`` line, shots disagree when they lie apart from the line (a
    steep drift moves every shot's delay). Changes ``windows``' notes in place."""
    drifting = drift is not None and drift.has_line

    def off_line(x: Any) -> float:
        return float(x.audio_delay_ms) - (float(drift.at(0.5 * (x.start_s + x.end_s))) if drifting else 0.0)  # type: ignore[union-attr]

    for left, right in zip(shots, shots[1:], strict=False):
        if (left.uncertain or right.uncertain or left.audio_delay_ms is None or right.audio_delay_ms is None
                or abs(off_line(left) - off_line(right)) <= frame_ms):
            continue
        at = right.start_s
        for w in windows:
            if w.uncertain and w.start_s < at < w.end_s:
                w.note = (f"spans the shot change at {at:.2f} s: the shots either side read "
                          f"{left.audio_delay_ms:+.0f} and {right.audio_delay_ms:+.0f} ms")


def inserted_silence(audio: Any, before_s: float, after_s: float, lo: float, hi: float, at: float) -> float | None:
    """Picture time where a block of digital silence as long as the step (0.8-1.5 times)
    starts, when the sound comes later after the step and such a block lies in ``[lo, hi]``
    (the one nearest ``at``); None otherwise.

    Why: the commonest step is a recorder or streaming encoder that filled a dropout with
    zeros. Its start places the step to the sample where the mouth places it to a few
    tenths of a second (docs/sync.md, item 11). Natural pauses are rarely exact zeros, and
    one that is must also be the step's length."""
    step = after_s - before_s
    if audio is None or step <= 0:
        return None
    runs = _zero_blocks(audio, lo + before_s, hi + after_s, 0.8 * step)
    starts = [z0 - before_s for z0, z1 in runs if z1 - z0 <= 1.5 * step and lo <= z0 - before_s <= hi]
    return min(starts, key=lambda t: abs(t - at)) if starts else None


def _zero_blocks(audio: Any, t0: float, t1: float, min_s: float) -> list[tuple[float, float]]:
    """Blocks of digital silence at least ``min_s`` long within ``[t0, t1]`` of the sound's
    own times."""
    rate, start = int(audio.rate), float(audio.start)
    a0 = max(0, int((t0 - start) * rate))
    a1 = min(audio.samples.shape[-1], int((t1 - start) * rate) + 1)
    return silent_runs(audio.samples[..., a0:a1], rate, start + a0 / rate, min_s) if a1 > a0 else []


def _backed_at_end(w: Any, windows: list[Any], frame_ms: float, first: bool) -> bool:
    """Whether ``w``, the first (``first``) or last confident window, has an uncertain
    window on its inner side that reads within a frame of it."""
    i = windows.index(w)
    j = i + 1 if first else i - 1
    if not 0 <= j < len(windows):
        return False
    v = windows[j]
    return bool(v.uncertain and v.audio_delay_ms is not None and abs(v.audio_delay_ms - w.audio_delay_ms) <= frame_ms)


def _median(run: list[Any]) -> float:
    return float(np.median([w.audio_delay_ms for w in run]))


def pauses_in(speech: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Gaps between the speech segments (times of the sound file)."""
    segs = sorted(speech)
    return [(a_end, b_start) for (_, a_end), (b_start, _) in zip(segs, segs[1:], strict=False) if b_start > a_end]


def cut_for(at_s: float, before_s: float, after_s: float, pauses: list[tuple[float, float]],
            lo: float, hi: float) -> tuple[float, bool]:
    """Where to switch delays near ``at_s`` (picture time), and whether it is in a pause.

    The output sound at picture time ``t`` is the input's at ``t + delay``: a cut at ``c``
    is silent when the input is silent over ``[c + min(delays), c + max(delays)]`` plus a
    margin for the fade, so the pause must be longer than the step."""
    need = abs(after_s - before_s) + MIN_PAUSE_MARGIN_S
    best: tuple[float, float] | None = None
    for p0, p1 in pauses:
        if p1 - p0 < need:
            continue
        c = 0.5 * (p0 + p1) - 0.5 * (before_s + after_s)
        if not (lo <= c <= hi) or abs(c - at_s) > MAX_CUT_MOVE_S:
            continue
        if best is None or abs(c - at_s) < best[0]:
            best = (abs(c - at_s), c)
    return (best[1], True) if best is not None else (at_s, False)


def find_steps(
    sig: Any,
    runs: list[list[Any]],
    weights: dict[str, float],
    frame_ms: float,
    calibration_ms: float,
    measure: Callable[[np.ndarray], float | None],
    shots: list[Any] | None = None,
) -> list[DelayStep]:
    """Every step between ``runs`` of window delays (:func:`delay_runs`; see the module
    docstring), and a block of
    inserted digital silence before the first run or after the last
    (:func:`_dropouts_at_the_ends`); [] when there is none.

    ``sig``: the delay search's :class:`~mouthsync.sync.signals.Signals`; ``measure(sel)``:
    the delay (raw s) of the frames ``sel`` measured alone, or None when that is not
    confident (the parts' own readings). ``shots``: an edit's per-shot estimates (none for
    one take). Their picture cuts: the frames around each are left out of the split fit
    (the tracker restarts there and an edit's sound jumps with the picture, so those frames
    favour whichever delay by accident), and a step near one is placed on it. A confident
    shot between two runs that reads neither run's delay shows a third level there
    (:func:`_third_level`), and then no step is reported: the shots describe the edit."""
    if not runs:
        return []
    shots = shots or []
    if any(_third_level(shots, a, b, frame_ms) for a, b in zip(runs, runs[1:], strict=False)):
        return []
    cuts = [sh.start_s for sh in shots[1:]]
    times = sig.times
    usable = np.ones(times.size, dtype=bool)
    for c in cuts:
        usable &= ~((times >= c - CUT_GUARD_S[0]) & (times < c + CUT_GUARD_S[1]))
    pauses = pauses_in(sig.speech)
    raw = [(_median(r) + calibration_ms) / 1000.0 for r in runs]
    # at, cut, lo, hi, gain, in pause, placed by, raw delay before, raw delay after
    found: list[tuple[float, float, float, float, float, bool, str, float, float]] = []
    for i in range(len(runs) - 1):
        a_run, b_run = runs[i], runs[i + 1]
        lo = a_run[-1].start_s
        hi = b_run[0].end_s
        if found:
            lo = max(lo, found[-1][1] + SPLIT_STEP_S)
        ctx = usable & (times >= max(a_run[0].start_s, lo - CONTEXT_S)) & (times <= min(b_run[-1].end_s, hi + CONTEXT_S))
        splits = np.arange(lo, hi + 1e-9, SPLIT_STEP_S)
        if splits.size == 0 or ctx.sum() < 16:
            return []  # the parts would no longer match the runs: say nothing rather
        t_ctx = times[ctx]
        # the last two splits fall outside the frames: one delay throughout, either one
        both = sig.split_fit(ctx, raw[i], raw[i + 1], np.r_[splits, t_ctx[0] - 1.0, t_ctx[-1] + 1.0], weights)
        fit, ends = both[:-2], both[-2:]
        if fit.size >= 3:  # one split's noise must not break a plateau in two
            fit = np.median(np.stack([np.r_[fit[0], fit[:-1]], fit, np.r_[fit[1:], fit[-1]]]), axis=0)
        k = int(np.argmax(fit))
        gain = float(fit[k] - np.max(ends))
        # Where the mouth says little (a pause, a weak stretch) every split there fits
        # alike: the step is the middle of the plateau around the best split, not its edge.
        near = fit >= fit[k] - max(PLATEAU_MIN, PLATEAU_SHARE * gain)
        a_k, b_k = k, k
        while a_k > 0 and near[a_k - 1]:
            a_k -= 1
        while b_k < splits.size - 1 and near[b_k + 1]:
            b_k += 1
        at = 0.5 * float(splits[a_k] + splits[b_k])
        near_cuts = [c for c in cuts if splits[a_k] - CUT_SNAP_S <= c <= splits[b_k] + CUT_SNAP_S]
        if near_cuts:
            # an edit: the sound changes with the picture, and the cut is exact to the frame
            at = min(near_cuts, key=lambda c: abs(c - at))
            found.append((at, at, float(splits[a_k]), float(splits[b_k]), gain, False, "cut", raw[i], raw[i + 1]))
            continue
        gap = inserted_silence(sig.audio, raw[i], raw[i + 1], lo, hi, at)
        if gap is not None:
            # the block a recorder or encoder inserted: the step is where it starts, to the
            # sample, and a switch there skips it whole
            found.append((gap, gap, gap, gap, gain, True, "inserted silence", raw[i], raw[i + 1]))
            continue
        cut, in_pause = cut_for(at, raw[i], raw[i + 1], pauses, lo, hi)
        found.append((at, cut, float(splits[a_k]), float(splits[b_k]), gain, in_pause, "mouth", raw[i], raw[i + 1]))
    if found and min(f[4] for f in found) < MIN_GAIN:
        return []  # a split no better than one delay: two runs of windows, not a step
    found = _dropouts_at_the_ends(sig, runs, raw, usable, weights, frame_ms) [:1] + found \
        + _dropouts_at_the_ends(sig, runs, raw, usable, weights, frame_ms, tail=True)[:1]
    if not found:
        return []
    # each part between cuts measured on its own frames; the run's median when it cannot be
    edges = [float(times[0]) - 1e-6, *(f[1] for f in found), float(times[-1]) + 1e-6]
    part_ms = []
    for j in range(len(edges) - 1):
        sel = (times >= edges[j]) & (times < edges[j + 1])
        d = measure(sel) if sel.sum() >= 16 else None
        # what the windows read there: the delay before the first step, else after the last
        run_ms = (found[0][7] if j == 0 else found[j - 1][8]) * 1000.0 - calibration_ms
        ms = run_ms if d is None else d * 1000.0 - calibration_ms
        part_ms.append(ms if abs(ms - run_ms) <= frame_ms else run_ms)
    return [DelayStep(at_s=at, cut_s=cut, before_ms=part_ms[j], after_ms=part_ms[j + 1], lo_s=lo, hi_s=hi,
                      gain=gain, in_pause=pause, at_cut=by == "cut", placed_by=by)
            for j, (at, cut, lo, hi, gain, pause, by, _, _) in enumerate(found)]


def _third_level(shots: list[Any], a_run: list[Any], b_run: list[Any], frame_ms: float) -> bool:
    """Whether a confident shot lying between the runs ``a_run`` and ``b_run`` (its middle
    past the last window of the one, before the first of the other) reads more than a frame
    from both runs' delays.

    Why: with the windows between two runs uncertain, the split fit places one step between
    them even when the sound changed twice, at two picture cuts. A 65 s edit whose sound was
    +200 ms over 10-21.5 s, in sync over 21.5-31.5 s and -120 ms after read "the delay steps
    from +201 to -110 ms at 22.2 s, inside speech", in the middle of shots that read +50 and
    +25 ms; ``fix --delay steps`` would have moved them by either."""
    lo = 0.5 * (a_run[-1].start_s + a_run[-1].end_s)
    hi = 0.5 * (b_run[0].start_s + b_run[0].end_s)
    levels = (_median(a_run), _median(b_run))
    for sh in shots:
        if sh.uncertain or sh.audio_delay_ms is None or not lo < 0.5 * (sh.start_s + sh.end_s) < hi:
            continue
        if all(abs(sh.audio_delay_ms - x) > frame_ms for x in levels):
            return True
    return False


def _dropouts_at_the_ends(
    sig: Any, runs: list[list[Any]], raw: list[float], usable: np.ndarray, weights: dict[str, float],
    frame_ms: float, tail: bool = False,
) -> list[tuple[float, float, float, float, float, bool, str, float, float]]:
    """Steps made by a block of inserted digital silence before the first run of windows
    (or after the last, ``tail``), where no run on the other side can show them: a dropout
    in the first seconds leaves every window but the first at the later delay. A block of
    two frames or more is taken when the mouth agrees: the sound at the run's delay on the
    run's side of the block and that less (more) the block's length on the other side fits
    better, by :data:`MIN_GAIN`, than either delay alone."""
    audio = getattr(sig, "audio", None)
    if audio is None or not runs:
        return []
    times = sig.times
    edge_run = runs[-1] if tail else runs[0]
    d_run = raw[-1] if tail else raw[0]
    # picture span the run's windows do not cover on that side
    lo, hi = ((0.5 * (edge_run[-1].start_s + edge_run[-1].end_s), float(times[-1])) if tail
              else (float(times[0]), 0.5 * (edge_run[0].start_s + edge_run[0].end_s)))
    if hi - lo < 0.5:
        return []
    start = float(audio.start)
    end = start + audio.samples.shape[-1] / float(audio.rate)
    out = []
    for z0, z1 in _zero_blocks(audio, lo + d_run - 1.0, hi + d_run + 1.0, 2.0 * frame_ms / 1000.0):
        length = z1 - z0
        before, after = (d_run, d_run + length) if tail else (d_run - length, d_run)
        at = z0 - before
        if not (lo <= at <= hi) or length > 1.0 or z0 <= start + 1e-3 or z1 >= end - 1e-3:
            continue  # (silence the sound starts or ends with is padding, not a dropout)
        ctx = usable & (times >= min(lo, at) - CONTEXT_S) & (times <= max(hi, at) + CONTEXT_S)
        if ctx.sum() < 16:
            continue
        t_ctx = times[ctx]
        fit = sig.split_fit(ctx, before, after, np.array([at, t_ctx[0] - 1.0, t_ctx[-1] + 1.0]), weights)
        gain = float(fit[0] - max(fit[1], fit[2]))
        if gain >= MIN_GAIN:
            out.append((at, at, at, at, gain, True, "inserted silence", before, after))
    return sorted(out, key=lambda f: -f[4])
