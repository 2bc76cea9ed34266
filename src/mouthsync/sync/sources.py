"""Which speech timelines ``check`` measures with, and when fewer of them settle it: the
aligned machine transcript is a third of a cold check's CPU, and long clear speech is
decided by phonetic recognition alone (:func:`settled`, :func:`cascade_levels`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mouthsync.media.decode import Audio
from mouthsync.sync.report import SyncReport
from mouthsync.sync.search import GRID_STEP_S

# Phones from a machine transcript force-aligned ("auto") predict the mouth better than
# phonetic recognition (docs/speech.md); None = allphone recognition (~4x cheaper). With
# "auto" the allphone timeline is computed too and both are averaged (``timelines_for``).
DEFAULT_TRANSCRIPT: str | None = "auto"
# ``transcript=ALWAYS``: the three sources of ``"auto"`` even when the phones alone settle it.
ALWAYS = "always"
# ``audio.timeline.AUTO`` (the machine transcript), spelt here so that this module imports
# nothing heavy (a test holds the two together)
AUTO_MODE = "auto"
# One speech timeline ``check`` averages: (transcript setting, recogniser front end).
Source = tuple[str | None, str]


def ensemble_modes(transcript: str | None) -> list[Source]:
    """The speech timelines ``check`` averages for a ``transcript`` setting.

    ``"auto"``: the aligned machine transcript and phonetic recognition with two front
    ends (batch and live cepstral normalisation). The three make different mistakes; on
    the shift protocol their mean followed 95.7 % of whole-frame shifts (auto alone 92.5,
    allphone alone 86.7), kept more of them under noise (pink 80 / other voice 77 %,
    against 78 / 63 for auto alone) and is the only mix tried whose confidence separates
    every clip from all five other speakers (docs/sync.md, "Several phone sources").
    ``analyse`` then weighs them by how well each alone fits the face (``source_searches``).
    A given transcript is aligned alone (it is the best phone source there is);
    ``None``: allphone alone (the fast mode).
    """
    if transcript is not None and transcript.strip().lower() in (AUTO_MODE, ALWAYS):
        return [(AUTO_MODE, "batch"), (None, "batch"), (None, "live")]
    return [(transcript, "batch")]


def given_words(transcript: str | None) -> bool:
    """Whether ``transcript`` is the user's own text (not a mode: ``auto``, ``always``,
    ``None`` for phonetic recognition alone)."""
    return transcript is not None and bool(transcript.strip()) and transcript.strip().lower() not in (AUTO_MODE, ALWAYS)


def decides_early(transcript: str | None) -> bool:
    """Whether ``check`` may decide without the aligned transcript (``"auto"``, see
    :func:`settled`); ``"always"``, a given text or ``None`` fix the sources up front."""
    return transcript is not None and transcript.strip().lower() == AUTO_MODE


# Phonetic recognition alone settles the delay at this confidence (see ``settled``). On
# the shift protocol (801 copies of the 9 shared clips, clean, noisy, re-encoded) the two
# allphone sources alone were within a frame in 100 % of the 124 copies where they read
# >= 0.8, batch allphone alone in 73 of 73, and taking their answer there leaves every
# figure of bench/sync_accuracy.py as it was with the transcript always used
# (docs/sync.md, "Deciding without the words").
SETTLED_CONFIDENCE = 0.8
# Audio at least this long (and not noisy) starts only the first step's source: long clear
# speech usually settles there, short audio rarely does (85 of the protocol's 801 copies).
LONG_AUDIO_S = 20.0


def settled(fast: SyncReport, before: SyncReport | None = None) -> bool:
    """Whether a report from fewer phone sources (``cascade_levels``) is decisive, so that
    more sources, above all the aligned machine transcript, a third of the CPU of a cold
    ``check`` (~8-10 CPU-s per minute of speech, one thread), would not change the answer.

    Why a cascade: the transcript earns its place where the evidence is scarce or poor (a
    few seconds of speech, noise, a second voice); where the phones alone agree with the
    face clearly it only costs time. A clip that drifts or whose windows disagree without
    a line (an edit) always gets the transcript: the answer there is the delay over time,
    which every source sharpens (a 1001/1000 stretch read 65 ms/min from the phones alone,
    59-61 with the transcript; the true figure is 60). The decision depends on the
    evidence only, never on which timelines happen to be cached, so the same input always
    gives the same report.

    Likewise an edit with a shot whose own reading is more than a frame away from the
    whole file, however unsure: one phone source read a 5 s shot made 200 ms late as
    +742 ms at confidence 0.10 in a file that settled at 0.97 on it, where every source
    reads +220 at 0.40. Shots that agree with the file (confident or not) settle as before.
    The same for a meeting's speakers (``details["turns"]``, :mod:`mouthsync.sync.turns`)
    and for faces that talk in turns but read too unsure to count
    (``details["unsure_speakers"]``): one allphone pass read a speaker's 4.8 s turn in a
    2x2 gallery at the right delay at confidence 0.00, every source at 0.49.

    ``before``: the previous step's report (fewer sources). A step settles only where it
    agrees with it within a frame: the source a step adds must confirm the earlier reading,
    not overturn it. Under another voice 22 dB down, voxceleb_620900105's live-CMN
    allphone pass alone read -707 ms at 0.85 and, with batch allphone (+21 ms at 0.17),
    settled there at 0.88; every source together reads +27 ms, the clip's own delay. On
    the 1044 copies of the protocol and the 16 and 22 dB voice groups this rule changes
    no other answer and sends one more copy to the transcript.
    """
    if fast.audio_delay_ms is None or fast.drift.kind in ("steps", "drift"):
        return False
    frame_ms = 1000.0 / fast.fps if fast.fps else 40.0
    here = fast.audio_delay_ms

    def apart(delay_ms: float | None) -> bool:  # more than a frame from the file's reading
        return delay_ms is not None and abs(delay_ms - here) > frame_ms

    if before is not None and apart(before.audio_delay_ms):
        return False
    # a shot read at the search's edge has no peak, and says nothing of the edit
    if any(apart(s.audio_delay_ms) and not at_search_edge(fast, s.audio_delay_ms) for s in fast.shots):
        return False
    # a window that reads confidently more than a frame from the file, alone (one window is
    # no steps to the drift line): more sources read it again. Session 30: in a 38 s edit
    # one allphone pass settled at 0.8 while a window across a cut read +473 ms at 0.34
    # and a 5 s shot 0.00; every source reads that window uncertain and the shot at 0.97.
    if any(apart(w.audio_delay_ms) and not w.uncertain for w in fast.windows):
        return False
    # a meeting (``sync.turns``): every speaker's own reading is the answer, as every shot's
    # is in an edit; and a face that talks in turns but read too unsure to count
    if fast.details.get("unsure_speakers") or any(apart(t.get("audio_delay_ms")) for t in fast.details.get("turns") or []):
        return False
    return fast.confidence >= SETTLED_CONFIDENCE


def at_search_edge(rep: SyncReport, delay_ms: float | None = None) -> bool:
    """Whether a delay of ``rep`` (its own by default; a shot's or window's, calibrated, if
    given) is the first or last candidate its search tried (``details["search_ms"]``,
    raw): the best there, not a peak.

    Such a shot says nothing about the edit (:func:`settled`). Session 30: in the speed
    benchmark's one take a 5 s shot's agreement at -800 ms beat its peak at +18 by 0.01 z
    with one allphone pass (confidence 0.00), and sent the take on to a second pass (6.3x
    real time against 10x)."""
    lo_hi = rep.details.get("search_ms")
    raw = rep.raw_delay_ms if delay_ms is None else delay_ms + rep.calibration_ms
    if raw is None or not lo_hi:
        return False
    return min(abs(raw - lo_hi[0]), abs(raw - lo_hi[1])) <= 1000.0 * GRID_STEP_S


def cascade_levels(sources: list[Source], early: bool) -> list[list[int]]:
    """Which of ``sources`` (``ensemble_modes`` order) to measure with, in turn, until one
    report is ``settled``; the last level is always taken as it is.

    With ``early`` (``"auto"``): batch allphone alone, then both allphone front ends, then
    the transcript too. Each level is the cheaper one's evidence plus one more source, so
    a clip pays for what its evidence needs: long clear speech settles at the first.
    """
    every = list(range(len(sources)))
    if not early or len(sources) < 3:
        return [every]
    return [[1], [1, 2], every]


def measure_in_steps(
    levels: list[list[int]],
    measure: Callable[[list[int]], SyncReport],
    before_next: Callable[[], None] | None = None,
) -> tuple[list[int], SyncReport]:
    """Measure with each of ``levels`` in turn (``cascade_levels``) and stop at the first
    report that is ``settled`` (and agrees with the level before it), or at the last level.
    ``measure`` returns the report the decision reads; ``before_next`` runs when a level
    did not settle (``check`` starts the sources still missing there). The one place the
    policy lives, for ``check`` and for the benchmark that scores it."""
    before: SyncReport | None = None
    for n, level in enumerate(levels):
        rep = measure(level)
        if n == len(levels) - 1 or settled(rep, before):
            return level, rep
        before = rep
        if before_next is not None:
            before_next()
    raise ValueError("no level to measure with")


def timelines_for(audio: Audio, transcript: str | None = DEFAULT_TRANSCRIPT, *, use_cache: bool = True) -> list[Any]:
    """The speech timelines ``check`` uses for ``audio``, computed one after the other."""
    from mouthsync.audio.timeline import speech_timeline

    return [
        speech_timeline(audio, transcript=t, front_end=fe, use_cache=use_cache) for t, fe in ensemble_modes(transcript)
    ]

