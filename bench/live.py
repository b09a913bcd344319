#!/usr/bin/env python3
"""Live view on loopback: glass-to-glass latency, the camera's CPU for live view on top of
recording, and how many viewers one server relays before frames drop.

A real ``bodycam serve`` (BODYCAM_LIVE=1, SQLite) in a temp dir, the people and camera of
tests/live_view.py, then three phases, each in its own processes:

1. **camera CPU**: the camera's recorder (barcode source: each frame shows its number;
   H.264 at --resolution/--fps, paced in real time) records for --seconds without live view,
   then again with it; CPU seconds of the camera process (all threads) per second recorded.
2. **latency**: during the second run a decoding viewer (aiortc, another process) reads each
   frame's number; latency = when it decoded the frame - when the camera took it (one clock).
3. **relay capacity**: a camera process replays pre-encoded packets of the same stream (so
   the encoder's CPU does not count) while viewer processes attach N viewers each step; each
   viewer counts the frames it receives (no decoding) for --window seconds. A step "drops"
   when any viewer got fewer than 97 % of the frames sent. Prints the largest N without drops.

    .venv/bin/python bench/live.py [--seconds 20] [--resolution 1280x720] [--fps 30]
                                   [--steps 5,10,15,20,25,30,40] [--window 10] [--json FILE]

Everything runs on this machine (server, camera, viewers share its cores); say so with the
numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


def child(*args) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


BITS = 20


def band_frames(w: int, h: int, fps: int):
    """A realistic moving picture (FFmpeg's testsrc2, which costs the encoder and the network
    what a street scene roughly does) with each frame's number drawn into its top quarter as
    20 black/white columns (numpy; survives H.264 compression)."""
    import av
    import numpy as np

    from bodycam.device.sources import Source

    cols = (np.arange(w) * BITS // w).astype(np.int64)
    band = h // 4
    for n, frame in enumerate(Source("testsrc2", w, h, fps, audio=False).video()):
        yuv = frame.reformat(width=w, height=h, format="yuv420p").to_ndarray()
        bits = ((n >> cols) & 1).astype(np.uint8)
        yuv[:band, :] = np.where(bits, 235, 16).astype(np.uint8)
        yuv[h:h + band // 4, :] = 128  # neutral chroma under the band (both planes' rows)
        yuv[h + h // 4:h + h // 4 + band // 4, :] = 128
        yield av.VideoFrame.from_ndarray(yuv, format="yuv420p")


def read_band(frame) -> int:
    gray = frame.to_ndarray(format="gray")
    h, w = gray.shape
    row = gray[h // 8]
    return sum(1 << k for k in range(BITS) if row[int((k + 0.5) * w / BITS)] > 128)


class BandSource:
    has_audio = False

    def __init__(self, w, h, fps):
        self.args = (w, h, fps)

    def video(self):
        return band_frames(*self.args)


# ------------------------------------------------------------------ camera process
def role_camera(a) -> None:
    """Record from the barcode source in real time, with or without live view; print CPU."""
    from bodycam.device.camera import Driver
    from bodycam.device.config import load_config
    from bodycam.device.live import LiveUplink
    from bodycam.device.recorder import Recorder
    from bodycam.device.storage import DeviceStorage
    from bodycam.device.triggers import Event

    storage = DeviceStorage(a.storage).ensure()
    w, h = map(int, a.resolution.split("x"))
    config = load_config(storage, width=w, height=h, fps=a.fps, audio=False, buffer_seconds=0, clip_seconds=600,
                         live_url="")
    rec = Recorder(storage, config, fsync=True)
    if a.live:
        rec.live = LiveUplink(a.live, config.serial, rec.key)
    times = {}
    feed = rec.feed_video

    def timed_feed(frame, index):
        times[index] = time.time()
        feed(frame, index)

    rec.feed_video = timed_feed
    driver = Driver(rec, BandSource(w, h, a.fps))
    rec.handle(Event("record", source="button"), Fraction(0))
    if a.live:  # wait until the stream is up, so the measured seconds are live seconds
        deadline = time.monotonic() + 30
        while not rec.live._streaming and time.monotonic() < deadline:
            driver.step()
            time.sleep(1 / a.fps)
    cpu0, wall0, n0 = time.process_time(), time.monotonic(), driver.index
    while time.monotonic() - wall0 < a.seconds:
        delay = wall0 + (driver.index - n0) / a.fps - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        driver.step()
    cpu, wall, frames = time.process_time() - cpu0, time.monotonic() - wall0, driver.index - n0
    stats = dict(rec.live.stats) if a.live else {}
    rec.stop("Button", rec.now)
    if a.live:
        rec.live.close(5)
    Path(a.out).write_text(json.dumps({"cpu_s": cpu, "wall_s": wall, "frames": frames, "times": times,
                                       "live": stats}))


def role_replay(a) -> None:
    """Publish pre-encoded packets of the barcode stream at --fps for --seconds (relay capacity)."""
    from bodycam.device.encoder import Encoder
    from bodycam.device.live import LiveUplink
    from bodycam.device.storage import DeviceStorage

    storage = DeviceStorage(a.storage).ensure()
    w, h = map(int, a.resolution.split("x"))
    enc = Encoder(w, h, a.fps, 4_000_000, a.fps, audio=False)
    gen = band_frames(w, h, a.fps)
    packets = []
    for i in range(a.fps * 2):
        packets += enc.encode_video(next(gen), i)
    packets += enc.flush()
    kbit = sum(len(p) for p in packets) * 8 / 2 / 1000
    up = LiveUplink(a.live, json.loads((storage.root / "device.json").read_text())["serial"], storage.key())
    container = a.container
    up.started(container, "Button", time.time())
    deadline = time.monotonic() + 30
    while not up._streaming and time.monotonic() < deadline:
        time.sleep(0.05)
    t0, i = time.monotonic(), 0
    import dataclasses

    sent = 0
    while time.monotonic() - t0 < a.seconds:
        p = packets[i % len(packets)]
        up.packet(dataclasses.replace(p, pts=i, dts=i))
        sent += 1
        i += 1
        delay = t0 + i / a.fps - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    up.stopped(container, "Button", time.time())
    up.close(5)
    Path(a.out).write_text(json.dumps({"sent": sent, "live": up.stats, "kbit_s": kbit}))


# ------------------------------------------------------------------ viewer processes
def role_viewers(a) -> None:
    """``--count`` viewers of one session; decode (latency) or only count frames (capacity)."""
    import requests
    from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription

    from bodycam.live.relay import passthrough, roomy_sockets

    cookies = json.loads(a.cookies)
    http = requests.Session()
    for k, v in cookies.items():
        http.cookies.set(k, v)
    results = [{"frames": [], "times": []} for _ in range(a.count)]
    stop_at = [None]

    async def one(n):
        pc = RTCPeerConnection()
        t = pc.addTransceiver("video", direction="recvonly")
        t.setCodecPreferences([c for c in RTCRtpReceiver.getCapabilities("video").codecs
                               if c.mimeType == "video/H264" and c.parameters.get("packetization-mode") == "1"])
        got = results[n]

        @pc.on("track")
        def on_track(track):
            if not a.decode:
                passthrough(track)

            async def read():
                while True:
                    try:
                        f = await track.recv()
                    except Exception:  # noqa: BLE001 - ended
                        return
                    now = time.time()
                    got["times"].append(now)
                    got["frames"].append(read_band(f) if a.decode else f.pts)
            asyncio.ensure_future(read())

        await pc.setLocalDescription(await pc.createOffer())
        roomy_sockets(pc)  # as a browser's: several MB of socket buffer
        loop = asyncio.get_running_loop()
        r = await loop.run_in_executor(None, lambda: http.post(
            f"{a.url}/live/{a.session}/watch", json={"sdp": pc.localDescription.sdp, "type": "offer"},
            headers={"X-CSRFToken": cookies["csrftoken"]}, timeout=120))
        got["status"] = r.status_code
        if r.status_code != 201:
            got["error"] = r.text[:200]
            await pc.close()
            return
        await pc.setRemoteDescription(RTCSessionDescription(r.json()["sdp"], "answer"))
        while stop_at[0] is None or time.time() < stop_at[0]:
            await asyncio.sleep(0.2)
        await pc.close()

    async def main():
        tasks = [asyncio.ensure_future(one(n)) for n in range(a.count)]
        await asyncio.sleep(0)
        Path(a.ready).write_text("1") if a.ready else None
        stop_at[0] = time.time() + a.seconds
        await asyncio.gather(*tasks)

    asyncio.run(main())
    Path(a.out).write_text(json.dumps(results))


# ------------------------------------------------------------------ the bench
def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))] if values else None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=["camera", "replay", "viewers"])
    ap.add_argument("--storage"), ap.add_argument("--live", default=""), ap.add_argument("--out")
    ap.add_argument("--container"), ap.add_argument("--url"), ap.add_argument("--session"), ap.add_argument("--cookies")
    ap.add_argument("--count", type=int, default=1), ap.add_argument("--decode", action="store_true")
    ap.add_argument("--ready")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--resolution", default="1280x720")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--steps", default="5,10,15,20,25,30,40")
    ap.add_argument("--per-process", type=int, default=10, help="viewers per viewer process")
    ap.add_argument("--window", type=float, default=10)
    ap.add_argument("--json")
    ap.add_argument("--only", choices=["relay"], help="only the relay-capacity phase")
    a = ap.parse_args()
    if a.role == "camera":
        role_camera(a)
        return 0
    if a.role == "replay":
        role_replay(a)
        return 0
    if a.role == "viewers":
        role_viewers(a)
        return 0

    from tests.live import LiveServer
    from tests.live_view import http_sign_in, make_site

    tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
    server = LiveServer(tmp / "server", {"BODYCAM_LIVE": "1", "BODYCAM_LIVE_MAX_VIEWERS": "1000"})
    (tmp / "server").mkdir()
    cam = tmp / "camera"
    make_site(server, cam)
    server.start()
    out: dict = {"machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()}, "resolution": a.resolution,
                 "fps": a.fps}
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (server, camera and viewers share it)",
          flush=True)
    try:
        http = http_sign_in(server, "sgt.live")
        cookies = json.dumps({k: v for k, v in http.cookies.items()})
        if a.only != "relay":
            camera_phases(a, server, cam, tmp, http, cookies, out)
        relay_phase(a, server, cam, tmp, http, cookies, out)
    finally:
        server.stop()
    out["machine"]["load_after"] = os.getloadavg()
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))
    return 0


def camera_phases(a, server, cam, tmp, http, cookies, out) -> None:
    from tests.live_view import session_id_of, wait_for

    # 1. recording alone
    subprocess.run(child("--role", "camera", "--storage", str(cam), "--seconds", str(a.seconds), "--out",
                         str(tmp / "rec.json"), "--resolution", a.resolution, "--fps", str(a.fps)), check=True)
    rec = json.loads((tmp / "rec.json").read_text())
    # 2. recording + live, watched by a decoding viewer
    camp = subprocess.Popen(child("--role", "camera", "--storage", str(cam), "--seconds", str(a.seconds),
                                  "--out", str(tmp / "live.json"), "--live", server.url,
                                  "--resolution", a.resolution, "--fps", str(a.fps)))
    sid = wait_for(lambda: session_id_of(http, server.url), what="on the air")
    wait_for(lambda: http.get(server.url + "/live/onair.json").json()["sessions"][0]["video"], what="video")
    viewer = subprocess.Popen(child("--role", "viewers", "--count", "1", "--decode", "--url", server.url,
                                    "--session", sid, "--cookies", cookies, "--seconds", str(a.seconds - 3),
                                    "--out", str(tmp / "viewer.json")))
    viewer.wait(a.seconds + 120)
    camp.wait(a.seconds + 120)
    live = json.loads((tmp / "live.json").read_text())
    seen = json.loads((tmp / "viewer.json").read_text())[0]
    captured = {int(k): v for k, v in live["times"].items()}
    lat = [(t - captured[f]) * 1000 for f, t in zip(seen["frames"], seen["times"]) if f in captured]
    cpu_rec, cpu_live = rec["cpu_s"] / rec["wall_s"], live["cpu_s"] / live["wall_s"]
    out["camera"] = {"recording_cpu_s_per_s": round(cpu_rec, 3), "recording_live_cpu_s_per_s": round(cpu_live, 3),
                     "live_extra_cpu_s_per_s": round(cpu_live - cpu_rec, 3),
                     "fps_recording": round(rec["frames"] / rec["wall_s"], 1),
                     "fps_recording_live": round(live["frames"] / live["wall_s"], 1), "uplink": live["live"]}
    out["latency_ms"] = {"frames": len(lat), "p50": round(pct(lat, 50), 1) if lat else None,
                         "p95": round(pct(lat, 95), 1) if lat else None, "max": round(max(lat), 1) if lat else None}
    print(f"camera CPU per second, {a.resolution}@{a.fps}: recording {cpu_rec:.2f} s, recording + live "
          f"{cpu_live:.2f} s, live view adds {cpu_live - cpu_rec:.2f} s", flush=True)
    print(f"glass-to-glass latency over {len(lat)} frames: p50 {out['latency_ms']['p50']} ms, "
          f"p95 {out['latency_ms']['p95']} ms (target p95 <= 500 ms)", flush=True)



def relay_phase(a, server, cam, tmp, http, cookies, out) -> None:
    from tests.live_view import wait_for

    # 3. relay capacity: a replayed stream, more viewers each step
    wait_for(lambda: not http.get(server.url + "/live/onair.json").json()["sessions"], what="off the air")
    container = json.loads((cam / "device.json").read_text())["user_id"] + "_BWC-L1_20260101T000000Z"
    total = a.window + 10
    steps, best = [int(s) for s in a.steps.split(",")], 0
    out["relay"] = []
    worker = _server_worker_pid(server)
    for i, n in enumerate(steps):
        c = f"{container[:-3]}{i:02d}Z"
        replay = subprocess.Popen(child("--role", "replay", "--storage", str(cam), "--live", server.url,
                                        "--container", c, "--seconds", str(total + 15 + n * 0.5),
                                        "--out", str(tmp / f"replay{i}.json"),
                                        "--resolution", a.resolution, "--fps", str(a.fps)))
        wait_for(lambda: any(s["video"] for s in http.get(server.url + "/live/onair.json").json()["sessions"]),
                 what="replay on air")
        sid = http.get(server.url + "/live/onair.json").json()["sessions"][0]["id"]
        procs, outs = [], []
        for k in range(0, n, a.per_process):
            o = tmp / f"v{i}_{k}.json"
            outs.append(o)
            procs.append(subprocess.Popen(child("--role", "viewers", "--count", str(min(a.per_process, n - k)),
                                                "--url", server.url, "--session", sid, "--cookies", cookies,
                                                "--seconds", str(total), "--out", str(o))))
        time.sleep(8)  # connect, then measure a window
        cpu0, t0 = _cpu(worker), time.time()
        time.sleep(a.window)
        cpu1, t1 = _cpu(worker), time.time()
        for p in procs:
            p.wait(total + 120)
        replay.wait(total + 120)
        got = [v for o in outs for v in json.loads(o.read_text())]
        expected = a.fps * (t1 - t0)
        counts = [sum(1 for t in v["times"] if t0 <= t < t1) for v in got]
        refused = [v.get("error", "") for v in got if v.get("status") != 201]
        worst = min(counts) / expected if counts else 0
        ok = not refused and len(counts) == n and worst >= 0.97
        kbit = json.loads((tmp / f"replay{i}.json").read_text())["kbit_s"]
        row = {"viewers": n, "stream_kbit_s": round(kbit), "worst_share_of_frames": round(worst, 3),
               "mean_share": round(statistics.mean(counts) / expected, 3) if counts else 0,
               "server_cpu_s_per_s": round((cpu1 - cpu0) / (t1 - t0), 2), "refused": len(refused), "ok": ok}
        out["relay"].append(row)
        print(f"relay: {n:3d} viewers of {kbit / 1000:.1f} Mbit/s: worst viewer got {worst:.1%} of the frames, mean "
              f"{row['mean_share']:.1%}, server {row['server_cpu_s_per_s']} CPU s/s -> "
              f"{'ok' if ok else 'frames dropped'}", flush=True)
        if not ok:
            break
        best = n
        wait_for(lambda: not http.get(server.url + "/live/onair.json").json()["sessions"], what="off the air")
    out["relay_viewers_without_drops"] = best
    print(f"one server relays {best} viewers of {a.resolution}@{a.fps} without dropping frames "
          f"(target >= 20)", flush=True)


def _server_worker_pid(server) -> int:
    """The gunicorn worker (the process with the relay): the master's child."""
    kids = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()
    return int(kids[0]) if kids else server.proc.pid


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    raise SystemExit(main())
