"""Face stage: where the mouth is and what shape it has (tracking, mouth measures, quality, smoothing).

``track_face`` (``face.track``) and ``FaceTrack`` (``face.facetrack``) are the public entry points; importing this
package does not load MediaPipe (that happens when a clip is actually tracked).
"""

from mouthsync.face.facetrack import FaceTrack
from mouthsync.face.track import track_face

__all__ = ["FaceTrack", "track_face"]
