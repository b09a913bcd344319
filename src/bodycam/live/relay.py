"""The live relay: cameras publish H.264 over WebRTC, browsers watch, nothing is re-encoded.

A camera's peer connection (``publish``) delivers its video track; aiortc's ``MediaRelay``
fans it out to every viewer's peer connection (``watch``). Two things keep the server from
transcoding:

* the receiver does not decode: ``passthrough`` replaces aiortc's decoder thread for the
  tracks it is told about, handing on each re-assembled H.264 access unit as an
  ``av.Packet`` (Annex B, 90 kHz timestamps) instead of a decoded picture;
* a sender given an ``av.Packet`` packetizes it as it is (``H264Encoder.pack``); the answer
  to a viewer offers H.264 only, so the browser decodes what the camera encoded.

So the server's cost per viewer is RTP packetization and SRTP encryption, and a browser
joining mid-stream sees a picture at the camera's next keyframe (the recording's GOP, 1 s by
default). ``MediaRelay`` queues packets per viewer (``FromKeyframe`` bounds the queue): a
burst is delivered in order, and a viewer that falls far behind skips to the next keyframe;
it never makes the camera or another viewer wait.

Everything here runs on the live loop (``live.loop``) and touches no database: the caller's
``on_end`` callbacks are run in the loop's thread pool. The relay is the one place a media
server (Janus) would take over (docs/live.md); its interface is ``publish``, ``watch``,
``end_stream``, ``end_viewer`` and ``counts``.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
    rtcrtpreceiver,
)
from aiortc.contrib.media import MediaRelay

from ..errors import BodycamError

log = logging.getLogger("bodycam.live")
logging.getLogger("aioice").setLevel(logging.WARNING)  # its INFO lines are one per candidate pair

VIDEO_TIME_BASE = Fraction(1, 90_000)

# ------------------------------------------------------------------ receiving without decoding
_PASSTHROUGH: "weakref.WeakSet[asyncio.Queue]" = weakref.WeakSet()
_original_worker = rtcrtpreceiver.decoder_worker


def _worker(loop, input_q: queue.Queue, output_q: asyncio.Queue, decode_error) -> None:
    """aiortc's decoder thread, except for passthrough tracks: their encoded frames go on as
    packets. (aiortc 1.16 starts this function for each receiver; the queue says whose.)"""
    if output_q not in _PASSTHROUGH:
        return _original_worker(loop, input_q, output_q, decode_error)
    while True:
        task = input_q.get()
        if task is None:
            asyncio.run_coroutine_threadsafe(output_q.put(None), loop)
            return
        codec, frame = task
        packet = av.Packet(frame.data)
        packet.pts = packet.dts = frame.timestamp
        packet.time_base = VIDEO_TIME_BASE
        asyncio.run_coroutine_threadsafe(output_q.put(packet), loop)


rtcrtpreceiver.decoder_worker = _worker


def passthrough(track) -> None:
    """Make a remote track (from ``pc.on("track")``) deliver encoded packets, not pictures.
    Must be called before media flows (the "track" event comes before the receiver starts)."""
    _PASSTHROUGH.add(track._queue)


def is_keyframe(data: bytes) -> bool:
    """An H.264 access unit (Annex B) that starts a picture on its own: IDR or SPS."""
    i = data.find(b"\x00\x00\x01")
    while i != -1 and i + 3 < len(data):
        if data[i + 3] & 0x1F in (5, 7):
            return True
        i = data.find(b"\x00\x00\x01", i + 3)
    return False


MAX_BACKLOG = 45  # packets (1.5 s at 30 fps) a viewer may be behind before it skips to the next keyframe


class FromKeyframe(MediaStreamTrack):
    """A viewer's relayed track: it starts at a keyframe (a browser joining mid-GOP gets a clean
    first picture, not a smear; the recording's GOP is 1 s), rides out bursts (a loaded server or
    camera delivers several frames at once: all are kept, in order), and when this viewer falls
    more than ``MAX_BACKLOG`` packets behind it drops its backlog and goes on at the next
    keyframe (bounded memory; the camera and the other viewers never wait for it)."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack):
        super().__init__()
        self._source, self._started = source, False
        self.skipped = 0

    async def recv(self):
        backlog = self._source._queue  # MediaRelay's per-viewer queue (buffered=True; aiortc 1.16)
        while True:
            if backlog.qsize() > MAX_BACKLOG:
                while backlog.qsize() > 1:
                    if backlog.get_nowait() is None:  # the stream ended: let recv() say so
                        backlog.put_nowait(None)
                        break
                    self.skipped += 1
                self._started = False
            packet = await self._source.recv()
            if self._started or is_keyframe(bytes(packet)):
                self._started = True
                return packet

    def stop(self) -> None:
        super().stop()
        self._source.stop()


def only_h264(pc: RTCPeerConnection) -> bool:
    """After ``setRemoteDescription(offer)``: answer the video with H.264 (packetization
    mode 1) only, so a pre-encoded packet is packed, never re-encoded. False if the offer
    has no such codec."""
    ok = True
    for t in pc.getTransceivers():
        if t.kind != "video":
            continue
        h264 = [c for c in t._codecs if c.mimeType.lower() == "video/h264"
                and str(c.parameters.get("packetization-mode", "0")) == "1"]
        h264.sort(key=lambda c: 0 if str(c.parameters.get("profile-level-id", "")).lower().startswith("42e0") else 1)
        if not h264:
            ok = False
        t._codecs = h264[:1]
    return ok


SOCKET_BUFFER = 4 * 1024 * 1024


def roomy_sockets(pc: RTCPeerConnection, size: int = SOCKET_BUFFER) -> None:
    """Give the connection's UDP sockets large kernel buffers (up to net.core.rmem_max/wmem_max):
    a keyframe arrives as a burst of ~100 packets, and while the loop is busy sending to viewers
    the default 208 KiB receive buffer overflows and drops whole frames for everyone."""
    import socket

    for t in pc.getTransceivers():
        try:
            protocols = t.receiver.transport.transport.iceGatherer._connection._protocols  # aiortc 1.16 / aioice
        except AttributeError:
            return
        for proto in protocols:
            sock = proto.transport.get_extra_info("socket") if proto.transport else None
            if sock is not None:
                for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                    try:
                        sock.setsockopt(socket.SOL_SOCKET, opt, size)
                    except OSError:
                        pass


def ice_configuration(ice_servers: list[dict]) -> RTCConfiguration:
    """``[{"urls": [...], "username": ..., "credential": ...}]`` (the browser's form)."""
    return RTCConfiguration(iceServers=[RTCIceServer(urls=s["urls"], username=s.get("username"),
                                                     credential=s.get("credential")) for s in ice_servers])


# ------------------------------------------------------------------ the relay
class RelayError(BodycamError):
    status = 400


class Full(RelayError):
    status = 503


class NotOnAir(RelayError):
    status = 404


@dataclass
class Stream:
    id: str
    pc: RTCPeerConnection
    track: object = None
    viewers: set = field(default_factory=set)
    ended: bool = False
    drain: object = None


@dataclass
class Viewer:
    id: str
    stream_id: str
    pc: RTCPeerConnection
    ended: bool = False
    track: object = None


async def _answer(pc: RTCPeerConnection, offer_sdp: str, check) -> str:
    """Take an offer, run ``check()`` (it raises ``RelayError`` or adds tracks), answer it. A
    hostile or broken offer closes the connection and is the sender's error, never ours."""
    try:
        await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        check()
        await pc.setLocalDescription(await pc.createAnswer())
        roomy_sockets(pc)
    except Exception as exc:  # noqa: BLE001 - see above
        await pc.close()
        raise exc if isinstance(exc, RelayError) else RelayError(f"not a usable SDP offer ({exc!r:.120})") from None
    return pc.localDescription.sdp


async def _drain(track) -> None:
    try:
        while True:
            await track.recv()
    except Exception:  # noqa: BLE001 - the camera's track ended (MediaStreamError)
        pass
    finally:  # ended, or cancelled with the stream
        track.stop()


class Relay:
    """Streams and viewers of this process. ``on_stream_end(stream_id, reason)`` and
    ``on_viewer_end(viewer_id, stream_id, reason)`` are blocking callbacks run off the loop
    by ``run_blocking`` (``LoopThread.run_blocking``), once each."""

    def __init__(self, run_blocking: Callable, on_stream_end: Callable | None = None,
                 on_viewer_end: Callable | None = None):
        self.relay = MediaRelay()
        self.streams: dict[str, Stream] = {}
        self.viewers: dict[str, Viewer] = {}
        self._run_blocking = run_blocking
        self._on_stream_end = on_stream_end
        self._on_viewer_end = on_viewer_end

    def counts(self) -> dict:
        return {"publishers": len(self.streams), "viewers": len(self.viewers)}

    async def publish(self, stream_id: str, offer_sdp: str, ice_servers: list[dict], max_publishers: int) -> str:
        """Accept a camera's offer; return the answer. A stream id already publishing is
        replaced (the camera reconnected after its network dropped)."""
        if stream_id in self.streams:
            await self.end_stream(stream_id, "replaced by a new connection")
        if len(self.streams) >= max_publishers:
            raise Full(f"this server relays at most {max_publishers} cameras at once (BODYCAM_LIVE_MAX_PUBLISHERS)")
        pc = RTCPeerConnection(ice_configuration(ice_servers))
        stream = Stream(stream_id, pc)

        @pc.on("track")
        def on_track(track):
            if track.kind == "video" and stream.track is None:
                passthrough(track)
                stream.track = track

        @pc.on("connectionstatechange")
        async def on_state():
            if pc.connectionState in ("failed", "closed"):
                await self.end_stream(stream_id, f"camera connection {pc.connectionState}", stream=stream)

        def check():
            if stream.track is None:
                raise RelayError("the offer has no video to publish")
            if not only_h264(pc):
                raise RelayError("the camera must send H.264 (packetization-mode 1)")

        answer = await _answer(pc, offer_sdp, check)
        self.streams[stream_id] = stream
        # Read the camera's track from now on, viewers or not: nothing piles up in the receiver
        # while nobody watches, and a viewer joining gets what the camera sends now.
        stream.drain = asyncio.ensure_future(_drain(self.relay.subscribe(stream.track, buffered=False)))
        return answer

    async def watch(self, stream_id: str, viewer_id: str, offer_sdp: str, ice_servers: list[dict],
                    max_viewers: int) -> str:
        stream = self.streams.get(stream_id)
        if stream is None or stream.ended or stream.track is None:
            raise NotOnAir("this camera is not sending video now (it may be reconnecting): try again shortly")
        if len(self.viewers) >= max_viewers:
            raise Full(f"this server relays to at most {max_viewers} viewers at once (BODYCAM_LIVE_MAX_VIEWERS)")
        pc = RTCPeerConnection(ice_configuration(ice_servers))
        viewer = Viewer(viewer_id, stream_id, pc)

        @pc.on("connectionstatechange")
        async def on_state():
            if pc.connectionState in ("failed", "closed"):
                await self.end_viewer(viewer_id, f"viewer connection {pc.connectionState}", viewer=viewer)

        def check():
            if not any(t.kind == "video" for t in pc.getTransceivers()):
                raise RelayError("the offer asks for no video")
            if not only_h264(pc):
                raise RelayError("this browser cannot receive H.264 over WebRTC")
            viewer.track = FromKeyframe(self.relay.subscribe(stream.track, buffered=True))
            pc.addTrack(viewer.track)

        answer = await _answer(pc, offer_sdp, check)
        self.viewers[viewer_id] = viewer
        stream.viewers.add(viewer_id)
        return answer

    async def end_viewer(self, viewer_id: str, reason: str, viewer: Viewer | None = None) -> bool:
        viewer = viewer or self.viewers.get(viewer_id)
        if viewer is None or viewer.ended:
            return False
        viewer.ended = True
        registered = self.viewers.get(viewer_id) is viewer  # else it never got its answer: nothing to report
        if registered:
            del self.viewers[viewer_id]
        stream = self.streams.get(viewer.stream_id)
        if stream is not None:
            stream.viewers.discard(viewer_id)
        await viewer.pc.close()
        if viewer.track is not None:
            viewer.track.stop()  # and its relay proxy: the relay stops handing it packets
        if registered and self._on_viewer_end is not None:
            await self._run_blocking(self._on_viewer_end, viewer_id, viewer.stream_id, reason)
        return True

    async def end_stream(self, stream_id: str, reason: str, stream: Stream | None = None) -> bool:
        """Close a camera's connection and every viewer's of it."""
        stream = stream or self.streams.get(stream_id)
        if stream is None or stream.ended:
            return False
        stream.ended = True
        registered = self.streams.get(stream_id) is stream
        if registered:
            del self.streams[stream_id]
        for vid in list(stream.viewers):
            await self.end_viewer(vid, f"stream ended: {reason}")
        if stream.drain is not None:
            stream.drain.cancel()
        await stream.pc.close()
        if registered and self._on_stream_end is not None:
            await self._run_blocking(self._on_stream_end, stream_id, reason)
        return True

    async def close(self) -> None:
        for sid in list(self.streams):
            await self.end_stream(sid, "server stopping")
