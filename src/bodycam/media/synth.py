"""Generate real H.264/AAC clips from FFmpeg test sources (demo data, tests, benchmarks)."""

from __future__ import annotations

from fractions import Fraction

import av


def make_clip(path: str, seconds: float = 3.0, fmt: str = "mp4", width: int = 640, height: int = 360,
              fps: int = 30, audio: bool = True, bitrate: int = 1_000_000, pattern: str = "testsrc2",
              preset: str = "ultrafast") -> str:
    """Encode ``seconds`` of a lavfi test pattern (and a 440 Hz tone) into ``path``.

    mp4 is written fragmented, as a camera would, so a cut-off file still plays.
    """
    frames = max(1, int(round(seconds * fps)))
    options = {"movflags": "frag_keyframe+empty_moov+default_base_moof"} if fmt == "mp4" else {}
    src = av.open(f"{pattern}=size={width}x{height}:rate={fps}", format="lavfi")
    out = av.open(path, mode="w", format="mp4" if fmt == "mp4" else "matroska", options=options)
    try:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.bit_rate = bitrate
        v.options = {"preset": preset, "g": str(fps), "tune": "zerolatency"}
        a = None
        if audio:
            a = out.add_stream("aac", rate=48000)
            a.layout = "mono"
            tone = av.open("sine=frequency=440:sample_rate=48000", format="lavfi")
        for i, frame in enumerate(src.decode(video=0)):
            if i >= frames:
                break
            frame = frame.reformat(format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        if a is not None:
            samples = 0
            for af in tone.decode(audio=0):
                if samples >= seconds * 48000:
                    break
                af.pts = samples
                samples += af.samples
                out.mux(a.encode(af))
            out.mux(a.encode(None))
            tone.close()
    finally:
        out.close()
        src.close()
    return path
