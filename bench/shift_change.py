#!/usr/bin/env python3
"""Shift change: N docks upload their cameras' recordings at once.

Two ingest processes (gunicorn workers) share one port; job workers on a Redis broker (the
embedded broker when redis-server is missing) make the playback proxies and thumbnails with
the real media jobs while the uploads go on; the catalogue is PostgreSQL (a throw-away
cluster; SQLite with --engine sqlite). Every dock is its own officer + camera and speaks the
Axis/Swift protocol over loopback; every clip is a real, distinct H.264 recording.

Phase 1: one dock alone (single-stream figure). Phase 2: N docks at once. Then the job
queue drains, and every stored hash is checked against what the docks sent (plus fsck).

    .venv/bin/python bench/shift_change.py [--docks 50] [--clips 2] [--clip-mb 4] [--workers 2]

Prints aggregate MB/s, p50/p95 request latency, errors (must be 0), the single-stream MB/s
and the ratio; `--json FILE` also writes the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests import axis  # noqa: E402
from tests.live import LiveServer, free_port  # noqa: E402


SEED_SECONDS = 3  # video length of every clip


def seed_packets(workdir: Path, target_bytes: int, seconds: int = SEED_SECONDS) -> Path:
    """Encode a real 720p H.264 seed of about ``target_bytes`` (noisy, so the bit rate holds);
    remuxing it into a new MKV with a unique title makes each dock's clip distinct bytes at
    almost no cost."""
    from fractions import Fraction

    seed = workdir / "seed.mkv"
    src = av.open("testsrc2=size=1280x720:rate=30,noise=alls=30:allf=t", format="lavfi")
    out = av.open(str(seed), "w", format="matroska")
    v = out.add_stream("libx264", rate=30)
    v.width, v.height, v.pix_fmt = 1280, 720, "yuv420p"
    v.bit_rate = int(target_bytes * 8 / seconds)
    v.options = {"preset": "ultrafast", "g": "30"}
    for i, frame in enumerate(src.decode(video=0)):
        if i >= seconds * 30:
            break
        frame.pts, frame.time_base = i, Fraction(1, 30)
        out.mux(v.encode(frame.reformat(format="yuv420p")))
    out.mux(v.encode(None))
    out.close()
    src.close()
    return seed


def unique_clip(seed: Path, out: Path, tag: str) -> bytes:
    inp = av.open(str(seed))
    istream = inp.streams.video[0]
    o = av.open(str(out), "w", format="matroska")
    o.metadata["title"] = tag
    ostream = o.add_stream_from_template(istream)
    for pkt in inp.demux(istream):
        if pkt.size:
            pkt.stream = ostream
            o.mux(pkt)
    o.close()
    inp.close()
    data = out.read_bytes()
    out.unlink()
    return data


class Dock(threading.Thread):
    """One dock: registers its officer and camera, then uploads its clips one after another."""

    def __init__(self, info: dict, number: int, clips: list[bytes], barrier: threading.Barrier | None):
        super().__init__(daemon=True)
        self.info, self.number, self.clips, self.barrier = info, number, clips, barrier
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.sent: dict[tuple[str, str], str] = {}
        self.bytes = 0
        self.started = self.finished = 0.0

    def run(self):
        try:
            import swiftclient

            conn = swiftclient.client.Connection(
                authurl=self.info["AuthenticationTokenURI"][0], user=self.info["BlobAPIUserName"],
                key=self.info["BlobAPIKey"], auth_version="1", retries=0, timeout=600)
            user_id, serial = axis.register(conn, serial=f"BWC-{uuid.uuid4().hex[:8]}", badge=f"B{self.number:05d}",
                                            name=f"Officer {self.number}")
            t0 = axis.now() - timedelta(minutes=len(self.clips))
            name, meta = axis.recording(user_id, serial, t0, seconds=60 * len(self.clips))
            conn.put_container(name, headers=meta)
        except Exception as exc:
            self.errors.append(f"setup: {exc}")
            if self.barrier:
                self.barrier.abort()
            return
        if self.barrier:
            self.barrier.wait()
        self.started = time.perf_counter()
        for i, data in enumerate(self.clips):
            obj = axis.clip_name(t0 + timedelta(minutes=i), i + 1, "mkv")
            t = time.perf_counter()
            try:
                etag = conn.put_object(name, obj, data, etag=hashlib.md5(data).hexdigest(),
                                       headers=axis.clip_headers(t0 + timedelta(minutes=i), 60, "mkv"))
                assert etag.strip('"') == hashlib.md5(data).hexdigest(), "ETag mismatch"
            except Exception as exc:
                self.errors.append(f"{obj}: {exc}")
                continue
            self.latencies.append(time.perf_counter() - t)
            self.sent[(name, obj)] = hashlib.sha256(data).hexdigest()
            self.bytes += len(data)
        self.finished = time.perf_counter()
        try:
            conn.post_container(name, headers={"X-Container-Meta-Status": "Complete"})
        except Exception as exc:
            self.errors.append(f"complete: {exc}")


def run_docks(info: dict, clip_sets, first_number: int) -> dict:
    barrier = threading.Barrier(len(clip_sets)) if len(clip_sets) > 1 else None
    docks = [Dock(info, first_number + i, clips, barrier) for i, clips in enumerate(clip_sets)]
    for d in docks:
        d.start()
    for d in docks:
        d.join()
    ok = [d for d in docks if d.started]
    if not ok:
        raise SystemExit(f"no dock got going: {[e for d in docks for e in d.errors][:5]}")
    elapsed = max(d.finished for d in ok) - min(d.started for d in ok)
    lat = sorted(x for d in docks for x in d.latencies)
    total = sum(d.bytes for d in docks)
    return {"docks": len(docks), "requests": len(lat), "bytes": total, "seconds": elapsed,
            "mb_s": total / elapsed / 1e6, "p50_s": statistics.median(lat) if lat else None,
            "p95_s": lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else None,
            "errors": [e for d in docks for e in d.errors], "sent": {k: v for d in docks for k, v in d.sent.items()}}


def start_redis(workdir: Path):
    if not shutil.which("redis-server"):
        return None, None
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)], stdout=subprocess.DEVNULL,
                            start_new_session=True)
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


def job_counts(server) -> dict:
    return dict(server.sql("SELECT status, COUNT(*) FROM jobs_job GROUP BY status"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docks", type=int, default=50)
    ap.add_argument("--clips", type=int, default=2, help="clips per dock")
    ap.add_argument("--clip-mb", type=float, default=4.0, help="size of each clip (MB)")
    ap.add_argument("--workers", type=int, default=2, help="job worker processes (proxies, thumbnails)")
    ap.add_argument("--engine", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--drain-timeout", type=float, default=900, help="seconds to wait for the proxy queue")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bodycam-shift-", dir=os.environ.get("BENCH_DIR")))
    pg = redis = None
    workers: list[subprocess.Popen] = []
    server = None
    try:
        t = time.perf_counter()
        seed = seed_packets(work, int(args.clip_mb * 1e6))
        clip_sets = [[unique_clip(seed, work / "c.mkv", f"dock{d}-clip{c}-{uuid.uuid4()}") for c in range(args.clips)]
                     for d in range(args.docks + 1)]
        size = len(clip_sets[0][0])
        print(f"recordings: {args.docks + 1} docks x {args.clips} clips of {size / 1e6:.1f} MB "
              f"(real H.264 720p MKV, each distinct; made in {time.perf_counter() - t:.1f} s)", flush=True)

        env = {"BODYCAM_MEDIA_AUTO_PLAYBACK": "1", "BODYCAM_MAX_CONCURRENT_UPLOADS": "64"}
        if args.engine == "postgresql":
            from tests.pg import PostgresCluster

            pg = PostgresCluster().start()
            env["BODYCAM_DATABASE_URL"] = pg.create_database("shift")
        redis, broker = start_redis(work)
        if broker:
            env["BODYCAM_BROKER_URL"] = broker
        server = LiveServer(work / "vault", env)
        server.data_dir.mkdir()
        server.start(workers=2, threads=32)  # two ingest processes behind one port
        for i in range(args.workers):
            log = open(work / f"worker{i}.log", "wb")
            workers.append(subprocess.Popen([sys.executable, "-m", "bodycam.cli", "worker", "--no-beat"],
                                            env={**server.env, "BODYCAM_WORKER_CONCURRENCY": "1"}, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True))
        print(f"server: 2 ingest processes on :{server.port}, {args.workers} job workers, catalogue "
              f"{args.engine}, broker {'redis' if broker else 'embedded'}, {os.cpu_count()} CPU cores", flush=True)

        info = server.connection()
        single = run_docks(info, clip_sets[:1], 0)
        print(f"single stream : {single['mb_s']:7.1f} MB/s  ({single['bytes'] / 1e6:.0f} MB, "
              f"p95 {single['p95_s']:.2f} s)", flush=True)
        t_shift = time.perf_counter()
        shift = run_docks(info, clip_sets[1:], 1)
        t_drain = time.perf_counter()
        deadline = time.time() + args.drain_timeout
        while time.time() < deadline:
            counts = job_counts(server)
            if not counts.get("queued") and not counts.get("running"):
                break
            time.sleep(1)
        drain_s = time.perf_counter() - t_drain
        proxy_window = time.perf_counter() - t_shift
        counts = job_counts(server)

        # Every hash the docks sent is what the vault holds, and the store re-hashes clean.
        listed = {(r["recording"], r["object"]): r["sha256"] for r in server.cli_json("evidence", "list")}
        sent = {**single["sent"], **shift["sent"]}
        bad = [k for k, sha in sent.items() if listed.get(k) != sha]
        fsck = server.cli("fsck", check=False)
        proxies = dict(server.sql("SELECT kind, COUNT(*) FROM media_derivative GROUP BY kind"))
        errors = single["errors"] + shift["errors"]

        print(f"shift change  : {shift['docks']} docks, {shift['requests']} uploads, {shift['bytes'] / 1e6:.0f} MB "
              f"in {shift['seconds']:.1f} s")
        print(f"aggregate     : {shift['mb_s']:7.1f} MB/s")
        print(f"latency       : p50 {shift['p50_s']:.2f} s, p95 {shift['p95_s']:.2f} s per {size / 1e6:.1f} MB PUT")
        print(f"errors        : {len(errors)}" + (f"  e.g. {errors[:3]}" if errors else ""))
        print(f"ratio         : {shift['mb_s'] / single['mb_s']:.2f} x single stream")
        print(f"proxy jobs    : {counts}; proxies {proxies.get('proxy', 0)}, thumbnails {proxies.get('thumbnail', 0)}; "
              f"queue drained {drain_s:.0f} s after the last upload")
        video_s = proxies.get("proxy", 0) * SEED_SECONDS
        print(f"proxy rate    : {video_s / proxy_window:.1f} s of 720p video proxied per second by {args.workers} "
              f"worker(s), sharing the cores with ingest")
        print(f"hash check    : {len(sent) - len(bad)}/{len(sent)} stored hashes match what the docks sent; "
              f"fsck exit {fsck.returncode}")
        figures = {"docks": shift["docks"], "clips_per_dock": args.clips, "clip_bytes": size,
                   "single_mb_s": single["mb_s"], "aggregate_mb_s": shift["mb_s"], "ratio": shift["mb_s"] / single["mb_s"],
                   "p50_s": shift["p50_s"], "p95_s": shift["p95_s"], "errors": len(errors), "hash_mismatches": len(bad),
                   "fsck": fsck.returncode, "jobs": counts, "drain_s": drain_s,
                   "proxy_video_s_per_s": video_s / proxy_window, "clip_video_s": SEED_SECONDS, "job_workers": args.workers,
                   "engine": args.engine, "broker": "redis" if broker else "embedded", "cpus": os.cpu_count()}
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2))
        return 0 if not errors and not bad and fsck.returncode == 0 and not counts.get("failed") else 1
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(w.pid, signal.SIGKILL)
        if server:
            server.stop()
        if redis:
            redis.terminate()
            redis.wait(10)
        if pg:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
