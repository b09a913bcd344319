#!/usr/bin/env python3
"""Ingest throughput: one large clip through the Swift endpoint over loopback.

Prints MB/s of the upload (PUT until 201, i.e. durably stored and catalogued) next to
this machine's plain copy-and-SHA-256 of the same file (with fsync, as the vault
does), measured in the same run, their ratio, and the server's peak memory (RSS of
the gunicorn master and workers, sampled every 50 ms).

    .venv/bin/python bench/ingest.py [--size-mib 1024] [--keep]

Targets (issue 2): ratio >= 0.7; peak server memory < 300 MB whatever the size.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests import axis  # noqa: E402
from tests.live import LiveServer  # noqa: E402


def make_large_clip(path: Path, target_bytes: int) -> None:
    """A real H.264 MKV of about ``target_bytes``: encode a few seconds of noisy 720p
    (incompressible, so large), then remux those packets repeatedly with shifted times."""
    seed = path.with_suffix(".seed.mkv")
    src = av.open("testsrc2=size=1280x720:rate=30,noise=alls=60:allf=t", format="lavfi")
    out = av.open(str(seed), "w", format="matroska")
    v = out.add_stream("libx264", rate=30)
    v.width, v.height, v.pix_fmt = 1280, 720, "yuv420p"
    v.options = {"preset": "ultrafast", "qp": "8", "g": "30"}
    for i, frame in enumerate(src.decode(video=0)):
        if i >= 90:
            break
        frame.pts, frame.time_base = i, Fraction(1, 30)
        out.mux(v.encode(frame.reformat(format="yuv420p")))
    out.mux(v.encode(None))
    out.close()
    src.close()
    seed_size = seed.stat().st_size
    inp = av.open(str(seed))
    istream = inp.streams.video[0]
    # Muxing consumes a packet, so keep the raw payloads and rebuild packets per loop.
    packets = [(bytes(p), p.pts, p.dts if p.dts is not None else p.pts, p.duration, p.is_keyframe)
               for p in inp.demux(istream) if p.size]
    span = max(p[1] for p in packets) + packets[0][3]
    out = av.open(str(path), "w", format="matroska")
    ostream = out.add_stream_from_template(istream)
    loops = max(1, round(target_bytes / seed_size))
    for n in range(loops):
        for data, pts, dts, duration, key in packets:
            pkt = av.Packet(data)
            pkt.pts, pkt.dts, pkt.duration = pts + n * span, dts + n * span, duration
            pkt.is_keyframe = key
            pkt.time_base = istream.time_base
            pkt.stream = ostream
            out.mux(pkt)
    out.close()
    inp.close()
    seed.unlink()


def copy_and_hash(src: Path, dst: Path) -> float:
    t = time.perf_counter()
    h = hashlib.sha256()
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        while chunk := fi.read(1 << 20):
            h.update(chunk)
            fo.write(chunk)
        fo.flush()
        os.fsync(fo.fileno())
    h.hexdigest()
    return time.perf_counter() - t


def tree_rss(pid: int) -> int:
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bodycam-bench-", dir=os.environ.get("BENCH_DIR")))
    try:
        clip = work / "big.mkv"
        t = time.perf_counter()
        make_large_clip(clip, args.size_mib * 1024 * 1024)
        size = clip.stat().st_size
        print(f"clip: {size / 1e6:.0f} MB real H.264 MKV (made in {time.perf_counter() - t:.1f} s)")

        server = LiveServer(work / "vault")
        server.data_dir.mkdir()
        server.start()
        try:
            conn = server.swift()
            user_id, serial = axis.register(conn)
            t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
            name, meta = axis.recording(user_id, serial, t0)
            conn.put_container(name, headers=meta)
            base_rss = tree_rss(server.proc.pid)
            peak = [base_rss]
            done = threading.Event()

            def sample():
                while not done.is_set():
                    peak[0] = max(peak[0], tree_rss(server.proc.pid))
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            t = time.perf_counter()
            with open(clip, "rb") as f:
                conn.put_object(name, axis.clip_name(t0, 1, "mkv"), f, content_length=size, chunk_size=1 << 20,
                                headers=axis.clip_headers(t0, 10, "mkv"))
            upload_s = time.perf_counter() - t
            done.set()
            sampler.join()
        finally:
            server.stop()

        copy_s = copy_and_hash(clip, work / "copy.mkv")
        up, cp = size / upload_s / 1e6, size / copy_s / 1e6
        print(f"upload through Swift endpoint : {up:8.1f} MB/s  ({upload_s:.2f} s, until 201 Created)")
        print(f"plain copy + SHA-256 + fsync  : {cp:8.1f} MB/s  ({copy_s:.2f} s)")
        print(f"ratio (upload / copy)         : {up / cp:8.2f}   target >= 0.70")
        print(f"server peak RSS               : {peak[0] / 1e6:8.1f} MB (idle {base_rss / 1e6:.1f} MB)   target < 300 MB")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
