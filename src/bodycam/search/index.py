"""Index upkeep: each recording's documents by *source* and its SearchEntry rows (one per
clip), kept in step with the catalogue. Sources made here: ``metadata`` (container, officer,
device, trigger, categories, bookmarks, cases), ``notes``, ``tags``; other packages add theirs
(e.g. ``transcript``) with ``index_text``."""

from __future__ import annotations

import re

from ..evidence.models import Clip, Recording
from .models import SearchDocument, SearchEntry
from .query import terms

METADATA, NOTES, TAGS, TRANSCRIPT = "metadata", "notes", "tags", "transcript"
SOURCE_ORDER = (METADATA, NOTES, TAGS, TRANSCRIPT)  # others follow, by name


def index_text(recording_id, source: str, text: str) -> None:
    """Set the ``source`` document of a recording (empty text removes it), then bring the
    recording's search entries up to date."""
    _set_document(recording_id, source, text)
    refresh_entries(recording_id)


def _set_document(recording_id, source: str, text: str) -> None:
    text = (text or "").strip()
    if not text:
        SearchDocument.objects.filter(recording_id=recording_id, source=source).delete()
        return
    updated = SearchDocument.objects.filter(recording_id=recording_id, source=source).update(text=text)
    if not updated:
        SearchDocument.objects.create(recording_id=recording_id, source=source, text=text)


def joined_text(recording_id) -> str:
    docs = dict(SearchDocument.objects.filter(recording_id=recording_id).values_list("source", "text"))
    order = [s for s in SOURCE_ORDER if s in docs] + sorted(set(docs) - set(SOURCE_ORDER))
    return "\n".join(docs[s] for s in order)


def refresh_entries(recording_id) -> None:
    """Make the recording's SearchEntry rows (one per clip) match the catalogue: sort keys
    from the clip, recording, officer and device; text from its documents. Rows that are
    already right are not written (each write also rewrites the full-text index)."""
    rec = Recording.objects.select_related("officer", "device").filter(pk=recording_id).first()
    if rec is None:
        return
    if rec.purged_at:  # purged by retention: never findable again
        SearchEntry.objects.filter(recording_id=recording_id).delete()
        return
    text = joined_text(rec.id)
    have = {e.clip_id: e for e in SearchEntry.objects.filter(recording_id=rec.id)}
    for clip in Clip.objects.filter(recording_id=rec.id).only("id", "object_name", "start_time", "duration_s"):
        want = {"recording_id": rec.id, "officer_id": rec.officer_id, "device_id": rec.device_id,
                "sort_time": clip.start_time or rec.trigger_on_time, "object_name": clip.object_name,
                "duration_s": clip.duration_s, "officer_name": rec.officer.name[:100],
                "device_serial": rec.device.serial, "text": text}
        entry = have.pop(clip.id, None)
        if entry is None:
            SearchEntry.objects.create(clip_id=clip.id, **want)
            continue
        changed = [k for k, v in want.items() if getattr(entry, k) != v]
        if changed:
            SearchEntry.objects.filter(pk=entry.pk).update(**{k: want[k] for k in changed})
    if have:  # clips gone (never in practice: clips are protected)
        SearchEntry.objects.filter(pk__in=[e.pk for e in have.values()]).delete()


def forget(recording_id) -> None:
    """Retention purged the recording: remove every trace of its text from search."""
    SearchDocument.objects.filter(recording_id=recording_id).delete()
    SearchEntry.objects.filter(recording_id=recording_id).delete()


def metadata_text(rec: Recording) -> str:
    from ..evidence.identity import display_title, incidents_of

    # The evidence number also as its bare sequence ("2026-004211" is found by "4211" too), the
    # title (a person's or the default) and the dispatch incident it is linked to.
    number = rec.evidence_number or ""
    incident = incidents_of([rec.id]).get(rec.id)
    # (its words apart too: PostgreSQL's parser reads "2026-004211" as "2026" and "-004211")
    parts = [number, " ".join(terms(number)), " ".join(w.lstrip("0") for w in re.findall(r"\d+", number)
                                                         if w.lstrip("0")),
             display_title(rec, incident=incident), *(incident or {}).values(),
             rec.container_name, rec.trigger_on, rec.trigger_off, rec.bwc_model]
    o, d = rec.officer, rec.device
    parts += [o.name, o.user_key, getattr(o.account, "username", "") if o.account_id else "",
              getattr(o.account, "badge", "") if o.account_id else ""]
    parts += [d.serial, d.name, d.model, d.kind]
    parts += list(rec.categories.values_list("name", flat=True))
    for b in rec.bookmarks.all():
        parts += [b.text, b.category_name] + [f"{k} {v}".strip() for k, v in (b.tags or {}).items()]
    for number, title in rec.cases.values_list("number", "title"):
        parts += [number, title]
    return " ".join(p for p in parts if p)


def reindex(recording_id, sources=(METADATA, NOTES, TAGS)) -> None:
    from ..evidence.models import Note, Tag

    rec = Recording.objects.select_related("officer__account", "device").filter(pk=recording_id).first()
    if rec is None or rec.purged_at:  # purged by retention: never findable again
        return
    if METADATA in sources:
        _set_document(rec.id, METADATA, metadata_text(rec))
    if NOTES in sources:
        _set_document(rec.id, NOTES, "\n".join(Note.objects.filter(recording=rec).values_list("text", flat=True)))
    if TAGS in sources:
        _set_document(rec.id, TAGS, " ".join(Tag.objects.filter(recording=rec).values_list("name", flat=True)))
    refresh_entries(rec.id)


def reindex_all() -> int:
    n = 0
    for rid in Recording.objects.values_list("id", flat=True).iterator():
        reindex(rid)
        n += 1
    return n
