"""Face stage: where the mouth is and what shape it has (tracking, mouth measures, quality, smoothing).

``track_face`` / ``FaceTrack`` (``face.track``) are the public entry points; importing this
package does not load MediaPipe (that happens when a clip is actually tracked).
"""

from mouthsync.face.track import FaceTrack, track_face

__all__ = ["FaceTrack", "track_face"]
