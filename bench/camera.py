"""Camera benchmark: CPU time per second of 720p30 recording and the pre-event buffer's
peak memory.

    .venv/bin/python bench/camera.py [--seconds 10] [--buffer 30] [--resolution 1280x720] [--fps 30]

Frames come from an FFmpeg test pattern decoded once up front (so the pattern generator's
own cost is not counted); audio is a 440 Hz tone. Phase 1 runs the camera idle long enough
to fill the buffer (encoding continuously, as a camera does); phase 2 records. CPU time is
process CPU (all threads, x264's included) divided by seconds of video produced.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
import uuid
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bodycam.device.config import DeviceConfig  # noqa: E402
from bodycam.device.recorder import Recorder  # noqa: E402
from bodycam.device.sources import Source  # noqa: E402
from bodycam.device.storage import DeviceStorage  # noqa: E402
from bodycam.device.triggers import Event  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds recorded in phase 2")
    ap.add_argument("--buffer", type=float, default=30.0)
    ap.add_argument("--resolution", default="1280x720")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--bitrate", type=int, default=4_000_000)
    args = ap.parse_args()
    w, h = (int(x) for x in args.resolution.split("x"))

    src = Source("testsrc2", w, h, args.fps, audio=True)
    video = src.video()
    frames = [next(video).reformat(format="yuv420p") for _ in range(args.fps * 2)]
    audio = src.audio()
    tone = []
    while sum(f.samples for f in tone) < 48000 * 2:
        tone.append(next(audio))

    with tempfile.TemporaryDirectory() as tmp:
        storage = DeviceStorage(Path(tmp) / "cam").ensure()
        config = DeviceConfig(serial="BENCH-1", user_id=str(uuid.uuid4()), width=w, height=h, fps=args.fps,
                              bitrate=args.bitrate, buffer_seconds=args.buffer, clip_seconds=300).validate()
        rec = Recorder(storage, config, epoch0=time.time() - 3600, fsync=True)
        samples = 0
        index = 0
        ai = 0

        def feed(seconds: float) -> None:
            nonlocal samples, index, ai
            end = index + int(seconds * args.fps)
            while index < end:
                upto = Fraction(index + 1, args.fps) * 48000
                while samples < upto:
                    f = tone[ai % len(tone)]
                    ai += 1
                    rec.feed_audio(f, samples)
                    samples += f.samples
                rec.feed_video(frames[index % len(frames)], index)
                index += 1

        tracemalloc.start()
        fill = args.buffer + 5
        c0, w0 = time.process_time(), time.perf_counter()
        feed(fill)
        idle_cpu, idle_wall = time.process_time() - c0, time.perf_counter() - w0
        _, py_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        buffered = len(rec.buffer)
        rec.handle(Event("record"), Fraction(index, args.fps))
        c0, w0 = time.process_time(), time.perf_counter()
        feed(args.seconds)
        rec.handle(Event("stop"), Fraction(index, args.fps))
        rec_cpu, rec_wall = time.process_time() - c0, time.perf_counter() - w0
        clip_bytes = sum(p.stat().st_size for p in storage.recordings_dir.rglob("*.mp4"))

    print(f"camera benchmark: {w}x{h}@{args.fps}, {args.bitrate / 1e6:.1f} Mbit/s H.264 (x264 ultrafast) + AAC, "
          f"{args.buffer:.0f} s pre-event buffer")
    print(f"  idle (encoding into the buffer): {idle_cpu / fill:.3f} CPU-s per second of video "
          f"({fill / idle_wall:.2f}x real time)")
    print(f"  recording (encode + fragmented MP4 + fsync per fragment): {rec_cpu / args.seconds:.3f} CPU-s per second "
          f"of video ({args.seconds / rec_wall:.2f}x real time)")
    print(f"  buffer peak: {rec.buffer.peak_bytes / 1e6:.2f} MB of packets ({buffered} packets held at activation; "
          f"bound {config.buffer_max_bytes / 1e6:.0f} MB); Python heap peak while buffering {py_peak / 1e6:.2f} MB")
    print(f"  recorded {clip_bytes / 1e6:.2f} MB for {args.seconds + args.buffer:.0f} s "
          f"({clip_bytes * 8 / (args.seconds + args.buffer) / 1e6:.2f} Mbit/s)")


if __name__ == "__main__":
    main()
