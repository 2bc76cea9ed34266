"""A delay beyond the lip-sync search (``sync.beyond``) and the search's edge (``sync.search``)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mouthsync.core.findings import Finding, Severity
from mouthsync.media.decode import Audio, decode_audio
from mouthsync.sync.beyond import beyond_search
from mouthsync.sync.delay import MAX_SEARCH_S
from mouthsync.sync.drift import DriftFit
from mouthsync.sync.report import SyncReport
from mouthsync.sync.search import EDGE_NOTE
from tests.conftest import CLIPS
from tests.sync.builders import build_concatenation, mux_with_audio, random_phones, shifted_audio


def _rep(delay_ms: float, conf: float, speech_s: float) -> SyncReport:
    return SyncReport(delay_ms, None, 25.0, conf, [], None, DriftFit(None, None, None, 0, "none"), {}, [], None,
                      raw_delay_ms=delay_ms, details={"speech_s": speech_s})


class _Search:
    """A stand-in for the wide search: the report it gives, and how it was asked."""

    def __init__(self, rep: SyncReport) -> None:
        self.rep, self.asked = rep, []

    def __call__(self, half_s: float) -> SyncReport:
        self.asked.append(half_s)
        return self.rep


def test_a_long_take_keeps_a_confident_match_beyond_the_search() -> None:
    first = _rep(+449.0, 0.67, 30.0)
    first.findings.append(Finding("sync.transcript", Severity.INFO, "the words given were set aside"))
    search = _Search(_rep(-899.0, 0.76, 30.0))
    out = beyond_search(first, search, 0.8, MAX_SEARCH_S)
    assert [f.check for f in out.findings] == ["sync.beyond_search", "sync.transcript"]
    assert search.asked == [MAX_SEARCH_S]
    assert out.audio_delay_ms == -899.0 and out.confidence == 0.76
    assert out.findings[0].check == "sync.beyond_search" and "false one" in out.findings[0].message
    assert out.details["beyond_search"]["first_ms"] == 449.0 and out.details["speech_s"] == 30.0


def test_a_long_take_keeps_its_reading_unless_the_wide_match_is_beyond_and_better() -> None:
    # settled: not searched again
    search = _Search(_rep(-899.0, 1.0, 30.0))
    assert beyond_search(_rep(+20.0, 0.85, 30.0), search, 0.8, MAX_SEARCH_S).audio_delay_ms == 20.0 and not search.asked
    # the wide search agrees with the first one (within the search)
    assert beyond_search(_rep(+20.0, 0.6, 30.0), _Search(_rep(+21.0, 0.9, 30.0)), 0.8, MAX_SEARCH_S).audio_delay_ms == 20.0
    # beyond, but not more confident than the first reading, or below BEYOND_CONFIDENCE
    assert beyond_search(_rep(+20.0, 0.7, 30.0), _Search(_rep(-1000.0, 0.65, 30.0)), 0.8, MAX_SEARCH_S).audio_delay_ms == 20.0
    assert beyond_search(_rep(+20.0, 0.1, 30.0), _Search(_rep(-1000.0, 0.55, 30.0)), 0.8, MAX_SEARCH_S).audio_delay_ms == 20.0
    # a drift: its line is followed beyond the search already
    drifting = _rep(+20.0, 0.5, 600.0)
    drifting.drift = DriftFit(60.0, -280.0, 5.0, 40, "drift")
    search = _Search(_rep(-1300.0, 1.0, 600.0))
    assert beyond_search(drifting, search, 0.8, MAX_SEARCH_S) is drifting and not search.asked
    # the user already searched that far
    search = _Search(_rep(-1300.0, 1.0, 30.0))
    assert beyond_search(_rep(+20.0, 0.1, 30.0), search, 1.5, MAX_SEARCH_S).audio_delay_ms == 20.0 and not search.asked


def test_a_short_clip_only_names_the_match_when_it_was_unsure() -> None:
    out = beyond_search(_rep(-360.0, 0.0, 5.0), _Search(_rep(+1203.0, 1.0, 5.0)), 0.8, MAX_SEARCH_S)
    assert out.audio_delay_ms == -360.0 and out.confidence == 0.0  # the reading stands
    (f,) = [f for f in out.findings if f.check == "sync.beyond_search"]
    assert "+1203 ms" in f.message and "--max-delay 1500" in f.advice and "--delay 1203ms" in f.advice
    assert out.details["beyond_search"]["audio_delay_ms"] == 1203.0
    # a short clip read at 0.3 or more is not searched again
    search = _Search(_rep(+1203.0, 1.0, 5.0))
    assert beyond_search(_rep(+40.0, 0.45, 5.0), search, 0.8, MAX_SEARCH_S).findings == [] and not search.asked


def test_a_best_fit_at_the_search_edge_is_not_a_measured_delay() -> None:
    """Mouth and phones that agree at +1.1 s: searched to +-0.8 s the agreement rises to the
    edge, and that is no reading (confidence 0, said why); searched to +-1.5 s it is found."""
    from mouthsync.audio.visemes import expected_opening, expected_spread
    from mouthsync.sync.delay import analyse

    phones = random_phones(np.random.default_rng(3), 11.5)
    times = np.arange(0.0, 12.0, 0.04)
    rng = np.random.default_rng(4)
    ap = expected_opening(phones, times + 0.86) + 0.03 * rng.standard_normal(times.size)
    wd = expected_spread(phones, times + 0.86) + 0.03 * rng.standard_normal(times.size)
    track = SimpleNamespace(times=times, mouth={"aperture": ap, "width": wd}, valid=np.ones(times.size, bool), fps=25.0)
    audio = Audio(samples=np.zeros(16000 * 12, np.float32), rate=16000, start=0.0)
    tl = SimpleNamespace(phones=phones, speech=[(phones[0].start, phones[-1].end)], mode="align")
    narrow = analyse(track, [tl], audio, window_s=1e9, calibration_ms=0.0)
    assert narrow.raw_delay_ms is not None and narrow.raw_delay_ms >= 790.0
    assert narrow.confidence == 0.0 and narrow.verdict["reason"] == EDGE_NOTE
    wide = analyse(track, [tl], audio, window_s=1e9, calibration_ms=0.0, max_delay_s=MAX_SEARCH_S)
    assert wide.raw_delay_ms == pytest.approx(860.0, abs=10.0) and wide.confidence > 0.5


@pytest.mark.slow
def test_a_clip_a_second_out_names_the_delay_beyond_the_search(tmp_path: Path) -> None:
    """retalking_face4 with its sound 1.2 s late: nothing clear within +-800 ms, and the
    finding gives the delay the wide search reads (the clip's own plus 1200 ms)."""
    from mouthsync.sync.delay import check_sync

    clip = next(p for p in CLIPS if p.name == "retalking_face4.mp4")
    own = check_sync(clip)
    late = mux_with_audio(clip, shifted_audio(decode_audio(clip, rate=48000), 1.2), tmp_path / "late.mkv")
    rep = check_sync(late)
    assert rep.confidence < 0.3
    (f,) = [f for f in rep.findings if f.check == "sync.beyond_search"]
    assert abs(f.value - (own.audio_delay_ms + 1200.0)) <= 1000.0 / rep.fps


@pytest.mark.slow
def test_a_long_take_a_second_out_is_measured_beyond_the_search(tmp_path: Path) -> None:
    """33 s of one take (retalking_face4 five times) with its sound 1.1 s early: the
    +-800 ms search finds a false match; the report is the wide search's, within a frame."""
    from mouthsync.sync.delay import check_sync

    face4 = [p for p in CLIPS if p.name == "retalking_face4.mp4"]
    video, _, _ = build_concatenation(face4 * 5, [0.0] * 5, tmp_path, name="take")
    own = check_sync(video)
    early = mux_with_audio(video, shifted_audio(decode_audio(video, rate=16000), -1.1), tmp_path / "early.mkv")
    rep = check_sync(early)
    assert rep.details.get("beyond_search"), rep.findings
    assert abs(rep.audio_delay_ms - (own.audio_delay_ms - 1100.0)) <= 1000.0 / rep.fps
    assert rep.confidence >= 0.6 and rep.findings[0].check == "sync.beyond_search"
