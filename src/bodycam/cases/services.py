"""Cases: create one (a typed number or the next of the agency's pattern), open/close it and
set its dispatch incident number, add and remove recordings, assign detectives, attach and
open its files. Each change writes one audit entry.

Who may see or change a case is decided above this app (``access.policy``: "case.view",
"case.change"); the callers check first and pass the case (or the already looked-up
detectives and recordings) in. Apps that react to a case's status register a hook here
(``register_status_hook``): retention cancels a reopened case's pending deletions."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from django.conf import settings
from django.db import IntegrityError, transaction

from ..custody.actions import edit_detail
from ..custody.services import record, record_request
from ..errors import BodycamError
from .models import Case, CaseFile

MAX_CASE_FILE = 512 * 1024 * 1024
TITLE_MAX = 200
INCIDENT_MAX = 64
REASON_MAX = 500


class CaseError(BodycamError):
    """A refused change to a case (bad value): nothing was changed."""

    status = 400


class NoSuchCaseFile(CaseError):
    """The case has no file with that id: 404."""

    status = 404


class CaseExists(CaseError):
    """A case with that number exists already: 409, nothing changed."""

    status = 409


class NotInCase(CaseError):
    """The recording is not in this case: 404."""

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


def next_number_preview(at: datetime | None = None) -> str:
    """The number a case opened now without a typed one would get (for the form; not taken)."""
    from ..evidence.identity import format_number, sequence_key
    from ..evidence.models import EvidenceSequence

    at = at or datetime.now(timezone.utc)
    pattern = settings.CASE_NUMBER_PATTERN
    last = EvidenceSequence.objects.filter(key=sequence_key(pattern, at)).values_list("last", flat=True).first()
    return format_number(pattern, at, (last or 0) + 1)


def _clean_text(value, name: str, limit: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise CaseError(f"{name} is required")
    if len(value) > limit:
        raise CaseError(f"{name} is at most {limit} characters")
    if not value.isprintable():
        raise CaseError(f"{name} may not contain control characters")
    return value


def create_case(request, number: str, title: str, incident_number: str = "", detectives=()) -> Case:
    """Open a new case (the caller checked the user may, and that ``detectives`` are accounts
    that can be assigned). ``number`` typed (checked, and refused with 409 if taken) or empty:
    the next number of ``BODYCAM_CASE_NUMBER`` (its own sequence, as evidence numbers have).
    Everything is checked before anything is stored; audited as "case.create"."""
    from ..evidence.identity import next_evidence_number

    number = (number or "").strip()
    title = _clean_text(title, "title", TITLE_MAX, required=True)
    incident = _clean_text(incident_number, "incident number", INCIDENT_MAX)
    if number:
        check_number(number)
        if Case.objects.filter(number=number).exists():
            raise CaseExists(f"case {number} exists already")
    typed = bool(number)
    try:
        with transaction.atomic():
            for _ in range(1000):  # a pattern number a person once typed by hand is skipped
                if number and not Case.objects.filter(number=number).exists():
                    break
                number = next_evidence_number(datetime.now(timezone.utc), settings.CASE_NUMBER_PATTERN)
            case = Case.objects.create(number=number, title=title, incident_number=incident)
            case.detectives.add(*detectives)
            record_request(request, "case.create", object_type="case", object_id=str(case.id),
                           detail={"number": number, "numbered": "typed" if typed else "pattern", "title": title,
                                   "incident_number": incident, "detectives": sorted(d.username for d in detectives)})
    except IntegrityError:  # the same number typed at the same moment by someone else
        raise CaseExists(f"case {number} exists already") from None
    return case


def add_recordings(request, case: Case, recordings) -> list:
    """Add ``recordings`` (the caller checked the user may change the case and sees each one)
    to an open case; those already in it are left as they are. Audited as
    "case.add_recordings" with their evidence numbers. Returns the recordings added."""
    if case.status != Case.Status.OPEN:
        raise CaseError("the case is closed: reopen it before adding recordings")
    if not recordings:
        raise CaseError("choose at least one recording")
    present = set(case.recordings.filter(pk__in=[r.pk for r in recordings]).values_list("pk", flat=True))
    new = [r for r in recordings if r.pk not in present]
    with transaction.atomic():
        case.recordings.add(*new)
        record_request(request, "case.add_recordings", object_type="case", object_id=str(case.id),
                       detail={"case": case.number, "recordings_added": [str(r.id) for r in new],
                               "evidence_numbers": [r.evidence_number or "" for r in new],
                               "already_in_case": len(recordings) - len(new)})
    return new


def remove_recording(request, case: Case, recording, reason: str) -> None:
    """Take a recording out of the case, with a reason (the caller checked the user may change
    the case). The recording itself is untouched; its retention no longer waits for this
    case. Audited as "case.remove_recording"."""
    reason = _clean_text(reason, "a reason", REASON_MAX, required=True)
    if recording is None or not case.recordings.filter(pk=recording.pk).exists():
        raise NotInCase("no such recording in this case")
    with transaction.atomic():
        case.recordings.remove(recording)
        record_request(request, "case.remove_recording", object_type="case", object_id=str(case.id),
                       detail={"case": case.number, "recording": str(recording.id),
                               "evidence_number": recording.evidence_number or "", "reason": reason})


def set_detective(request, case: Case, detective, assigned: bool) -> None:
    """Assign or unassign one detective (the caller checked the user may change the case and
    that the account can be assigned). Audited as "case.detectives" with before/after."""
    before = sorted(case.detectives.values_list("username", flat=True))
    if assigned == (detective.username in before):
        raise CaseError(f"{detective.username} is {'already' if assigned else 'not'} assigned to this case")
    with transaction.atomic():
        (case.detectives.add if assigned else case.detectives.remove)(detective)
        after = sorted(case.detectives.values_list("username", flat=True))
        record_request(request, "case.detectives", object_type="case", object_id=str(case.id),
                       detail=edit_detail({"detectives": before}, {"detectives": after}, case=case.number))


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
