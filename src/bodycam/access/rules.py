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


class RuleDenied(RuleError, policy.Denied):
    """The actor may not make this change (their role, or it is their own privilege): 403,
    audited where raised (a ``Denied``, so ``policy.refusals_audited`` does not audit it twice)."""

    status = 403


class RuleNotFound(RuleError):
    """The squad, grant or rule named does not exist: 404."""

    status = 404


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


def _reason(reason) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise RuleError("a reason is required (it is kept in the audit log)")
    if len(reason) > 500:
        raise RuleError("the reason is at most 500 characters")
    return reason


def _not_self(actor, users, action: str, what: str, source: str = "") -> None:
    """Nobody changes their own privileges (invariant 4): one denied audit entry, 403."""
    if actor is not None and any(u.pk == actor.pk for u in users):
        record(action, actor=actor.username, source=source, outcome="denied",
               detail={"reason": f"may not {what} oneself", "status": 403})
        raise RuleDenied(f"you may not {what} yourself: another custodian does")


def visible_recording(request, key: str, action: str) -> Recording:
    """The recording a page's picker chose, if the request's user may see it (the one access
    check); otherwise one denied audit entry and NotVisible (404). Rules are made only on what
    their maker sees."""
    from .services import visible_recording_ids

    rid = parse_uuid(key or "")
    rec = Recording.objects.filter(id=rid, id__in=visible_recording_ids(request.user)).first() if rid else None
    if rec is None:
        policy.audit_denied(request, action, "no such recording, or not visible to this user",
                            object_type="recording", object_id=str(key)[:64], status=404)
        raise policy.NotVisible("choose a recording you can see (search by evidence number, title, officer or date)")
    return rec


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


def _squad_people(supervisors, members) -> tuple[list[User], list[User]]:
    sups, mems = _users(supervisors), _users(members)
    bad = [u.username for u in sups if not policy.role_may(u.role, "access.squad.supervisor")]
    if bad:
        raise RuleError(f"only supervisors supervise a squad: {', '.join(bad)}")
    bad = [u.username for u in mems if not policy.role_may(u.role, "evidence.own_recordings")]
    if bad:
        raise RuleError(f"a squad's members are officers (accounts with recordings of their own): {', '.join(bad)}")
    return sups, mems


def set_squad(name: str, supervisors=(), members=(), reason: str = "", actor=None, *, create: bool = False,
              source: str = "") -> Squad:
    """Create a squad (``create``: the name must be new) or set an existing one's supervisors and
    members to exactly these. A member moves from any other squad. One audit entry with the
    reason and what changed."""
    who = _who(actor, "squad", source)
    reason = _reason(reason)
    name = (name or "").strip()
    if not name or len(name) > 100 or any(ord(c) < 32 for c in name):
        raise RuleError("squad name must be 1-100 printable characters")
    sups, mems = _squad_people(supervisors, members)
    with transaction.atomic():
        squad = Squad.objects.select_for_update().filter(name=name).first()
        if create and squad is not None:
            raise RuleError(f"a squad named {name!r} already exists")
        if squad is None and not create:
            raise RuleError(f"no squad {name!r}")
        if squad is None:
            squad = Squad.objects.create(name=name)
        before = {"supervisors": sorted(squad.supervisors.values_list("username", flat=True)),
                  "members": sorted(squad.members.values_list("username", flat=True))}
        moved = {u.username: u.squad.name for u in User.objects.select_related("squad").filter(
            pk__in=[m.pk for m in mems]).exclude(squad=squad).exclude(squad=None)}
        squad.supervisors.set(sups)
        User.objects.filter(squad=squad).exclude(pk__in=[m.pk for m in mems]).update(squad=None)
        User.objects.filter(pk__in=[m.pk for m in mems]).update(squad=squad)
        after = {"supervisors": sorted(u.username for u in sups), "members": sorted(u.username for u in mems)}
        detail = {"name": name, "reason": reason, "moved_from": moved}
        if create:
            detail |= {"supervisors_added": after["supervisors"], "members_added": after["members"]}
        else:
            detail |= {"before": {k: v for k, v in before.items() if after[k] != v},
                       "after": {k: v for k, v in after.items() if before[k] != v}}
        record("access.squad" if create else "access.squad.change", actor=who, source=source, object_type="squad",
               object_id=str(squad.id), detail=detail)
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


def restrict(recording: str, reason: str, allowed=(), actor=None, source: str = "") -> Restriction:
    who = _who(actor, "restriction", source)
    if not reason:
        raise RuleError("a reason is required")
    rec, users = get_recording(recording), _users(allowed)
    existing = Restriction.objects.filter(recording=rec).first()
    if existing is not None and actor is not None and not existing.allowed.filter(pk=actor.pk).exists():
        _not_self(actor, users, "access.restrict", "add to a restriction", source)  # one is not on it
    with transaction.atomic():
        r, created = Restriction.objects.get_or_create(recording=rec, defaults={"reason": reason[:200]})
        r.allowed.add(*users)
        record("access.restrict", actor=who, source=source, object_type="recording", object_id=str(rec.id),
               detail={"reason": reason, "created": created, "allowed_added": [u.username for u in users]})
    return r


def unrestrict(recording: str, reason: str, actor=None, source: str = "") -> None:
    """Lift a recording's restriction: it is seen again by whoever its role lets see it."""
    who = _who(actor, "restriction", source)
    reason = _reason(reason)
    rec = get_recording(recording)
    with transaction.atomic():
        r = Restriction.objects.select_for_update().filter(recording=rec).first()
        if r is None:
            raise RuleError("the recording is not restricted")
        detail = {"reason": reason, "restriction_reason": r.reason,
                  "allowed": sorted(r.allowed.values_list("username", flat=True))}
        r.delete()
        record("access.unrestrict", actor=who, source=source, object_type="recording", object_id=str(rec.id),
               detail=detail)


def lock_incident(recording: str, involved, reason: str = "", actor=None, source: str = "") -> CriticalIncidentLock:
    who = _who(actor, "incident_lock", source)
    if actor is not None:
        reason = _reason(reason)
    rec, users = get_recording(recording), _users(involved)
    if not users:
        raise RuleError("name at least one involved officer")
    with transaction.atomic():
        lock = CriticalIncidentLock.objects.create(recording=rec, reason=reason[:200])
        lock.involved.add(*users)
        record("access.incident_lock", actor=who, source=source, object_type="recording", object_id=str(rec.id),
               detail={"lock": str(lock.id), "involved": [u.username for u in users], "reason": reason})
    return lock


def release_incident(recording: str, actor=None, source: str = "", reason: str | None = None) -> int:
    """A custodian releases every open critical-incident lock on the recording. The pages ask
    for a ``reason`` (required when given as a string); the older API call names none."""
    who = _who(actor, "incident_lock", source)
    detail = {} if reason is None else {"reason": _reason(reason)}
    rec = get_recording(recording)
    with transaction.atomic():
        n = CriticalIncidentLock.objects.filter(recording=rec, released_at__isnull=True).update(
            released_at=datetime.now(timezone.utc))
        if reason is not None and not n:
            raise RuleError("the recording has no open critical-incident lock")
        record("access.incident_release", actor=who, source=source, object_type="recording", object_id=str(rec.id),
               detail={"released": n, **detail})
    return n


MAX_GRANT_DAYS = 3650


def make_grant(user: User, rec: Recording, reason: str, days: int | None = None) -> Grant:
    """A grant of ``rec`` to ``user`` for ``days`` (None: until revoked). No check, no audit:
    the callers (``grant`` below, an approved access request in ``access.requests``) check who
    may grant and write the one audit entry of the act, inside their transaction."""
    expires = datetime.now(timezone.utc) + timedelta(days=days) if days else None
    return Grant.objects.create(user=user, recording=rec, reason=reason[:200], expires_at=expires)


def grant(username: str, recording: str, reason: str, days: int | None = None, actor=None, source: str = "") -> Grant:
    who = _who(actor, "grant", source)
    if not reason:
        raise RuleError("a reason is required")
    if days is not None and not (isinstance(days, int) and 1 <= days <= MAX_GRANT_DAYS):
        raise RuleError(f"a grant lasts 1-{MAX_GRANT_DAYS} days")
    (user,), rec = _users([username]), get_recording(recording)
    _not_self(actor, [user], "access.grant", "grant access to", source)
    with transaction.atomic():
        g = make_grant(user, rec, reason, days)
        record("access.grant", actor=who, source=source, object_type="recording", object_id=str(rec.id),
               detail={"grant": str(g.id), "user": user.username, "reason": reason,
                       "expires_at": isoformat(g.expires_at)})
    return g


def revoke_grant(grant_id: str, reason: str, actor=None, source: str = "") -> Grant:
    """End a grant now (its row stays, expired, for the record)."""
    who = _who(actor, "grant", source)
    reason = _reason(reason)
    gid = parse_uuid(grant_id or "")
    now = datetime.now(timezone.utc)
    with transaction.atomic():
        g = Grant.objects.select_for_update().select_related("user").filter(id=gid).first() if gid else None
        if g is None:
            raise RuleError("no such grant")
        if g.expires_at is not None and g.expires_at <= now:
            raise RuleError("the grant has already ended")
        was = g.expires_at
        Grant.objects.filter(pk=g.pk).update(expires_at=now)
        record("access.grant_revoke", actor=who, source=source, object_type="recording", object_id=str(g.recording_id),
               detail={"grant": str(g.id), "user": g.user.username, "reason": reason,
                       "before": {"expires_at": isoformat(was)}, "after": {"expires_at": isoformat(now)}})
    g.refresh_from_db()
    return g
