"""Text subtitles carried into a container that cannot hold their codec.

Why: ``fix -o`` and ``prep -o`` may write another container than the source's (an MKV
delivered as MP4, an MP4 conformed to MKV). Each container family carries text
subtitles in its own codec: MP4 and MOV only ``mov_text`` (3GPP timed text), Matroska
SubRip, ASS or WebVTT but not ``mov_text``, WebM only WebVTT. A copy fails there, and
the subtitles were dropped (said, but lost). A subtitle track is a deliverable as much
as the sound: dubbing and localisation work ships it.

FFmpeg turns every text subtitle it decodes into ASS events and its text encoders format
ASS events in their own codec (italics, bold and underline survive as each codec's own
markup; positions and colours only where the target has them), so each cue is decoded
and encoded again, on the source packet's own times. Picture subtitles (DVD, Blu-ray
PGS, DVB) cannot be made text, and are still dropped.
"""

from __future__ import annotations

from typing import Any

from mouthsync.media.subtitles import TEXT_SUBTITLE_CODECS

#: The text subtitle codec each container family holds, by FFmpeg's muxer name.
TEXT_CODEC_FOR = {
    "mp4": "mov_text",
    "mov": "mov_text",
    "ipod": "mov_text",
    "3gp": "mov_text",
    "3g2": "mov_text",
    "matroska": "subrip",
    "webm": "webvtt",
}


def is_text(codec: str) -> bool:
    """Whether a subtitle codec carries text (FFmpeg decodes it to ASS events)."""
    return codec in TEXT_SUBTITLE_CODECS


def holds_text(container: str) -> bool:
    """Whether a container (FFmpeg muxer name) has a stream type for text subtitles.
    MPEG-TS has none: a copied SubRip track became an opaque data stream (``bin_data``)
    that no player shows."""
    return container in TEXT_CODEC_FOR


class SubtitleRecoder:
    """One text subtitle stream of the source, written as another codec into ``oc``.

    Made with :meth:`add`; :meth:`packet` turns each source packet into the output's
    (None for a packet that holds no cue). ``cues`` and ``lost`` count what was carried.
    """

    def __init__(self, ist: Any, ost: Any) -> None:
        self.ist, self.ost = ist, ost
        self.cues = 0
        self.lost = 0

    @classmethod
    def add(cls, oc: Any, ist: Any) -> SubtitleRecoder | None:
        """A recoder writing ``ist`` (a text subtitle stream) into a new stream of ``oc``
        in the codec ``oc``'s container holds; None when ``ist`` is no text subtitle, the
        container holds none (MPEG-TS: no text subtitle stream type), or the decoder or
        the encoder will not open."""
        import av

        from mouthsync.media.write import copy_meta

        target = TEXT_CODEC_FOR.get(oc.format.name)
        dec = ist.codec_context
        if target is None or dec is None or not is_text(dec.name):
            return None
        try:
            if not dec.is_open:
                dec.open()  # the decoder writes the ASS header (styles) the encoder formats with
            ost = oc.add_stream(target)
        except (ValueError, av.FFmpegError):
            return None
        ost.time_base = ist.time_base
        ost.codec_context.time_base = ist.time_base
        ost.codec_context.subtitle_header = dec.subtitle_header
        copy_meta(ist, ost)
        return cls(ist, ost)

    def packet(self, p: Any) -> Any | None:
        """The output packet for the source packet ``p``, on ``p``'s times; None when it
        holds no cue (a gap marker) or it cannot be carried (counted in ``lost``)."""
        import av

        try:
            subs = self.ist.codec_context.decode2(p)
            if subs is None or len(subs) == 0:
                return None
            q = self.ost.codec_context.encode_subtitle(subs)
        except (av.FFmpegError, ValueError):
            self.lost += 1
            return None
        if q is None or q.size == 0:
            return None
        q.pts, q.dts, q.duration, q.time_base = p.pts, p.dts, p.duration, p.time_base
        q.stream = self.ost
        self.cues += 1
        return q

    def note(self) -> str:
        """What was done, for the stream's record."""
        how = f"written as {self.ost.codec_context.codec.canonical_name}: {self.cues} cue{'s' if self.cues != 1 else ''}"
        return how + (f", {self.lost} could not be carried" if self.lost else "")
