"""Worker processes that track a time range each beside the caller's own range
(``python -m mouthsync.face._worker``), with their progress pumped to the caller's bar."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any

import numpy as np

from mouthsync.core.errors import BadInput


def split_points(ft: np.ndarray, parts: int) -> list[tuple[float | None, float | None]]:
    """Time ranges of about equal frame count, cut at the true frame times ``ft``."""
    if parts <= 1 or len(ft) < parts * 50:
        return [(None, None)]
    cuts = [float(ft[(len(ft) * i) // parts]) for i in range(1, parts)]
    bounds: list[float | None] = [None, *cuts, None]
    return [(bounds[i], bounds[i + 1]) for i in range(parts)]


class TrackWorkers:
    """``mouthsync.face._worker`` processes, one per time range, with their progress pumped
    into ``advance``; a context manager that stops them when left before :meth:`results`."""

    def __init__(
        self,
        src: str,
        ranges: list[tuple[float | None, float | None]],
        max_side: int | None,
        max_faces: int,
        width: int,
        height: int,
        advance: Any,
        nice: int = 0,
        crop: tuple[int, int, int, int] | None = None,
        sar: float = 1.0,
    ) -> None:
        import json
        import subprocess
        import tempfile

        from mouthsync.core import spares

        self._src = src
        self._tmp = tempfile.TemporaryDirectory(prefix="mouthsync-track-")
        tmp = self._tmp.name
        self._procs: list[subprocess.Popen[str]] = []
        self._spares: list[spares.Spare] = []
        self._outs: list[str] = []
        self._errs: list[str] = [""] * len(ranges)
        # (TMPDIR inside our own temp folder: whatever a library leaves there when the
        # worker is stopped half-way goes when the folder does)
        try:
            for i, (a, b) in enumerate(ranges, start=1):
                out = os.path.join(tmp, f"part{i}.npz")
                args = {"path": src, "start": a, "end": b, "max_side": max_side,
                        "max_faces": max_faces, "width": width, "height": height, "nice": nice,
                        "crop": None if crop is None else list(crop), "sar": sar}
                argv = [json.dumps(args), out]
                spare = spares.take(spares.TRACK_WORKER)  # started with the command, imports done
                if spare is not None:
                    self._spares.append(spare)
                self._procs.append(spares.launch(spares.TRACK_WORKER, argv, tmp, spare=spare, progress_out=True))
                self._outs.append(out)
        except BaseException:
            self.close()
            raise

        def pump(i: int, p: subprocess.Popen[str]) -> None:
            assert p.stdout is not None and p.stderr is not None
            drain = threading.Thread(target=lambda: self._errs.__setitem__(i, p.stderr.read()), daemon=True)
            drain.start()
            for line in p.stdout:
                with contextlib.suppress(ValueError):
                    advance(int(line))
            drain.join()

        self._threads = [threading.Thread(target=pump, args=(i, p), daemon=True) for i, p in enumerate(self._procs)]
        for th in self._threads:
            th.start()

    def __enter__(self) -> TrackWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def results(self) -> list[dict[str, np.ndarray]]:
        """Wait for every worker; their parts in range order. ``BadInput`` if one failed."""
        for p in self._procs:
            p.wait()
        for th in self._threads:
            th.join()
        parts = []
        for p, out, err in zip(self._procs, self._outs, self._errs, strict=True):
            if p.returncode != 0 or not os.path.exists(out):
                last = [ln for ln in err.strip().splitlines() if ln.strip()][-1:] or ["no message"]
                raise BadInput(f"{self._src}: face tracking worker failed ({last[0]})")
            with np.load(out) as z:
                parts.append({k: z[k] for k in z.files})
        return parts

    def close(self) -> None:
        """Kill workers still running and remove their folder; idempotent."""
        for p in self._procs:
            if p.poll() is None:
                with contextlib.suppress(OSError):
                    p.kill()
        for p in self._procs:
            with contextlib.suppress(OSError):
                p.wait()
        for th in getattr(self, "_threads", []):
            th.join(timeout=5)
        for spare in self._spares:
            spare.stop()
        self._tmp.cleanup()

