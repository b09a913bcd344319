"""Catalogue operations used by the CLI, the demo and the web views.

(Accounts are made by ``access.accounts.add_user``, cameras by ``ingest.devices.add_device``.)"""

from __future__ import annotations

import uuid

from ..errors import BodycamError
from ..timefmt import isoformat
from .models import Category, Clip

# A recording with no category keeps the Uncategorized category's period (this many days
# when an agency has no such category).
UNCATEGORIZED = "Uncategorized"
DEFAULT_UNCATEGORIZED_DAYS = 365


class CatalogueError(BodycamError):
    status = 400


# ------------------------------------------------------------------ categories and retention
def uncategorized_category() -> Category | None:
    return Category.objects.filter(name=UNCATEGORIZED).first()


def period_days(cats: list[Category], uncategorized: Category | None) -> int | None:
    """A recording's retention period from its categories: the longest (None = indefinite,
    which beats any number); no category = Uncategorized's. (retention/ runs the clock.)"""
    if not cats:
        if uncategorized is None:
            return DEFAULT_UNCATEGORIZED_DAYS
        cats = [uncategorized]
    if any(c.retention_days is None for c in cats):
        return None
    return max(c.retention_days for c in cats)


def category_change(before: list[Category], after: list[Category]) -> dict:
    """What replacing a recording's categories ``before`` by ``after`` does: names added and
    removed, the retention period before and after, and whether it shortens retention.
    Removing a category or shortening retention is not an officer's act (access/evidence.py)."""
    unc = uncategorized_category()
    days_before, days_after = period_days(before, unc), period_days(after, unc)
    shortens = days_after is not None and (days_before is None or days_after < days_before)
    ids_before, ids_after = {c.pk for c in before}, {c.pk for c in after}
    return {"added": sorted(c.name for c in after if c.pk not in ids_before),
            "removed": sorted(c.name for c in before if c.pk not in ids_after),
            "retention_days": {"before": days_before, "after": days_after}, "shortens_retention": shortens}


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
