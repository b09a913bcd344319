"""Probe a media file: it must open, hold a decodable video or audio stream, and last > 0 s."""

from __future__ import annotations

from dataclasses import dataclass, field

import av

from ..errors import BodycamError


class MediaError(BodycamError):
    status = 400  # not playable media (ingest answers BadRequest)


@dataclass
class MediaInfo:
    format_name: str
    duration_s: float
    streams: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"format": self.format_name, "duration_s": self.duration_s, "streams": self.streams}


def _demux_duration(container) -> float:
    """Walk packets (no decoding) for containers that do not state a duration (fragmented MP4, live MKV)."""
    end = 0.0
    start = None
    for packet in container.demux():
        if packet.pts is None or packet.stream.time_base is None:
            continue
        t0 = float(packet.pts * packet.stream.time_base)
        t1 = t0 + float((packet.duration or 0) * packet.stream.time_base)
        start = t0 if start is None else min(start, t0)
        end = max(end, t1)
    return max(0.0, end - (start or 0.0))


def probe(path: str) -> MediaInfo:
    try:
        container = av.open(path, mode="r")
    except Exception as exc:  # PyAV raises many FFmpeg error types
        raise MediaError(f"not a readable media file: {exc}") from None
    try:
        streams = []
        for s in container.streams:
            if s.type not in ("video", "audio"):
                continue
            entry = {"index": s.index, "type": s.type, "codec": s.codec_context.name}
            if s.type == "video":
                entry.update(width=s.codec_context.width, height=s.codec_context.height,
                             fps=float(s.average_rate) if s.average_rate else None)
            else:
                entry.update(sample_rate=s.codec_context.sample_rate, channels=s.codec_context.channels)
            streams.append(entry)
        if not streams:
            raise MediaError("no audio or video stream")
        target = container.streams.video[0] if container.streams.video else container.streams.audio[0]
        try:
            decoded = next(iter(container.decode(target)), None)
        except Exception as exc:
            raise MediaError(f"stream does not decode: {exc}") from None
        if decoded is None:
            raise MediaError("stream holds no decodable frame")
        duration = (container.duration or 0) / 1_000_000
        if duration <= 0:
            container.seek(0)
            duration = _demux_duration(container)
        if duration <= 0:
            raise MediaError("clip has no duration")
        return MediaInfo(format_name=container.format.name, duration_s=round(duration, 3), streams=streams)
    finally:
        container.close()
