"""Face redaction speed and recall: our whole redaction (analysis pass + render pass,
model load included) against the ``deface`` command on the same 720p30 clip, same run.

    .venv/bin/python bench/redact.py                  # 10 s clip, two faces
    .venv/bin/python bench/redact.py --seconds 20 --json out.json

The clip: scikit-image's astronaut photograph (a real face) moving across a textured
background, two faces crossing, so the true face box of every frame is known. Both tools
fill faces with solid black (ours: method "fill"; deface: --replacewith solid) and the same
measure decides: a face counts as found in a frame when >= 90 % of the middle 60 % of its
true box is black in the output. Recall = faces found / faces present (over all frames).
Real-time factor = processing time / clip duration (below 1: faster than real time).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import av

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))


def recall(path: str, truth: list[list[tuple]]) -> tuple[float, int, int]:
    found = present = 0
    with av.open(path) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i >= len(truth):
                break
            g = frame.to_ndarray(format="gray")
            for (x1, y1, x2, y2) in truth[i]:
                dx, dy = (x2 - x1) * 0.2, (y2 - y1) * 0.2
                core = g[int(y1 + dy):int(y2 - dy), int(x1 + dx):int(x2 - dx)]
                present += 1
                found += bool(core.size and (core <= 24).mean() >= 0.9)
    return (found / present if present else 0.0), found, present


def run_deface(src: str, out: str, extra: list[str]) -> float:
    exe = shutil.which("deface") or os.path.join(os.path.dirname(sys.executable), "deface")
    t = time.perf_counter()
    subprocess.run([exe, src, "-o", out, "--replacewith", "solid", *extra], check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--step", type=int, default=5)
    ap.add_argument("--json")
    ap.add_argument("--skip-deface", action="store_true")
    args = ap.parse_args()

    import django
    from django.conf import settings

    settings.configure()
    django.setup()
    from bodycam.media import facesynth, redact

    tmp = tempfile.mkdtemp(prefix="bench-redact-")
    try:
        src = os.path.join(tmp, "clip720.mp4")
        made = facesynth.make_face_clip(src, seconds=args.seconds, width=1280, height=720, fps=30, face_h=130,
                                        faces=2)
        truth, frames = made["boxes"], made["frames"]
        dur = frames / 30
        results = {"clip": {"width": 1280, "height": 720, "fps": 30, "frames": frames, "seconds": dur,
                            "faces_present": sum(len(b) for b in truth)}, "cpus": os.cpu_count()}

        out = os.path.join(tmp, "ours.mp4")
        redact.FaceDetector._cache.clear()
        t0 = time.perf_counter()
        plan = redact.analyze(src, step=args.step)
        t1 = time.perf_counter()
        plan["method"] = "fill"
        redact.render(src, plan, out)
        t2 = time.perf_counter()
        r, f, p = recall(out, truth)
        results["ours"] = {"seconds": round(t2 - t0, 2), "analyze_s": round(t1 - t0, 2), "render_s": round(t2 - t1, 2),
                           "fps": round(frames / (t2 - t0), 1), "rtf": round((t2 - t0) / dur, 3),
                           "recall": round(r, 4), "found": f, "present": p, "step": args.step,
                           "detect_width": plan["detect_width"], "tracks": len(plan["tracks"]),
                           "provider": plan["provider"]}

        if not args.skip_deface:
            for name, extra in (("deface", []), ("deface_640", ["--scale", "640x360"])):
                dout = os.path.join(tmp, f"{name}.mp4")
                secs = run_deface(src, dout, extra)
                r, f, p = recall(dout, truth)
                results[name] = {"seconds": round(secs, 2), "fps": round(frames / secs, 1),
                                 "rtf": round(secs / dur, 3), "recall": round(r, 4), "found": f, "present": p,
                                 "args": " ".join(["--replacewith", "solid", *extra])}
            results["speedup_vs_deface"] = round(results["deface"]["seconds"] / results["ours"]["seconds"], 2)
            results["speedup_vs_deface_640"] = round(results["deface_640"]["seconds"] / results["ours"]["seconds"], 2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"720p30 clip, {results['clip']['frames']} frames ({results['clip']['seconds']:.1f} s), "
          f"{results['cpus']} CPUs")
    print(f"{'tool':<14}{'seconds':>9}{'fps':>8}{'RTF':>8}{'recall':>9}")
    for name in ("ours", "deface", "deface_640"):
        if name in results:
            x = results[name]
            print(f"{name:<14}{x['seconds']:>9.2f}{x['fps']:>8.1f}{x['rtf']:>8.3f}{x['recall']:>9.4f}")
    if "speedup_vs_deface" in results:
        print(f"speed-up: {results['speedup_vs_deface']}x deface (full-res detection), "
              f"{results['speedup_vs_deface_640']}x deface --scale 640x360")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
