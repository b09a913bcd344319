"""Playback files made from an original with PyAV: an H.264/AAC MP4 with its index at the
front (faststart, so a browser can seek with Range requests at once), a JPEG still, and
in/out excerpts. Pure functions on file paths; no Django (job_handlers.py stores results).
"""

from __future__ import annotations

from fractions import Fraction

import av

from ..errors import BodycamError

PROXY_MAX_HEIGHT = 720
AUDIO_RATE = 48000


class TranscodeError(BodycamError):
    status = 500  # our failure to make a derivative, not the client's


def _even(n: float) -> int:
    return max(2, int(n) // 2 * 2)


def _video_size(stream, max_height: int) -> tuple[int, int]:
    w, h = stream.codec_context.width, stream.codec_context.height
    if h > max_height:
        w, h = w * max_height / h, max_height
    return _even(w), _even(h)


def transcode(src: str, dst: str, *, start: float | None = None, end: float | None = None,
              max_height: int = PROXY_MAX_HEIGHT, crf: int = 26) -> dict:
    """Re-encode ``src`` (or its ``start``..``end`` seconds) into a faststart MP4 at ``dst``.

    Times are seconds from the first frame of the original. Returns what was made."""
    try:
        inp = av.open(src)
    except Exception as exc:  # FFmpeg raises many error types
        raise TranscodeError(f"cannot open original: {exc}") from None
    try:
        if not inp.streams.video:
            raise TranscodeError("original has no video stream")
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        origin = _first_time(inp, vin)
        lo = origin + (start or 0.0)
        hi = origin + end if end is not None else None
        if start:
            inp.seek(int(lo / vin.time_base), stream=vin, backward=True, any_frame=False)
        fps = Fraction(vin.guessed_rate or vin.average_rate or 30).limit_denominator(1001)
        out = av.open(dst, mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            vout = out.add_stream("libx264", rate=fps)
            vout.width, vout.height = _video_size(vin, max_height)
            vout.pix_fmt = "yuv420p"
            vout.options = {"preset": "veryfast", "crf": str(crf), "g": str(max(1, round(float(fps))))}
            aout = resampler = None
            if ain is not None:
                aout = out.add_stream("aac", rate=AUDIO_RATE)
                aout.layout = "mono" if ain.codec_context.channels == 1 else "stereo"
                resampler = av.AudioResampler(format="fltp", layout=aout.layout.name, rate=AUDIO_RATE)
            frames = samples = 0
            streams = [s for s in (vin, ain) if s is not None]
            for frame in inp.decode(*streams):
                t = frame.time
                if t is None:
                    continue
                if t < lo - 1e-6:
                    continue
                if hi is not None and t >= hi - 1e-6:
                    if isinstance(frame, av.VideoFrame):
                        break
                    continue
                if isinstance(frame, av.VideoFrame):
                    f = frame.reformat(width=vout.width, height=vout.height, format="yuv420p")
                    f.pts = int(round((t - lo) * fps))
                    f.time_base = Fraction(1) / fps
                    if f.pts < frames:  # variable-rate input: keep timestamps strictly increasing
                        f.pts = frames
                    frames = f.pts + 1
                    out.mux(vout.encode(f))
                else:
                    for rf in resampler.resample(frame):
                        rf.pts = samples
                        rf.time_base = Fraction(1, AUDIO_RATE)
                        samples += rf.samples
                        out.mux(aout.encode(rf))
            if frames == 0:
                raise TranscodeError("no video frames in the requested range")
            out.mux(vout.encode(None))
            if aout is not None:
                out.mux(aout.encode(None))
        finally:
            out.close()
        return {"width": vout.width, "height": vout.height, "frames": frames, "fps": float(fps),
                "duration_s": round(frames / float(fps), 3), "audio": ain is not None}
    finally:
        inp.close()


def _first_time(inp, vin) -> float:
    """Time of the first video frame (cameras' fragmented files need not start at 0)."""
    for frame in inp.decode(vin):
        if frame.time is not None:
            inp.seek(0)
            return frame.time
    inp.seek(0)
    return 0.0


FULL_WIDTH = 1 << 16  # thumbnail(width=FULL_WIDTH): the frame's own size


def thumbnail(src: str, dst: str, at: float = 1.0, width: int = 320) -> dict:
    """A JPEG still of the frame at ``at`` seconds (or the last frame of a shorter clip)."""
    try:
        inp = av.open(src)
    except Exception as exc:
        raise TranscodeError(f"cannot open original: {exc}") from None
    try:
        if not inp.streams.video:
            raise TranscodeError("original has no video stream")
        vin = inp.streams.video[0]
        origin = _first_time(inp, vin)
        chosen = None
        for frame in inp.decode(vin):
            chosen = frame
            if frame.time is not None and frame.time - origin >= at:
                break
        if chosen is None:
            raise TranscodeError("no decodable frame")
        w = min(width, chosen.width)
        h = _even(chosen.height * w / chosen.width)
        w = _even(w)
        enc = av.CodecContext.create("mjpeg", "w")
        enc.width, enc.height, enc.pix_fmt = w, h, "yuvj420p"
        enc.time_base = Fraction(1, 25)
        img = chosen.reformat(width=w, height=h, format="yuvj420p")
        img.pts = 0
        data = b"".join(bytes(p) for p in enc.encode(img)) + b"".join(bytes(p) for p in enc.encode(None))
        with open(dst, "wb") as f:
            f.write(data)
        return {"width": w, "height": h, "at": round((chosen.time or origin) - origin, 3)}
    finally:
        inp.close()
