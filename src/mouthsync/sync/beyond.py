"""A delay beyond the lip-sync search: sound a second or more out of step with the picture.

Why: the default search tries delays within +-0.8 s. A sound 0.9-1.4 s out (a dub laid a
second late, a screen capture's buffered sound, a slipped edit) has no peak there, and the
best agreement inside the search is a false one. On a 30 s take (the speed benchmark's
clip) shifted by -1.3, -0.9 and -1.1 s the search read +51 ms at confidence 0.66, +449 at
0.67 and -510 at 0.39: confident and wrong, and ``fix --delay auto`` acts from 0.3. Searched
to +-1.5 s, all six shifts (+-0.9, 1.1, 1.3 s) read within 3 ms at 0.73-1.00
(``bench/beyond_search.py``).

So a reading that did not settle (confidence under ``sources.SETTLED_CONFIDENCE``) and
is not a drift (a drift's line is followed beyond the search in ``delay.analyse``) is
searched again as widely as ``check --max-delay`` may (``delay.MAX_SEARCH_S``, 1.5 s) with
the same face track and phones. What is done with a confident match beyond the first
search depends on how much speech there is (``docs/sync.md``, "A delay beyond the search"):

* *A long take* (:data:`LONG_SPEECH_S` of speech or more): a chance match between an
  unrelated mouth and voice that far out is rare, and the first reading is no safer than
  the wide one, so when the wide match beats the first reading's confidence its report is
  kept, with a finding that says so.
* *A short clip*: the more delays are tried, the likelier a chance match. On the shared
  4-7 s clips with another speaker's recording, 3 of 45 pairings read 0.60-1.00 somewhere
  within +-1.5 s (within +-0.8 s at most 0.26), and voxceleb_00067 has a rival peak 1.8 s from its
  true one that the wide search prefers at some shifts. So the reading is kept, and where
  it was unsure (below ``LOW_CONFIDENCE``) the wide match is named as a possibility, with
  the command that measures it.
"""

from __future__ import annotations

from collections.abc import Callable

from mouthsync.core.findings import Finding, Severity
from mouthsync.sync.report import SyncReport
from mouthsync.sync.sources import SETTLED_CONFIDENCE
from mouthsync.sync.verdict import LOW_CONFIDENCE

# A wide match counts only at this confidence or more (the protocol's shifts within the
# search, re-searched wide where they read below 0.3, never reached it beyond +-0.8 s;
# the 0.51-0.55 matches they did reach were all wrong). A best fit at the wide search's
# own edge is no match: it reads confidence 0 (``search.SEARCH_EDGE_S``).
BEYOND_CONFIDENCE = 0.6
# Speech (s) from which a confident wide match replaces the first reading.
LONG_SPEECH_S = 15.0

# search(max_delay_s): the report of the same face track and phones over delays +- max_delay_s
Search = Callable[[float], SyncReport]


def beyond_search(rep: SyncReport, search: Search, max_delay_s: float, wide_s: float) -> SyncReport:
    """``rep``, or the report of a search to +-``wide_s`` when it finds a confident match
    beyond ``max_delay_s`` on a long take (see the module's docstring); a short clip's
    unsure report gets that match as a finding."""
    if (rep.raw_delay_ms is None or max_delay_s >= wide_s
            or rep.confidence >= SETTLED_CONFIDENCE or rep.drift.kind == "drift"):
        # (a drift's line is followed beyond the search already: ``delay.analyse``)
        return rep
    speech_s = float(rep.details.get("speech_s") or 0.0)
    long = speech_s >= LONG_SPEECH_S
    if not long and rep.confidence >= LOW_CONFIDENCE:
        return rep
    wide = search(wide_s)
    if wide.raw_delay_ms is None or wide.confidence < BEYOND_CONFIDENCE:
        return rep
    if abs(wide.raw_delay_ms) <= max_delay_s * 1000.0:
        return rep
    found = {"audio_delay_ms": wide.audio_delay_ms, "confidence": round(wide.confidence, 3),
             "search_ms": round(wide_s * 1000.0)}
    ms = float(wide.audio_delay_ms or 0.0)
    if long:
        if wide.confidence <= rep.confidence:
            return rep
        for k, v in rep.details.items():
            wide.details.setdefault(k, v)
        wide.details["beyond_search"] = {**found, "first_ms": rep.audio_delay_ms, "first_confidence": round(rep.confidence, 3)}
        side = "after" if ms > 0 else "before"
        wide.findings.insert(0, Finding(
            "sync.beyond_search", Severity.WARNING,
            f"the sound is {abs(ms):.0f} ms {side} the picture, beyond the +-{max_delay_s * 1000.0:.0f} ms "
            f"lip-sync search: the best match inside it ({rep.audio_delay_ms:+.0f} ms at confidence "
            f"{rep.confidence:.2f}) was a false one; searched to +-{wide_s * 1000.0:.0f} ms the mouth agrees "
            f"with the speech at {ms:+.0f} ms (confidence {wide.confidence:.2f})",
            advice="`mouthsync fix FILE -o OUT --delay auto` removes it; sound a second out is often a dub "
                   "laid at the wrong time or a screen capture's buffered sound",
            value=ms, unit="ms"))
        # what was said of the words given stays said (``delay._set_aside``)
        wide.findings += [f for f in rep.findings if f.check == "sync.transcript"]
        return wide
    rep.details["beyond_search"] = found
    rep.findings.append(Finding(
        "sync.beyond_search", Severity.WARNING,
        f"nothing clear within +-{max_delay_s * 1000.0:.0f} ms, but searched to +-{wide_s * 1000.0:.0f} ms the "
        f"mouth agrees with the speech at {ms:+.0f} ms (confidence {wide.confidence:.2f}): the sound may be that far "
        f"out. On {speech_s:.0f} s of speech a match that far out can also be chance",
        advice=f"if the sound may be a second out (a dub laid at the wrong time), `mouthsync check FILE --max-delay "
               f"{wide_s * 1000.0:.0f}` measures it and `mouthsync fix FILE -o OUT --delay {ms:.0f}ms` moves it",
        value=ms, unit="ms"))
    return rep
