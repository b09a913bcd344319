"""Helpers for the live-view tests: a site with a recording officer, their supervisor,
people who may not watch, and a registered camera; a real camera process
(``bodycam camera run --live-url``); a Python WebRTC viewer signed in over HTTP.

Run as ``python -m tests.live_view SERVER_DATA_DIR`` (in the server's environment) it
creates the people and prints the officer's camera user id (JSON)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

SERIAL = "BWC-L1"
PASSWORD = "patrol-demo-2026"  # tests/browser.py's PASSWORD: sign_in() works for these accounts
PEOPLE = {  # username -> (role, squad, supervises)
    "ofc.live": ("officer", "North", None),
    "sgt.live": ("supervisor", None, "North"),
    "sgt.south": ("supervisor", None, "South"),
    "cust.live": ("custodian", None, None),
}


def _create_people() -> dict:
    import django

    django.setup()
    from bodycam.access.accounts import add_user
    from bodycam.access.auth import enrol_with_secret
    from bodycam.access.models import Squad, User
    from bodycam.evidence.models import Officer

    for username, (role, squad, supervises) in PEOPLE.items():
        user = add_user(username, role, PASSWORD, actor="test")
        enrol_with_secret(user, label="demo", actor="test")  # `bodycam demo-totp USER` gives its codes
        if squad:
            User.objects.filter(pk=user.pk).update(squad=Squad.objects.get_or_create(name=squad)[0])
        if supervises:
            Squad.objects.get_or_create(name=supervises)[0].supervisors.add(user)
    officer = Officer.objects.get(account__username="ofc.live")
    Officer.objects.filter(pk=officer.pk).update(name="Officer Live")
    return {"user_id": str(officer.axis_user_id)}


def make_site(server, camera_dir: Path) -> dict:
    """People, then the camera (its key registered as the dock would have it)."""
    server.cli("init", "--quiet")
    server._initialised = True
    out = subprocess.run([sys.executable, "-m", "tests.live_view", str(server.data_dir)], env=server.env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    people = json.loads(out.stdout.strip().splitlines()[-1])
    camera("init", "--storage", str(camera_dir), "--serial", SERIAL, "--user-id", people["user_id"])
    server.cli("device", "add", SERIAL, "--public-key-file", str(camera_dir / "keys" / "device.pub"))
    return people


def start_site(tmp_path: Path, points: list) -> tuple:
    """A live-view server with the people and the camera of ``make_site``, started, and a
    camera recording along ``points`` (positions every 2 s). Returns (server, camera)."""
    from .live import LiveServer

    server = LiveServer(tmp_path / "server", {"BODYCAM_LIVE": "1"})
    (tmp_path / "server").mkdir()
    cam_dir = tmp_path / "camera"
    make_site(server, cam_dir)
    server.start()
    track = tmp_path / "track.json"
    track.write_text(json.dumps({"points": points, "speed_mps": 40}))
    return server, CameraProcess(cam_dir, server.url, gnss=track, extra=("--live-position-interval", "2"))


def camera(*args, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "bodycam.cli", "camera", *args], capture_output=True, text=True,
                         timeout=120, env=env)
    assert not check or res.returncode == 0, f"camera {args}: {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res


class CameraProcess:
    """``bodycam camera run`` in real time, recording from the start, streaming to ``url``."""

    def __init__(self, storage: Path, url: str, source: str = "barcode", resolution: str = "320x240", fps: int = 15,
                 gnss: Path | None = None, extra: tuple = ()):
        self.storage = storage
        args = [sys.executable, "-m", "bodycam.cli", "camera", "run", "--storage", str(storage), "--source", source,
                "--resolution", resolution, "--fps", str(fps), "--no-audio", "--no-signals", "--record",
                "--buffer", "0", "--live-url", url, *extra]
        if gnss:
            args += ["--gnss", str(gnss)]
        self.log = open(storage / "camera.log", "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def ctl(self, action: str) -> None:
        camera("ctl", action, "--storage", str(self.storage))

    def events(self, name: str | None = None) -> list[dict]:
        path = self.storage / "events.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        return [r for r in rows if name is None or r["event"] == name]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def wait_for(predicate, timeout: float = 60, step: float = 0.2, what: str = ""):
    """Poll until ``predicate()`` is truthy (a generous timeout: the machine is shared; no speed is asserted)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {timeout} s: {what or predicate}"
        time.sleep(step)


def http_sign_in(server, username: str) -> requests.Session:
    """A requests session signed in through the real login and TOTP pages."""
    s = requests.Session()
    s.get(server.url + "/login/", timeout=30)
    r = s.post(server.url + "/login/", data={"username": username, "password": PASSWORD, "acknowledge": "yes",
                                            "csrfmiddlewaretoken": s.cookies["csrftoken"]}, timeout=60)
    assert "/mfa/" in r.url, r.url
    code = server.cli("demo-totp", username).stdout.split()[1]
    r = s.post(server.url + "/mfa/", data={"code": code, "csrfmiddlewaretoken": s.cookies["csrftoken"]}, timeout=60)
    assert r.url.rstrip("/") == server.url, r.url
    return s


class Viewer:
    """A Python WebRTC viewer of one live session (aiortc, decoding), in its own thread and
    loop; ``frames`` collects the frame numbers read from the barcode overlay."""

    def __init__(self, http: requests.Session, server_url: str, session_id: str):
        self.http, self.url, self.session_id = http, server_url, session_id
        self.frames: list[int] = []
        self.state = "new"
        self.answer_status = None
        self.ended = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.viewer_id = None

    def start(self) -> int:
        return asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(60)

    async def _start(self) -> int:
        from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription

        from bodycam.device.sources import read_barcode

        self.ended.clear()
        self.pc = pc = RTCPeerConnection()
        t = pc.addTransceiver("video", direction="recvonly")
        t.setCodecPreferences([c for c in RTCRtpReceiver.getCapabilities("video").codecs
                               if c.mimeType == "video/H264" and c.parameters.get("packetization-mode") == "1"])

        @pc.on("track")
        def on_track(track):
            async def read():
                while True:
                    try:
                        frame = await track.recv()
                    except Exception:  # noqa: BLE001 - the track ended
                        self.ended.set()
                        return
                    self.frames.append(read_barcode(frame))
            asyncio.ensure_future(read())

        @pc.on("connectionstatechange")
        def on_state():
            self.state = pc.connectionState
            if pc.connectionState in ("failed", "closed"):
                self.ended.set()

        await pc.setLocalDescription(await pc.createOffer())
        r = await self.loop.run_in_executor(None, lambda: self.http.post(
            f"{self.url}/live/{self.session_id}/watch", json={"sdp": pc.localDescription.sdp, "type": "offer"},
            headers={"X-CSRFToken": self.http.cookies["csrftoken"]}, timeout=60))
        self.answer_status = r.status_code
        if r.status_code != 201:
            await pc.close()
            return r.status_code
        self.viewer_id = r.json()["viewer"]
        await pc.setRemoteDescription(RTCSessionDescription(r.json()["sdp"], "answer"))
        return 201

    def close(self) -> None:
        async def _close():
            await self.pc.close()
        if getattr(self, "pc", None) is not None:
            asyncio.run_coroutine_threadsafe(_close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)


def session_id_of(http: requests.Session, server_url: str) -> str | None:
    rows = http.get(server_url + "/live/onair.json", timeout=30).json()["sessions"]
    return rows[0]["id"] if rows else None


def uuid_in(text: str) -> str:
    return re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text).group(0)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bodycam.settings")
    print(json.dumps(_create_people()))
