"""Worker processes that track chunks of a clip beside the caller (``python -m
mouthsync.face._worker``, ``face.chunks``), with their progress pumped to the caller's bar."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any

import numpy as np


class TrackWorkers:
    """``mouthsync.face._worker`` processes, one starting at each chunk of ``firsts``, that
    claim chunks in :attr:`claims_folder` (``face.chunks``) as the caller does, with their
    progress pumped into ``advance``; a context manager that stops them when left before
    :meth:`results`."""

    def __init__(
        self,
        src: str,
        starts: list[float],
        firsts: list[int],
        max_side: int | None,
        max_faces: int,
        width: int,
        height: int,
        advance: Any,
        nice: int = 0,
        crop: tuple[int, int, int, int] | None = None,
        sar: float = 1.0,
        every_face: bool = False,
        every: int = 1,
    ) -> None:
        import json
        import subprocess
        import tempfile

        from mouthsync.core import spares

        self._src = src
        self._tmp = tempfile.TemporaryDirectory(prefix="mouthsync-track-")
        tmp = self._tmp.name
        self.claims_folder = os.path.join(tmp, "claims")
        os.mkdir(self.claims_folder)
        self._procs: list[subprocess.Popen[str]] = []
        self._spares: list[spares.Spare] = []
        self._outs: list[str] = []
        self._errs: list[str] = [""] * len(firsts)
        self.failures: list[str] = []  # why workers failed (:meth:`results`)
        # (TMPDIR inside our own temp folder: whatever a library leaves there when the
        # worker is stopped half-way goes when the folder does)
        try:
            for i, first in enumerate(firsts, start=1):
                out = os.path.join(tmp, f"part{i}.npz")
                args = {"path": src, "starts": starts, "first": first, "claims": self.claims_folder,
                        "max_side": max_side,
                        "max_faces": max_faces, "width": width, "height": height, "nice": nice,
                        "crop": None if crop is None else list(crop), "sar": sar, "every_face": every_face,
                        "every": every}
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

    def results(self) -> dict[int, dict[str, np.ndarray]]:
        """Wait for every worker; the chunks they tracked, by index. A worker that failed
        (killed, out of memory, a decoder error) gives nothing, and why is in
        :attr:`failures`: the caller tracks what is missing itself."""
        for p in self._procs:
            p.wait()
        for th in self._threads:
            th.join()
        parts: dict[int, dict[str, np.ndarray]] = {}
        self.failures = []
        for p, out, err in zip(self._procs, self._outs, self._errs, strict=True):
            if p.returncode != 0 or not os.path.exists(out):
                last = [ln for ln in err.strip().splitlines() if ln.strip()][-1:] or [f"exit status {p.returncode}"]
                self.failures.append(last[0])
                continue
            with np.load(out) as z:
                for key in z.files:  # "c{chunk}_{name}" (face._worker)
                    c, name = key[1:].split("_", 1)
                    parts.setdefault(int(c), {})[name] = z[key]
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

