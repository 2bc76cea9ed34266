"""Opening media files with one clear error for every way a file can be unusable.

Every stage opens files through :func:`open_input` so that a zero-byte file, a text file
named ``.mp4``, a truncated container or a missing path all produce the same kind of
one-line :class:`~mouthsync.core.errors.BadInput` message.
"""

from __future__ import annotations

import os
from pathlib import Path

import av

from mouthsync.core.errors import BadInput, NoAudio, NoVideo


def check_input_path(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path after checking it is a readable, non-empty file."""
    p = Path(path)
    if not p.exists():
        raise BadInput(f"{p}: no such file")
    if p.is_dir():
        raise BadInput(f"{p}: is a folder, not a media file")
    if p.stat().st_size == 0:
        raise BadInput(f"{p}: file is empty (zero bytes)")
    if not os.access(p, os.R_OK):
        raise BadInput(f"{p}: cannot read the file (permission denied)")
    return p


def open_input(path: str | os.PathLike[str]) -> av.container.InputContainer:
    """Open a media file for reading, translating decoder errors into :class:`BadInput`."""
    p = check_input_path(path)
    try:
        container = av.open(str(p), mode="r")
    except av.FFmpegError as exc:
        raise BadInput(f"{p}: not a readable media file ({_reason(exc)})") from None
    except (OSError, ValueError) as exc:
        raise BadInput(f"{p}: not a readable media file ({exc})") from None
    if not container.streams.video and not container.streams.audio:
        container.close()
        raise BadInput(f"{p}: contains neither video nor audio")
    return container


def _reason(exc: Exception) -> str:
    text = str(exc)
    # PyAV messages look like "[Errno 1094995529] Invalid data found when processing input: 'x.mp4'"
    if "]" in text:
        text = text.split("]", 1)[1]
    return text.split(":")[0].strip().lower() or type(exc).__name__


def picture_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The first video stream that is a picture (not cover art), or None."""
    for s in container.streams.video:
        if not s.disposition & av.stream.Disposition.attached_pic:
            return s
    return None


def require_video(container: av.container.InputContainer, path: str | os.PathLike[str]) -> av.video.stream.VideoStream:
    """The first video stream that is a picture, or :class:`NoVideo` with a one-line reason.

    Cover art (an attached picture: a podcast's or a song's artwork) is a video stream of
    one still and is passed over: an audio file with artwork has no picture to check.
    """
    s = picture_stream(container)
    if s is not None:
        return s
    art = " (only cover art)" if container.streams.video else " (audio only)"
    raise NoVideo(f"{path}: has no video stream{art}; this command needs a picture")


def require_audio(
    container: av.container.InputContainer, path: str | os.PathLike[str], which: int = 0
) -> av.audio.stream.AudioStream:
    """Audio stream number ``which`` (counted from 0 among the audio streams, as FFmpeg's
    ``a:N``), or :class:`NoAudio` / :class:`BadInput` with a one-line reason.

    Why a choice: dubbed and localised masters carry one audio stream per language, and
    the one to check against the picture is not always the first.
    """
    if not container.streams.audio:
        raise NoAudio(f"{path}: has no audio stream (picture only); this command needs the sound")
    n = len(container.streams.audio)
    if not 0 <= which < n:
        raise BadInput(
            f"{path}: has {n} audio stream{'s' if n > 1 else ''} (0..{n - 1}); there is no audio stream {which}"
        )
    return container.streams.audio[which]
