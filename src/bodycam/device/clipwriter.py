"""Write encoded packets into a clip file that survives power loss.

MP4 clips are fragmented (a ``moof``/``mdat`` fragment per GOP, ``moov`` written after the
first fragment, edit lists kept so audio that begins later than video stays in sync); MKV
clips are clustered. After every fragment the file is flushed and fsync'ed, so a camera that
loses power mid-recording still leaves a file that plays up to its last complete fragment.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av

from .encoder import EncodedPacket, Encoder

MP4_OPTIONS = {"movflags": "frag_keyframe+delay_moov+default_base_moof", "use_editlist": "1", "flush_packets": "1"}
MKV_OPTIONS = {"flush_packets": "1", "cluster_time_limit": "1000"}


class ClipWriter:
    def __init__(self, path: Path, container_type: str, encoder: Encoder, start_t: Fraction, fsync: bool = True):
        self.path = Path(path)
        self.start_t = start_t
        self.end_t = start_t
        self.fsync = fsync
        self._file = open(self.path, "wb")
        fmt, opts = ("mp4", MP4_OPTIONS) if container_type == "mp4" else ("matroska", MKV_OPTIONS)
        self._out = av.open(self._file, "w", format=fmt, options=dict(opts))
        self._streams = {"video": self._out.add_stream_from_template(encoder.video)}
        if encoder.audio is not None:
            self._streams["audio"] = self._out.add_stream_from_template(encoder.audio)
        self.packets = {"video": 0, "audio": 0}
        self.closed = False

    def write(self, pkt: EncodedPacket) -> None:
        if pkt.t < self.start_t or pkt.kind not in self._streams:
            return
        if pkt.kind == "video" and self.packets["video"] == 0 and not pkt.keyframe:
            return  # a clip always begins with a keyframe
        offset = int(self.start_t / pkt.time_base)
        q = av.Packet(pkt.data)
        q.pts = pkt.pts - offset
        q.dts = pkt.dts - offset
        q.duration = pkt.duration
        q.time_base = pkt.time_base
        q.is_keyframe = pkt.keyframe
        q.stream = self._streams[pkt.kind]
        self._out.mux(q)
        self.packets[pkt.kind] += 1
        self.end_t = max(self.end_t, pkt.end)
        if pkt.kind == "video" and pkt.keyframe and self.fsync:
            self.sync()  # the previous fragment is complete and on disk

    def sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> int:
        if not self.closed:
            self.closed = True
            try:
                self._out.close()
            finally:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
        return self.path.stat().st_size


def _boxes(f, size: int):
    """Top-level ISO BMFF boxes as (type, offset, length); stops at a box that runs past EOF."""
    import struct

    off = 0
    while off + 8 <= size:
        f.seek(off)
        head = f.read(16)
        length, kind = struct.unpack(">I4s", head[:8])
        if length == 1 and len(head) >= 16:
            length = struct.unpack(">Q", head[8:16])[0]
        elif length == 0:
            length = size - off
        if length < 8 or off + length > size:
            return
        yield kind.decode("latin-1"), off, length
        off += length


def repair_fragmented_mp4(path: Path) -> int | None:
    """After power loss: cut a fragmented MP4 back to its last complete fragment (moof+mdat),
    so every player opens it. Returns the new size, or None when not even the header (moov)
    and one fragment survived. Only ever used on a clip that was never closed or signed."""
    path = Path(path)
    size = path.stat().st_size
    keep, have_moov, pending_moof = None, False, False
    with open(path, "rb") as f:
        for kind, off, length in _boxes(f, size):
            if kind == "moov":
                have_moov = True
            elif kind == "moof":
                pending_moof = True
            elif kind == "mdat" and have_moov and pending_moof:
                keep = off + length
                pending_moof = False
    if keep is None:
        return None
    if keep < size:
        with open(path, "r+b") as f:
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
    return keep
