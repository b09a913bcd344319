"""Catalogue operations used by the CLI, the demo and the web views.

(Accounts are made by ``access.accounts.add_user``, cameras by ``ingest.devices.add_device``.)"""

from __future__ import annotations

import uuid

from ..errors import BodycamError
from ..timefmt import isoformat
from .models import Clip


class CatalogueError(BodycamError):
    status = 400


def iso(dt) -> str | None:
    return isoformat(dt, to_utc=False) if dt else None


def clip_summary(clip: Clip) -> dict:
    rec = clip.recording
    account = rec.officer.account
    return {
        "id": str(clip.id),
        "sha256": clip.sha256,
        "size": clip.size,
        "officer": {"username": account.username if account else None, "name": rec.officer.name,
                    "axis_user_id": str(rec.officer.axis_user_id)},
        "device": rec.device.serial,
        "recording": rec.container_name,
        "object": clip.object_name,
        "start": iso(clip.start_time or rec.start_time),
        "stop": iso(clip.stop_time or rec.stop_time),
        "duration_s": clip.duration_s,
        "trigger_on": rec.trigger_on,
        "trigger_off": rec.trigger_off,
        "trigger_on_time": iso(rec.trigger_on_time),
        "status": rec.status,
        "signature": clip.signature,
    }


def all_clips():
    return Clip.objects.select_related("recording__officer__account", "recording__device").order_by(
        "recording__trigger_on_time", "start_time", "object_name")


def recording_detail(key: str) -> dict:
    """Everything the catalogue holds about one recording (by container name or id)."""
    from .models import Recording

    qs = Recording.objects.select_related("officer__account", "device")
    rec = qs.filter(container_name=key).first()
    if rec is None:
        try:
            rec = qs.filter(id=uuid.UUID(key)).first()
        except ValueError:
            rec = None
    if rec is None:
        raise CatalogueError(f"no recording {key!r}")
    return {
        "id": str(rec.id), "container": rec.container_name, "status": rec.status,
        "officer": {"name": rec.officer.name, "axis_user_id": str(rec.officer.axis_user_id),
                    "username": rec.officer.account.username if rec.officer.account else None},
        "device": {"serial": rec.device.serial, "kind": rec.device.kind, "model": rec.device.model},
        "trigger_on": rec.trigger_on, "trigger_off": rec.trigger_off,
        "trigger_on_time": iso(rec.trigger_on_time), "trigger_off_time": iso(rec.trigger_off_time),
        "start": iso(rec.start_time), "stop": iso(rec.stop_time), "time_zone": rec.time_zone,
        "metadata": rec.metadata,
        "categories": sorted(rec.categories.values_list("name", flat=True)),
        "clips": [clip_summary(c) for c in rec.clips.select_related("recording__officer__account", "recording__device")],
        "attachments": [{"object": a.object_name, "kind": a.kind, "sha256": a.sha256, "size": a.size}
                        for a in rec.attachments.order_by("object_name")],
        "bookmarks": [{"text": b.text, "category_id": b.category_id, "category_name": b.category_name,
                       "tags": b.tags, "start": iso(b.start_time), "end": iso(b.end_time)} for b in rec.bookmarks.all()],
        "gnss": [[p.latitude, p.longitude] for p in rec.gnss_points.all()],
    }
