"""Speed of ``check`` on a 60 s 720p talking-head clip (target: >= 8x faster than real time),
and of the several-faces path on a two-shot made from it.

    .venv/bin/python bench/check_speed.py [--stages] [--seconds N] [--repeat N] [--subtitles]

``--repeat N`` times N cold runs of the command line (median and spread) instead.
``--subtitles`` times cold command-line checks with ``--transcript`` auto, always, the
clip's words as subtitles (.srt) and as plain text (.txt); the words are the clip's
machine transcript cut into cues of up to 7 words at pauses (stand-in subtitles: true ones
are what a person typed), e.g. ``--seconds 300 --subtitles``.
``--seconds 600`` measures a 10-minute clip instead (cold ``check`` only, with the peak
resident memory of the main process and of the largest child process).

The clip is built at run time from the shared clips (re-encoded to 1280x720, 25 fps, with
their own sound, each clip's own delay removed so that the 60 s have one delay, as a single
take has) in a temporary folder; the same clip with the delays kept (an edit: the delay
steps at every cut) is timed too. ``check_sync`` runs cold (``use_cache=False``: face
tracking and the speech timeline are both computed) and then warm (both cached), and the
stages are timed alone so it is clear where the time goes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MOUTHSYNC_DATA", REPO.parent / "shared" / "data"))


def own_offsets(clips: list[Path]) -> dict[Path, float]:
    """Each shared clip's own audio delay (s), measured with every phone source (cached)."""
    from mouthsync.sync.delay import check_sync

    return {c: (check_sync(c, transcript="always").raw_delay_ms or 0.0) / 1000.0 for c in clips}


def build_clip(out: Path, seconds: float = 60.0, *, one_take: bool = True) -> Path:
    """Concatenate the shared clips (looped) into one 720p clip of ``seconds`` with sound.

    ``one_take``: each clip's own audio delay (-57 to +31 ms) is removed first, so the
    result has one delay throughout, as a real 60 s take has; otherwise the clip steps
    between its sources' delays at every cut, like an edit (``check`` then needs every
    phone source for the per-window delays, see ``sync.delay.settled``).
    """
    from mouthsync.media.decode import video_meta

    clips = sorted((DATA / "clips").glob("*.mp4"))[1:]  # the constant-rate ones
    own = own_offsets(clips) if one_take else {c: 0.0 for c in clips}
    inputs: list[str] = []
    n = 0
    total = 0.0
    while total < seconds:
        inputs += ["-i", str(clips[n % len(clips)])]
        total += 5.0
        n += 1
    parts = ""
    for i in range(n):
        c = clips[i % len(clips)]
        o = own[c]
        dur = video_meta(c).duration or 5.0
        # o > 0: the sound is late, so it starts o seconds into the audio; o < 0: delayed
        move = f"atrim=start={o:.4f},asetpts=PTS-STARTPTS," if o > 0 else f"adelay={-o * 1000:.1f}:all=1,"
        parts += (f"[{i}:v]scale=-2:720,pad=1280:720:(ow-iw)/2:0,fps=25,setsar=1[v{i}];"
                  f"[{i}:a]aresample=48000,{move}apad,atrim=end={dur:.4f}[a{i}];")
    cat = "".join(f"[v{i}][a{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=1[v][a]"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-filter_complex", parts + cat, "-map", "[v]", "-map", "[a]",
         "-t", f"{seconds}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "aac", str(out)],
        check=True,
    )
    return out


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (tracking workers), in seconds.

    Wall time on a shared 2-core machine depends on what else runs; CPU seconds do not
    much, and 8x real time on 2 cores needs <= 60 / 8 * 2 = 15 CPU-s for everything.
    """
    import resource

    me, ch = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def repeat_cli(clip: Path, dur: float, n: int) -> None:
    """``mouthsync check`` cold ``n`` times through the command line, one fresh process each
    (Python start-up and imports included, no cache), and the spread of the wall times:
    one run on a shared 2-core machine says little (the same setting read 7.7-9.5 s)."""
    import resource
    import statistics

    env = dict(os.environ, MOUTHSYNC_CACHE="off", MOUTHSYNC_NO_PROGRESS="1")
    walls, cpus, idles = [], [], []
    for _ in range(n):
        r0, i0 = resource.getrusage(resource.RUSAGE_CHILDREN), idle_core_seconds()
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mouthsync", "check", str(clip), "--json"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t)
        r1, i1 = resource.getrusage(resource.RUSAGE_CHILDREN), idle_core_seconds()
        cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        if i0 is not None and i1 is not None:
            idles.append(i1 - i0)
    med = statistics.median(walls)
    print(f"check cold through the CLI, {n} runs: min {min(walls):.2f} s, median {med:.2f} s, max {max(walls):.2f} s "
          f"= {dur / max(walls):.1f}x / {dur / med:.1f}x / {dur / min(walls):.1f}x real time (target >= 8x)")
    # the wall time of one run on a shared VM moves with the host; the CPU work and the
    # time a core sat idle say which part moved (idle: scheduling; CPU: the work or the host)
    idle = f", idle core time median {statistics.median(idles):.2f} core-s" if idles else ""
    print(f"  CPU (all processes) median {statistics.median(cpus):.2f} s, min {min(cpus):.2f}, max {max(cpus):.2f}{idle}")


def stand_in_subtitles(clip: Path, folder: Path) -> tuple[Path, Path]:
    """The clip's machine transcript as subtitles (cues of up to 7 words, cut at pauses
    over 0.4 s) and as plain text, written to ``folder``."""
    from mouthsync.audio.timeline import speech_timeline
    from mouthsync.media.subtitles import Cue, timed_text

    words = speech_timeline(clip, transcript="auto").words
    cues: list[Cue] = []
    run: list = []
    for w in words:
        if run and (len(run) >= 7 or w.start - run[-1].end > 0.4):
            cues.append(Cue(run[0].start, run[-1].end, " ".join(x.text for x in run)))
            run = []
        run.append(w)
    if run:
        cues.append(Cue(run[0].start, run[-1].end, " ".join(x.text for x in run)))
    srt, txt = folder / "words.srt", folder / "words.txt"
    srt.write_text(timed_text(cues), encoding="utf-8")
    txt.write_text(" ".join(w.text for w in words), encoding="utf-8")
    return srt, txt


def subtitles_cli(clip: Path, dur: float, folder: Path) -> None:
    """Cold command-line checks with each kind of ``--transcript``: wall, CPU, windows."""
    import json
    import resource

    srt, txt = stand_in_subtitles(clip, folder)
    print(f"stand-in subtitles: {sum(1 for ln in srt.read_text().splitlines() if '-->' in ln)} cues, "
          f"{len(txt.read_text().split())} words")
    env = dict(os.environ, MOUTHSYNC_CACHE="off", MOUTHSYNC_NO_PROGRESS="1")
    for label, value in (("auto", "auto"), ("always", "always"), ("subtitles (.srt)", str(srt)),
                         ("plain text (.txt)", str(txt))):
        r0, t = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "mouthsync", "check", str(clip), "--transcript", value, "--json"],
                             env=env, check=True, capture_output=True, text=True)
        wall, r1 = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN)
        d = json.loads(run.stdout)
        cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
        print(f"  --transcript {label:18s}: {wall:6.1f} s = {dur / wall:4.1f}x, CPU {cpu:6.1f} s; delay "
              f"{d['audio_delay_ms']:+.1f} ms, conf {d['confidence']:.2f}; windows uncertain "
              f"{sum(w['uncertain'] for w in d['windows'])} of {len(d['windows'])}; phones from {d['details'].get('phones_from')}")


def machine_reference() -> str:
    """CPU seconds of two fixed workloads on one core: 10 million Python additions and
    2000 FFTs of 16384 points (single-threaded). Why: the host of these VMs changes between
    sessions and within one (tracking the clip alone took 17-19 CPU-s in session 15's first
    minutes and 10.2 two hours later); printed beside a figure, it helps tell a slower host
    from slower code. Session 15: 0.37-0.42 / 0.15-0.19 CPU-s idle, 0.57 / 0.29 with both
    cores busy (the cores share the host's resources: CPU seconds grow under load too)."""
    import numpy as np

    t = time.process_time()
    s = 0
    for i in range(10_000_000):
        s += i
    loop = time.process_time() - t
    x = np.random.default_rng(0).standard_normal((8, 16384))
    t = time.process_time()
    for _ in range(250):
        np.fft.rfft(x, axis=1)
    fft = time.process_time() - t
    return f"machine reference: Python loop {loop:.2f} CPU-s, FFT {fft:.2f} CPU-s"


def idle_core_seconds() -> float | None:
    """Seconds all cores together have been idle since boot (Linux ``/proc/stat``), or None."""
    try:
        with open("/proc/stat") as fh:
            f = fh.readline().split()
    except OSError:
        return None
    return (int(f[4]) + int(f[5])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    from mouthsync.audio.steady import steady_spans
    from mouthsync.audio.timeline import speech_timeline
    from mouthsync.face.coding import mouth_coding
    from mouthsync.face.count import faces_to_track
    from mouthsync.face.track import track_face
    from mouthsync.media.decode import decode_audio, video_meta
    from mouthsync.sync.delay import analyse, check_sync

    seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 60.0
    with tempfile.TemporaryDirectory() as tmp:
        clip = build_clip(Path(tmp) / "talk720p.mp4", seconds=seconds)
        meta = video_meta(clip)
        dur = meta.duration or 60.0
        print(f"clip: {meta.width}x{meta.height}, {dur:.1f} s, cpu count {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}; "
              f"{machine_reference()}")
        if "--repeat" in sys.argv:
            repeat_cli(clip, dur, int(sys.argv[sys.argv.index("--repeat") + 1]))
            return 0
        if "--subtitles" in sys.argv:
            subtitles_cli(clip, dur, Path(tmp))
            return 0
        if seconds != 60.0:
            import resource

            t = time.perf_counter()
            rep = check_sync(clip, use_cache=False)
            cold = time.perf_counter() - t
            me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
            print(f"check cold, default: {cold:6.1f} s = {dur / cold:4.1f}x real time; delay {rep.audio_delay_ms:+.1f} ms, "
                  f"conf {rep.confidence:.2f}, {len(rep.windows)} windows; peak RSS main {me} MiB, largest child process {child} MiB (incl. the ffmpeg build)")
            return 0
        # ``--stages``: only the stages alone and their CPU seconds (quicker, less load-bound)
        labels = {"auto": "default (auto)", "always": "--transcript always", None: "--transcript none"}
        for transcript in () if "--stages" in sys.argv else ("auto", "always", None):
            t = time.perf_counter()
            rep = check_sync(clip, use_cache=False, transcript=transcript)
            cold = time.perf_counter() - t
            print(f"check cold, {labels[transcript]:20s}: {cold:6.2f} s = {dur / cold:5.1f}x real time (target >= 8x); "
                  f"delay {rep.audio_delay_ms:+.1f} ms, conf {rep.confidence:.2f}, {len(rep.windows)} windows "
                  f"({sum(w.uncertain for w in rep.windows)} uncertain), phones from {rep.details.get('phones_from')}")
        if "--stages" not in sys.argv:
            edited = build_clip(Path(tmp) / "edited720p.mp4", seconds=seconds, one_take=False)
            t = time.perf_counter()
            rep = check_sync(edited, use_cache=False)
            cold = time.perf_counter() - t
            print(f"check cold, default, edited clip (each source's own delay kept, steps at the cuts): {cold:6.2f} s = "
                  f"{dur / cold:5.1f}x real time; drift {rep.drift.kind}, conf {rep.confidence:.2f}, phones from {rep.details.get('phones_from')}")
        c, t = cpu_seconds(), time.perf_counter()
        n_faces = faces_to_track(clip)
        print(f"  face count (keyframes, check --faces auto): {n_faces} face(s) in {time.perf_counter() - t:.2f} s / {cpu_seconds() - c:.2f} CPU-s")
        c, t = cpu_seconds(), time.perf_counter()
        tr = track_face(clip, use_cache=False)
        tt, ct = time.perf_counter() - t, cpu_seconds() - c
        c, t = cpu_seconds(), time.perf_counter()
        (coding,) = mouth_coding(clip, [tr])
        tq, cq = time.perf_counter() - t, cpu_seconds() - c
        print(f"  lips' quantiser sample (face.coding, {coding.frames if coding else 0} frames): "
              f"{tq:.2f} s / {cq:.2f} CPU-s")
        a = decode_audio(clip, rate=16000)
        c, t = cpu_seconds(), time.perf_counter()
        tl = speech_timeline(a, use_cache=False, transcript="auto")
        ts, cs = time.perf_counter() - t, cpu_seconds() - c
        c, t = cpu_seconds(), time.perf_counter()
        tl_none = speech_timeline(a, use_cache=False)
        tl_live = speech_timeline(a, use_cache=False, front_end="live")
        ts_none, cs_none = time.perf_counter() - t, cpu_seconds() - c
        c, t = cpu_seconds(), time.perf_counter()
        analyse(tr, [tl, tl_none, tl_live], a)
        ta, ca = time.perf_counter() - t, cpu_seconds() - c
        c = cpu_seconds()
        steady_spans(a.samples, a.rate, a.start)  # part of every timeline (audio.steady)
        print(f"  steady pitch (part of each speech timeline): {cpu_seconds() - c:.2f} CPU-s")
        print(f"  alone (wall / CPU s): face track {tt:.2f} / {ct:.2f} ({len(tr)} frames, {1000 * ct / len(tr):.1f} CPU-ms per frame incl. start-up), "
              f"speech timeline auto {ts:.2f} / {cs:.2f}, allphone x2 (batch + live front end) {ts_none:.2f} / {cs_none:.2f}, delay search + windows {ta:.2f} / {ca:.2f}")
        print(f"  CPU budget for 8x on {os.cpu_count()} cores: {dur / 8 * (os.cpu_count() or 1):.1f} CPU-s; needed: default {ct + cq + cs + cs_none + ca:.1f}, allphone {ct + cq + cs_none / 2 + ca:.1f}")
        t = time.perf_counter()
        check_sync(clip)
        t2 = time.perf_counter()
        check_sync(clip)
        warm = time.perf_counter() - t2
        del t
        print(f"check warm (track and timeline cached): {warm:.2f} s = {dur / warm:.0f}x real time")
        if "--stages" not in sys.argv:
            noisy(clip, Path(tmp), dur)
            two_shot(clip, Path(tmp), dur)
    return 0


def noisy(clip: Path, folder: Path, dur: float) -> None:
    """The same clip with pink noise 10 dB under the speech: the noise gate fires and RNNoise
    (~3.3 CPU-s per minute) runs once, its output cached for the three speech workers. Cold
    with an empty cache folder (not ``use_cache=False``), as a user's first run is."""
    sys.path.insert(0, str(REPO))
    from tests.sync.builders import mux_with_audio, noisy_audio

    from mouthsync.media.decode import decode_audio
    from mouthsync.sync.delay import check_sync

    out = mux_with_audio(clip, noisy_audio(decode_audio(clip, rate=48000), 10.0, seed=7), folder / "noisy.mkv")
    old = os.environ.get("MOUTHSYNC_CACHE")
    os.environ["MOUTHSYNC_CACHE"] = str(folder / "empty-cache")
    try:
        c, t = cpu_seconds(), time.perf_counter()
        rep = check_sync(out)
        cold, cpu = time.perf_counter() - t, cpu_seconds() - c
    finally:
        if old is None:
            os.environ.pop("MOUTHSYNC_CACHE", None)
        else:
            os.environ["MOUTHSYNC_CACHE"] = old
    print(f"check cold, pink noise 10 dB (denoised {rep.details.get('denoised')}): {cold:.2f} s = {dur / cold:.1f}x real time, "
          f"{cpu:.1f} CPU-s; delay {rep.audio_delay_ms:+.1f} ms, conf {rep.confidence:.2f}")


def two_shot(clip: Path, folder: Path, dur: float) -> None:
    """A 1280x360 two-shot (the clip beside itself, half size) with the clip's sound: the
    face count finds 2, ``track_faces`` tracks both (in chunks, two processes), and ``check`` measures
    each face. The same face twice is the worst case for choosing (both agree equally)."""
    from mouthsync.face.count import faces_to_track
    from mouthsync.face.track import track_faces
    from mouthsync.sync.delay import check_sync

    two = folder / "two_shot.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(clip), "-filter_complex",
         "[0:v]scale=640:360,split[a][b];[a][b]hstack=inputs=2[v]", "-map", "[v]", "-map", "0:a",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "copy", str(two)],
        check=True,
    )
    t = time.perf_counter()
    n = faces_to_track(two)
    tc = time.perf_counter() - t
    c, t = cpu_seconds(), time.perf_counter()
    tracks = track_faces(two, max_faces=n, use_cache=False)
    tt, ct = time.perf_counter() - t, cpu_seconds() - c
    frames = len(tracks[0]) if tracks else 0
    print(f"two-shot 1280x360, {dur:.0f} s: count {n} faces in {tc:.2f} s; track_faces {tt:.2f} s wall / {ct:.2f} CPU-s "
          f"= {frames / tt:.0f} fps ({len(tracks)} identities)")
    t = time.perf_counter()
    rep = check_sync(two, use_cache=False)
    cold = time.perf_counter() - t
    print(f"check cold on the two-shot: {cold:.2f} s = {dur / cold:.1f}x real time; speaker face {rep.details.get('speaker_face')}, "
          f"delay {rep.audio_delay_ms:+.1f} ms, conf {rep.confidence:.2f}")


if __name__ == "__main__":
    sys.exit(main())
