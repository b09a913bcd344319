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
import re
import secrets
import tempfile
import zipfile
from datetime import date, datetime, timedelta, timezone

from django.conf import settings
from django.db import transaction

from ..access import policy
from ..access.services import Denied, NotVisible, audit_denied, visible_clips
from ..custody.services import record, record_request
from ..errors import BadInput
from ..media.models import Redaction
from ..numbers import parse_uuid, whole_number
from ..timefmt import isoformat
from .models import Correspondence, DeadlineExtension, DeliveryLink, RecordsRequest, RequestItem

MAX_CORRESPONDENCE_FILE = 64 * 1024 * 1024


class RecordsError(BadInput):
    """Bad input or a step out of order: 400."""


class SamePerson(Denied):
    """The custodian who submitted a request may not also approve it (403)."""


class Gone(Denied):
    """A delivery link that existed but was revoked or has expired: 410."""

    status = 410


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
    old = RequestItem.objects.filter(request=r, clip=clip).first()
    if old is not None and old.removed_at is None:
        _bad(request, "add_item", "this clip is already in the request", r.number)
    with transaction.atomic():
        if old is not None:  # added again after a removal: the same row, back in the request
            RequestItem.objects.filter(pk=old.pk).update(removed_at=None, removed_by=None, removal_reason="")
            item = RequestItem.objects.get(pk=old.pk)
        else:
            item = RequestItem.objects.create(request=r, clip=clip, added_by=request.user)
        record_request(request, "records.add_item", object_type="records_request", object_id=r.number,
                       object_sha256=clip.sha256, detail={"clip": str(clip.id), "again": old is not None})
    return item


def _reason(request, r: RecordsRequest, action: str, reason, what: str) -> str:
    reason = str(reason or "").strip()
    if not reason or len(reason) > 500:
        _bad(request, action, f"{what} needs a reason (1-500 characters)", r.number)
    return reason


def _item(request, r: RecordsRequest, action: str, item_id) -> RequestItem:
    iid = parse_uuid(item_id)
    item = RequestItem.objects.select_related("clip").filter(request=r, pk=iid, removed_at__isnull=True).first() \
        if iid else None
    if item is None:
        _bad(request, action, "no such item in this request", r.number)
    return item


def remove_item(request, number: str, item_id, reason) -> RequestItem:
    """Take an item out of an open request, with the reason (it stays listed as removed)."""
    r = get(request, number, "remove_item")
    _open(request, r, "remove_item")
    item = _item(request, r, "remove_item", item_id)
    reason = _reason(request, r, "remove_item", reason, "removing an item")
    with transaction.atomic():
        RequestItem.objects.filter(pk=item.pk).update(removed_at=datetime.now(timezone.utc), removed_by=request.user,
                                                      removal_reason=reason)
        record_request(request, "records.remove_item", object_type="records_request", object_id=r.number,
                       object_sha256=item.clip.sha256, detail={"clip": str(item.clip_id), "reason": reason})
    item.refresh_from_db()
    return item


def release_as_is(request, number: str, item_id, reason) -> RequestItem:
    """Release an item unredacted: nothing in it needs redacting, and the reason says why
    (no empty redaction is made). Attaching a redaction later undoes it."""
    r = get(request, number, "release_as_is")
    _open(request, r, "release_as_is")
    item = _item(request, r, "release_as_is", item_id)
    reason = _reason(request, r, "release_as_is", reason, "releasing an item as it is")
    with transaction.atomic():
        RequestItem.objects.filter(pk=item.pk).update(as_is_reason=reason, redaction=None)
        record_request(request, "records.release_as_is", object_type="records_request", object_id=r.number,
                       object_sha256=item.clip.sha256,
                       detail={"clip": str(item.clip_id), "reason": reason,
                               "before": {"redaction": str(item.redaction_id) if item.redaction_id else None,
                                          "as_is_reason": item.as_is_reason},
                               "after": {"redaction": None, "as_is_reason": reason}})
    item.refresh_from_db()
    return item


def add_item_once(request, number: str, clip_id) -> bool:
    """``add_item`` for the bulk action: False (nothing written) where the request holds the
    item already; every other case as ``add_item`` (refusals audited)."""
    r = get(request, number, "add_item")
    cid = parse_uuid(clip_id)
    if cid and r.status == RecordsRequest.Status.OPEN and RequestItem.objects.filter(request=r, clip_id=cid).exists() \
            and visible_clips(request.user).filter(id=cid).exists():
        return False
    add_item(request, number, clip_id)
    return True


def open_requests(request) -> list[RecordsRequest]:
    """The requests items may be added to (open ones), for those who handle requests; none for others."""
    if not policy.allowed(request.user, "records.manage"):
        return []
    return list(RecordsRequest.objects.filter(status=RecordsRequest.Status.OPEN).order_by("deadline")[:500])


def attach_redaction(request, number: str, item_id, redaction_id) -> RequestItem:
    r = get(request, number, "attach_redaction")
    _open(request, r, "attach_redaction")
    iid, rid = parse_uuid(item_id), parse_uuid(redaction_id)
    item = RequestItem.objects.filter(request=r, pk=iid, removed_at__isnull=True).first() if iid else None
    red = Redaction.objects.filter(pk=rid).first() if rid else None
    if item is None or red is None or red.clip_id != item.clip_id:
        _bad(request, "attach_redaction", "no such item, or the redaction is not of that item's clip", r.number)
    RequestItem.objects.filter(pk=item.pk).update(redaction=red, as_is_reason="")
    record_request(request, "records.attach_redaction", object_type="records_request", object_id=r.number,
                   detail={"clip": str(item.clip_id), "redaction": str(red.id), "status": red.status})
    item.refresh_from_db()
    return item


def active_items(r: RecordsRequest):
    """The items that answer the request (removed ones left out)."""
    return r.items.filter(removed_at__isnull=True)


def _ready(r: RecordsRequest) -> list[str]:
    problems = []
    items = list(active_items(r).select_related("redaction", "clip"))
    if not items:
        problems.append("the request has no items")
    for it in items:
        if it.as_is_reason and it.redaction is None:
            continue  # released as it is, with the reason given
        if it.redaction is None:
            problems.append(f"{it.clip.object_name}: no redaction attached, and not marked to release as it is")
        elif it.redaction.status != Redaction.Status.DONE or not it.redaction.output_id:
            problems.append(f"{it.clip.object_name}: redaction is {it.redaction.status}, not done")
    return problems


def submit(request, number: str) -> RecordsRequest:
    r = get(request, number, "submit")
    _open(request, r, "submit")
    problems = _ready(r)
    if problems:
        _bad(request, "submit", "; ".join(problems[:5]), r.number)
    RecordsRequest.objects.filter(pk=r.pk).update(status=RecordsRequest.Status.SUBMITTED, submitted_by=request.user,
                                                  submitted_at=datetime.now(timezone.utc))
    record_request(request, "records.submit", object_type="records_request", object_id=r.number,
                   detail={"items": active_items(r).count()})
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
    single = False
    if approve:
        problems = _ready(r)
        if problems:
            _bad(request, action, "; ".join(problems[:5]), r.number)
        single = r.submitted_by_id is not None and r.submitted_by_id == request.user.pk
        if single and not settings.RECORDS_SINGLE_PERSON_APPROVAL:
            why = "the custodian who submitted a request may not also approve it: another custodian approves"
            audit_denied(request, "records.approve", why, object_type="records_request", object_id=r.number)
            raise SamePerson(why)
    now = datetime.now(timezone.utc)
    RecordsRequest.objects.filter(pk=r.pk).update(
        status=RecordsRequest.Status.APPROVED if approve else RecordsRequest.Status.DENIED,
        approved_by=request.user, approved_at=now, decision_note=note, single_person_approval=single)
    detail = {"note": note}
    if approve:
        detail |= {"submitted_by": r.submitted_by.username if r.submitted_by_id else None,
                   "single_person_approval": single}
    record_request(request, f"records.{action}", object_type="records_request", object_id=r.number,
                   detail=detail)
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
    items = list(active_items(r).select_related("clip", "redaction__output"))
    manifest = {"request": {"number": r.number, "requester": r.requester, "scope": r.scope,
                            "received_on": r.received_on.isoformat(), "deadline": r.deadline.isoformat(),
                            "critical_incident": r.critical_incident,
                            "submitted_by": r.submitted_by.username if r.submitted_by else None,
                            "approved_by": r.approved_by.username if r.approved_by else None,
                            "approved_at": isoformat(r.approved_at),
                            "single_person_approval": r.single_person_approval},
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
                stem = it.clip.object_name.rsplit(".", 1)[0]
                if it.redaction_id is None:  # released as it is: the original, bit for bit
                    ext = it.clip.object_name.rsplit(".", 1)[-1] if "." in it.clip.object_name else "mp4"
                    name = f"{i:03d}-{stem}-as-is.{ext}".replace("/", "_")
                    sha, size = it.clip.sha256, it.clip.size
                else:
                    d = it.redaction.output
                    name = f"{i:03d}-{stem}-redacted.mp4".replace("/", "_")
                    sha, size = d.sha256, d.size
                with store.open(sha) as src, z.open(name, "w") as dst:
                    h = hashlib.sha256()
                    while chunk := src.read(1 << 20):
                        h.update(chunk)
                        dst.write(chunk)
                if h.hexdigest() != sha:
                    raise RuntimeError(f"stored copy {sha} does not match its hash")
                hashes[name] = sha
                entry = {"file": name, "sha256": sha, "size": size, "original_sha256": it.clip.sha256,
                         "clip": str(it.clip_id)}
                if it.redaction_id is None:
                    entry |= {"released_as_is": True, "as_is_reason": it.as_is_reason, "redactions": []}
                else:
                    entry |= {"redaction": str(it.redaction_id),
                              "redactions": [a["description"] for a in c2pa_actions(it.redaction.plan)]}
                manifest["items"].append(entry)
                if ctx:
                    ctx.progress(0.1 + 0.8 * i / len(items), f"packed {i} of {len(items)}")
            add(z, "c2pa-ca.pem", (c2pa_sign.ensure_chain() / "ca.pem").read_bytes())
            add(z, "manifest.json", json.dumps(manifest, indent=1).encode())
            add(z, "README.txt", ("Public records release " + r.number + ".\nEach redacted video carries a C2PA "
                "manifest (verify with any C2PA tool, trusting c2pa-ca.pem, or `bodycam c2pa-verify`); an item "
                "released as it is is the original file, its hash in manifest.json with the reason.\n"
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


def due(limit: int = 5) -> tuple[int, list[RecordsRequest]]:
    """Requests still to answer (open, submitted, approved), soonest deadline first: (how
    many, the first ``limit``), each with ``days_left``. The caller checked ``records.manage``."""
    qs = RecordsRequest.objects.filter(status__in=[RecordsRequest.Status.OPEN, RecordsRequest.Status.SUBMITTED,
                                                   RecordsRequest.Status.APPROVED]).order_by("deadline", "number")
    rows = list(qs[:limit])
    for r in rows:
        r.days_left = days_left(r)
    return qs.count(), rows


# ---------------------------------------------------------------- delivery links (the requester, no account)
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def safe_path(path: str) -> str:
    """The request path with a delivery token blanked out: tokens never reach the audit log."""
    return re.sub(r"^/r/[^/]+", "/r/<token>", path)[:200]


def create_delivery_link(request, number: str, days, label: str = "") -> tuple[DeliveryLink, str]:
    """A link through which the requester downloads the release package. Returns (link, token):
    the token is shown once, only its hash is kept."""
    r = get(request, number, "delivery_link")
    if r.status != RecordsRequest.Status.RELEASED or not r.package_sha256:
        _bad(request, "delivery_link", "a delivery link is made once the release package exists", r.number)
    most = settings.RECORDS_DELIVERY_DAYS
    n = whole_number(days) if isinstance(days, str) else days
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= most:
        _bad(request, "delivery_link", f"days must be a whole number from 1 to {most}", r.number)
    label = str(label or "").strip()
    if len(label) > 200:
        _bad(request, "delivery_link", "'for' must be at most 200 characters", r.number)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        link = DeliveryLink.objects.create(request=r, token_sha256=_token_hash(token), label=label or r.requester[:200],
                                           created_by=request.user,
                                           expires_at=datetime.now(timezone.utc) + timedelta(days=n))
        record_request(request, "records.delivery_link", object_type="records_request", object_id=r.number,
                       object_sha256=r.package_sha256,
                       detail={"link": str(link.id), "label": link.label, "expires_at": isoformat(link.expires_at)})
    return link, token


def revoke_delivery_link(request, number: str, link_id) -> DeliveryLink:
    r = get(request, number, "delivery_revoke")
    lid = parse_uuid(link_id)
    link = DeliveryLink.objects.filter(request=r, pk=lid).first() if lid else None
    if link is None:
        _bad(request, "delivery_revoke", "no such delivery link of this request", r.number)
    if link.revoked_at:
        _bad(request, "delivery_revoke", "this link is already revoked", r.number)
    now = datetime.now(timezone.utc)
    with transaction.atomic():
        DeliveryLink.objects.filter(pk=link.pk).update(revoked_at=now, revoked_by=request.user)
        record_request(request, "records.delivery_revoke", object_type="records_request", object_id=r.number,
                       detail={"link": str(link.id), "revoked_at": isoformat(now)})
    link.refresh_from_db()
    return link


def delivery_actor(link: DeliveryLink) -> str:
    return f"delivery:{link.id}"


def open_delivery(request, token: str) -> DeliveryLink:
    """The live delivery link for ``token``. A link that does not exist is 404, a revoked or
    expired one 410; every refusal is audited (link ids only, never the token)."""
    link = DeliveryLink.objects.select_related("request").filter(token_sha256=_token_hash(str(token)[:100])).first()

    def refuse(reason, status):
        record_request(request, "records.delivery_denied", actor="delivery", outcome="denied",
                       object_type="records_request", object_id=link.request.number if link else "",
                       detail={"reason": reason, "status": status, "link": str(link.id) if link else "",
                               "path": safe_path(request.path)})
        raise (Gone if status == 410 else NotVisible)(reason)

    if link is None:
        refuse("no such delivery link", 404)
    if link.revoked_at:
        refuse("this delivery link was revoked; ask the records office for a new one", 410)
    if link.expires_at <= datetime.now(timezone.utc):
        refuse("this delivery link has expired; ask the records office for a new one", 410)
    if link.request.status != RecordsRequest.Status.RELEASED or not link.request.package_sha256:
        refuse("nothing to deliver", 404)
    return link


def delivery_opened(request, link: DeliveryLink) -> None:
    DeliveryLink.objects.filter(pk=link.pk).update(last_used_at=datetime.now(timezone.utc))
    record_request(request, "records.delivery_open", actor=delivery_actor(link), object_type="records_request",
                   object_id=link.request.number, detail={"link": str(link.id), "path": safe_path(request.path)})


def delivery_package(request, link: DeliveryLink):
    """(request, open package) for the link holder; audited as a download through the link."""
    from django.db.models import F

    from ..storage import get_store

    r = link.request
    DeliveryLink.objects.filter(pk=link.pk).update(last_used_at=datetime.now(timezone.utc),
                                                   downloads=F("downloads") + 1)
    record_request(request, "records.delivery_download", actor=delivery_actor(link), object_type="records_request",
                   object_id=r.number, object_sha256=r.package_sha256,
                   detail={"link": str(link.id), "size": r.package_size, "path": safe_path(request.path)})
    return r, get_store().open(r.package_sha256)


def delivery_seconds_left(link: DeliveryLink) -> int:
    return max(60, int((link.expires_at - datetime.now(timezone.utc)).total_seconds()))


# ---------------------------------------------------------------- correspondence log
def add_correspondence(request, number: str, data, upload=None) -> Correspondence:
    """A dated entry: sent to or received from the requester, a summary, optionally the
    letter itself (stored in the blob store like case files). Bad input changes nothing."""
    from ..storage import InsufficientStorage, put_file

    r = get(request, number, "correspondence")
    direction = str(data.get("direction", "")).strip()
    if direction not in Correspondence.Direction.values:
        _bad(request, "correspondence", "say whether it was sent or received", r.number)
    try:
        on = _parse_date(data.get("on") or "", "the date")
    except RecordsError as exc:
        _bad(request, "correspondence", str(exc), r.number)
    if on > date.today() or on < r.received_on - timedelta(days=365):
        _bad(request, "correspondence", "the date must be between a year before receipt and today", r.number)
    summary = str(data.get("summary", "")).strip()
    if not summary or len(summary) > 2000:
        _bad(request, "correspondence", "the summary must be 1-2000 characters", r.number)
    if upload is not None and (not upload.name or upload.size == 0 or upload.size > MAX_CORRESPONDENCE_FILE):
        _bad(request, "correspondence", "the attached file must be non-empty and at most 64 MiB", r.number)

    def make(incoming=None) -> Correspondence:
        extra = {}
        if incoming is not None:
            extra = {"file_name": upload.name.replace("/", "_").replace("\\", "_")[:200],
                     "file_sha256": incoming.sha256, "file_size": incoming.size,
                     "content_type": (upload.content_type or "application/octet-stream")[:100]}
        return Correspondence.objects.create(request=r, direction=direction, on=on, summary=summary, by=request.user,
                                             **extra)

    try:
        entry = put_file(upload, upload.size, make) if upload is not None else make()
    except InsufficientStorage:
        audit_denied(request, "records.correspondence", "storage full", object_type="records_request",
                     object_id=r.number, status=507)
        raise
    record_request(request, "records.correspondence", object_type="records_request", object_id=r.number,
                   object_sha256=entry.file_sha256,
                   detail={"entry": str(entry.id), "direction": direction, "on": on.isoformat(), "summary": summary,
                           "file": entry.file_name, "size": entry.file_size})
    return entry


def open_correspondence_file(request, number: str, entry_id):
    from ..storage import get_store

    r = get(request, number, "correspondence_file")
    eid = parse_uuid(entry_id)
    entry = Correspondence.objects.filter(request=r, pk=eid).exclude(file_sha256="").first() if eid else None
    if entry is None:
        audit_denied(request, "records.correspondence_file", "no such file", object_type="records_request",
                     object_id=r.number, status=404)
        raise NotVisible("no such file in this request's correspondence")
    record_request(request, "records.correspondence_file", object_type="records_request", object_id=r.number,
                   object_sha256=entry.file_sha256, detail={"entry": str(entry.id), "file": entry.file_name})
    return entry, get_store().open(entry.file_sha256)


__all__ = ["create", "extend", "add_item", "remove_item", "release_as_is", "attach_redaction", "submit", "decide",
           "release", "open_package", "create_delivery_link", "revoke_delivery_link", "open_delivery",
           "delivery_package", "add_correspondence", "open_correspondence_file", "RecordsError", "due"]
