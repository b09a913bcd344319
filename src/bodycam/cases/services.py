"""Cases: create one, open/close it and set its dispatch incident number, attach and open
its files. Each change writes one audit entry.

Who may see or change a case is decided above this app (``access.policy``: "case.view",
"case.change"); the callers check first and pass the case (or the already looked-up
detectives and recordings) in. Apps that react to a case's status register a hook here
(``register_status_hook``): retention cancels a reopened case's pending deletions."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from django.db import transaction

from ..custody.services import record, record_request
from ..errors import BodycamError
from .models import Case, CaseFile

MAX_CASE_FILE = 512 * 1024 * 1024


class CaseError(BodycamError):
    """A refused change to a case (bad value): nothing was changed."""

    status = 400


class NoSuchCaseFile(CaseError):
    """The case has no file with that id: 404."""

    status = 404


class CaseStorageFull(CaseError):
    """The blob store has no room for a case file (nothing is deleted to make room)."""

    status = 507


# fn(case, status, actor) -> dict, called inside the status change's transaction; the dict is
# added to the audit entry's detail (e.g. {"pending_deletions_cancelled": 3}).
STATUS_HOOKS: list[Callable] = []


def register_status_hook(fn: Callable) -> None:
    if fn not in STATUS_HOOKS:
        STATUS_HOOKS.append(fn)


def check_number(number: str) -> None:
    if not number or len(number) > 64:
        raise CaseError("case number must be 1-64 characters")
    # The number is the case page's address (/cases/NUMBER/): nothing a URL path would split on.
    if number != number.strip() or any(c in number for c in "/\\?#%") or not number.isprintable():
        raise CaseError("case number may not contain / \\ ? # %, control characters, or spaces at either end")


def add_case(number: str, who: str, title: str = "", detectives=(), recordings=()) -> Case:
    """Create the case ``number`` (or find it) and add ``detectives`` (users already checked
    to be assignable) and ``recordings``; audited as "access.case"."""
    check_number(number)
    with transaction.atomic():
        case, created = Case.objects.get_or_create(number=number, defaults={"title": title[:200]})
        case.detectives.add(*detectives)
        case.recordings.add(*recordings)
        record("access.case", actor=who, object_type="case", object_id=str(case.id),
               detail={"number": number, "created": created, "detectives_added": [d.username for d in detectives],
                       "recordings_added": [str(r.id) for r in recordings]})
    return case


def set_case_status(case: Case, status: str, actor: str, source: str = "",
                    incident_number: str | None = None) -> Case:
    """Close (retention runs again) or reopen (blocks deletion again) a case, and/or set its
    dispatch incident number. Both inputs are checked before anything changes."""
    if status and status not in Case.Status.values:
        raise CaseError("status must be open or closed")
    incident = incident_number.strip() if incident_number is not None else None
    if incident is not None and len(incident) > 64:
        raise CaseError("incident number is at most 64 characters")
    with transaction.atomic():
        if incident is not None and incident != case.incident_number:
            Case.objects.filter(pk=case.pk).update(incident_number=incident)
            record("case.incident", actor=actor, source=source, object_type="case", object_id=str(case.id),
                   detail={"number": case.number, "incident_number": incident})
        if status and status != case.status:
            closed = status == Case.Status.CLOSED
            Case.objects.filter(pk=case.pk).update(status=status, closed_at=datetime.now(timezone.utc) if closed
                                                   else None)
            detail = {"number": case.number}
            for hook in STATUS_HOOKS:
                detail.update(hook(case, status, actor))
            record(f"case.{'close' if closed else 'reopen'}", actor=actor, source=source, object_type="case",
                   object_id=str(case.id), detail=detail)
    case.refresh_from_db()
    return case


def _refuse(request, case: Case, action: str, reason: str, status: int) -> None:
    record_request(request, action, object_type="case", object_id=str(case.id), outcome="denied",
                   detail={"reason": reason, "status": status})


def add_file(request, case: Case, upload, description: str = "") -> CaseFile:
    """Store an uploaded file (Django ``UploadedFile``) in the blob store and attach it to
    ``case`` (the caller checked "case.change"). Refusals (empty or too big: 400, store full:
    507) are audited and change nothing."""
    from ..storage import InsufficientStorage, put_file

    action = "case.file_upload"
    if upload is None or not upload.name or upload.size == 0 or upload.size > MAX_CASE_FILE:
        _refuse(request, case, action, "choose a non-empty file of at most 512 MiB", 400)
        raise CaseError("choose a non-empty file of at most 512 MiB")
    name = upload.name.replace("/", "_").replace("\\", "_")[:200]

    def name_file(incoming) -> CaseFile:
        return CaseFile.objects.create(case=case, name=name, description=description[:500],
                                       sha256=incoming.sha256, size=incoming.size,
                                       content_type=(upload.content_type or "application/octet-stream")[:100],
                                       uploaded_by=request.user)

    try:
        cf = put_file(upload, upload.size, name_file)
    except InsufficientStorage as exc:  # never delete anything to make room
        _refuse(request, case, action, f"storage full: {exc}", 507)
        raise CaseStorageFull("storage is full") from None
    record_request(request, action, object_type="case", object_id=str(case.id), object_sha256=cf.sha256,
                   detail={"file": str(cf.id), "name": name, "size": cf.size})
    return cf


def open_file(request, case: Case, file_id):
    """(case file, open blob) of the file ``file_id`` (a UUID, or None for a malformed one) of
    ``case`` (the caller checked the user may see the case); audited, refusals too."""
    from ..storage import get_store

    cf = CaseFile.objects.filter(case=case, id=file_id).first() if file_id else None
    if cf is None:
        _refuse(request, case, "case.file_download", "no such file in this case", 404)
        raise NoSuchCaseFile("no such file in this case")
    record_request(request, "case.file_download", object_type="case", object_id=str(case.id),
                   object_sha256=cf.sha256, detail={"file": str(cf.id), "name": cf.name})
    return cf, get_store().open(cf.sha256)


def add_recording(request, case: Case, recording) -> bool:
    """Add one recording to ``case`` (the caller checked "case.change" and that the user may see
    the recording): one audit entry; False (nothing written) if the case holds it already."""
    if case.recordings.filter(pk=recording.pk).exists():
        return False
    with transaction.atomic():
        case.recordings.add(recording)
        record_request(request, "case.add_recordings", object_type="case", object_id=str(case.id),
                       detail={"case": case.number, "recordings_added": [str(recording.pk)]})
    return True
