"""Clips with a real face for tests, benchmarks and the demo: photographs shipped in
scikit-image's data directory (the astronaut, the cameraman) moving across a textured
background, with the true face box of every frame known. Optional speech from
``espeak-ng`` mixed into the audio.

The photographs are read with OpenCV straight from the installed package's files, so only
the wheel's data is needed, not scikit-image's own dependencies (``scripts/demo.sh``
installs the wheel with ``--no-deps``; the test extra installs it whole)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from fractions import Fraction

import av
import cv2
import numpy as np

from ..errors import BodycamError

# Face boxes in the 512x512 photographs, found once by CenterFace (scores 0.93 and 0.83).
ASTRONAUT_FACE = (182, 58, 270, 178)
CAMERAMAN_FACE = (202, 119, 258, 197)
PHOTOS = {"astronaut": ("astronaut.png", ASTRONAUT_FACE), "cameraman": ("camera.png", CAMERAMAN_FACE)}


class PhotoMissing(BodycamError):
    pass


def photo(name: str = "astronaut") -> np.ndarray:
    """One of the PHOTOS as an RGB array, read from scikit-image's data directory."""
    import importlib.util

    spec = importlib.util.find_spec("skimage")  # finds the package without importing it
    path = os.path.join(os.path.dirname(spec.origin), "data", PHOTOS[name][0]) if spec and spec.origin else ""
    img = cv2.imread(path, cv2.IMREAD_COLOR) if path and os.path.exists(path) else None
    if img is None:
        raise PhotoMissing("the face photographs come from scikit-image's data files: "
                           ".venv/bin/pip install --no-deps scikit-image==0.26.0")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _face_patch(face_h: int, name: str = "astronaut"):
    img = photo(name)  # RGB
    x1, y1, x2, y2 = PHOTOS[name][1]
    # Crop with a margin (head and shoulders) so the detector sees context like in footage.
    mx, my = int((x2 - x1) * 0.8), int((y2 - y1) * 0.5)
    cx1, cy1, cx2, cy2 = max(0, x1 - mx), max(0, y1 - my), min(512, x2 + mx), min(512, y2 + int(my * 1.6))
    crop = img[cy1:cy2, cx1:cx2]
    s = face_h / (y2 - y1)
    patch = cv2.resize(crop, (int(crop.shape[1] * s), int(crop.shape[0] * s)), interpolation=cv2.INTER_AREA)
    face = (int((x1 - cx1) * s), int((y1 - cy1) * s), int((x2 - cx1) * s), int((y2 - cy1) * s))
    return patch, face


def background(w: int, h: int, seed: int = 7) -> np.ndarray:
    """A street-ish textured background (smooth noise and stripes), no faces in it."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 200, size=(max(2, h // 40), max(2, w // 40), 3), dtype=np.uint8)
    bg = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    bg[:, ::64] = 90
    return bg


def face_positions(n: int, w: int, h: int, patch_shape, faces: int = 1) -> list[list[tuple[int, int]]]:
    """Top-left corners of each face patch per frame: moving left->right (and right->left)."""
    ph, pw = patch_shape[:2]
    out = []
    for i in range(n):
        f = i / max(1, n - 1)
        row = []
        for k in range(faces):
            x = int((0.02 + 0.96 * (f if k % 2 == 0 else 1 - f)) * (w - pw))
            y = int((0.15 + 0.5 * k / max(1, faces)) * (h - ph)) if faces > 1 else int(0.2 * (h - ph))
            row.append((x, y))
        out.append(row)
    return out


def make_face_clip(path: str, *, seconds: float = 3.0, width: int = 640, height: int = 360, fps: int = 30,
                   face_h: int = 90, faces: int = 1, speech=None, crf: int = 18,
                   preset: str = "veryfast", voice: str = "en-us") -> dict:
    """Write the clip; return {"boxes": per-frame list of true face boxes, "speech": [s, e]}."""
    patch, face = _face_patch(face_h)
    patch_bgr = cv2.cvtColor(patch, cv2.COLOR_RGB2BGR)
    n = int(round(seconds * fps))
    pos = face_positions(n, width, height, patch.shape, faces)
    bg = cv2.cvtColor(background(width, height), cv2.COLOR_RGB2BGR)
    audio = None
    speech_span = None
    if speech is not None:
        audio, speech_span = speech_track(speech, seconds, voice=voice)
    boxes = []
    with av.open(path, "w", format="mp4") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.options = {"crf": str(crf), "preset": preset}
        a = None
        if audio is not None:
            a = out.add_stream("aac", rate=16000)
            a.layout = "mono"
        ph, pw = patch.shape[:2]
        for i in range(n):
            img = bg.copy()
            row = []
            for (x, y) in pos[i]:
                img[y:y + ph, x:x + pw] = patch_bgr
                row.append((x + face[0], y + face[1], x + face[2], y + face[3]))
            boxes.append(row)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        if a is not None:
            for s in range(0, len(audio), 1024):
                af = av.AudioFrame.from_ndarray(audio[None, s:s + 1024].copy(), format="flt", layout="mono")
                af.sample_rate = 16000
                af.pts = s
                af.time_base = Fraction(1, 16000)
                out.mux(a.encode(af))
            out.mux(a.encode(None))
    return {"boxes": boxes, "speech": speech_span, "frames": n}


def speak(text: str, voice: str = "en-us", rate: int = 16000, wpm: int = 150) -> np.ndarray:
    """``text`` spoken by espeak-ng ``voice`` (en-us, es, ...), mono float32 at ``rate``."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "s.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", wav, text], check=True,
                       capture_output=True, timeout=60)
        with av.open(wav) as c:
            res = av.AudioResampler(format="flt", layout="mono", rate=rate)
            parts = [r.to_ndarray().reshape(-1) for fr in c.decode(audio=0) for r in res.resample(fr)]
            parts += [r.to_ndarray().reshape(-1) for r in res.resample(None)]
    return np.concatenate(parts).astype(np.float32)


def speech_track(text, seconds: float, at: float = 0.5, rate: int = 16000, wpm: int = 150, voice: str = "en-us"):
    """``text`` spoken by espeak-ng, placed ``at`` s into ``seconds`` of quiet street noise.
    ``text`` may be a list of (text, voice) turns (e.g. an officer in English, then a reply in
    Spanish), spoken one after the other with 0.8 s between them."""
    turns = [(text, voice)] if isinstance(text, str) else list(text)
    gap = np.zeros(int(0.8 * rate), dtype=np.float32)
    pieces = []
    for i, (words, v) in enumerate(turns):
        pieces += ([gap] if i else []) + [speak(words, v, rate, wpm)]
    voice = np.concatenate(pieces)
    total = max(int(seconds * rate), int(at * rate) + len(voice) + rate // 2)
    noise = (np.random.default_rng(3).standard_normal(total) * 0.01).astype(np.float32)
    s = int(at * rate)
    noise[s:s + len(voice)] += voice * 0.8
    return np.clip(noise, -1, 1), (at, at + len(voice) / rate)
