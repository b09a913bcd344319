"""Clips with licence plates for tests and benchmarks: vehicles drawn with OpenCV moving
across a textured street background, each carrying a plate whose characters are rendered
with a TrueType font installed on the system (DejaVu, Liberation, ... or Pillow's own
default font), so the true plate box and text of every frame are known."""

from __future__ import annotations

import glob
import os
from fractions import Fraction

import av
import cv2
import numpy as np

from .facesynth import background

FONT_GLOBS = ("/usr/share/fonts/**/DejaVuSans-Bold.ttf", "/usr/share/fonts/**/DejaVuSansMono-Bold.ttf",
              "/usr/share/fonts/**/LiberationSans-Bold.ttf", "/usr/share/fonts/**/LiberationMono-Bold.ttf",
              "/usr/share/fonts/**/*Bold*.ttf", "/usr/share/fonts/**/*.ttf")
BODY_COLOURS = [(40, 40, 160), (150, 150, 155), (30, 30, 30), (170, 110, 40), (60, 120, 60), (200, 200, 205)]


def fonts() -> list[str]:
    """Bold TrueType fonts found on the system, best first (may be empty: Pillow's default)."""
    seen: list[str] = []
    for pattern in FONT_GLOBS:
        for path in sorted(glob.glob(pattern, recursive=True)):
            if path not in seen:
                seen.append(path)
    return seen


def _font(size: int, path: str | None):
    from PIL import ImageFont

    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def plate_image(text: str, height: int, font_path: str | None = None) -> np.ndarray:
    """A plate (BGR): white with a dark border and dark characters, about 2:1 like US plates."""
    from PIL import Image, ImageDraw

    width = int(round(height * 2.0))
    img = Image.new("RGB", (width, height), (245, 245, 240))
    d = ImageDraw.Draw(img)
    border = max(1, height // 20)
    d.rectangle([0, 0, width - 1, height - 1], outline=(30, 30, 60), width=border)
    size = int(height * 0.62)
    font = _font(size, font_path)
    while size > 6:
        x1, y1, x2, y2 = d.textbbox((0, 0), text, font=font)
        if x2 - x1 <= width * 0.88:
            break
        size -= 1
        font = _font(size, font_path)
    x1, y1, x2, y2 = d.textbbox((0, 0), text, font=font)
    d.text(((width - (x2 - x1)) / 2 - x1, (height - (y2 - y1)) / 2 - y1 + height * 0.04), text,
           fill=(25, 25, 70), font=font)
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def _vehicle(plate: np.ndarray, colour) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The back of a vehicle (BGR) with the plate mounted low in the middle; returns the
    picture and the plate's box in it."""
    ph, pw = plate.shape[:2]
    w, h = int(pw * 3.6), int(ph * 4.2)
    car = np.zeros((h, w, 3), np.uint8)
    car[:] = colour
    dark = tuple(int(c * 0.45) for c in colour)
    cv2.rectangle(car, (int(w * 0.12), int(h * 0.08)), (int(w * 0.88), int(h * 0.42)), (70, 60, 50), -1)  # window
    cv2.rectangle(car, (int(w * 0.04), int(h * 0.5)), (int(w * 0.2), int(h * 0.62)), (20, 20, 190), -1)  # lights
    cv2.rectangle(car, (int(w * 0.8), int(h * 0.5)), (int(w * 0.96), int(h * 0.62)), (20, 20, 190), -1)
    cv2.rectangle(car, (0, int(h * 0.9)), (w - 1, h - 1), dark, -1)  # bumper
    x, y = (w - pw) // 2, int(h * 0.66)
    car[y:y + ph, x:x + pw] = plate
    return car, (x, y, x + pw, y + ph)


def make_plate_clip(path: str, *, plates: list[tuple[str, int]], seconds: float = 3.0, width: int = 640,
                    height: int = 360, fps: int = 30, crf: int = 20, preset: str = "veryfast",
                    font_path: str | None = "", seed: int = 11) -> dict:
    """Write the clip: one vehicle per (text, plate height in px), driving across the frame
    (alternate directions, different lanes and speeds). Returns {"boxes": per frame a list of
    (text, (x1, y1, x2, y2)) for every plate fully in view, "frames": n, "font": path}."""
    if font_path == "":
        found = fonts()
        font_path = found[0] if found else None
    rng = np.random.default_rng(seed)
    bg = cv2.cvtColor(background(width, height, seed=seed), cv2.COLOR_RGB2BGR)
    pictures = [_vehicle(plate_image(text, ph, font_path), BODY_COLOURS[k % len(BODY_COLOURS)])
                for k, (text, ph) in enumerate(plates)]
    # One lane each, stacked top to bottom with equal gaps, so no vehicle hides another's plate.
    gap = max(0, height - sum(car.shape[0] for car, _ in pictures)) / (len(pictures) + 1)
    cars, y = [], gap
    for k, ((text, _ph), (car, box)) in enumerate(zip(plates, pictures)):
        ch, cw = car.shape[:2]
        x0, x1 = (-0.1 * cw, width - 0.9 * cw) if k % 2 == 0 else (width - 0.9 * cw, -0.1 * cw)
        x0 += rng.uniform(-0.05, 0.05) * width
        cars.append((text, car, box, int(min(height - ch, y)), x0, x1))
        y += ch + gap
    n = int(round(seconds * fps))
    boxes = []
    with av.open(path, "w", format="mp4") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.options = {"crf": str(crf), "preset": preset}
        for i in range(n):
            f = i / max(1, n - 1)
            img = bg.copy()
            row = []
            for text, car, (bx1, by1, bx2, by2), y, x0, x1 in cars:
                ch, cw = car.shape[:2]
                x = int(round(x0 + (x1 - x0) * f))
                sx1, sx2 = max(0, x), min(width, x + cw)
                if sx2 <= sx1:
                    continue
                img[y:y + ch, sx1:sx2] = car[:, sx1 - x:sx2 - x]
                px1, px2 = x + bx1, x + bx2
                if px1 >= 0 and px2 <= width:  # the whole plate in view
                    row.append((text, (px1, y + by1, px2, y + by2)))
            boxes.append(row)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    return {"boxes": boxes, "frames": n, "font": os.path.basename(font_path) if font_path else "Pillow default"}
