"""Timecode: where a picture's first frame and a recorder's first sample sit in the day.

Why: on a shoot with jam-synced timecode, the camera labels its first frame (a QuickTime
``tmcd`` track or a ``timecode`` tag: ``01:00:00:00``) and a broadcast WAV recorder stamps
its first sample (the ``bext`` chunk's time reference: samples since midnight). The
difference places the recorder's file on the picture's timeline without listening to
anything, which is the only way when the camera recorded no sound of its own.
"""

from __future__ import annotations

import os
import re
from fractions import Fraction

from mouthsync.core.errors import BadInput
from mouthsync.media.container import open_input, picture_stream

_TC = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")
DAY_S = 86400.0


def timecode_seconds(tc: str, rate: Fraction | float) -> float:
    """Seconds since midnight of the frame labelled ``tc`` in a picture at ``rate`` fps.

    Non-drop timecode counts ``round(rate)`` labels per second, so at 29.97 fps its
    labels run 0.1 % slower than the clock: frame number / rate. Drop-frame timecode
    (``;`` before the frames, 29.97 or 59.94) skips the first 2 (4) labels of every
    minute but each tenth, and so stays on the clock.
    """
    m = _TC.match(tc.strip())
    if not m:
        raise BadInput(f"not a timecode: {tc!r} (HH:MM:SS:FF)")
    h, mi, s, sep, f = int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5])
    rate = Fraction(rate).limit_denominator(1001)
    if rate <= 0:
        raise BadInput(f"timecode {tc!r}: no frame rate to count it in")
    nominal = round(float(rate))
    if mi > 59 or s > 59 or f >= nominal:
        raise BadInput(f"not a timecode at {float(rate):.3f} fps: {tc!r}")
    frames = ((h * 60 + mi) * 60 + s) * nominal + f
    if sep in ";,":  # drop-frame
        drop = round(nominal / 15)  # 2 at 29.97, 4 at 59.94
        minutes = h * 60 + mi
        frames -= drop * (minutes - minutes // 10)
    return float(frames / rate)


def timecode_label(seconds: float, rate: Fraction | float, drop: bool = False) -> str:
    """The label of the frame at ``seconds`` since midnight in a picture at ``rate`` fps:
    the inverse of :func:`timecode_seconds` (``drop``: drop-frame, ``;`` before the frames;
    only at 29.97 and 59.94). Wraps where the labels do, after 23:59:59 and the last frame
    (non-drop 29.97 labels a day of 86486.4 s, drop-frame one of 86399.91 s)."""
    rate = Fraction(rate).limit_denominator(1001)
    nominal = round(float(rate))
    drop = drop and rate.denominator == 1001 and nominal in (30, 60)
    k = round(nominal / 15)  # labels drop-frame skips per minute but each tenth
    labels_per_day = nominal * 86400 - (k * (1440 - 144) if drop else 0)
    frames = int(round(seconds * rate)) % labels_per_day
    if drop:
        per_10min = 600 * nominal - 9 * k
        tens, rest = divmod(frames, per_10min)
        # the first minute of ten keeps every label; each later one starts k labels on
        extra = 0 if rest < k else k * ((rest - k) // (60 * nominal - k))
        frames += 9 * k * tens + extra
    f = frames % nominal
    total_s = frames // nominal
    h, m, sec = total_s // 3600 % 24, total_s // 60 % 60, total_s % 60
    return f"{h:02d}:{m:02d}:{sec:02d}{';' if drop else ':'}{f:02d}"


def picture_timecode(path: str | os.PathLike[str]) -> tuple[str, Fraction] | None:
    """The picture's first-frame timecode label and the rate it counts in; None when the
    file carries none."""
    with open_input(path) as c:
        vs = picture_stream(c)
        if vs is None:
            return None
        # (Matroska keeps it as a container tag spelled TIMECODE)
        tags = [dict(vs.metadata)] + [dict(s.metadata) for s in c.streams if s.type == "data"] + [dict(c.metadata)]
        tc = next((v for t in tags for k, v in t.items() if k.lower() == "timecode" and v), None)
        rates = [r for r in (vs.base_rate, vs.average_rate, vs.guessed_rate) if r]
    if tc is None or not rates:
        return None
    return str(tc), counting_rate(rates)


# the rates timecode counts in (SMPTE 12M and the high-frame-rate ones)
_TC_RATES = tuple(Fraction(r) for r in (Fraction(24000, 1001), 24, 25, Fraction(30000, 1001), 30,
                                        Fraction(48000, 1001), 48, 50, Fraction(60000, 1001), 60, 100, 120))


def counting_rate(rates: list[Fraction]) -> Fraction:
    """The timecode rate of a picture whose stream states ``rates`` (declared first, then
    measured): the first within 0.05 % of a timecode rate, as that rate; else the first.

    Why not the measured average: it is the frame count over the stream's duration, and a
    duration 0.5 ms off made a 29.97 fps file 29.9714, which counted 01:00:00;00 as
    00:59:59.834 and ``prep`` relabelled it 00:59:59;25."""
    for r in rates:
        best = min(_TC_RATES, key=lambda t: abs(float(r) / float(t) - 1.0))
        if abs(float(r) / float(best) - 1.0) < 5e-4:
            return best
    return Fraction(rates[0])


def picture_start_of_day(path: str | os.PathLike[str]) -> float | None:
    """Seconds since midnight of the picture's first frame, from its timecode; None when
    the file carries none."""
    got = picture_timecode(path)
    return None if got is None else timecode_seconds(*got)


def sound_start_of_day(path: str | os.PathLike[str]) -> float | None:
    """Seconds since midnight of a broadcast WAV's first sample (its ``bext`` time
    reference, in samples); None when it has none."""
    with open_input(path) as c:
        ref = c.metadata.get("time_reference")
        if not ref or not c.streams.audio:
            return None
        rate = c.streams.audio[0].codec_context.sample_rate
    try:
        samples = int(ref)
    except ValueError:
        return None
    return samples / rate if rate else None


def start_on_picture(video: str | os.PathLike[str], sound: str | os.PathLike[str], first_frame_s: float) -> float | None:
    """Where ``sound``'s first sample goes on ``video``'s timeline by their timecodes
    (``first_frame_s``: the picture's first frame time); None unless both carry one."""
    pic = picture_start_of_day(video)
    snd = sound_start_of_day(sound)
    if pic is None or snd is None:
        return None
    d = snd - pic
    d -= DAY_S * round(d / DAY_S)  # across midnight
    return first_frame_s + d
