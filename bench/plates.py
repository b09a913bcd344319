"""Licence plates: how many plate-frames the redaction covers, how many plates are read
exactly, and whether finding plates changes face recall. Generated clips, same run.

    .venv/bin/python bench/plates.py                 # 720p30 clips, about a minute on 2 cores
    .venv/bin/python bench/plates.py --json out.json

The clips (``media.platesynth``): vehicles drawn with OpenCV crossing a textured street
background, each with a plate (white, dark border, 7 characters rendered with a TrueType font
found on the system; the letters I, O and Q are left out, as most US states and the UK do).
Plate heights 24-64 px in 1280x720; two fonts; slow (6 s to cross) and fast (3 s) traffic.
True boxes and texts are known for every frame a plate is wholly in view.

* Plate-frame recall (redaction): the plan as analysed, rendered with solid fill; a plate
  counts as covered in a frame when >= 90 % of the middle 60 % of its true box is black.
* Exact reads: per plate (vehicle), the text of the plan's plate track over it equals the
  truth; judged for plates at least 40 px high (target >= 0.9), shown for smaller ones.
* False plates: plate tracks over no true plate (on the plate clips and on the face clip).
* Face recall: the face clip of bench/redact.py (two moving faces), analysed with and
  without the plate finder, rendered with fill, measured like bench/redact.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import av
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q
DIGITS = "0123456789"


def plate_texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        pattern = "DLLLDDD" if k % 2 == 0 else "LLDDLLL"   # 7ABC123 (US), AB12CDE (UK)
        out.append("".join(rng.choice(list(DIGITS if p == "D" else LETTERS)) for p in pattern))
    return out


def covered(path: str, truth: list[list[tuple]], per: dict | None = None) -> tuple[int, int]:
    """Plate-frames covered in the output / present; ``per``: text -> [covered, present, missed frames]."""
    found = present = 0
    with av.open(path) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i >= len(truth):
                break
            g = frame.to_ndarray(format="gray")
            for box in truth[i]:
                x1, y1, x2, y2 = box[-1] if isinstance(box[0], str) else box
                dx, dy = (x2 - x1) * 0.2, (y2 - y1) * 0.2
                core = g[int(y1 + dy):int(y2 - dy), int(x1 + dx):int(x2 - dx)]
                present += 1
                hit = bool(core.size and (core <= 24).mean() >= 0.9)
                found += hit
                if per is not None and isinstance(box[0], str):
                    p = per.setdefault(box[0], [0, 0, []])
                    p[0] += hit
                    p[1] += 1
                    if not hit:
                        p[2].append(i)
    return found, present


def overlap(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / max(1e-9, (b[2] - b[0]) * (b[3] - b[1]))


def judge_reads(plan: dict, truth: list, heights: dict) -> dict:
    """Per true plate: the plate tracks over it (on the frames it is in view) and their texts."""
    from bodycam.media import redact

    tracks = [t for t in plan["tracks"] if t["label"] == "plate"]
    over: dict[str, set] = {text: set() for text in heights}
    used = set()
    for i, row in enumerate(truth):
        for text, box in row:
            for t in tracks:
                b = redact.box_at(t, i, 0)
                if b is not None and overlap(b, box) > 0.5:
                    over[text].add(t["id"])
                    used.add(t["id"])
    out = {"plates": []}
    for text, h in heights.items():
        texts = sorted({t["text"] for t in tracks if t["id"] in over[text]})
        out["plates"].append({"truth": text, "height": h, "tracks": len(over[text]), "read": texts,
                              "exact": texts == [text]})
    out["false_tracks"] = [t.get("text") for t in tracks if t["id"] not in used]
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--step", type=int, default=None, help="detection step (default: the analysis default)")
    args = ap.parse_args()

    import django
    from django.conf import settings

    settings.configure()
    django.setup()
    from bodycam.media import facesynth, platesynth, redact

    args.step = args.step or redact.DEFAULT_STEP

    fonts = platesynth.fonts()
    font_a = next((f for f in fonts if f.endswith("DejaVuSans-Bold.ttf")), fonts[0] if fonts else None)
    font_b = next((f for f in fonts if f.endswith("DejaVuSansMono-Bold.ttf")), font_a)
    texts = plate_texts(12, seed=5)
    clips = [  # (name, plates (text, height), seconds, font)
        ("slow-a", list(zip(texts[0:3], (24, 40, 64))), 6.0, font_a),
        ("slow-b", list(zip(texts[3:6], (32, 48, 56))), 6.0, font_b),
        ("fast-a", list(zip(texts[6:9], (40, 48, 64))), 3.0, font_a),
        ("fast-b", list(zip(texts[9:12], (28, 44, 56))), 3.0, font_b),
    ]
    tmp = tempfile.mkdtemp(prefix="bench-plates-")
    results = {"cpus": os.cpu_count(), "step": args.step, "clips": []}
    try:
        for name, plates_, seconds, font in clips:
            src = os.path.join(tmp, f"{name}.mp4")
            made = platesynth.make_plate_clip(src, plates=plates_, seconds=seconds, width=1280, height=720,
                                              font_path=font, seed=len(results["clips"]) + 3)
            t0 = time.perf_counter()
            plan = redact.analyze(src, step=args.step)
            t1 = time.perf_counter()
            plan["method"] = "fill"
            out = os.path.join(tmp, f"{name}-out.mp4")
            redact.render(src, plan, out)
            per: dict = {}
            found, present = covered(out, made["boxes"], per)
            reads = judge_reads(plan, made["boxes"], dict(plates_))
            for p in reads["plates"]:
                p["covered"], p["present"], missed = per.get(p["truth"], [0, 0, []])
                p["missed_frames"] = missed[:40]
            results["clips"].append({"clip": name, "seconds": seconds, "font": made["font"], "frames": made["frames"],
                                     "analyze_s": round(t1 - t0, 2), "covered": found, "present": present,
                                     **reads})
        covered_all = sum(c["covered"] for c in results["clips"])
        present_all = sum(c["present"] for c in results["clips"])
        big = [p for c in results["clips"] for p in c["plates"] if p["height"] >= 40]
        small = [p for c in results["clips"] for p in c["plates"] if p["height"] < 40]
        results["plate_frame_recall"] = round(covered_all / present_all, 4)
        results["exact_reads_ge40"] = round(sum(p["exact"] for p in big) / len(big), 3)
        results["exact_reads_lt40"] = round(sum(p["exact"] for p in small) / len(small), 3)
        results["false_plate_tracks"] = sum(len(c["false_tracks"]) for c in results["clips"])

        # Faces: the same clip and measure as bench/redact.py (5 s here), with and without plates.
        src = os.path.join(tmp, "faces.mp4")
        made = facesynth.make_face_clip(src, seconds=5, width=1280, height=720, fps=30, face_h=130, faces=2)
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from redact import recall

        for with_plates in (False, True):
            plan = redact.analyze(src, step=args.step, find_plates=with_plates)
            plan["method"] = "fill"
            out = os.path.join(tmp, f"faces-{with_plates}.mp4")
            redact.render(src, plan, out)
            r, f, p = recall(out, made["boxes"])
            key = "faces_with_plates" if with_plates else "faces_only"
            results[key] = {"recall": round(r, 4), "found": f, "present": p,
                            "plate_tracks": sum(t["label"] == "plate" for t in plan["tracks"])}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"plates: 1280x720 @30, step {args.step}, {results['cpus']} CPUs")
    print(f"{'clip':<8}{'font':<24}{'recall':>8}{'  plates (height: read)'}")
    for c in results["clips"]:
        reads = ", ".join(f"{p['height']}px {p['truth']}:{'/'.join(p['read']) or '-'}{'' if p['exact'] else ' X'}"
                          f" {p['covered']}/{p['present']}"
                          for p in c["plates"])
        print(f"{c['clip']:<8}{c['font']:<24}{c['covered'] / c['present']:>8.3f}  {reads}")
    print(f"plate-frame recall {results['plate_frame_recall']:.4f} (target >= 0.95); exact reads, plates >= 40 px: "
          f"{results['exact_reads_ge40']:.3f} (target >= 0.9), < 40 px: {results['exact_reads_lt40']:.3f}; "
          f"false plate tracks {results['false_plate_tracks']}")
    print(f"face recall: faces only {results['faces_only']['recall']:.4f}, faces + plates "
          f"{results['faces_with_plates']['recall']:.4f} (plate tracks on the face clip: "
          f"{results['faces_with_plates']['plate_tracks']})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
