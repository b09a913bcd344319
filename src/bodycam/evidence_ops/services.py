"""Evidence operations on behalf of a signed-in user: list, view, play, download, edit
metadata, share, read the item's audit trail. Each one goes through ``authorize`` (the
single access check) and writes exactly one audit entry. The web views and the REST API
are thin wrappers around these functions."""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import Q

from ..access import policy
from ..access.services import AUDIT, DOWNLOAD, EDIT, PLAY, VIEW, authorize, capabilities, visible_clips
from ..custody import actions
from ..custody.actions import edit_detail
from ..custody.models import AuditEntry
from ..custody.services import record_request
from ..errors import BadInput
from ..evidence.identity import clean_title, display_title
from ..evidence.models import Category, Clip, Note
from ..evidence.services import category_change, clip_summary, set_person_tags
from ..timefmt import iso_as_given


def clip_payload(clip: Clip, user=None) -> dict:
    d = clip_summary(clip)
    rec = clip.recording
    d["recording_id"] = str(rec.id)
    d["categories"] = sorted(rec.categories.values_list("name", flat=True))
    d["tags"] = list(rec.tags.values_list("name", flat=True))
    d["restricted"] = _has_restriction(rec)
    d["evidence_number"] = rec.evidence_number
    d["title"] = display_title(rec, d["categories"])
    if user is not None:
        d["can"] = capabilities(user, clip)
    return d


def _has_restriction(rec) -> bool:
    from ..access.models import Restriction

    return Restriction.objects.filter(recording=rec).exists()


def list_clips(request, limit: int = 100, offset: int = 0) -> dict:
    limit = max(1, min(int(limit), 500))
    offset = max(0, int(offset))
    qs = visible_clips(request.user).order_by("-recording__trigger_on_time", "start_time", "object_name")
    total = qs.count()
    rows = list(qs[offset:offset + limit])
    record_request(request, "evidence.list", detail={"count": len(rows), "total": total, "offset": offset})
    return {"total": total, "offset": offset, "limit": limit,
            "results": [clip_summary(c) | {"recording_id": str(c.recording_id)} for c in rows]}


def view_clip(request, clip_id) -> dict:
    clip = authorize(request, clip_id, VIEW)
    rec = clip.recording
    d = clip_payload(clip, request.user)
    d["notes"] = [{"id": str(n.id), "author": n.author.username, "text": n.text, "at": iso_as_given(n.created_at)}
                  for n in Note.objects.filter(recording=rec).select_related("author")]
    d["bookmarks"] = [{"text": b.text, "start": iso_as_given(b.start_time), "end": iso_as_given(b.end_time)} for b in rec.bookmarks.all()]
    record_request(request, "evidence.view", object_type="clip", object_id=str(clip.id), object_sha256=clip.sha256)
    return d


def may_receive_original(user, clip: Clip) -> bool:
    """Whether the original's bytes (whole, or any range of them) may go to ``user``: only to
    those who may download the item ("evidence.download": the role, and for a share recipient
    a share that allows it). Everyone else plays a derivative, the proxy (media.open_stream)."""
    return policy.allowed(user, "evidence.download", clip.recording_id)


def open_original(request, clip: Clip, action: str):
    """Audit and open an authorized clip's original for playback (``PLAY``, audited at each
    start: ``http.playback_start``) or a download (``DOWNLOAD``, always audited). Refuses
    (403, audited) anyone who may not download the item, whatever the action."""
    from ..http import playback_start, range_asked
    from ..storage import get_store

    if not may_receive_original(request.user, clip):
        reason = "only those who may download an item receive its original; play the proxy"
        record_request(request, f"evidence.{action}", object_type="clip", object_id=str(clip.id), outcome="denied",
                       detail={"reason": reason, "status": 403, "rendition": "original"})
        raise policy.Denied(reason)
    if action == DOWNLOAD or playback_start(request, f"original:{clip.id}"):
        record_request(request, "evidence.download" if action == DOWNLOAD else "evidence.play", object_type="clip",
                       object_id=str(clip.id), object_sha256=clip.sha256,
                       detail={"size": clip.size, "range": range_asked(request), "rendition": "original"})
    return get_store().open(clip.sha256)


def open_media(request, clip_id, action: str):
    """Authorize and audit a download (or playback) of the original; return (clip, open file)."""
    clip = authorize(request, clip_id, action)
    return clip, open_original(request, clip, action)


TAG_RE = re.compile(r"^[\w .:/#-]{1,64}$")
REASON_MAX = 500
REMOVE_MESSAGE = ("only a supervisor or custodian removes a category or shortens an item's retention "
                  "(with a reason); you may add categories")


def _categories(cats) -> list[Category]:
    if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
        raise BadInput("categories must be a list of category names or ids")
    found = list(Category.objects.filter(Q(name__in=cats) | Q(axis_id__in=cats), active=True))
    missing = set(cats) - {c.name for c in found} - {c.axis_id for c in found}
    if missing:
        raise BadInput(f"unknown categor{'y' if len(missing) == 1 else 'ies'}: {', '.join(sorted(missing))}")
    return found


def _reason(data: dict) -> str:
    reason = data.get("reason")
    if reason is None:
        return ""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_MAX:
        raise BadInput(f"reason must be 1-{REASON_MAX} characters")
    return reason.strip()


def _check_categories(request, clip: Clip, after: list[Category], reason: str) -> dict:
    """The category change on ``clip``'s recording, if the user may make it. Anyone who may
    edit adds categories; removing one, or anything that shortens retention (e.g. the first
    category of an uncategorized item, when it keeps footage for less time than Uncategorized),
    needs "evidence.categories.remove" (403) and a reason (400). Refusals are audited."""
    change = category_change(list(clip.recording.categories.all()), after)
    if change["removed"] or change["shortens_retention"]:
        what = "remove " + ", ".join(change["removed"]) if change["removed"] else "shorten retention"
        policy.require(request, "evidence.categories.remove", action="evidence.edit", object_type="clip",
                       object_id=str(clip.id), reason=f"role {request.user.role} may not {what}",
                       message=REMOVE_MESSAGE)
        if not reason:
            msg = "give a reason for removing a category or shortening retention"
            policy.audit_denied(request, "evidence.edit", msg, object_type="clip", object_id=str(clip.id), status=400)
            raise BadInput(msg)
    return change


def _apply(request, clip: Clip, note=None, tags=None, cats=None, cat_change=None, reason: str = "",
           title=None) -> None:
    """Write one item's changes and their one audit entry (inside the caller's transaction)."""
    rec = clip.recording
    change: dict = {}
    before: dict = {}
    after: dict = {}
    if title is not None and title != rec.title:  # "" = back to the default title
        before["title"], after["title"] = rec.title, title
        rec.title = title
        rec.save(update_fields=["title"])
    if note is not None:  # a note is added, not changed
        n = Note.objects.create(recording=rec, author=request.user, text=note.strip())
        change["note"] = {"id": str(n.id), "text": n.text}
    if tags is not None:  # tags a camera bookmark gives the recording stay
        before["tags"], after["tags"] = set_person_tags(rec, tags)
    if cats is not None:
        before["categories"] = sorted(rec.categories.values_list("name", flat=True))
        rec.categories.set(cats)
        after["categories"] = sorted(c.name for c in cats)
        if cat_change:
            days = cat_change["retention_days"]
            before["retention_days"], after["retention_days"] = days["before"], days["after"]
            change.update({k: cat_change[k] for k in ("added", "removed", "shortens_retention")})
    if before or after:
        change.update(edit_detail(before, after))
    if reason:
        change["reason"] = reason
    record_request(request, "evidence.edit", object_type="clip", object_id=str(clip.id),
                   object_sha256=clip.sha256, detail={"recording": str(rec.id), **change})


def edit_metadata(request, clip_id, data: dict) -> dict:
    """Set the title ("" = the default), add a note, set tags, set categories (with a reason where one is removed or retention
    shortens). Media and hashes are never touched."""
    if not isinstance(data, dict):
        raise BadInput("body must be a JSON object")
    unknown = set(data) - {"note", "tags", "categories", "reason", "title"}
    if unknown:
        raise BadInput(f"unknown field(s): {', '.join(sorted(unknown))}; "
                       "allowed: title, note, tags, categories, reason")
    if not set(data) - {"reason"}:
        raise BadInput("nothing to change: give title, note, tags and/or categories")
    title = None
    if "title" in data:
        try:
            title = clean_title(data["title"])
        except ValueError as exc:
            raise BadInput(str(exc)) from None
    note = data.get("note")
    if note is not None and (not isinstance(note, str) or not note.strip() or len(note) > 5000):
        raise BadInput("note must be 1-5000 characters")
    tags = data.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or len(tags) > 50 or not all(isinstance(t, str) and TAG_RE.match(t.strip())
                                                                   for t in tags):
            raise BadInput("tags must be a list of at most 50 strings of 1-64 letters, digits, space or .:/#-_")
        tags = sorted({t.strip() for t in tags})
    cats = data.get("categories")
    found = _categories(cats) if cats is not None else None
    reason = _reason(data)
    clip = authorize(request, clip_id, EDIT)
    cat_change = _check_categories(request, clip, found, reason) if found is not None else None
    with transaction.atomic():
        _apply(request, clip, note=note, tags=tags, cats=found, cat_change=cat_change, reason=reason, title=title)
    return clip_payload(clip, request.user)


def set_category(request, clip_id, name: str, present: bool, reason: str = "") -> None:
    """The item page: add one category (``present``) or remove one (with a reason)."""
    if not isinstance(name, str) or not name:
        raise BadInput("choose a category")
    why = _reason({"reason": (reason or "").strip() or None})
    clip = authorize(request, clip_id, EDIT)
    after = list(clip.recording.categories.all())
    if present:
        cat = _categories([name])[0]
        after += [] if cat.pk in {c.pk for c in after} else [cat]
    else:
        if name not in {c.name for c in after}:
            raise BadInput(f"{name!r} is not one of this item's categories")
        after = [c for c in after if c.name != name]
    change = _check_categories(request, clip, after, why)
    with transaction.atomic():
        _apply(request, clip, cats=after, cat_change=change, reason=why)


def category_named(name) -> Category:
    """An active category by name (bulk actions choose one; none is preselected)."""
    if not isinstance(name, str) or not name:
        raise BadInput("choose a category")
    return _categories([name])[0]


def add_category_to(request, clip_id, cat: Category) -> bool:
    """Add ``cat`` to one item (the bulk action, item by item): False if it has it already.
    Authorized as an edit; adding that would shorten retention needs a supervisor or custodian
    and a reason, which the bulk form does not take, so it is refused (audited) for that item."""
    clip = authorize(request, clip_id, EDIT)
    after = list(clip.recording.categories.all())
    if cat.pk in {c.pk for c in after}:
        return False
    after.append(cat)
    change = _check_categories(request, clip, after, "")
    with transaction.atomic():
        _apply(request, clip, cats=after, cat_change=change)
    return True


def item_events(clip: Clip) -> list[AuditEntry]:
    rec = clip.recording
    q = (Q(object_type="clip", object_id__in=[str(clip.id), f"{rec.id}/{clip.object_name}"])
         | Q(object_type="recording", object_id=str(rec.id)))
    return list(AuditEntry.objects.filter(q).order_by("seq"))


def event_dict(e: AuditEntry) -> dict:
    return {"seq": e.seq, "at": iso_as_given(e.at), "actor": e.actor, "source": e.source, "action": e.action,
            "label": actions.label(e.action), "object_type": e.object_type, "object_id": e.object_id, "object_sha256": e.object_sha256,
            "outcome": e.outcome, "detail": e.detail, "prev_hash": e.prev_hash, "entry_hash": e.entry_hash}


def clip_audit(request, clip_id) -> dict:
    clip = authorize(request, clip_id, AUDIT)
    events = item_events(clip)
    record_request(request, "audit.read", object_type="clip", object_id=str(clip.id), object_sha256=clip.sha256,
                   detail={"entries": len(events)})
    return {"clip": str(clip.id), "sha256": clip.sha256, "events": [event_dict(e) for e in events]}


def _words(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


HISTORY_NOTES = ("reason", "recipient", "rendition", "case", "note", "status")


def item_history(request, clip_id) -> list[dict]:
    """The item's audit entries in words, newest first, for its page's History tab: when (a
    datetime, shown in the agency's zone), who (name and username), what (the action's label),
    the outcome, what changed (field, before, after) and a short note (reason, recipient, ...).
    Who may read it: as the item's audit trail (``AUDIT``); reading it is audited."""
    from ..access.models import User

    clip = authorize(request, clip_id, AUDIT)
    events = item_events(clip)
    record_request(request, "audit.read", object_type="clip", object_id=str(clip.id), object_sha256=clip.sha256,
                   detail={"entries": len(events), "view": "history"})
    names = {u: f"{(first + ' ' + last).strip()}" for u, first, last in
             User.objects.filter(username__in={e.actor for e in events}).values_list("username", "first_name",
                                                                                     "last_name")}
    rows = []
    for e in reversed(events):
        detail = e.detail if isinstance(e.detail, dict) else {}
        who = names.get(e.actor) or ""
        rows.append({"at": e.at, "who": f"{who} ({e.actor})" if who else e.actor, "what": actions.label(e.action),
                     "action": e.action, "outcome": e.outcome,
                     "changes": [(k, _words(b), _words(a)) for k, (b, a) in actions.changes(detail).items()],
                     "notes": [(k, _words(detail[k])) for k in HISTORY_NOTES if k in detail and detail[k] not in ("", None)
                               and not isinstance(detail[k], dict)]})
    return rows


def custody_report(request, clip_id, fmt: str = "json"):
    """The clip's chain-of-custody report (dict for JSON, bytes for PDF), for anyone who may
    see the clip (and auditors). The request is audited before the report is built, so
    the report lists its own generation."""
    from ..custody.report import build_report, render_pdf

    if fmt not in ("json", "pdf"):
        raise BadInput("format must be json or pdf")
    clip = authorize(request, clip_id, AUDIT)
    record_request(request, "custody.report", object_type="clip", object_id=str(clip.id), object_sha256=clip.sha256,
                   detail={"format": fmt})
    report = build_report(clip, item_events(clip), generated_by=request.user.username)
    return (clip, report) if fmt == "json" else (clip, render_pdf(report))


def read_audit_log(request, after: int = 0, limit: int = 200, action: str = "", actor: str = "") -> dict:
    """The whole log, for auditors. Reading it is itself audited."""
    policy.require(request, "audit.read", object_type="audit_log", reason="auditor role required",
                   message="only auditors read the audit log")
    limit = max(1, min(int(limit), 1000))
    qs = AuditEntry.objects.filter(seq__gt=max(0, int(after))).order_by("seq")
    if action:
        qs = qs.filter(action__startswith=action[:64])
    if actor:
        qs = qs.filter(actor=actor[:150])
    rows = list(qs[:limit])
    record_request(request, "audit.read", object_type="audit_log",
                   detail={"after": after, "returned": len(rows), "action": action, "actor": actor})
    return {"entries": [event_dict(e) for e in rows], "next_after": rows[-1].seq if rows else after}


__all__ = ["list_clips", "view_clip", "open_media", "open_original", "may_receive_original", "edit_metadata", "set_category", "add_category_to", "category_named", "item_history", "clip_audit", "read_audit_log",
           "PLAY", "DOWNLOAD"]
