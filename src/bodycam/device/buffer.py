"""The pre-event ring buffer: encoded packets, whole GOPs, bounded by seconds and bytes.

The buffer keeps every GOP whose keyframe is no older than ``seconds`` before the newest
packet, and drops whole GOPs from the oldest end while it holds more than ``max_bytes``
(the GOP being filled is always kept: a recording must start at a keyframe). With
``audio=False`` audio packets are not buffered at all; the recorder buffers silent audio
frames in place of the microphone's unless ``--buffer-audio`` is set, so the buffered part
of a recording carries no sound while audio and video stay in sync.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction

from .encoder import EncodedPacket


class PreEventBuffer:
    def __init__(self, seconds: float, max_bytes: int, audio: bool = False):
        self.seconds = Fraction(seconds).limit_denominator(1000)
        self.max_bytes = max_bytes
        self.audio = audio
        self._gops: deque[list[EncodedPacket]] = deque()
        self._pending_audio: list[EncodedPacket] = []  # audio before the first keyframe
        self.bytes = 0
        self.peak_bytes = 0

    def __len__(self) -> int:
        return sum(len(g) for g in self._gops)

    @property
    def oldest_t(self) -> Fraction | None:
        return self._gops[0][0].t if self._gops else None

    def push(self, pkt: EncodedPacket) -> None:
        if self.seconds <= 0:
            return
        if pkt.kind == "audio":
            if not self.audio or not self._gops:
                return
            self._gops[-1].append(pkt)
        elif pkt.keyframe:
            self._gops.append([pkt])
        elif self._gops:
            self._gops[-1].append(pkt)
        else:
            return  # no keyframe yet: nothing a recording could start from
        self.bytes += len(pkt)
        self._trim(pkt.t)
        self.peak_bytes = max(self.peak_bytes, self.bytes)

    def _drop_oldest(self) -> None:
        gop = self._gops.popleft()
        self.bytes -= sum(len(p) for p in gop)

    def _trim(self, now: Fraction) -> None:
        horizon = now - self.seconds
        while len(self._gops) > 1 and self._gops[0][0].t < horizon:
            self._drop_oldest()
        while len(self._gops) > 1 and self.bytes > self.max_bytes:
            self._drop_oldest()

    def drain(self, now: Fraction | None = None) -> list[EncodedPacket]:
        """Everything buffered within ``seconds`` of ``now`` (oldest keyframe first); empties the buffer."""
        if now is not None:
            self._trim(now)
        packets = [p for gop in self._gops for p in gop]
        self._gops.clear()
        self.bytes = 0
        return packets

    def clear(self) -> None:
        self._gops.clear()
        self.bytes = 0
