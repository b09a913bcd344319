"""Live view from the camera: while recording, send the server what is being recorded
(WebRTC, the recording's own H.264 packets) and where the camera is (every 10 s).

Nothing here may change or slow the recording. The recorder calls the ``LiveUplink`` hooks
from its own thread and each returns at once: packets go into a bounded queue that a
separate thread drains (when it is full, packets are dropped until the next keyframe),
status messages into another. The network work happens in two threads of this module:

* **status**: signed JSON POSTs to ``/live/v1/status`` in order: ``start`` (with the
  trigger), ``position`` every ``position_interval_s``, ``watchme``, ``stop``. The answer
  to ``start`` says whether the site allows live video and which ICE servers to use.
* **publisher**: its own asyncio loop with an aiortc peer connection, offered to
  ``/live/v1/publish`` (WHIP-style: the SDP offer in the body, the answer back, the
  request signed with the device key) and ended with a signed ``DELETE``. If the
  connection fails while recording goes on, it connects again.

Only video is sent; audio stays in the recording (docs/live.md, privacy).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import http.client
import json
import queue
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import BodycamError
from ..provenance import signed_requests
from ..timefmt import iso_from_epoch

STATUS_PATH = "/live/v1/status"
PUBLISH_PATH = "/live/v1/publish"
RETRY_S = 2.0
KICK_AFTER_S = 5.0  # a connection younger than this is left to finish connecting


class LiveRefused(BodycamError):
    def __init__(self, status: int, reason: str, retry_after: float | None = None):
        super().__init__(f"{status} {reason}")
        self.status, self.reason, self.retry_after = status, reason, retry_after


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes


class SignedClient:
    """Device-signed HTTP(S) requests to the server (blocking; called off the recorder's thread)."""

    def __init__(self, base_url: str, serial: str, key, timeout: float = 10.0):
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"live server URL must be http(s)://host[:port]: {base_url!r}")
        self.parts, self.prefix = parts, parts.path
        self.serial, self.key, self.timeout = serial, key, timeout

    def request(self, method: str, path: str, body: bytes = b"", content_type: str = "application/json") -> Answer:
        full = self.prefix + path
        headers = signed_requests.sign(self.key, method, full, self.serial, body)
        if body:
            headers["Content-Type"] = content_type
        cls = http.client.HTTPSConnection if self.parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.parts.hostname, self.parts.port, timeout=self.timeout)
        try:
            conn.request(method, full, body=body or None, headers=headers)
            r = conn.getresponse()
            return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read(1024 * 1024))
        finally:
            conn.close()

    def json(self, method: str, path: str, doc: dict) -> dict:
        a = self.request(method, path, json.dumps(doc).encode())
        return _checked(a, json_body=True)


def _checked(a: Answer, json_body: bool = False):
    if a.status >= 400:
        try:
            reason = json.loads(a.body).get("error", "")
        except (ValueError, AttributeError):
            reason = a.body[:200].decode("utf-8", "replace")
        retry = a.headers.get("retry-after")
        raise LiveRefused(a.status, reason, float(retry) if retry and retry.isdigit() else None)
    return json.loads(a.body or b"{}") if json_body else a


def to_av_packet(pkt):
    import av

    p = av.Packet(pkt.data)
    p.pts = p.dts = pkt.pts
    p.time_base = pkt.time_base
    return p


class LiveUplink:
    """What the recorder tells the server while it records. Every public method is called
    from the recorder's thread and returns without waiting for the network."""

    def __init__(self, base_url: str, serial: str, key, log=None, frame_queue: int = 15,
                 status_queue: int = 1000, timeout: float = 10.0):
        self.client = SignedClient(base_url, serial, key, timeout=timeout)
        self._log = log or (lambda event, **f: None)
        self._frames: queue.Queue = queue.Queue(frame_queue)
        self._status: queue.Queue = queue.Queue(status_queue)
        self._need_key = True
        self._streaming = False     # a peer connection is up: packets are wanted
        self._container = ""        # the recording being streamed ("" = none)
        self._closing = threading.Event()
        self.stats = {"sent_status": 0, "dropped_status": 0, "queued_packets": 0, "queued_bytes": 0, "dropped_packets": 0,
                      "connections": 0}
        self._publisher = _Publisher(self)
        self._status_thread = threading.Thread(target=self._status_loop, name="live-status", daemon=True)
        self._status_thread.start()

    # -- recorder hooks (never block, never raise)
    def started(self, container: str, trigger: str, epoch: float, fix=None) -> None:
        self._container = container
        self._need_key = True
        self._put_status({"event": "start", "container": container, "trigger": trigger,
                          "at": iso_from_epoch(epoch), **_where(fix)})

    def position(self, container: str, epoch: float, fix=None) -> None:
        self._put_status({"event": "position", "container": container, "at": iso_from_epoch(epoch), **_where(fix)})

    def watchme(self, container: str, epoch: float, fix=None) -> None:
        self._put_status({"event": "watchme", "container": container, "at": iso_from_epoch(epoch), **_where(fix)})

    def stopped(self, container: str, trigger: str, epoch: float, fix=None) -> None:
        if self._container == container:
            self._container = ""
            self._streaming = False
            self._publisher.end(container)
        self._put_status({"event": "stop", "container": container, "trigger": trigger,
                          "at": iso_from_epoch(epoch), **_where(fix)})

    def packet(self, pkt) -> None:
        """A video packet just written to the recording."""
        if not self._streaming or pkt.kind != "video":
            return
        if self._need_key and not pkt.keyframe:
            self.stats["dropped_packets"] += 1
            return
        try:
            self._frames.put_nowait(pkt)
            self._need_key = False
            self.stats["queued_packets"] += 1
            self.stats["queued_bytes"] += len(pkt.data)
        except queue.Full:  # the network is behind: drop, and start again at a keyframe
            self._need_key = True
            self.stats["dropped_packets"] += 1

    def close(self, timeout: float = 10.0) -> None:
        """The camera is switching off: send what is queued (a while at most), then stop."""
        deadline = time.monotonic() + timeout
        while not self._status.empty() and time.monotonic() < deadline and self._status_thread.is_alive():
            time.sleep(0.05)
        self._closing.set()
        self._publisher.stop(max(0.5, deadline - time.monotonic()))
        self._status_thread.join(max(0.1, deadline - time.monotonic()))

    # -- status thread
    def _put_status(self, doc: dict) -> None:
        try:
            self._status.put_nowait(doc)
        except queue.Full:  # a long outage: positions give way to what matters (start, stop)
            self.stats["dropped_status"] += 1

    def _status_loop(self) -> None:
        refused: set[str] = set()  # recordings the site refused live view for
        while not self._closing.is_set():
            try:
                doc = self._status.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._deliver(doc, refused)
            except Exception as exc:  # noqa: BLE001 - this thread must outlive any one message
                self._log("live.error", message=doc.get("event", ""), error=repr(exc)[:200])

    def _deliver(self, doc: dict, refused: set) -> None:
        if doc["container"] in refused:
            return
        answer = None
        while not self._closing.is_set():
            try:
                answer = self.client.json("POST", STATUS_PATH, doc)
                self.stats["sent_status"] += 1
                break
            except LiveRefused as exc:
                if exc.status in (429, 502, 503, 504):
                    self._closing.wait(exc.retry_after or RETRY_S)
                    continue
                self._log("live.refused", message=doc["event"], status=exc.status, reason=exc.reason[:200])
                if doc["event"] == "start":
                    refused.add(doc["container"])
                    self._publisher.end(doc["container"])
                return
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self._log("live.unreachable", message=doc["event"], error=str(exc)[:200])
                self._closing.wait(RETRY_S)  # recording goes on; try again
        if answer is None or self._container != doc["container"]:
            return
        if doc["event"] == "start" and answer.get("video"):
            self._publisher.begin(doc["container"], answer.get("ice_servers") or [])
        elif answer.get("streaming") is False:
            # The server has no video from us although we think we send it (it restarted,
            # or the path broke and ICE has not noticed yet): connect again now.
            self._publisher.kick(doc["container"])


def _where(fix) -> dict:
    if fix is None:
        return {}
    return {"position": {"lat": round(fix.lat, 7), "lon": round(fix.lon, 7), "accuracy": round(fix.accuracy, 1)}}


class _Publisher:
    """The WebRTC side: a thread running an asyncio loop with (at most) one peer connection."""

    def __init__(self, uplink: LiveUplink):
        self.up = uplink
        self.loop = asyncio.new_event_loop()
        self._reader = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="live-frames")
        self._task: asyncio.Task | None = None
        self._wanted = ""  # container to publish
        self._down: asyncio.Event | None = None  # set: the current connection is to be replaced
        self._connected_since: float | None = None
        self.thread = threading.Thread(target=self._run_loop, name="live-publisher", daemon=True)
        self.thread.start()

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def begin(self, container: str, ice_servers: list) -> None:
        self.loop.call_soon_threadsafe(self._begin, container, ice_servers)

    def end(self, container: str) -> None:
        self.loop.call_soon_threadsafe(self._end, container)

    def kick(self, container: str) -> None:
        self.loop.call_soon_threadsafe(self._kick, container)

    def stop(self, timeout: float) -> None:
        if self.loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
            try:
                fut.result(timeout)
            except (concurrent.futures.TimeoutError, Exception):  # noqa: BLE001 - switching off regardless
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)
        self._reader.shutdown(wait=False)

    # -- on the loop
    def _begin(self, container: str, ice_servers: list) -> None:
        self._wanted = container
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._publish(container, ice_servers))

    def _end(self, container: str) -> None:
        if self._wanted == container:
            self._wanted = ""

    def _kick(self, container: str) -> None:
        if self._wanted == container and self._down is not None and self._connected_since is not None \
                and time.monotonic() - self._connected_since > KICK_AFTER_S:
            self.up._log("live.reconnect", recording=container, reason="the server has no video from this camera")
            self._down.set()

    async def _shutdown(self) -> None:
        self._wanted = ""
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001
                self._task.cancel()

    async def _publish(self, container: str, ice_servers: list) -> None:
        """Keep one connection up while ``container`` is recording; reconnect when it fails."""
        from aiortc import RTCPeerConnection, RTCSessionDescription

        up = self.up
        while self._wanted == container:
            pc = RTCPeerConnection(_ice(ice_servers))
            down = self._down = asyncio.Event()
            self._connected_since = None

            @pc.on("connectionstatechange")
            async def on_state(pc=pc, down=down):
                if pc.connectionState == "connected" and self._wanted == container:
                    _drain(up._frames)  # start from now, at the next keyframe
                    up._need_key = True
                    up._streaming = True
                    self._connected_since = time.monotonic()
                    up.stats["connections"] += 1
                    up._log("live.publishing", recording=container)
                elif pc.connectionState in ("failed", "closed"):
                    up._streaming = False
                    down.set()

            location = None
            track = PacketTrack(up._frames, self._reader, lambda: self._wanted == container)
            wait = RETRY_S
            try:
                transceiver = pc.addTransceiver(track, direction="sendonly")
                _prefer_h264(transceiver)
                await pc.setLocalDescription(await pc.createOffer())
                answer = await self.loop.run_in_executor(
                    None, lambda: _checked(up.client.request("POST", PUBLISH_PATH + "?container=" + container,
                                                             pc.localDescription.sdp.encode(), "application/sdp")))
                location = answer.headers.get("location", "")
                await pc.setRemoteDescription(RTCSessionDescription(answer.body.decode(), "answer"))
                while self._wanted == container and not down.is_set():
                    try:
                        await asyncio.wait_for(down.wait(), 0.2)
                    except asyncio.TimeoutError:
                        pass
                if down.is_set():
                    up._log("live.connection_lost", recording=container, state=pc.connectionState)
            except LiveRefused as exc:
                up._log("live.publish_refused", recording=container, status=exc.status, reason=exc.reason[:200])
                if exc.status in (400, 401, 403):
                    self._wanted = ""  # the site will not take this stream: recording goes on without it
                wait = exc.retry_after or RETRY_S * 2
            except (OSError, http.client.HTTPException, ValueError) as exc:
                up._log("live.unreachable", message="publish", error=str(exc)[:200])
            finally:
                up._streaming = False
                self._down = self._connected_since = None
                track.stop()
                await pc.close()
                if location and self._wanted != container:
                    await self.loop.run_in_executor(None, _delete, up.client, location)
            if self._wanted == container:
                await asyncio.sleep(wait)


def _delete(client: SignedClient, location: str) -> None:
    try:
        client.request("DELETE", urlsplit(location).path[len(client.prefix):] or location)
    except (OSError, http.client.HTTPException):
        pass  # the server ends the stream itself when the connection goes


def _drain(q: queue.Queue) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return


def _ice(servers: list):
    from aiortc import RTCConfiguration, RTCIceServer

    return RTCConfiguration(iceServers=[RTCIceServer(urls=s["urls"], username=s.get("username"),
                                                     credential=s.get("credential")) for s in servers
                                        if isinstance(s, dict) and s.get("urls")])


def _prefer_h264(transceiver) -> None:
    from aiortc import RTCRtpSender

    caps = RTCRtpSender.getCapabilities("video").codecs
    h264 = [c for c in caps if c.mimeType.lower() == "video/h264" and c.parameters.get("packetization-mode") == "1"]
    h264.sort(key=lambda c: 0 if str(c.parameters.get("profile-level-id", "")).startswith("42e0") else 1)
    transceiver.setCodecPreferences(h264)


def _make_track_class():
    from aiortc import MediaStreamTrack
    from aiortc.mediastreams import MediaStreamError

    class _PacketTrack(MediaStreamTrack):
        """A video track whose frames are the recording's H.264 packets (never re-encoded)."""

        kind = "video"

        def __init__(self, frames: queue.Queue, reader, wanted):
            super().__init__()
            self._frames, self._reader, self._wanted = frames, reader, wanted

        def _next(self):
            try:
                return self._frames.get(timeout=0.25)
            except queue.Empty:
                return None

        async def recv(self):
            loop = asyncio.get_running_loop()
            while True:
                if self.readyState != "live" or not self._wanted():
                    raise MediaStreamError
                pkt = await loop.run_in_executor(self._reader, self._next)
                if pkt is not None:
                    return to_av_packet(pkt)

    return _PacketTrack


_track_class = None


def PacketTrack(frames, reader, wanted):  # noqa: N802 - builds the class lazily (aiortc only when live is on)
    global _track_class
    if _track_class is None:
        _track_class = _make_track_class()
    return _track_class(frames, reader, wanted)
