"""Sound a second out of step: what ``check`` reads beyond its +-800 ms search (``sync.beyond``).

    .venv/bin/python bench/beyond_search.py [--no-long]

Short clips: every shared clip (clips/ and wild/) with its sound moved by +-0.9, 1.0, 1.2
and 1.4 s (beyond the search), and with each recording of speech/ in place of its own
sound (another voice: a wide match there is chance). Each copy is read as ``check`` reads
it (the phone sources in steps, windows), then ``beyond_search``: the figures are how many
readings were right before, how many copies got the "beyond the search" warning and how
many of those name the true delay within a frame. Truth: the clip's own reading plus the
shift.

Long take (unless --no-long): the speed benchmark's one-take clip at 30 s, its sound moved
by +-0.9, 1.1, 1.3 s (beyond) and 0, +-0.3, +-0.6 s (within), and with wrong sound (its own
rotated by seconds, other recordings): the reading before and after.
The first run computes ~200 speech timelines (a few minutes on 2 cores); they are cached.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
DATA = Path(os.environ.get("MOUTHSYNC_DATA", REPO.parent / "shared" / "data"))

from tests.sync.builders import shifted_audio  # noqa: E402

from mouthsync.face.track import track_face  # noqa: E402
from mouthsync.media.decode import Audio, decode_audio  # noqa: E402
from mouthsync.sync import delay as sd  # noqa: E402
from mouthsync.sync import sources as ss  # noqa: E402
from mouthsync.sync.beyond import beyond_search  # noqa: E402
from mouthsync.sync.report import SyncReport  # noqa: E402
from sync_accuracy import replace_audio  # noqa: E402

CLIPS = sorted((DATA / "clips").glob("*.mp4")) + sorted((DATA / "wild").glob("*.mp4"))
SPEECH = sorted((DATA / "speech").glob("*.wav"))
SHORT_SHIFTS = (-1.4, -1.2, -1.0, -0.9, 0.9, 1.0, 1.2, 1.4)
LONG_SHIFTS = (-1.3, -1.1, -0.9, 0.9, 1.1, 1.3, 0.0, -0.6, -0.3, 0.3, 0.6)
RATE = 16000


def read(track, audio: Audio) -> tuple[SyncReport, SyncReport]:  # type: ignore[no-untyped-def]
    """The reading as ``check`` makes it (phone sources in steps), then after ``beyond_search``."""
    tls = ss.timelines_for(audio)
    level, first = ss.measure_in_steps(
        ss.cascade_levels(ss.ensemble_modes("auto"), early=True),
        lambda lv: sd.analyse(track, [tls[i] for i in lv], audio, calibration_ms=0.0))
    after = beyond_search(first, lambda half: sd.analyse(track, [tls[i] for i in level], audio, calibration_ms=0.0,
                                                         max_delay_s=half), sd.DEFAULT_MAX_DELAY_S,
                         sd.MAX_SEARCH_S)
    return first, after


def short_clips() -> None:
    right_before = warned = warned_right = wrong_voice_warned = 0
    n = 0
    misses: list[str] = []
    for c in CLIPS:
        tr = track_face(c)
        a = decode_audio(c, rate=RATE)
        own = read(tr, a)[0].raw_delay_ms or 0.0
        frame_ms = 1000.0 / tr.fps
        for s in SHORT_SHIFTS:
            first, after = read(tr, shifted_audio(a, s))
            truth = own + 1000.0 * s
            n += 1
            right_before += first.raw_delay_ms is not None and abs(first.raw_delay_ms - truth) <= frame_ms
            found = after.details.get("beyond_search")
            if found:
                warned += 1
                if abs(found["audio_delay_ms"] - truth) <= frame_ms:
                    warned_right += 1
                else:
                    misses.append(f"{c.stem} {s:+.1f} s: named {found['audio_delay_ms']:+.0f} ms at {found['confidence']:.2f}")
        for rec in SPEECH:
            first, after = read(tr, replace_audio(a, rec))
            if after.details.get("beyond_search"):
                wrong_voice_warned += 1
                found = after.details["beyond_search"]
                misses.append(f"{c.stem} with {rec.stem}: named {found['audio_delay_ms']:+.0f} ms at {found['confidence']:.2f}")
        print(f"  {c.stem:22s} own {own:+7.1f} ms", flush=True)
    print(f"short clips, sound moved 0.9-1.4 s: {n} copies; right before {right_before}; "
          f"warned {warned}, naming the delay within a frame {warned_right}")
    print(f"another voice in place of the clip's own: {wrong_voice_warned} of {len(CLIPS) * len(SPEECH)} warned")
    for m in misses:
        print(f"  not the delay: {m}")


def long_take() -> None:
    from check_speed import build_clip

    with tempfile.TemporaryDirectory() as tmp:
        clip = build_clip(Path(tmp) / "take.mp4", seconds=30.0)
        tr = track_face(clip)
        a = decode_audio(clip, rate=RATE)
        own = read(tr, a)[0].raw_delay_ms or 0.0
        print(f"30 s one take: own {own:+.1f} ms")
        for s in LONG_SHIFTS:
            first, after = read(tr, shifted_audio(a, s))
            err = (after.raw_delay_ms or 0.0) - own - 1000.0 * s
            print(f"  moved {s:+.1f} s: before {first.raw_delay_ms:+8.1f} ms at {first.confidence:.2f}, "
                  f"after {after.raw_delay_ms:+8.1f} ms at {after.confidence:.2f} (off {err:+.1f} ms)"
                  + ("  [beyond]" if after.details.get("beyond_search") else ""), flush=True)
        # wrong sound: the take's own rotated by seconds (away from its 21.5 s loop of four
        # clips, where it would line up again), and the speech/ recordings one after another
        import numpy as np

        speech = np.concatenate([decode_audio(p, rate=RATE).samples for p in SPEECH])
        wrong = [(f"own sound rotated {r} s", np.roll(a.samples, r * RATE)) for r in (5, 9, 13)]
        wrong += [(f"other recordings from {k * 7} s", np.tile(np.roll(speech, -k * 7 * RATE), 2)[:a.samples.size])
                  for k in range(4)]
        for name, x in wrong:
            first, after = read(tr, Audio(samples=np.ascontiguousarray(x, dtype=np.float32), rate=RATE, start=a.start))
            print(f"  {name}: before {first.raw_delay_ms:+8.1f} ms at {first.confidence:.2f}, "
                  f"after {after.raw_delay_ms:+8.1f} ms at {after.confidence:.2f}"
                  + ("  [beyond]" if after.details.get("beyond_search") else ""), flush=True)


def main() -> int:
    short_clips()
    if "--no-long" not in sys.argv:
        long_take()
    return 0


if __name__ == "__main__":
    sys.exit(main())
