"""User-facing errors.

Every problem the user can fix (bad input, unwritable output) is raised as a
:class:`MouthsyncError` subclass; the command line turns it into one line on stderr and a
non-zero exit code, never a traceback.
"""

from __future__ import annotations


class MouthsyncError(Exception):
    """An error whose message is meant for the user, as one line."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # one line, always
        return " ".join(self.message.split())


class BadInput(MouthsyncError):
    """The input file is missing, not media, corrupt, or lacks a needed stream."""


class NoAudio(BadInput):
    """The input has no audio stream, but the command needs one."""


class NoVideo(BadInput):
    """The input has no video stream, but the command needs one."""


class Unaligned(BadInput):
    """A transcript the sound does not hold: its words cannot be aligned to it (another
    take, another language, condensed subtitles). ``check`` then measures without it."""


class NoFace(BadInput):
    """No usable face was found in the video."""


class BadOutput(MouthsyncError):
    """The output path cannot be written, or would overwrite an input."""


class Interrupted(MouthsyncError):
    """The user interrupted the work (Ctrl-C); nothing partial was left behind."""

    exit_code = 130
