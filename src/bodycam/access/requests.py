"""Access requests: a detective asks to see another officer's recording for one of their
cases; a supervisor of that officer's squad or a custodian approves (a time-limited
``Grant``, made by ``rules.make_grant``) or denies it. Every step is audited.

What a detective sees while choosing (``search``), before anyone approved anything: a
*metadata-only* list. Each row: evidence number, title, officer (name, badge), camera kind,
start time and length, and the dispatch incident (number, call type, location) it is linked
to. Never a thumbnail, a transcript, notes or tags, and no text search (a word search would
reach transcripts and notes: content). Restricted recordings and those under a
critical-incident lock naming the requester are left out altogether (not even their
number), as is anything no longer in the catalogue.

Who decides: ``access.request.decide`` (supervisors, custodians); a supervisor only requests
for recordings of officers in squads they supervise (``access.request.decide.squads``); both
only for recordings they may see themselves (the one visibility query: a restricted or
locked recording hidden from them cannot be approved by them), never their own request.

For the homes pages: ``open_requests_of(user)`` (a requester's requests awaiting a decision)
and ``requests_awaiting(user)`` (the requests this user may decide now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from ..cases.models import Case
from ..custody.services import record_request
from ..errors import BodycamError
from ..evidence.identity import display_title, incidents_of, recordings_of_incident
from ..evidence.models import Officer, Recording
from ..numbers import parse_uuid, whole_number
from ..timefmt import day_bounds, isoformat
from . import policy, rules
from .models import AccessRequest, CriticalIncidentLock, Restriction
from .policy import Denied, NotVisible, audit_denied, cases_changeable, refusals_audited

GRANT_DAYS_DEFAULT = 14
GRANT_DAYS_MAX = 90
REASON_MAX = 500
MAX_PER_REQUEST = 20
SEARCH_LIMIT = 50


class RequestError(BodycamError):
    """A refused access request or decision (bad value): 400, nothing changed."""

    status = 400


class RequestConflict(RequestError):
    """The request was decided already, or approving it could not show the recording: 409."""

    status = 409


# ---------------------------------------------------------------- what may be asked for
def requestable(user) -> QuerySet:
    """Recordings ``user`` may ask for: in the catalogue, not restricted, not under an open
    critical-incident lock naming them."""
    return (Recording.objects.in_catalogue()
            .exclude(id__in=Restriction.objects.values("recording"))
            .exclude(id__in=CriticalIncidentLock.objects.filter(involved=user, released_at__isnull=True)
                     .values("recording")))


@dataclass
class Filters:
    officer: Officer | None = None
    date_from: str = ""
    date_to: str = ""
    incident: str = ""
    place: str = ""

    def any(self) -> bool:
        return bool(self.officer or self.date_from or self.date_to or self.incident or self.place)

    def audit(self) -> dict:
        return {"officer": str(self.officer.id) if self.officer else "", "from": self.date_from,
                "to": self.date_to, "incident": self.incident, "place": self.place}


def _day(value: str, name: str):
    value = (value or "").strip()
    if not value:
        return ""
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise RequestError(f"{name} must be a date (YYYY-MM-DD)") from None
    return value


def _text(value, name: str, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit or not value.isprintable():
        raise RequestError(f"{name} is at most {limit} printable characters")
    return value


def parse_filters(params) -> Filters:
    f = Filters(date_from=_day(params.get("from", ""), "from"), date_to=_day(params.get("to", ""), "to"),
                incident=_text(params.get("incident", ""), "incident number", 64),
                place=_text(params.get("place", ""), "place", 100))
    officer = (params.get("officer") or "").strip()
    if officer:
        f.officer = Officer.objects.filter(id=parse_uuid(officer)).first() if parse_uuid(officer) else None
        if f.officer is None:
            raise RequestError("choose an officer from the list")
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise RequestError("from is after to")
    return f


def officers() -> list[dict]:
    """The officers to choose from: name and badge (no recordings counted: that would tell)."""
    rows = Officer.objects.select_related("account").order_by("name", "user_key")
    return [{"id": str(o.id), "label": (o.name or (o.account.username if o.account_id else "") or "officer")
             + (f" #{(o.account.badge if o.account_id else '') or o.user_key}"
                if (o.account_id and o.account.badge) or o.user_key else "")} for o in rows]


def search(request, params) -> tuple[Filters, list[dict]]:
    """The metadata-only candidates for a request (module docstring), at most SEARCH_LIMIT,
    newest first; each marked ``visible`` (the user sees it already: add it to the case
    instead) or ``pending`` (already asked). Audited as "access.request.search"."""
    from .services import visible_recording_ids

    user = policy.require(request, "access.request", action="access.request.search", object_type="recording",
                          reason=f"role {getattr(request.user, 'role', '-')} may not request access",
                          message="only detectives request access to recordings")
    with refusals_audited(request, "access.request.search", object_type="recording"):
        f = parse_filters(params)
        if not f.any():
            return f, []
    qs = requestable(user)
    if f.officer:
        qs = qs.filter(officer=f.officer)
    zone = settings.AGENCY_TIME_ZONE
    if f.date_from:
        qs = qs.filter(trigger_on_time__gte=day_bounds(datetime.strptime(f.date_from, "%Y-%m-%d").date(), zone)[0])
    if f.date_to:
        qs = qs.filter(trigger_on_time__lte=day_bounds(datetime.strptime(f.date_to, "%Y-%m-%d").date(), zone)[1])
    if f.incident or f.place:
        subs = recordings_of_incident(f.incident, f.place)
        cond = Q(pk__in=[])
        for sub in subs:
            cond |= Q(id__in=sub)
        qs = qs.filter(cond)
    recs = list(qs.select_related("officer__account", "device").order_by("-trigger_on_time")[:SEARCH_LIMIT])
    rows = describe(user, recs)
    ids = [r.id for r in recs]
    visible = set(visible_recording_ids(user).filter(id__in=ids).values_list("id", flat=True))
    pending = set(AccessRequest.objects.filter(requester=user, recording_id__in=ids,
                                               status=AccessRequest.Status.PENDING)
                  .values_list("recording_id", flat=True))
    for row, rec in zip(rows, recs):
        row["visible"], row["pending"] = rec.id in visible, rec.id in pending
    record_request(request, "access.request.search", object_type="recording",
                   detail={"filters": f.audit(), "count": len(rows), "shown": [r["number"] for r in rows]})
    return f, rows


def describe(user, recs) -> list[dict]:
    """The metadata rows of ``recs`` (module docstring: what is safe to show before access)."""
    ids = [r.id for r in recs]
    cats: dict = {}
    for rid, name in (Recording.categories.through.objects.filter(recording_id__in=ids)
                      .values_list("recording_id", "category__name")):
        cats.setdefault(rid, []).append(name)
    incidents = incidents_of(ids)
    out = []
    for rec in recs:
        officer = rec.officer
        account = officer.account if officer.account_id else None
        start = rec.start_time or rec.trigger_on_time
        stop = rec.stop_time or rec.trigger_off_time
        out.append({"id": str(rec.id), "number": rec.evidence_number or "",
                    "title": display_title(rec, sorted(cats.get(rec.id, [])), incidents.get(rec.id)),
                    "officer": officer.name or (account.username if account else ""),
                    "badge": (account.badge if account else "") or officer.user_key,
                    "camera": rec.device.get_kind_display() if rec.device_id else "",
                    "started": start, "length_s": (stop - start).total_seconds() if stop and stop > start else None,
                    "incident": incidents.get(rec.id) or {}})
    return out


# ---------------------------------------------------------------- asking
def create(request, case_number: str, recording_ids, reason: str) -> list[AccessRequest]:
    """One request per chosen recording, for one of the requester's open cases, with a
    reason. Everything is checked before anything is stored; one audit entry per request."""
    from .services import visible_recording_ids

    user = policy.require(request, "access.request", action="access.request", object_type="recording",
                          reason=f"role {getattr(request.user, 'role', '-')} may not request access",
                          message="only detectives request access to recordings")
    with refusals_audited(request, "access.request", object_type="recording"):
        case = cases_changeable(user).filter(number=(case_number or "")[:64], status=Case.Status.OPEN).first()
        if case is None:
            raise RequestError("choose one of your open cases")
        reason = (reason or "").strip()
        if not reason or len(reason) > REASON_MAX or not reason.isprintable():
            raise RequestError(f"say why you need it (1-{REASON_MAX} characters)")
        ids = list(dict.fromkeys(recording_ids or []))
        if not ids or len(ids) > MAX_PER_REQUEST:
            raise RequestError(f"choose 1-{MAX_PER_REQUEST} recordings")
        uuids = [parse_uuid(i) for i in ids]
        recs = {r.id: r for r in requestable(user).filter(id__in=[u for u in uuids if u])}
        if None in uuids or len(recs) != len(uuids):
            raise RequestError("a chosen recording is not one you may request")
        seen = visible_recording_ids(user).filter(id__in=list(recs)).values_list("id", flat=True)
        if seen:
            raise RequestError(f"you can see {recs[seen[0]].evidence_number} already: add it to the case instead")
        asked = AccessRequest.objects.filter(requester=user, recording_id__in=list(recs),
                                             status=AccessRequest.Status.PENDING).select_related("recording").first()
        if asked:
            raise RequestConflict(f"you asked for {asked.recording.evidence_number} already; it awaits a decision")
    made = []
    with transaction.atomic():
        for rid in uuids:
            rec = recs[rid]
            ar = AccessRequest.objects.create(requester=user, recording=rec, case=case, reason=reason)
            record_request(request, "access.request", object_type="recording", object_id=str(rec.id),
                           detail={"request": str(ar.id), "case": case.number, "evidence_number": rec.evidence_number,
                                   "officer": rec.officer.name, "reason": reason})
            made.append(ar)
    return made


# ---------------------------------------------------------------- deciding
def decidable(user) -> QuerySet:
    """Every request (any state) ``user`` may decide: role, squads, the recording visible to
    them (the one query), never their own."""
    from .services import visible_recording_ids

    if not policy.allowed(user, "access.request.decide"):
        return AccessRequest.objects.none()
    qs = AccessRequest.objects.exclude(requester=user)
    if policy.allowed(user, "access.request.decide.squads"):
        qs = qs.filter(recording__officer__account__squad__supervisors=user)
    return qs.filter(recording_id__in=visible_recording_ids(user))


def requests_awaiting(user) -> QuerySet:
    """The requests awaiting a decision that ``user`` may make (for a queue or a home page)."""
    return (decidable(user).filter(status=AccessRequest.Status.PENDING)
            .select_related("requester", "recording__officer", "case").order_by("created_at"))


def open_requests_of(user) -> QuerySet:
    """``user``'s own requests still awaiting a decision (for a home page)."""
    return (AccessRequest.objects.filter(requester=user, status=AccessRequest.Status.PENDING)
            .select_related("recording__officer", "case").order_by("-created_at"))


def state(ar: AccessRequest, now: datetime | None = None) -> str:
    """pending | approved | expired (approved, grant past its end) | denied."""
    now = now or datetime.now(timezone.utc)
    if ar.status == AccessRequest.Status.APPROVED and ar.grant and ar.grant.expires_at and ar.grant.expires_at <= now:
        return "expired"
    return ar.status


def get(request, request_id, action: str = "access.request.view") -> tuple[AccessRequest, bool]:
    """(the request, whether the user may decide it): its requester or someone who may decide
    it; anyone else gets 404 (audited), as for a request that does not exist."""
    user = request.user
    rid = parse_uuid(request_id)
    ar = AccessRequest.objects.select_related("requester", "recording__officer__account", "recording__device",
                                              "case", "decided_by", "grant").filter(id=rid).first() if rid else None
    if ar is not None and ar.requester_id == user.pk:
        return ar, False
    if ar is not None and decidable(user).filter(pk=ar.pk).exists():
        return ar, True
    audit_denied(request, action, "no such request, or not one this user asked for or may decide",
                 object_type="access_request", object_id=str(request_id)[:64], status=404)
    raise NotVisible("no such access request")


def decide(request, request_id, approve: bool, days=None, reason: str = "") -> AccessRequest:
    """Approve (a grant of the recording to the requester for ``days``, 1-GRANT_DAYS_MAX) or
    deny (a reason required) a pending request. Audited as "access.request.approve" / ".deny"
    (the approval's entry names the grant and its end); refusals too, nothing changed."""
    action = "access.request.approve" if approve else "access.request.deny"
    policy.require(request, "access.request.decide", action=action, object_type="access_request",
                   object_id=str(request_id)[:64], reason="role may not decide access requests",
                   message="only a supervisor of the officer's squad or a custodian decides access requests")
    rid = parse_uuid(request_id)
    own = AccessRequest.objects.filter(id=rid, requester=request.user).exists() if rid else False
    if own:
        audit_denied(request, action, "one's own request", object_type="access_request", object_id=str(rid))
        raise Denied("you may not decide your own request")
    ar, may_decide = get(request, request_id, action)
    if not may_decide:  # (the requester: refused above; kept as a second guard)
        audit_denied(request, action, "one's own request", object_type="access_request", object_id=str(ar.id))
        raise Denied("you may not decide your own request")
    with refusals_audited(request, action, object_type="access_request", object_id=str(ar.id)):
        reason = (reason or "").strip()
        if len(reason) > REASON_MAX or not reason.isprintable():
            raise RequestError(f"the reason is at most {REASON_MAX} printable characters")
        if not approve and not reason:
            raise RequestError("say why the request is denied")
        n_days = None
        if approve:
            n_days = whole_number(days) if str(days or "").strip() else GRANT_DAYS_DEFAULT
            if n_days is None or not 1 <= n_days <= GRANT_DAYS_MAX:
                raise RequestError(f"days must be a whole number, 1-{GRANT_DAYS_MAX}")
            _check_effective(ar)
        with transaction.atomic():
            locked = AccessRequest.objects.select_for_update().get(pk=ar.pk)
            if locked.status != AccessRequest.Status.PENDING:
                raise RequestConflict(f"this request was {locked.status} already")
            now = datetime.now(timezone.utc)
            detail = {"request": str(ar.id), "requester": ar.requester.username, "case": ar.case.number,
                      "evidence_number": ar.recording.evidence_number, "reason": reason}
            if approve:
                g = rules.make_grant(ar.requester, ar.recording,
                                     f"access request for case {ar.case.number}: {ar.reason}", n_days)
                locked.grant = g
                detail.update({"grant": str(g.id), "days": n_days, "expires_at": isoformat(g.expires_at)})
            locked.status = AccessRequest.Status.APPROVED if approve else AccessRequest.Status.DENIED
            locked.decided_by, locked.decided_at, locked.decision_reason = request.user, now, reason
            locked.save(update_fields=["grant", "status", "decided_by", "decided_at", "decision_reason"])
            record_request(request, action, object_type="recording", object_id=str(ar.recording_id), detail=detail)
    return locked


def _check_effective(ar: AccessRequest) -> None:
    """A grant that could not show the recording to the requester is refused, not made."""
    rec = ar.recording
    restriction = Restriction.objects.filter(recording=rec).first()
    if restriction and not restriction.allowed.filter(pk=ar.requester_id).exists():
        raise RequestConflict("the recording is restricted: a grant does not lift a restriction; a custodian "
                              "names the detective on it instead")
    if CriticalIncidentLock.objects.filter(recording=rec, involved=ar.requester, released_at__isnull=True).exists():
        raise RequestConflict("the requester is involved in a critical-incident lock on this recording")


def listing(request) -> dict:
    """The requests page: the user's own requests and those they may decide (pending first,
    then the latest decided). Audited as "access.request.list"."""
    user = request.user
    if not (policy.allowed(user, "access.request") or policy.allowed(user, "access.request.decide")):
        audit_denied(request, "access.request.list", f"role {getattr(user, 'role', '-')} has no access requests",
                     object_type="access_request")
        raise Denied("only detectives, supervisors and custodians have access requests")
    rel = ("requester", "recording__officer__account", "case", "decided_by", "grant")
    mine = list(AccessRequest.objects.filter(requester=user).select_related(*rel)[:200])
    awaiting = list(requests_awaiting(user).select_related(*rel)[:200])
    decided = list(decidable(user).exclude(status=AccessRequest.Status.PENDING).select_related(*rel)
                   .order_by("-decided_at")[:50])
    now = datetime.now(timezone.utc)
    for ar in mine + awaiting + decided:
        ar.state = state(ar, now)
    record_request(request, "access.request.list", object_type="access_request",
                   detail={"mine": len(mine), "awaiting": len(awaiting), "decided": len(decided)})
    return {"mine": mine, "awaiting": awaiting, "decided": decided,
            "may_request": policy.allowed(user, "access.request"),
            "may_decide": policy.allowed(user, "access.request.decide")}
