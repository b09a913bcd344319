"""Helpers for the transcription / redaction / release tests: ingest a media file made by
the test through the real ingest path, and sample audio/video of a result."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone

import av
import numpy as np

from bodycam.evidence.models import Clip, Device, Officer


def ingest_file(officer: Officer, path: str) -> Clip:
    from bodycam.ingest import services

    device = Device.objects.create(serial=f"D{uuid.uuid4().hex[:6]}")
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    name = f"{officer.axis_user_id}_{device.serial}_{t0:%Y%m%dT%H%M%SZ}"
    services.put_recording(name, {"TriggerOn": "Button"}, "test", "", replace=True)
    with open(path, "rb") as f:
        services.put_object(name, f"{t0:%Y%m%d_%H%M%S}_1.mp4", f, os.path.getsize(path), None, {}, "test", "")
    return Clip.objects.get(recording__container_name=name)


def audio_rms(path: str, start: float, end: float) -> float:
    """RMS level of the first audio stream between ``start`` and ``end`` seconds."""
    with av.open(path) as c:
        a = c.streams.audio[0]
        rate = a.codec_context.sample_rate
        res = av.AudioResampler(format="flt", layout="mono", rate=rate)
        parts = [r.to_ndarray().reshape(-1) for fr in c.decode(a) for r in res.resample(fr)]
    x = np.concatenate(parts)
    seg = x[int(start * rate):int(end * rate)]
    return float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))) if len(seg) else 0.0
