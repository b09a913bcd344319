"""Video/audio sources read through PyAV: a file, an FFmpeg test pattern (lavfi), a V4L2
webcam or an RTSP URL. Frames come out at the camera's nominal frame rate (file sources
are re-timed by dropping/repeating frames and looped); audio comes out as 48 kHz mono.

Source specs::

    testsrc2 | smptebars | mandelbrot | ...  an FFmpeg test pattern, with a 440 Hz tone
    barcode                                  frame-number barcode (tests measure timing with it)
    lavfi:<filtergraph>                      any lavfi graph, e.g. lavfi:color=c=blue
    /dev/video0                              V4L2 camera (no audio)
    rtsp://host/path                         RTSP camera
    path/to/file.mp4                         a video file (looped)
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterator

import av

from ..errors import BodycamError
from .encoder import AUDIO_RATE

PATTERNS = ("testsrc", "testsrc2", "smptebars", "smptehdbars", "mandelbrot", "rgbtestsrc", "yuvtestsrc",
            "pal75bars", "pal100bars", "cellauto", "life")
BARCODE_BITS = 20


class SourceError(BodycamError, ValueError):
    pass


def barcode_frames(width: int, height: int) -> Iterator[av.VideoFrame]:
    """Each frame shows its own index as BARCODE_BITS black/white columns (bit k in column k)."""
    import numpy as np

    cols = (np.arange(width) * BARCODE_BITS // width).astype(np.int64)
    chroma = np.full((height // 2, width), 128, dtype=np.uint8)
    n = 0
    while True:
        bits = ((n >> cols) & 1).astype(np.uint8)
        luma = np.broadcast_to(np.where(bits, 235, 16).astype(np.uint8), (height, width))
        yield av.VideoFrame.from_ndarray(np.vstack([luma, chroma]), format="yuv420p")
        n += 1


def read_barcode(frame: av.VideoFrame) -> int:
    """The frame index drawn by ``barcode_graph`` (robust to compression)."""
    gray = frame.to_ndarray(format="gray")
    h, w = gray.shape
    row = gray[h // 2]
    value = 0
    for k in range(BARCODE_BITS):
        x = int((k + 0.5) * w / BARCODE_BITS)
        if row[x] > 128:
            value |= 1 << k
    return value


class Source:
    def __init__(self, spec: str, width: int, height: int, fps: int, audio: bool = True):
        self.spec, self.width, self.height, self.fps = spec, width, height, fps
        self.want_audio = audio
        self.live = spec.startswith("/dev/video") or "://" in spec
        if spec.startswith("lavfi:"):
            self._video_args = (spec[6:], "lavfi", {})
            self._audio_args = ("sine=frequency=440:sample_rate=48000", "lavfi", {})
        elif spec == "barcode":
            self._video_args = ("color=c=black:size=16x16", "lavfi", {})
            self._audio_args = ("sine=frequency=440:sample_rate=48000", "lavfi", {})
        elif spec.split("=")[0] in PATTERNS:
            graph = spec if "=" in spec else f"{spec}=size={width}x{height}:rate={fps}"
            self._video_args = (graph, "lavfi", {})
            self._audio_args = ("sine=frequency=440:sample_rate=48000", "lavfi", {})
        elif spec.startswith("/dev/video"):
            self._video_args = (spec, "v4l2", {"framerate": str(fps), "video_size": f"{width}x{height}"})
            self._audio_args = None
        elif spec.startswith("rtsp://"):
            self._video_args = (spec, None, {"rtsp_transport": "tcp"})
            self._audio_args = (spec, None, {"rtsp_transport": "tcp"})
        else:
            self._video_args = (spec, None, {})
            self._audio_args = (spec, None, {})
        self.synthetic = self._video_args[1] == "lavfi"
        self.barcode = spec == "barcode"
        try:
            probe = self._open(self._video_args)
        except (av.error.FFmpegError, OSError) as exc:
            raise SourceError(f"cannot open source {spec!r}: {exc}") from None
        try:
            if not probe.streams.video:
                raise SourceError(f"source {spec!r} has no video")
            self.has_audio = bool(audio and self._audio_args and
                                  (self._audio_args[1] == "lavfi" or probe.streams.audio))
        finally:
            probe.close()

    @staticmethod
    def _open(args):
        url, fmt, opts = args
        return av.open(url, format=fmt, options=opts) if fmt else av.open(url, options=opts)

    def video(self) -> Iterator[av.VideoFrame]:
        """Frames at ``fps``, forever for patterns and files (looped), until the end for live sources."""
        if self.barcode:
            yield from barcode_frames(self.width, self.height)
            return
        step = Fraction(1, self.fps)
        out_t = Fraction(0)
        offset = 0.0
        while True:
            c = self._open(self._video_args)
            try:
                stream = c.streams.video[0]
                stream.thread_type = "AUTO"
                if self.live or self.synthetic:
                    for frame in c.decode(stream):
                        yield frame
                    return
                cur, first, last_t = None, None, 0.0
                for frame in c.decode(stream):
                    ft = frame.time if frame.time is not None else last_t
                    first = ft if first is None else first
                    last_t = ft
                    ft = ft - first + offset
                    while cur is not None and out_t < ft:
                        yield cur
                        out_t += step
                    cur = frame
                if cur is None:
                    raise SourceError(f"source {self.spec!r} has no decodable video")
                end = max(float(out_t), last_t - (first or 0) + offset + float(step))
                while out_t < end:
                    yield cur
                    out_t += step
                offset = float(out_t)
            finally:
                c.close()

    def audio(self) -> Iterator[av.AudioFrame]:
        """48 kHz mono float-planar frames: forever for patterns and files (looped), to the end for live sources."""
        if not self.has_audio:
            return
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=AUDIO_RATE)
        while True:
            c = self._open(self._audio_args)
            try:
                if not c.streams.audio:
                    return
                for frame in c.decode(c.streams.audio[0]):
                    frame.pts = None
                    for out in resampler.resample(frame):
                        yield out
                if self.live:
                    return
            finally:
                c.close()
