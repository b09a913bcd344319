"""Footage for ``bodycam demo``: scenes rendered from what is installed (nothing downloaded).

Each camera of the demo shift gets a scene file that the camera code then records like any
other source (``device.sources``: a file is re-timed and looped): a street, a stopped car
whose plate is drawn with OpenCV, people with real faces (photographs shipped in
scikit-image's data directory, see ``media.facesynth``) who move, and speech from espeak-ng
(English, and one Spanish exchange). The camera's pre-event buffer, triggers, clip writer and
signatures are the real ones; only the picture in front of the lens is made up.

Pure Python + numpy/OpenCV/PyAV: no Django, no catalogue.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from fractions import Fraction

import av
import cv2
import numpy as np

from .media import facesynth

W, H, FPS = 640, 360, 15
AUDIO_RATE = 16000
PLATE = "ABC 123"          # the traffic stop's plate (the bookmark's tag is Plate:ABC123)

# What the people say. Times are seconds from the start of the scene (= the shift scenario).
ENGLISH = [("Good evening. I stopped you for speeding.", "en-us"),
           ("Sorry officer, here is my license.", "en-us+m3")]
SPANISH = [("Buenas noches, señor. Necesito ver su licencia de conducir y el registro del vehículo.", "es"),
           ("Sí, aquí está.", "es+f3")]
ENGLISH_KEYWORDS = ("evening", "speeding", "license")


@dataclass
class Person:
    photo: str                  # facesynth.PHOTOS key
    face_h: int                 # face height in pixels
    path: callable              # t -> (x, y) top-left of the head-and-shoulders patch, or None (not in view)


@dataclass
class Scene:
    seconds: float
    seed: int = 1
    car: tuple | None = None    # (x, y, width) of the stopped car's rear, in background pixels
    plate: str = PLATE
    people: list = field(default_factory=list)
    pan: callable = None        # t -> (dx, dy) camera offset (walking, body sway)
    lightbar_from: float | None = None  # red/blue flashes on the picture from this time
    speech: list = field(default_factory=list)  # [(at_seconds, [(text, voice), ...])]
    hum: float = 0.01           # level of the street noise


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def _street(w: int, h: int, seed: int) -> np.ndarray:
    """A street at dusk (BGR): sky, buildings with lit windows, pavement and lane marks."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.uint8)
    horizon = int(h * 0.42)
    for y in range(horizon):
        f = y / horizon
        img[y] = (int(120 + 60 * f), int(90 + 50 * f), int(70 + 40 * f))
    x = 0
    while x < w:
        bw, bh = int(rng.integers(60, 140)), int(rng.integers(horizon // 3, horizon))
        shade = int(rng.integers(50, 110))
        cv2.rectangle(img, (x, horizon - bh), (x + bw - 4, horizon), (shade, shade, shade + 10), -1)
        for wy in range(horizon - bh + 8, horizon - 10, 18):
            for wx in range(x + 6, x + bw - 14, 16):
                if rng.random() < 0.45:
                    cv2.rectangle(img, (wx, wy), (wx + 7, wy + 9), (90, 200, 235), -1)
        x += bw
    img[horizon:] = (72, 74, 78)
    tex = facesynth.background(w, h - horizon, seed)  # texture on the asphalt, no faces in it
    img[horizon:] = (img[horizon:].astype(np.int16) + (tex.astype(np.int16) - 120) // 6).clip(0, 255).astype(np.uint8)
    cv2.rectangle(img, (0, horizon), (w, horizon + 14), (150, 150, 150), -1)  # kerb
    for k in range(0, w, 120):
        cv2.rectangle(img, (k, int(h * 0.8)), (k + 60, int(h * 0.8) + 6), (220, 220, 220), -1)
    return img


def draw_car(img: np.ndarray, x: int, y: int, width: int, plate: str) -> None:
    """A sedan seen from behind, with its licence plate (black on white) in the middle."""
    h = int(width * 0.55)
    cv2.rectangle(img, (x, y + h // 3), (x + width, y + h), (40, 40, 150), -1)           # body
    cv2.rectangle(img, (x + width // 8, y), (x + width - width // 8, y + h // 3), (40, 40, 140), -1)  # cabin
    cv2.rectangle(img, (x + width // 6, y + h // 16), (x + width - width // 6, y + h // 3 - 4), (70, 60, 50), -1)
    for lx in (x + 6, x + width - width // 6 - 6):                                          # tail lights
        cv2.rectangle(img, (lx, y + h // 3 + 8), (lx + width // 6, y + h // 3 + h // 6), (30, 30, 230), -1)
    cv2.rectangle(img, (x - 4, y + h - h // 8), (x + width + 4, y + h), (30, 30, 30), -1)  # bumper
    pw, ph = int(width * 0.34), int(width * 0.11)
    px, py = x + (width - pw) // 2, y + h // 3 + h // 5
    cv2.rectangle(img, (px, py), (px + pw, py + ph), (245, 245, 245), -1)
    cv2.rectangle(img, (px, py), (px + pw, py + ph), (20, 20, 20), 2)
    font = cv2.FONT_HERSHEY_DUPLEX
    scale = ph / 30.0
    (tw, th), _ = cv2.getTextSize(plate, font, scale, 2)
    while tw > pw - 8 and scale > 0.2:
        scale *= 0.9
        (tw, th), _ = cv2.getTextSize(plate, font, scale, 2)
    cv2.putText(img, plate, (px + (pw - tw) // 2, py + (ph + th) // 2), font, scale, (10, 10, 10), 2, cv2.LINE_AA)


def _patch(person: Person, cache: dict):
    key = (person.photo, person.face_h)
    if key not in cache:
        rgb, _face = facesynth._face_patch(person.face_h, person.photo)
        cache[key] = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    return cache[key]


def _paste(img: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    ph, pw = patch.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(img.shape[1], x + pw), min(img.shape[0], y + ph)
    if x0 < x1 and y0 < y1:
        img[y0:y1, x0:x1] = patch[y0 - y:y1 - y, x0 - x:x1 - x]


def audio_track(scene: Scene) -> np.ndarray:
    n = int(scene.seconds * AUDIO_RATE)
    track = (np.random.default_rng(scene.seed).standard_normal(n) * scene.hum).astype(np.float32)
    if scene.speech and have_espeak():
        gap = np.zeros(int(0.6 * AUDIO_RATE), np.float32)
        for at, turns in scene.speech:
            voice = np.concatenate([piece for k, (text, v) in enumerate(turns)
                                    for piece in ([gap] if k else []) + [facesynth.speak(text, v, AUDIO_RATE, 160)]])
            voice *= 0.8
            s = int(at * AUDIO_RATE)
            voice = voice[: max(0, n - s)]
            track[s:s + len(voice)] += voice
    return np.clip(track, -1, 1)


def render(path: str, scene: Scene) -> dict:
    """Write the scene as an H.264/AAC MP4; return the true face boxes of a few frames."""
    margin_x, margin_y = 240, 40
    bg = _street(W + margin_x, H + margin_y, scene.seed)
    if scene.car:
        draw_car(bg, *scene.car, scene.plate)
    cache: dict = {}
    n = int(round(scene.seconds * FPS))
    audio = audio_track(scene)
    faces = {}
    with av.open(path, "w", format="mp4") as out:
        v = out.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = W, H, "yuv420p"
        v.options = {"crf": "20", "preset": "ultrafast"}
        a = out.add_stream("aac", rate=AUDIO_RATE)
        a.layout = "mono"
        for i in range(n):
            t = i / FPS
            canvas = bg.copy()
            boxes = []
            for p in scene.people:
                pos = p.path(t)
                if pos is None:
                    continue
                patch = _patch(p, cache)
                _paste(canvas, patch, int(pos[0]), int(pos[1]))
                boxes.append((int(pos[0]), int(pos[1]), patch.shape[1], patch.shape[0]))
            dx, dy = scene.pan(t) if scene.pan else (margin_x // 2, margin_y // 2)
            dx = int(min(max(dx, 0), margin_x))
            dy = int(min(max(dy, 0), margin_y))
            img = canvas[dy:dy + H, dx:dx + W]
            if scene.lightbar_from is not None and t >= scene.lightbar_from:
                phase = int(t * 4) % 2
                tint = np.zeros_like(img)
                tint[: H // 3] = (255, 40, 0) if phase else (0, 20, 255)
                img = cv2.addWeighted(img, 1.0, tint, 0.18, 0)
            if i % FPS == 0:
                faces[round(t, 2)] = [(x - dx, y - dy, w, h) for x, y, w, h in boxes]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        for s in range(0, len(audio), 1024):
            af = av.AudioFrame.from_ndarray(audio[None, s:s + 1024].copy(), format="flt", layout="mono")
            af.sample_rate = AUDIO_RATE
            af.pts = s
            af.time_base = Fraction(1, AUDIO_RATE)
            out.mux(a.encode(af))
        out.mux(a.encode(None))
    return {"frames": n, "patches": faces}


# ------------------------------------------------------------------ the demo's scenes

def _ease(t: float, t0: float, t1: float) -> float:
    return 0.0 if t <= t0 else 1.0 if t >= t1 else (t - t0) / (t1 - t0)


def traffic_stop(seconds: float, lightbar: float, talk: float) -> dict[str, Scene]:
    """The three cameras of the traffic stop: the patrol car's windscreen camera, the body
    camera of the officer at the driver's door (English) and of the one at the passenger's
    side (Spanish). The car is ahead, its plate readable; the driver steps out and moves."""
    def car_pan(t):  # the patrol car rolls up behind the stopped car, then stands
        f = _ease(t, 0, lightbar)
        return 120, 20 - 10 * f

    def driver_in_car_view(t):  # steps out at lightbar + 4 s and walks to the kerb
        if t < lightbar + 4:
            return None
        f = _ease(t, lightbar + 4, seconds)
        return 150 - 60 * f + 8 * math.sin(t * 2.1), 120 - 10 * f

    def walk(side):  # the officer walks up along the car, the camera bobbing with each step
        def pan(t):
            f = _ease(t, lightbar, talk - 1)
            return 40 + side * 160 * f + 6 * math.sin(t * 5.0), 20 + 5 * math.sin(t * 10.0)
        return pan

    def driver_at_door(t):  # in the window, nodding and turning a little while talking
        f = _ease(t, lightbar, talk - 1)
        return 330 + 60 * (1 - f) + 10 * math.sin(t * 1.3), 60 + 12 * (1 - f) + 6 * math.sin(t * 2.7)

    def passenger(t):
        f = _ease(t, lightbar, talk - 1)
        return 180 + 80 * f + 12 * math.sin(t * 1.1), 70 + 5 * math.sin(t * 2.3)

    return {
        "CAR-17": Scene(seconds, seed=17, car=(250, 150, 260), lightbar_from=lightbar, pan=car_pan,
                        people=[Person("astronaut", 46, driver_in_car_view)]),
        "BWC-1001": Scene(seconds, seed=11, car=(60, 170, 300), pan=walk(1),
                          people=[Person("astronaut", 96, driver_at_door)], speech=[(talk, ENGLISH)]),
        "BWC-1002": Scene(seconds, seed=12, car=(420, 190, 280), pan=walk(-1),
                          people=[Person("cameraman", 92, passenger)], speech=[(talk, SPANISH)]),
    }


def street_call(seconds: float, seed: int, photo: str | None = None, plate: str | None = None,
                speech=None) -> Scene:
    """Another call of the shift: a street, optionally a person and a parked car."""
    people = []
    if photo:
        people.append(Person(photo, 80, lambda t: (200 + 120 * math.sin(t * 0.5), 80 + 6 * math.sin(t * 3))))
    return Scene(seconds, seed=seed, car=(300, 190, 240) if plate else None, plate=plate or PLATE, people=people,
                 pan=lambda t: (120 + 30 * math.sin(t * 0.7), 20 + 4 * math.sin(t * 6)), speech=speech or [])
