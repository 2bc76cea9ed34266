"""The face track: one face's 478 landmarks per frame at true times, with the boxes, head
pose and mouth measures derived from them, saved to and loaded from ``.npz``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mouthsync.core.atomic import atomic_path
from mouthsync.core.errors import BadInput
from mouthsync.face.frames import upright_points
from mouthsync.face.mouth import head_pose, mouth_measures
from mouthsync.media.decode import rate_of

SCHEMA_VERSION = 1
N_LANDMARKS = 478


@dataclass
class FaceTrack:
    """Per-frame face track of one primary face.

    ``times`` are true presentation times in seconds; ``valid`` marks frames with a usable
    face; ``boxes`` (x0, y0, x1, y1), ``landmarks`` (x, y px; z on the same pixel scale,
    relative to the face centre) and ``pose`` (yaw, pitch, roll degrees) are NaN where not
    valid. ``mouth`` maps measure names to per-frame arrays (see ``docs/face.md``).
    Landmarks and boxes are in the stored picture's pixels; ``rotation`` is the degrees
    counterclockwise a player turns that picture to show it (phone footage), ``sar`` how
    many times as wide as high a stored pixel is shown (anamorphic masters), and ``pose``
    and the mouth measures are those of the picture as shown.
    """

    times: np.ndarray
    valid: np.ndarray
    boxes: np.ndarray
    landmarks: np.ndarray
    pose: np.ndarray
    mouth: dict[str, np.ndarray]
    width: int
    height: int
    fps: float
    source: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    # mean absolute change of the whole picture from the previous frame (8-bit grey levels
    # of a 32x18 thumbnail; NaN for the first frame): picture cuts, face.shots
    picture_change: np.ndarray | None = None
    # each frame's grey 32x18 thumbnail (uint8, n x 18 x 32): gradual transitions
    # (dissolves), which no change between two frames shows, face.shots
    thumbs: np.ndarray | None = None
    rotation: int = 0
    sar: float = 1.0

    def __len__(self) -> int:
        return len(self.times)

    @property
    def coverage(self) -> float:
        """Fraction of frames with a usable face."""
        return float(self.valid.mean()) if len(self.valid) else 0.0

    @property
    def face_px(self) -> float | None:
        """The face's median width in stored pixels (its landmarks' box) over the frames with
        a usable face; None without one. How much picture the lips have to be read from."""
        if not self.valid.any():
            return None
        return float(np.median((self.boxes[:, 2] - self.boxes[:, 0])[self.valid]))

    def save(self, path: str | os.PathLike[str], inputs: tuple[str | os.PathLike[str], ...] = ()) -> Path:
        """Write the track as ``.npz`` atomically (loads with plain NumPy, no mouthsync)."""
        import json

        arrays: dict[str, Any] = {
            "schema_version": np.array(SCHEMA_VERSION),
            "times": self.times.astype(np.float64),
            "valid": self.valid.astype(bool),
            "boxes": self.boxes.astype(np.float32),
            "landmarks": self.landmarks.astype(np.float32),
            "pose": self.pose.astype(np.float32),
            "width": np.array(self.width),
            "height": np.array(self.height),
            "fps": np.array(self.fps),
            "rotation": np.array(self.rotation),
            "sar": np.array(self.sar),
            "source": np.array(self.source),
            "settings_json": np.array(json.dumps(self.settings, sort_keys=True)),
        }
        for k, v in self.mouth.items():
            arrays[f"mouth_{k}"] = np.asarray(v, dtype=np.float32)
        if self.picture_change is not None:
            arrays["picture_change"] = np.asarray(self.picture_change, dtype=np.float32)
        if self.thumbs is not None:
            arrays["thumbs"] = np.asarray(self.thumbs, dtype=np.uint8)
        out = Path(path)
        # Not compressed: float landmarks hardly compress (7.9 against 8.6 MB for 60 s at
        # 25 fps) and deflating them took 0.35 s, spent at the end of every fresh check
        # while the other core waited.
        with atomic_path(out, inputs) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        return out

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FaceTrack:
        """Read a track written by :meth:`save`; refuses other schema versions clearly."""
        import json

        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise BadInput(f"{path}: not a mouthsync track file ({exc})") from None
        with z:
            if "schema_version" not in z.files:
                raise BadInput(f"{path}: not a mouthsync track file (no schema_version)")
            ver = int(z["schema_version"])
            if ver != SCHEMA_VERSION:
                raise BadInput(f"{path}: track schema {ver} is not supported (expected {SCHEMA_VERSION}); track again")
            mouth = {k[len("mouth_"):]: z[k] for k in z.files if k.startswith("mouth_")}
            return cls(
                times=z["times"],
                valid=z["valid"],
                boxes=z["boxes"],
                landmarks=z["landmarks"],
                pose=z["pose"],
                mouth=mouth,
                width=int(z["width"]),
                height=int(z["height"]),
                fps=float(z["fps"]),
                source=str(z["source"]),
                settings=json.loads(str(z["settings_json"])),
                picture_change=z["picture_change"] if "picture_change" in z.files else None,
                thumbs=z["thumbs"] if "thumbs" in z.files else None,
                rotation=int(z["rotation"]) if "rotation" in z.files else 0,
                sar=float(z["sar"]) if "sar" in z.files else 1.0,
            )

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (no per-frame arrays)."""
        ap = self.mouth.get("aperture", np.array([]))
        ok = np.isfinite(ap)
        return {
            "source": self.source,
            "frames": len(self),
            "valid_frames": int(self.valid.sum()),
            "coverage": self.coverage,
            "start_s": float(self.times[0]) if len(self) else None,
            "end_s": float(self.times[-1]) if len(self) else None,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "rotation": self.rotation,
            "sar": self.sar,
            "aperture_mean": float(ap[ok].mean()) if ok.any() else None,
            "aperture_p95": float(np.percentile(ap[ok], 95)) if ok.any() else None,
            "closure_frames": int(np.nansum(self.mouth.get("closure", np.array([])))),
            "yaw_abs_median": float(np.nanmedian(np.abs(self.pose[:, 0]))) if self.valid.any() else None,
            "settings": self.settings,
        }


def build_track(
    times: np.ndarray,
    valid: np.ndarray,
    landmarks: np.ndarray,
    width: int,
    height: int,
    source: str = "",
    settings: dict[str, Any] | None = None,
    picture_change: np.ndarray | None = None,
    thumbs: np.ndarray | None = None,
    rotation: int = 0,
    sar: float = 1.0,
) -> FaceTrack:
    """Derive boxes, pose and mouth measures from raw landmarks (also used after smoothing).

    ``picture_change`` and ``thumbs``: per-frame change and thumbnail of the whole picture
    (see ``mesh_frames``), kept as they are; None when not measured (a track from
    elsewhere). ``rotation``: the picture's display rotation (degrees counterclockwise);
    the pose is taken on the landmarks turned with it, so that yaw stays a turn of the head
    as people see it (on a sideways phone picture it would read the nod). ``sar``: the
    pixel aspect ratio; the pose and the mouth measures are taken in square pixels
    (retalking_face2 stored with 4:3 pixels, as a 1440x1080 master is, read its eye-to-eye
    scale 21 % short in stored pixels and every aperture 38 % wider, which makes the
    closure threshold that much stricter; in square pixels: within 2 %)."""
    lm = landmarks.astype(np.float32, copy=True)
    lm[~valid] = np.nan
    n = len(times)
    boxes = np.full((n, 4), np.nan, dtype=np.float32)
    pose = np.full((n, 3), np.nan, dtype=np.float32)
    shown = lm
    if sar != 1.0:  # square pixels for the geometry (a copy of the mesh only then)
        shown = lm.copy()
        shown[:, :, 0] *= sar
    if valid.any():
        # plain reductions: NaN rows (no face) give NaN, valid rows hold no NaN, and no
        # copy of the whole mesh is made (memory stays flat on long clips)
        x, y = lm[:, :, 0], lm[:, :, 1]
        boxes = np.stack([x.min(1), y.min(1), x.max(1), y.max(1)], axis=1).astype(np.float32)
        with np.errstate(invalid="ignore"):
            pose = head_pose(upright_points(shown, rotation // 90, width * sar, height) if rotation % 360 else shown)
        boxes[~valid] = np.nan
        pose[~valid] = np.nan
    with np.errstate(invalid="ignore"):
        mouth = mouth_measures(shown, times, valid)
    # check reads delays in these frames: a constant-rate clip with a frame missing still
    # counts at its own rate (it read 24.56 fps for 25)
    # (a track of every k-th frame, ``face.stride``, reads the file's rate)
    fps = rate_of(times) * int((settings or {}).get("every", 1))
    return FaceTrack(
        times=times, valid=valid, boxes=boxes, landmarks=lm, pose=pose, mouth=mouth,
        width=width, height=height, fps=fps, source=source, settings=dict(settings or {}),
        picture_change=None if picture_change is None else np.asarray(picture_change, dtype=np.float32),
        thumbs=None if thumbs is None else np.asarray(thumbs, dtype=np.uint8),
        rotation=int(rotation) % 360, sar=float(sar),
    )

