"""Small cameras for tests: 160x120 at 10 fps, 1 s keyframe interval, real H.264/AAC."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from bodycam.device.camera import simulate
from bodycam.device.config import load_config
from bodycam.device.sources import read_barcode
from bodycam.device.storage import DeviceStorage, read_json

FPS = 10
START = "2026-11-20T08:00:00Z"
START_EPOCH = 1795161600.0  # 2026-11-20T08:00:00Z


def camera(path: Path, **settings):
    storage = DeviceStorage(path).ensure()
    defaults = dict(serial="BWC-7", user_id=str(uuid.uuid4()), width=160, height=120, fps=FPS, bitrate=150_000,
                    keyframe_interval_s=1.0, clip_seconds=300.0)
    config = load_config(storage, **{**defaults, **settings})
    storage.key()  # the camera's Ed25519 key pair (DIR/keys/device.key, device.pub)
    return storage, config


def run_scenario(path: Path, events: list, duration: float, source: str = "barcode", start: str = START,
                 **settings):
    storage, config = camera(path, **settings)
    summary = simulate(storage, source, {"start": start, "duration": duration, "events": events}, config)
    return storage, config, summary


def recordings(storage: DeviceStorage) -> list[dict]:
    out = []
    for d in storage.recordings():
        state = read_json(d / "recording.json")
        state["dir"] = d
        out.append(state)
    return out


@dataclass
class Decoded:
    frames: int
    first_index: int          # barcode of the first decoded frame = source frame number
    last_index: int
    first_video_s: float      # presentation time in the file
    last_video_s: float
    audio_first_s: float | None
    audio_last_s: float | None
    audio_samples: int
    contiguous: bool          # every frame number between first and last, in order
    audio: object = None      # all decoded audio samples (numpy), starting at audio_first_s

    def loudness(self, start_s: float, end_s: float) -> float:
        """RMS of the decoded audio between two file times (0 when there is none)."""
        import numpy as np

        if self.audio is None or self.audio_first_s is None:
            return 0.0
        a = max(0, int((start_s - self.audio_first_s) * 48000))
        b = max(0, int((end_s - self.audio_first_s) * 48000))
        part = self.audio[a:b]
        return float(np.sqrt(np.mean(part ** 2))) if len(part) else 0.0

    @property
    def duration(self) -> float:
        return (self.last_index - self.first_index + 1) / FPS


def _frames(path: Path, kind: str):
    """Decode packet by packet, as a player does; a cut-off file ends at its first bad packet."""
    with av.open(str(path)) as c:
        streams = c.streams.video if kind == "video" else c.streams.audio
        if not streams:
            return
        for packet in c.demux(streams[0]):
            if packet.size == 0:
                continue
            if packet.is_corrupt:
                return
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                return
            yield from frames
        yield from streams[0].codec_context.decode(None)  # frames the decoder still holds


def decode(path: Path) -> Decoded:
    """Decode every frame (video and audio) of a clip; read each frame's barcode."""
    indices, times = [], []
    for frame in _frames(path, "video"):
        indices.append(read_barcode(frame))
        times.append(float(frame.time))
    import numpy as np

    a_first = a_last = None
    samples = 0
    chunks = []
    for frame in _frames(path, "audio"):
        t = float(frame.time)
        a_first = t if a_first is None else a_first
        a_last = t + frame.samples / frame.sample_rate
        samples += frame.samples
        chunks.append(frame.to_ndarray().astype(np.float32).reshape(-1))
    return Decoded(len(indices), indices[0], indices[-1], times[0], times[-1], a_first, a_last, samples,
                   indices == list(range(indices[0], indices[0] + len(indices))),
                   np.concatenate(chunks) if chunks else None)


def t(index: int) -> Fraction:
    return Fraction(index, FPS)


def scenario_file(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path
