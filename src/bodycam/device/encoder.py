"""H.264/AAC encoding that runs continuously while the camera is on.

Packets come out of one long-lived encoder pair and go either to the pre-event buffer or to
the clip being written, so a recording can begin before the moment it was triggered. Clip
files get their stream parameters (SPS/PPS, AudioSpecificConfig) from the encoders through
PyAV stream templates; no re-encoding happens when a clip is opened.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av

AUDIO_RATE = 48_000


@dataclass(slots=True)
class EncodedPacket:
    kind: str            # "video" | "audio"
    data: bytes
    pts: int
    dts: int
    duration: int
    time_base: Fraction
    keyframe: bool

    @property
    def t(self) -> Fraction:
        """Seconds on the camera's timeline."""
        return self.pts * self.time_base

    @property
    def end(self) -> Fraction:
        return (self.pts + (self.duration or 0)) * self.time_base

    def __len__(self) -> int:
        return len(self.data)


def _wrap(kind: str, p) -> EncodedPacket:
    return EncodedPacket(kind, bytes(p), p.pts, p.dts if p.dts is not None else p.pts, p.duration or 0,
                         p.time_base, bool(p.is_keyframe))


class Encoder:
    def __init__(self, width: int, height: int, fps: int, bitrate: int, gop: int, audio: bool = True,
                 audio_bitrate: int = 64_000, preset: str = "ultrafast"):
        self.fps = fps
        self.time_base = Fraction(1, fps)
        # A never-written container owns the encoders so that their parameters can serve as
        # templates for every clip file.
        self._holder = av.open(io.BytesIO(), "w", format="mp4")
        v = self._holder.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        cc = v.codec_context
        cc.bit_rate = bitrate
        cc.gop_size = gop
        cc.max_b_frames = 0
        cc.options = {"preset": preset, "tune": "zerolatency", "sc_threshold": "0", "forced-idr": "1",
                      "keyint_min": str(gop), "x264-params": "repeat-headers=1"}
        self.video = v
        self.audio = None
        if audio:
            a = self._holder.add_stream("aac", rate=AUDIO_RATE)
            a.layout = "mono"
            a.bit_rate = audio_bitrate
            self.audio = a
        self._holder.start_encoding()  # opens the encoders; fills the stream parameters
        self._force_key = False
        self.silent_audio = _silent_aac_frame(audio_bitrate) if audio else b""

    def force_keyframe(self) -> None:
        self._force_key = True

    def encode_video(self, frame: av.VideoFrame, index: int) -> list[EncodedPacket]:
        if frame.format.name != "yuv420p" or frame.width != self.video.width or frame.height != self.video.height:
            frame = frame.reformat(width=self.video.width, height=self.video.height, format="yuv420p")
        frame.pts = index
        frame.time_base = self.time_base
        frame.pict_type = av.video.frame.PictureType.I if self._force_key else av.video.frame.PictureType.NONE
        self._force_key = False
        return [_wrap("video", p) for p in self.video.encode(frame)]

    def encode_audio(self, frame: av.AudioFrame, sample_index: int) -> list[EncodedPacket]:
        if self.audio is None:
            return []
        frame.pts = sample_index
        frame.time_base = Fraction(1, AUDIO_RATE)
        return [_wrap("audio", p) for p in self.audio.encode(frame)]

    def flush(self) -> list[EncodedPacket]:
        out = [_wrap("video", p) for p in self.video.encode(None)]
        if self.audio is not None:
            out += [_wrap("audio", p) for p in self.audio.encode(None)]
        return out


def _silent_aac_frame(bitrate: int) -> bytes:
    """One AAC-LC 48 kHz mono frame of silence (decodes with the camera encoder's config)."""
    import numpy as np

    holder = av.open(io.BytesIO(), "w", format="mp4")
    a = holder.add_stream("aac", rate=AUDIO_RATE)
    a.layout = "mono"
    a.bit_rate = bitrate
    packets = []
    for i in range(6):
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = i * 1024
        packets += [bytes(p) for p in a.encode(frame)]
    return packets[-1]
