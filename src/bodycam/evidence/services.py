"""Catalogue operations used by the CLI, the demo and the web views.

(Accounts are made by ``access.accounts.add_user``, cameras by ``ingest.devices.add_device``.)"""

from __future__ import annotations

from datetime import timedelta

from ..errors import BodycamError
from ..numbers import parse_uuid
from ..timefmt import iso_as_given
from .models import Bookmark, Category, Clip, Recording, Tag

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
    Removing a category or shortening retention is not an officer's act (evidence_ops/services.py)."""
    unc = uncategorized_category()
    days_before, days_after = period_days(before, unc), period_days(after, unc)
    shortens = days_after is not None and (days_before is None or days_after < days_before)
    ids_before, ids_after = {c.pk for c in before}, {c.pk for c in after}
    return {"added": sorted(c.name for c in after if c.pk not in ids_before),
            "removed": sorted(c.name for c in before if c.pk not in ids_after),
            "retention_days": {"before": days_before, "after": days_after}, "shortens_retention": shortens}


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
        "start": iso_as_given(clip.start_time or rec.start_time),
        "stop": iso_as_given(clip.stop_time or rec.stop_time),
        "duration_s": clip.duration_s,
        "trigger_on": rec.trigger_on,
        "trigger_off": rec.trigger_off,
        "trigger_on_time": iso_as_given(rec.trigger_on_time),
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
    if rec is None and parse_uuid(key):
        rec = qs.filter(id=parse_uuid(key)).first()
    if rec is None:
        raise CatalogueError(f"no recording {key!r}")
    return {
        "id": str(rec.id), "container": rec.container_name, "status": rec.status,
        "officer": {"name": rec.officer.name, "axis_user_id": str(rec.officer.axis_user_id),
                    "username": rec.officer.account.username if rec.officer.account else None},
        "device": {"serial": rec.device.serial, "kind": rec.device.kind, "model": rec.device.model},
        "trigger_on": rec.trigger_on, "trigger_off": rec.trigger_off,
        "trigger_on_time": iso_as_given(rec.trigger_on_time), "trigger_off_time": iso_as_given(rec.trigger_off_time),
        "start": iso_as_given(rec.start_time), "stop": iso_as_given(rec.stop_time), "time_zone": rec.time_zone,
        "metadata": rec.metadata,
        "categories": sorted(rec.categories.values_list("name", flat=True)),
        "clips": [clip_summary(c) for c in rec.clips.select_related("recording__officer__account", "recording__device")],
        "attachments": [{"object": a.object_name, "kind": a.kind, "sha256": a.sha256, "size": a.size}
                        for a in rec.attachments.order_by("object_name")],
        "bookmarks": [{"text": b.text, "category_id": b.category_id, "category_name": b.category_name,
                       "tags": b.tags, "start": iso_as_given(b.start_time), "end": iso_as_given(b.end_time)} for b in rec.bookmarks.all()],
        "gnss": [[p.latitude, p.longitude] for p in rec.gnss_points.all()],
    }


# ---------------------------------------------------------------- bookmarks on clips
def clip_spans(rec: Recording) -> list[tuple[Clip, object, object]]:
    """(clip, start, stop) for each clip of the recording, in order, on the wall clock.
    A clip the camera sent no times for follows the one before it (the first: the
    recording's start); one with no stop time lasts its probed duration."""
    clips = list(rec.clips.all())
    if any(c.start_time is None for c in clips):
        clips.sort(key=lambda c: c.object_name)  # Axis names start with the clip's time
    else:
        clips.sort(key=lambda c: (c.start_time, c.object_name))
    spans, cursor = [], rec.start_time or rec.trigger_on_time
    for c in clips:
        start = c.start_time or cursor
        stop = c.stop_time or start + timedelta(seconds=c.duration_s)
        spans.append((c, start, max(stop, start)))
        cursor = stop
    return spans


def bookmark_clip(spans, at):
    """The span a bookmark made at ``at`` belongs to: the clip whose [start, stop) holds it;
    outside every clip (before the first, in a gap, after the last), the nearest one (a tie:
    the earlier). None without clips."""
    for span in spans:
        if span[1] <= at < span[2]:
            return span
    if not spans:
        return None
    return min(spans, key=lambda s: max((s[1] - at).total_seconds(), (at - s[2]).total_seconds(), 0.0))


def clip_bookmarks(clip: Clip) -> list[dict]:
    """The bookmarks of the clip's recording that belong on this clip, each on exactly one
    clip (``bookmark_clip``), with ``at``/``end`` in seconds from this clip's start, always
    within [0, duration] so a marker stays on the seek bar (``outside``: the bookmark's own
    time lies beyond the clip, so it is shown at the nearer end). A bookmark without a time
    is listed on every clip, with no offset."""
    rec = clip.recording
    spans = clip_spans(rec)
    out = []
    for b in rec.bookmarks.all():
        row = {"text": b.text, "category": b.category_name, "tags": b.tags, "tag_names": bookmark_tag_names(b.tags),
               "at": None, "end": None, "outside": False}
        if b.start_time is not None:
            span = bookmark_clip(spans, b.start_time)
            if span is None or span[0].pk != clip.pk:
                continue
            start, length = span[1], max(0.0, clip.duration_s)
            raw = (b.start_time - start).total_seconds()
            row["at"] = round(min(max(raw, 0.0), length), 3)
            row["outside"] = not (0.0 <= raw <= length)
            if b.end_time is not None:
                row["end"] = round(min(max((b.end_time - start).total_seconds(), row["at"]), length), 3)
        out.append(row)
    return out


# ---------------------------------------------------------------- one recording, one timeline
def recording_timeline(rec: Recording, clips=None) -> list[dict]:
    """The recording's clips back to back on one timeline (the item page's player): for each
    clip, in order (``clip_spans``), ``offset`` (seconds from the recording's start on the
    timeline: the lengths of the clips before it), ``duration`` and its wall-clock ``start`` /
    ``stop``. ``clips``: only these (the caller's access-checked set); default: all."""
    keep = None if clips is None else {c.pk for c in clips}
    out, offset = [], 0.0
    for clip, start, stop in clip_spans(rec):
        if keep is not None and clip.pk not in keep:
            continue
        length = max(0.0, clip.duration_s)
        out.append({"clip": clip, "offset": round(offset, 3), "duration": round(length, 3),
                    "start": start, "stop": stop})
        offset += length
    return out


def timeline_at(segments: list[dict], at) -> tuple[float, bool] | None:
    """A wall-clock time on the timeline: (seconds from its start, whether ``at`` lies outside
    every clip — then it is placed at the nearer end of the nearest clip, as a bookmark is).
    None without clips or without a time."""
    if at is None or not segments:
        return None
    span = bookmark_clip([(s, s["start"], s["stop"]) for s in segments], at)
    seg = span[0]
    raw = (at - seg["start"]).total_seconds()
    inside = min(max(raw, 0.0), seg["duration"])
    return round(seg["offset"] + inside, 3), not (0.0 <= raw <= seg["duration"])


def recording_bookmarks(rec: Recording, segments: list[dict]) -> list[dict]:
    """Every bookmark of the recording on its timeline (``recording_timeline``): ``at``/``end``
    in seconds from its start, ``outside`` as in ``clip_bookmarks``; one without a time has no
    offset. In time order (those without a time last)."""
    out = []
    for b in rec.bookmarks.all():
        row = {"text": b.text, "category": b.category_name, "tags": b.tags, "tag_names": bookmark_tag_names(b.tags),
               "at": None, "end": None, "outside": False}
        placed = timeline_at(segments, b.start_time)
        if placed is not None:
            row["at"], row["outside"] = placed
            end = timeline_at(segments, b.end_time)
            if end is not None:
                row["end"] = max(end[0], row["at"])
        out.append(row)
    return sorted(out, key=lambda r: (r["at"] is None, r["at"] or 0.0))


def pre_event_buffer(rec: Recording, segments: list[dict]) -> float:
    """Seconds of pre-event buffer at the timeline's start: from the recording's start (the
    buffer's first frame) to its trigger; 0 when the camera kept none."""
    if not segments or rec.start_time is None or rec.trigger_on_time is None or rec.trigger_on_time <= rec.start_time:
        return 0.0
    placed = timeline_at(segments, rec.trigger_on_time)
    return placed[0] if placed else 0.0


# ---------------------------------------------------------------- tags
TAG_MAX = 64  # Tag.name


def bookmark_tag_names(tags: dict) -> list[str]:
    """A camera bookmark's tags ('Plate:ABC123;Priority' parsed to a dict) as tag names:
    ``key:value``, or ``key`` for a bare tag; the same form a person types."""
    names = []
    for key, value in (tags or {}).items():
        name = (f"{key}:{value}" if value else str(key)).strip()[:TAG_MAX].strip()
        if name and name not in names:
            names.append(name)
    return names


def camera_tag_names(rec: Recording) -> set[str]:
    """Tag names the recording's camera bookmarks give it (kept whatever a person edits)."""
    return {n for tags in Bookmark.objects.filter(recording=rec).values_list("tags", flat=True)
            for n in bookmark_tag_names(tags)}


def add_bookmark_tags(bookmark: Bookmark) -> None:
    """One tag concept: a camera bookmark's tags are tags of its recording (Tag rows, so
    the tag filter, the search text and the item page see them like any other)."""
    have = set(Tag.objects.filter(recording_id=bookmark.recording_id).values_list("name", flat=True))
    for name in bookmark_tag_names(bookmark.tags):
        if name not in have:  # get_or_create: a parallel upload may add the same tag
            Tag.objects.get_or_create(recording_id=bookmark.recording_id, name=name)


def set_person_tags(rec: Recording, names: list[str]) -> tuple[list[str], list[str]]:
    """A person sets the recording's tags to ``names``; tags a camera bookmark gives stay.
    Returns (before, after), all of the recording's tag names."""
    before = sorted(Tag.objects.filter(recording=rec).values_list("name", flat=True))
    keep = set(names) | camera_tag_names(rec)
    for tag in Tag.objects.filter(recording=rec).exclude(name__in=keep):
        tag.delete()
    for name in sorted(set(names) - set(before)):
        Tag.objects.get_or_create(recording=rec, name=name)
    return before, sorted(Tag.objects.filter(recording=rec).values_list("name", flat=True))
