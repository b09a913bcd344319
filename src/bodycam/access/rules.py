"""Managing the object rules: squads, cases, restrictions, critical-incident locks and
grants. Each change is one audit entry. ``actor`` is a User (checked against the role
allowed to make the change) or None for the operator's CLI (actor "cli")."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from django.db import transaction

from ..cases import services as cases
from ..cases.models import Case
from ..custody.services import record
from ..errors import BodycamError
from ..evidence.models import Recording
from ..numbers import parse_uuid
from ..timefmt import isoformat
from . import policy
from .models import CriticalIncidentLock, Grant, Restriction, Squad, User

# Who may manage what (besides the CLI) is access.policy's "access.<kind>".


class RuleError(BodycamError):
    """Bad request (unknown user/recording, bad value): 400."""

    status = 400


class RuleDenied(RuleError):
    """The actor's role may not make this change: 403."""

    status = 403


def _who(actor, kind: str, source: str = "") -> str:
    if actor is None:
        return "cli"
    policy.require(actor, f"access.{kind}", source=source, reason=f"role may not manage {kind}",
                   message=f"your role may not manage {kind.replace('_', ' ')}s", error=RuleDenied)
    return actor.username


def _users(names) -> list[User]:
    users = []
    for n in names or []:
        u = User.objects.filter(username=n).first()
        if u is None:
            raise RuleError(f"no user {n!r}")
        users.append(u)
    return users


def get_recording(key: str) -> Recording:
    rec = Recording.objects.filter(container_name=key).first()
    if rec is None and parse_uuid(key):
        rec = Recording.objects.filter(id=parse_uuid(key)).first()
    if rec is None:
        raise RuleError(f"no recording {key!r}")
    return rec


def add_squad(name: str, supervisors=(), members=(), actor=None) -> Squad:
    who = _who(actor, "squad")
    if not name or len(name) > 100:
        raise RuleError("squad name must be 1-100 characters")
    sups, mems = _users(supervisors), _users(members)
    with transaction.atomic():
        squad, _ = Squad.objects.get_or_create(name=name)
        squad.supervisors.add(*sups)
        User.objects.filter(pk__in=[m.pk for m in mems]).update(squad=squad)
        record("access.squad", actor=who, object_type="squad", object_id=str(squad.id),
               detail={"name": name, "supervisors_added": [u.username for u in sups],
                       "members_added": [u.username for u in mems]})
    return squad


def add_case(number: str, title: str = "", detectives=(), recordings=(), actor=None) -> Case:
    """Create a case (or add to it): the detectives must hold "case.assignee"."""
    who = _who(actor, "case")
    cases.check_number(number)
    dets = _users(detectives)
    if not all(policy.role_may(d.role, "case.assignee") for d in dets):
        raise RuleError("only detectives are assigned to cases")
    recs = [get_recording(r) for r in recordings or []]
    return cases.add_case(number, who, title=title, detectives=dets, recordings=recs)


def restrict(recording: str, reason: str, allowed=(), actor=None) -> Restriction:
    who = _who(actor, "restriction")
    if not reason:
        raise RuleError("a reason is required")
    rec, users = get_recording(recording), _users(allowed)
    with transaction.atomic():
        r, created = Restriction.objects.get_or_create(recording=rec, defaults={"reason": reason[:200]})
        r.allowed.add(*users)
        record("access.restrict", actor=who, object_type="recording", object_id=str(rec.id),
               detail={"reason": reason, "created": created, "allowed_added": [u.username for u in users]})
    return r


def lock_incident(recording: str, involved, reason: str = "", actor=None) -> CriticalIncidentLock:
    who = _who(actor, "incident_lock")
    rec, users = get_recording(recording), _users(involved)
    if not users:
        raise RuleError("name at least one involved officer")
    with transaction.atomic():
        lock = CriticalIncidentLock.objects.create(recording=rec, reason=reason[:200])
        lock.involved.add(*users)
        record("access.incident_lock", actor=who, object_type="recording", object_id=str(rec.id),
               detail={"lock": str(lock.id), "involved": [u.username for u in users], "reason": reason})
    return lock


def release_incident(recording: str, actor=None, source: str = "") -> int:
    """A custodian releases every open critical-incident lock on the recording."""
    who = _who(actor, "incident_lock", source)
    rec = get_recording(recording)
    with transaction.atomic():
        n = CriticalIncidentLock.objects.filter(recording=rec, released_at__isnull=True).update(
            released_at=datetime.now(timezone.utc))
        record("access.incident_release", actor=who, source=source, object_type="recording", object_id=str(rec.id),
               detail={"released": n})
    return n


def make_grant(user: User, rec: Recording, reason: str, days: int | None = None) -> Grant:
    """A grant of ``rec`` to ``user`` for ``days`` (None: until revoked). No check, no audit:
    the callers (``grant`` below, an approved access request in ``access.requests``) check who
    may grant and write the one audit entry of the act, inside their transaction."""
    expires = datetime.now(timezone.utc) + timedelta(days=days) if days else None
    return Grant.objects.create(user=user, recording=rec, reason=reason[:200], expires_at=expires)


def grant(username: str, recording: str, reason: str, days: int | None = None, actor=None) -> Grant:
    who = _who(actor, "grant")
    if not reason:
        raise RuleError("a reason is required")
    (user,), rec = _users([username]), get_recording(recording)
    with transaction.atomic():
        g = make_grant(user, rec, reason, days)
        record("access.grant", actor=who, object_type="recording", object_id=str(rec.id),
               detail={"grant": str(g.id), "user": user.username, "reason": reason,
                       "expires_at": isoformat(g.expires_at)})
    return g
