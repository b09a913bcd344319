"""Helpers for the retention tests: real clips through the real ingest path, at a chosen
trigger time, and plain catalogue rows for large simulated shifts."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone

from bodycam.evidence.models import Category, Clip, Device, Officer, Recording


def officer(name: str, badge: str) -> Officer:
    return Officer.objects.create(axis_user_id=uuid.uuid4(), name=name, user_key=badge)


def device(serial: str, kind: str = "body", name: str = "") -> Device:
    return Device.objects.get_or_create(serial=serial, defaults={"kind": kind, "name": name})[0]


def ingest(off: Officer, dev: Device, t0: datetime, clip_path: str, categories=()) -> Recording:
    """One recording holding the given real clip file, through ingest (hash, blob, rows)."""
    from bodycam.ingest import services

    name = f"{off.axis_user_id}_{dev.serial}_{t0:%Y%m%dT%H%M%SZ}"
    services.put_recording(name, {"TriggerOn": "Button"}, "test", "", replace=True)
    with open(clip_path, "rb") as f:
        services.put_object(name, f"{t0:%Y%m%d_%H%M%S}_1.mp4", f, os.path.getsize(clip_path), None, {}, "test", "")
    rec = Recording.objects.get(container_name=name)
    rec.categories.add(*[Category.objects.get(name=c) for c in categories])
    return rec


def row(off: Officer, dev: Device, start: datetime, seconds: float, categories=(), size: int = 1_000_000) -> Recording:
    """A catalogue row without bytes (for simulated shifts of hundreds of recordings)."""
    name = f"{off.axis_user_id}_{dev.serial}_{start:%Y%m%dT%H%M%SZ}"
    rec = Recording.objects.create(container_name=name, officer=off, device=dev, trigger_on_time=start,
                                   trigger_off_time=start + timedelta(seconds=seconds), start_time=start,
                                   stop_time=start + timedelta(seconds=seconds), status="complete")
    Clip.objects.create(recording=rec, object_name=f"{start:%Y%m%d_%H%M%S}_1.mp4", sha256=uuid.uuid4().hex * 2,
                        md5="0" * 32, size=size, container_type="mp4", duration_s=seconds, start_time=start,
                        stop_time=start + timedelta(seconds=seconds))
    if categories:
        rec.categories.add(*[Category.objects.get(name=c) for c in categories])
    return rec


def utc(*a) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)
