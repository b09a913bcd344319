"""Licence plates: find them cheaply, read them with PP-OCRv4.

Two steps, so the expensive model runs only where a plate may be:

1. ``candidates(gray)``: a morphological text-line finder on the luma plane, scaled to
   ``DETECT_WIDTH`` (a black-hat picks dark strokes on a lighter ground, a fixed contrast
   threshold, long straight lines taken out, a small closing joins the characters of a line,
   connected components with a text line's proportions survive, if at full size they hold
   ``MIN_GLYPHS`` separate character shapes). A few milliseconds a frame; it finds text lines, not only plates.
2. ``PlateReader.read(frame, boxes)``: the PP-OCRv4 recognition model shipped in the
   ``rapidocr-onnxruntime`` wheel (through onnxruntime, like the face model) reads each
   candidate, its output restricted to the characters plates use (0-9, A-Z; lower case
   folded into upper). A read counts as a plate when it has ``MIN_CHARS``-``MAX_CHARS``
   characters, at least one digit, and a mean character probability of ``MIN_SCORE``.

OpenCV's bundled Haar plate cascades (``haarcascade_russian_plate_number.xml``,
``haarcascade_license_plate_rus_16stages.xml``) were tried as the first step: trained on
Russian plates, they found none of the US-style plates of the bench clips, so they are not
used. The tracking of candidates between frames and the choice of when to read are in
``redact.PlateTracker``.
"""

from __future__ import annotations

import os
import re

import cv2
import numpy as np

DETECT_WIDTH = 960        # the candidate finder works on the luma plane at this width (or less)
STROKE_CONTRAST = 40      # black-hat response (luma levels) of a character stroke
# Per level (DETECT_WIDTH, then half of it): the lengths above which vertical lines are borders,
# one pass each (12 and 16 at half size are 24 and 32 at DETECT_WIDTH).
VERTICAL_LINES = ((16,), (12, 16))
MIN_TEXT_H, MAX_TEXT_H = 4, 48   # text-line height at that width, pixels
MIN_CHARS, MAX_CHARS = 4, 9
MIN_GLYPHS = 3            # separate character shapes a candidate line must show to be read
MIN_SCORE = 0.8
REC_HEIGHT, REC_MAX_WIDTH = 48, 320   # the recognition model's input
ALLOWED = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def model_path() -> str:
    import rapidocr_onnxruntime

    return os.path.join(os.path.dirname(rapidocr_onnxruntime.__file__), "models", "ch_PP-OCRv4_rec_infer.onnx")


def model_version() -> str:
    """What names the plate model in an analysis key: the wheel's version and the model file."""
    from importlib.metadata import version

    return f"rapidocr-onnxruntime {version('rapidocr-onnxruntime')} {os.path.basename(model_path())}"


def normalise(text: str) -> str:
    """A plate as searched and compared: upper case letters and digits only."""
    return re.sub(r"[^0-9A-Z]", "", (text or "").upper())


def plausible(text: str, score: float) -> bool:
    return MIN_CHARS <= len(text) <= MAX_CHARS and any(c.isdigit() for c in text) and score >= MIN_SCORE


def candidates(gray: np.ndarray, width: int = DETECT_WIDTH) -> np.ndarray:
    """Text lines that may be plates, as boxes ``[x1, y1, x2, y2, fill]`` in ``gray``'s pixels
    (``fill``: the share of the box the joined strokes cover). One pass for each length of
    ``VERTICAL_LINES``, with vertical lines longer than it taken out (a plate's sides
    otherwise join its text line; the characters' own stems must stay, and how tall they are
    is not known yet), small text at ``width``, larger text at half of it; a box found twice
    counts once. (Characters taller than 32 px at 960 px wide — a plate about an eighth of
    the frame's height or more, very close — are not found.)"""
    h, w = gray.shape[:2]
    out: list[list[float]] = []
    rejected: list[list[float]] = []  # (the passes find the same texture again: judged once)
    s = min(1.0, width / w)
    small = cv2.resize(gray, (int(round(w * s)), int(round(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else gray
    for level, lengths in enumerate(VERTICAL_LINES):
        if level:  # larger text is looked for at half the size: a quarter of the work
            small, s = cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_AREA), s / 2
        hat = cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 5)))
        _, mask = cv2.threshold(hat, STROKE_CONTRAST, 255, cv2.THRESH_BINARY)
        # Long straight lines are borders, edges and poles, not characters: taken out before
        # the characters are joined, so a plate's frame does not swallow its text line.
        mask = cv2.subtract(mask, cv2.morphologyEx(mask, cv2.MORPH_OPEN,
                                                   cv2.getStructuringElement(cv2.MORPH_RECT, (15, 1))))
        for length in lengths:
            m = cv2.subtract(mask, cv2.morphologyEx(mask, cv2.MORPH_OPEN,
                                                    cv2.getStructuringElement(cv2.MORPH_RECT, (1, length))))
            m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (7, 3)))
            n, _lab, stats, _ = cv2.connectedComponentsWithStats(m)
            parts = [list(map(int, st)) for st in stats[1:n] if MIN_TEXT_H <= st[3] <= MAX_TEXT_H]
            for x, y, bw, bh, area in _lines(parts):
                if not (bw >= 10 and 2.5 <= bw / bh <= 9):
                    continue
                fill = area / float(bw * bh)
                if fill < 0.35:
                    continue
                box = [x / s, y / s, (x + bw) / s, (y + bh) / s]
                if any(_overlap(box, o) > 0.5 for o in out) or any(_same(box, r) for r in rejected):
                    continue
                if characters(gray, box) < MIN_GLYPHS:
                    rejected.append(box)
                    continue
                out.append(box + [fill])
    return np.array(out, np.float32).reshape(-1, 5)


def _lines(parts: list[list[int]]) -> list[list[int]]:
    """Components ``[x, y, w, h, area]`` joined into text lines: neighbours of about the same
    height on the same line, less than a line's height apart (the gap of "ABC 123")."""
    parts = sorted(parts, key=lambda p: p[0])
    out: list[list[int]] = []
    near: list[list[int]] = []  # lines whose right end is close enough to the left of what comes
    for p in parts:
        near = [q for q in near if q[0] + q[2] >= p[0] - MAX_TEXT_H]
        for q in near:
            lo, hi = max(p[1], q[1]), min(p[1] + p[3], q[1] + q[3])
            small, big = sorted((p[3], q[3]))
            if (hi - lo >= 0.7 * small and big <= 1.4 * small
                    and 0 <= p[0] - (q[0] + q[2]) <= big):
                x2, y2 = max(q[0] + q[2], p[0] + p[2]), max(q[1] + q[3], p[1] + p[3])
                q[0], q[1] = min(q[0], p[0]), min(q[1], p[1])
                q[2], q[3], q[4] = x2 - q[0], y2 - q[1], q[4] + p[4]
                break
        else:
            out.append(list(p))
            near.append(out[-1])
    return out


def _same(a, b) -> bool:
    return all(abs(u - v) <= 2 for u, v in zip(a[:4], b[:4]))


def _overlap(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / max(1e-9, min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])))


def characters(gray: np.ndarray, box) -> int:
    """How many character-like shapes the text line holds, at full size: dark blobs (Otsu's
    threshold in the box) as tall as the line, not solid; where there are two or more, a wider
    blob (characters that touch, as in "ABC" of "ABC 123") counts by its width. A plate shows
    4-8; texture and edges that pass the line finder show none or one (a line-long blob)."""
    h, w = gray.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in box[:4])
    th = max(1, y2 - y1)
    crop = gray[max(0, y1 - th // 4):min(h, y2 + th // 4), max(0, x1 - th // 4):min(w, x2 + th // 4)]
    if crop.size == 0:
        return 0
    _, dark = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    n, _lab, stats, _ = cv2.connectedComponentsWithStats(dark)
    blobs = [(bw, bh) for _x, _y, bw, bh, area in stats[1:n]
             if 0.5 * th <= bh <= 1.6 * th and area <= 0.85 * bw * bh]  # (a solid bar is no text)
    if len(blobs) < 2:  # one blob the length of the line is texture or an edge, not characters
        return len(blobs)
    return sum(1 if bw <= 1.2 * bh else round(bw / (0.7 * bh)) for bw, bh in blobs)  # touching: by width


def plate_box(text_box, w: int, h: int) -> list[float]:
    """The plate around a text line: its ground reaches past the characters on every side
    (a line's height again above and below: plate characters fill a half to a third of it)."""
    x1, y1, x2, y2 = text_box[:4]
    dx, dy = (x2 - x1) * 0.15, (y2 - y1) * 1.0
    return [round(max(0.0, x1 - dx), 1), round(max(0.0, y1 - dy), 1), round(min(float(w), x2 + dx), 1),
            round(min(float(h), y2 + dy), 1)]


class PlateReader:
    """PP-OCRv4 recognition on candidate crops (one batched run per frame)."""

    _cache: dict = {}

    def __init__(self, device: str = "auto", threads: int = 0, pool: str = ""):
        import onnxruntime

        from .redact import providers

        key = (device, threads, pool)
        if key not in PlateReader._cache:
            opts = onnxruntime.SessionOptions()
            opts.log_severity_level = 3
            if threads:
                opts.intra_op_num_threads = threads
            sess = onnxruntime.InferenceSession(model_path(), opts, providers=providers(device))
            chars = ["blank"] + sess.get_modelmeta().custom_metadata_map["character"].splitlines() + [" "]
            # Columns of the characters a plate may hold; lower case adds to its upper case.
            cols = {c: [i for i, ch in enumerate(chars) if ch == c or ch == c.lower()] for c in ALLOWED}
            PlateReader._cache[key] = (sess, cols)
        self.sess, self.cols = PlateReader._cache[key]
        self.provider = self.sess.get_providers()[0]
        self.input = self.sess.get_inputs()[0].name

    def _batch(self, crops: list[np.ndarray]) -> np.ndarray:
        width = min(REC_MAX_WIDTH, max(int(np.ceil(REC_HEIGHT * c.shape[1] / max(1, c.shape[0]))) for c in crops))
        width = max(width, REC_HEIGHT)
        batch = np.zeros((len(crops), 3, REC_HEIGHT, width), np.float32)
        for i, c in enumerate(crops):
            cw = min(width, int(np.ceil(REC_HEIGHT * c.shape[1] / max(1, c.shape[0]))))
            r = cv2.resize(c, (max(1, cw), REC_HEIGHT), interpolation=cv2.INTER_LINEAR if c.shape[0] < REC_HEIGHT
                           else cv2.INTER_AREA)
            batch[i, :, :, :cw] = (r.transpose(2, 0, 1).astype(np.float32) / 127.5) - 1.0
        return batch

    def read(self, img: np.ndarray, boxes) -> list[tuple[str, float]]:
        """(text, mean character probability) for each text box of ``img`` (BGR, full size)."""
        h, w = img.shape[:2]
        crops = []
        for b in boxes:
            x1, y1, x2, y2 = b[:4]
            mx, my = (x2 - x1) * 0.06, (y2 - y1) * 0.3
            xa, ya = int(max(0, x1 - mx)), int(max(0, y1 - my))
            xb, yb = int(min(w, np.ceil(x2 + mx))), int(min(h, np.ceil(y2 + my)))
            crops.append(img[ya:yb, xa:xb] if xb - xa >= 4 and yb - ya >= 4 else np.zeros((8, 8, 3), np.uint8))
        if not crops:
            return []
        probs = self.sess.run(None, {self.input: self._batch(crops)})[0]   # (n, T, classes), softmax
        blank = probs[:, :, 0:1]
        letters = np.stack([probs[:, :, cols].sum(axis=2) for cols in self.cols.values()], axis=2)
        restricted = np.concatenate([blank, letters], axis=2)
        best = restricted.argmax(axis=2)
        conf = restricted.max(axis=2) / np.maximum(restricted.sum(axis=2), 1e-9)
        out = []
        for row, p in zip(best, conf):
            text, scores, prev = [], [], 0
            for idx, q in zip(row, p):
                if idx and idx != prev:
                    text.append(ALLOWED[idx - 1])
                    scores.append(float(q))
                prev = idx
            out.append(("".join(text), round(float(np.mean(scores)) if scores else 0.0, 3)))
        return out
