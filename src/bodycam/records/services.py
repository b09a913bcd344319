"""Public-records requests (the release workflow). Records work is the custodian's: only
custodians open, extend, fill, approve and release requests; every step and every denial
is one audit entry.

Deadlines: a critical incident (e.g. an officer-involved shooting) must be answered within
``RECORDS_CRITICAL_DAYS`` (45) days of receipt; other requests within
``RECORDS_STANDARD_DAYS`` (10). A deadline is extended only in logged steps of
``RECORDS_EXTENSION_DAYS`` (30) with a reason, up to one year after receipt.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from datetime import date, datetime, timedelta, timezone

from django.conf import settings
from django.db import transaction

from ..access import policy
from ..access.services import NotVisible, audit_denied, visible_clips
from ..custody.services import record, record_request
from ..errors import BadInput
from ..media.models import Redaction
from ..numbers import parse_uuid
from ..timefmt import isoformat
from .models import DeadlineExtension, RecordsRequest, RequestItem


class RecordsError(BadInput):
    """Bad input or a step out of order: 400."""


def _check_role(request, action: str, object_id: str = ""):
    user = request.user
    policy.require(request, "records.manage", action=f"records.{action}", object_type="records_request",
                   object_id=object_id, reason=f"role {getattr(user, 'role', '-')} may not handle records requests",
                   message="only records custodians handle public-records requests")


def _bad(request, action: str, message: str, object_id: str = ""):
    audit_denied(request, f"records.{action}", message, object_type="records_request", object_id=object_id,
                 status=400)
    raise RecordsError(message)


def list_requests(request):
    _check_role(request, "list")
    rows = list(RecordsRequest.objects.all()[:500])
    record_request(request, "records.list", object_type="records_request", detail={"count": len(rows)})
    return rows


def get(request, number: str, action: str = "view") -> RecordsRequest:
    _check_role(request, action, str(number)[:64])
    r = RecordsRequest.objects.filter(number=str(number)[:32]).first()
    if r is None and parse_uuid(number):
        r = RecordsRequest.objects.filter(pk=parse_uuid(number)).first()
    if r is None:
        audit_denied(request, f"records.{action}", "no such request", object_type="records_request",
                     object_id=str(number)[:64], status=404)
        raise NotVisible("no such records request")
    if action == "view":
        record_request(request, "records.view", object_type="records_request", object_id=r.number)
    return r


def _next_number(received: date) -> str:
    prefix = f"PRR-{received.year}-"
    n = RecordsRequest.objects.filter(number__startswith=prefix).count() + 1
    while RecordsRequest.objects.filter(number=f"{prefix}{n:04d}").exists():
        n += 1
    return f"{prefix}{n:04d}"


def _parse_date(value, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise RecordsError(f"{what} must be a date (YYYY-MM-DD)") from None


def create(request, data: dict) -> RecordsRequest:
    _check_role(request, "create")
    try:
        requester = str(data.get("requester", "")).strip()
        scope = str(data.get("scope", "")).strip()
        if not requester or len(requester) > 200:
            raise RecordsError("requester must be 1-200 characters")
        if not scope or len(scope) > 5000:
            raise RecordsError("scope must be 1-5000 characters")
        received = _parse_date(data.get("received_on") or date.today().isoformat(), "date received")
        if received > date.today():
            raise RecordsError("the date received cannot be in the future")
        critical = str(data.get("critical_incident", "")).lower() in ("1", "true", "yes", "on")
    except RecordsError as exc:
        _bad(request, "create", str(exc))
    days = settings.RECORDS_CRITICAL_DAYS if critical else settings.RECORDS_STANDARD_DAYS
    with transaction.atomic():
        r = RecordsRequest.objects.create(number=_next_number(received), requester=requester,
                                          requester_contact=str(data.get("requester_contact", ""))[:200],
                                          scope=scope, received_on=received, critical_incident=critical,
                                          deadline=received + timedelta(days=days), created_by=request.user)
        record_request(request, "records.create", object_type="records_request", object_id=r.number,
                       detail={"requester": requester, "received_on": received.isoformat(),
                               "critical_incident": critical, "deadline": r.deadline.isoformat()})
    return r


def extend(request, number: str, reason: str) -> DeadlineExtension:
    r = get(request, number, "extend")
    reason = str(reason or "").strip()[:500]
    step = settings.RECORDS_EXTENSION_DAYS
    if not reason:
        _bad(request, "extend", "an extension needs a reason", r.number)
    if r.status in (RecordsRequest.Status.RELEASED, RecordsRequest.Status.DENIED):
        _bad(request, "extend", f"the request is {r.status}", r.number)
    new = r.deadline + timedelta(days=step)
    if new > r.received_on + timedelta(days=365):
        _bad(request, "extend", "deadlines cannot be extended beyond one year after receipt", r.number)
    with transaction.atomic():
        ext = DeadlineExtension.objects.create(request=r, days=step, reason=reason, old_deadline=r.deadline,
                                               new_deadline=new, by=request.user)
        RecordsRequest.objects.filter(pk=r.pk).update(deadline=new)
        record_request(request, "records.extend", object_type="records_request", object_id=r.number,
                       detail={"days": step, "reason": reason, "old_deadline": ext.old_deadline.isoformat(),
                               "new_deadline": new.isoformat()})
    return ext


def _open(request, r: RecordsRequest, action: str):
    if r.status != RecordsRequest.Status.OPEN:
        _bad(request, action, f"the request is {r.status}; items change only while it is open", r.number)


def add_item(request, number: str, clip_id) -> RequestItem:
    r = get(request, number, "add_item")
    _open(request, r, "add_item")
    cid = parse_uuid(clip_id)
    clip = visible_clips(request.user).filter(id=cid).first() if cid else None
    if clip is None:
        audit_denied(request, "records.add_item", "no such clip, or not visible", object_type="records_request",
                     object_id=r.number, status=404)
        raise NotVisible("no such clip, or not visible to you")
    if RequestItem.objects.filter(request=r, clip=clip).exists():
        _bad(request, "add_item", "this clip is already in the request", r.number)
    with transaction.atomic():
        item = RequestItem.objects.create(request=r, clip=clip, added_by=request.user)
        record_request(request, "records.add_item", object_type="records_request", object_id=r.number,
                       object_sha256=clip.sha256, detail={"clip": str(clip.id)})
    return item


def attach_redaction(request, number: str, item_id, redaction_id) -> RequestItem:
    r = get(request, number, "attach_redaction")
    _open(request, r, "attach_redaction")
    iid, rid = parse_uuid(item_id), parse_uuid(redaction_id)
    item = RequestItem.objects.filter(request=r, pk=iid).first() if iid else None
    red = Redaction.objects.filter(pk=rid).first() if rid else None
    if item is None or red is None or red.clip_id != item.clip_id:
        _bad(request, "attach_redaction", "no such item, or the redaction is not of that item's clip", r.number)
    RequestItem.objects.filter(pk=item.pk).update(redaction=red)
    record_request(request, "records.attach_redaction", object_type="records_request", object_id=r.number,
                   detail={"clip": str(item.clip_id), "redaction": str(red.id), "status": red.status})
    item.refresh_from_db()
    return item


def _ready(r: RecordsRequest) -> list[str]:
    problems = []
    items = list(r.items.select_related("redaction", "clip"))
    if not items:
        problems.append("the request has no items")
    for it in items:
        if it.redaction is None:
            problems.append(f"{it.clip.object_name}: no redaction attached")
        elif it.redaction.status != Redaction.Status.DONE or not it.redaction.output_id:
            problems.append(f"{it.clip.object_name}: redaction is {it.redaction.status}, not done")
    return problems


def submit(request, number: str) -> RecordsRequest:
    r = get(request, number, "submit")
    _open(request, r, "submit")
    problems = _ready(r)
    if problems:
        _bad(request, "submit", "; ".join(problems[:5]), r.number)
    RecordsRequest.objects.filter(pk=r.pk).update(status=RecordsRequest.Status.SUBMITTED)
    record_request(request, "records.submit", object_type="records_request", object_id=r.number,
                   detail={"items": r.items.count()})
    r.refresh_from_db()
    return r


def decide(request, number: str, approve: bool, note: str = "") -> RecordsRequest:
    """The custodian's decision on a submitted request (approve, or deny with a reason)."""
    r = get(request, number, "approve" if approve else "deny")
    note = str(note or "").strip()[:500]
    action = "approve" if approve else "deny"
    if r.status != RecordsRequest.Status.SUBMITTED:
        _bad(request, action, f"the request is {r.status}; only a submitted request is decided", r.number)
    if not approve and not note:
        _bad(request, action, "a denial needs the reason (exemption) given to the requester", r.number)
    if approve:
        problems = _ready(r)
        if problems:
            _bad(request, action, "; ".join(problems[:5]), r.number)
    now = datetime.now(timezone.utc)
    RecordsRequest.objects.filter(pk=r.pk).update(
        status=RecordsRequest.Status.APPROVED if approve else RecordsRequest.Status.DENIED,
        approved_by=request.user, approved_at=now, decision_note=note)
    record_request(request, f"records.{action}", object_type="records_request", object_id=r.number,
                   detail={"note": note})
    r.refresh_from_db()
    return r


def release(request, number: str):
    """Make the release package (a job; inline in tests and one-shots)."""
    from ..jobs.services import submit as submit_job

    r = get(request, number, "release")
    if r.status != RecordsRequest.Status.APPROVED:
        _bad(request, "release", f"the request is {r.status}; only an approved request is released", r.number)
    from ..jobs.models import Job

    if Job.objects.filter(kind="records.package", object_id=r.number,
                          status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).exists():
        _bad(request, "release", "the release package is being made", r.number)
    record_request(request, "records.release", object_type="records_request", object_id=r.number)
    return submit_job("records.package", params={"request_id": str(r.id)}, object_type="records_request",
                      object_id=r.number, created_by=request.user)


def package_job(ctx, request_id) -> dict:
    """ZIP: the redacted copies (each with its C2PA manifest), manifest.json naming each
    original and redacted hash and every redaction's reason, the C2PA CA, SHA256SUMS."""
    from ..media import c2pa_sign
    from ..storage import get_store, put_file

    r = RecordsRequest.objects.get(pk=request_id)
    if r.status == RecordsRequest.Status.RELEASED and r.package_sha256:
        return {"package": r.package_sha256}
    store = get_store()
    items = list(r.items.select_related("clip", "redaction__output"))
    manifest = {"request": {"number": r.number, "requester": r.requester, "scope": r.scope,
                            "received_on": r.received_on.isoformat(), "deadline": r.deadline.isoformat(),
                            "critical_incident": r.critical_incident,
                            "approved_by": r.approved_by.username if r.approved_by else None,
                            "approved_at": isoformat(r.approved_at)},
                "items": []}
    from ..media.redactions import c2pa_actions
    from ..provenance.export import sums_text

    hashes: dict[str, str] = {}  # every file of the package but SHA256SUMS itself

    def add(z, name: str, data: bytes) -> None:
        z.writestr(name, data)
        hashes[name] = hashlib.sha256(data).hexdigest()

    with tempfile.TemporaryDirectory(prefix="bodycam-package-") as tmp:
        path = os.path.join(tmp, "package.zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            for i, it in enumerate(items, 1):
                d = it.redaction.output
                name = f"{i:03d}-{it.clip.object_name.rsplit('.', 1)[0]}-redacted.mp4".replace("/", "_")
                with store.open(d.sha256) as src, z.open(name, "w") as dst:
                    h = hashlib.sha256()
                    while chunk := src.read(1 << 20):
                        h.update(chunk)
                        dst.write(chunk)
                if h.hexdigest() != d.sha256:
                    raise RuntimeError(f"stored redacted copy {d.sha256} does not match its hash")
                hashes[name] = d.sha256
                manifest["items"].append({"file": name, "sha256": d.sha256, "size": d.size,
                                          "original_sha256": it.clip.sha256, "clip": str(it.clip_id),
                                          "redaction": str(it.redaction_id),
                                          "redactions": [a["description"] for a in c2pa_actions(it.redaction.plan)]})
                if ctx:
                    ctx.progress(0.1 + 0.8 * i / len(items), f"packed {i} of {len(items)}")
            add(z, "c2pa-ca.pem", (c2pa_sign.ensure_chain() / "ca.pem").read_bytes())
            add(z, "manifest.json", json.dumps(manifest, indent=1).encode())
            add(z, "README.txt", ("Public records release " + r.number + ".\nEach video carries a C2PA "
                "manifest (verify with any C2PA tool, trusting c2pa-ca.pem, or `bodycam c2pa-verify`).\n"
                "manifest.json names each original's SHA-256 and the reason for every redaction.\n"
                "SHA256SUMS lists every other file: check with `sha256sum -c SHA256SUMS`.\n").encode())
            z.writestr("SHA256SUMS", sums_text(hashes))
        def name_package(incoming) -> tuple[str, int]:
            RecordsRequest.objects.filter(pk=r.pk).update(status=RecordsRequest.Status.RELEASED,
                                                          released_at=datetime.now(timezone.utc),
                                                          package_sha256=incoming.sha256, package_size=incoming.size)
            return incoming.sha256, incoming.size

        with open(path, "rb") as f:
            sha, size = put_file(f, os.path.getsize(path), name_package)
    record("records.package", actor=f"job:{ctx.job.kind}" if ctx else "system", object_type="records_request",
           object_id=r.number, object_sha256=sha, detail={"items": len(items), "size": size})
    return {"package": sha, "size": size, "items": len(items)}


def open_package(request, number: str):
    from ..storage import get_store

    r = get(request, number, "download")
    if r.status != RecordsRequest.Status.RELEASED or not r.package_sha256:
        _bad(request, "download", "no release package yet", r.number)
    record_request(request, "records.download", object_type="records_request", object_id=r.number,
                   object_sha256=r.package_sha256, detail={"size": r.package_size})
    return r, get_store().open(r.package_sha256)


def days_left(r: RecordsRequest) -> int:
    return (r.deadline - date.today()).days


__all__ = ["create", "extend", "add_item", "attach_redaction", "submit", "decide", "release", "open_package",
           "RecordsError"]


def due(limit: int = 5) -> tuple[int, list[RecordsRequest]]:
    """Requests still to answer (open, submitted, approved), soonest deadline first: (how
    many, the first ``limit``), each with ``days_left``. The caller checked ``records.manage``."""
    qs = RecordsRequest.objects.filter(status__in=[RecordsRequest.Status.OPEN, RecordsRequest.Status.SUBMITTED,
                                                   RecordsRequest.Status.APPROVED]).order_by("deadline", "number")
    rows = list(qs[:limit])
    for r in rows:
        r.days_left = days_left(r)
    return qs.count(), rows
