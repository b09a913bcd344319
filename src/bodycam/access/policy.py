"""Who may do what: every permission of the system, named once. Deny by default.

A permission is a dotted name (``"retention.manage"``) that is either a *role set* (``ROLES``)
or a *predicate* on the user and an object (``PREDICATES``). Nothing outside this module
names a role (tests/test_policy_layers.py checks): code asks

  ``allowed(user, perm, obj=None)``   a pure yes/no (no audit), for menus and links;
  ``require(request, perm, obj=None)`` the gate: on a refusal it writes the denial audit
                                       entry and raises ``Denied`` (403);
  ``cases_visible(user)``             the cases the user may see (one query);
  ``{% load policy %}{% if user|can:"retention.manage" %}`` in templates.

Evidence reads keep their one access check, ``access.services.visible_clips`` /
``authorize`` (one restricted query; see that module); the role parts of it (which scope a
role sees, which clip actions it holds) are read from here.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone

from django.db.models import QuerySet

from ..cases.models import Case
from ..custody.services import record, record_request
from ..errors import BodycamError
from ..evidence.models import Recording
from .models import Role


class Denied(BodycamError):
    """The user may not do this: 403 (every raise is audited first)."""

    status = 403

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class NotVisible(Denied):
    """The object does not exist or the user may not see it (no existence oracle): 404."""

    status = 404


EVERYONE = frozenset(Role.values)

# ---------------------------------------------------------------- evidence visibility
# Which recordings a role sees by its role (access.services.visible_recording_ids turns
# the scope into one query; grants, restrictions and locks apply to every role on top).
OWN, SQUADS, ASSIGNED_CASES, ALL, SHARED = "own", "squads", "assigned_cases", "all", "shared"
EVIDENCE_SCOPE: dict[str, str] = {
    Role.OFFICER: OWN,                 # their own recordings (Officer row linked to the account)
    Role.SUPERVISOR: SQUADS,           # recordings of officers in squads they supervise
    Role.DETECTIVE: ASSIGNED_CASES,    # recordings linked to cases they are assigned to
    Role.CUSTODIAN: ALL,               # everything
    Role.PROSECUTOR: SHARED,           # shared with them, alone or through a case (active shares)
    # admin, auditor: nothing unless granted
}

# ---------------------------------------------------------------- role sets
ROLES: dict[str, frozenset] = {
    # Actions on one evidence item the user can see (access.services.authorize checks the
    # visibility first; a missing or invisible item is 404 whatever the role).
    "evidence.view": EVERYONE,
    "evidence.play": EVERYONE,
    "evidence.edit": frozenset({Role.OFFICER, Role.SUPERVISOR, Role.DETECTIVE, Role.CUSTODIAN}),
    # Editing may add categories; removing one, or any change that shortens the recording's
    # retention, is a supervisor's or custodian's act, with a reason (evidence_ops/services.py).
    "evidence.categories.remove": frozenset({Role.SUPERVISOR, Role.CUSTODIAN}),
    "evidence.share": frozenset({Role.DETECTIVE, Role.CUSTODIAN}),   # also: see the item's shares
    "evidence.delete": frozenset(),  # originals leave only by retention expiry (retention/), never by a user
    "evidence.audit": EVERYONE,      # those who see the item may read its custody record
    # Correcting a transcript: not the recording officer's role (it is evidence of what they said).
    "evidence.transcript.edit": frozenset({Role.SUPERVISOR, Role.DETECTIVE, Role.CUSTODIAN}),
    # Redacting for release is records work: custodians (records unit) and detectives.
    "evidence.redact": frozenset({Role.CUSTODIAN, Role.DETECTIVE}),
    # The item page lists the case numbers the recording is in.
    "evidence.case_numbers": frozenset({Role.DETECTIVE, Role.CUSTODIAN}),
    # Roles whose own recordings exist: creating such an account creates its Officer row.
    "evidence.own_recordings": frozenset({Role.OFFICER}),
    # Downloading needs DOWNLOAD_ROLES; a share recipient also needs a share that allows it
    # (the "evidence.download" predicate).
    "evidence.download.role": frozenset({Role.DETECTIVE, Role.CUSTODIAN, Role.PROSECUTOR}),

    # Shares: the accounts items and cases are shared with (they download only what a share
    # allows, and see "do not re-share" terms); revoking anyone's share.
    "share.receive": frozenset({Role.PROSECUTOR}),
    "share.revoke_any": frozenset({Role.CUSTODIAN}),

    # Cases: the Cases menu; every case; the cases one is assigned to; who can be assigned.
    "case.list": frozenset({Role.DETECTIVE, Role.CUSTODIAN, Role.PROSECUTOR}),
    "case.all": frozenset({Role.CUSTODIAN}),
    "case.assigned": frozenset({Role.DETECTIVE}),
    "case.assignee": frozenset({Role.DETECTIVE}),

    # Object rules (access.rules): organisation by admins, the rest by custodians; cases
    # are created/assigned by custodians and detectives.
    "access.squad": frozenset({Role.ADMIN}),
    "access.case": frozenset({Role.CUSTODIAN, Role.DETECTIVE}),
    "access.restriction": frozenset({Role.CUSTODIAN}),
    "access.incident_lock": frozenset({Role.CUSTODIAN}),
    "access.grant": frozenset({Role.CUSTODIAN}),
    # Who may be named a squad's supervisor (the role whose scope is the squads it supervises).
    "access.squad.supervisor": frozenset({Role.SUPERVISOR}),
    # Access requests (access/requests.py): detectives ask to see a recording for a case;
    # a supervisor of the recording officer's squad or a custodian decides (never their own).
    "access.request": frozenset({Role.DETECTIVE}),
    "access.request.decide": frozenset({Role.SUPERVISOR, Role.CUSTODIAN}),
    # Which decisions reach only the squads one supervises (custodians: every request).
    "access.request.decide.squads": frozenset({Role.SUPERVISOR}),

    # Public-records requests: the custodian's work, every step.
    "records.manage": frozenset({Role.CUSTODIAN}),

    # Retention: custodians manage policy, holds and the deletion queue; auditors and admins
    # read it; supervisors read activation compliance for the squads they supervise.
    "retention.manage": frozenset({Role.CUSTODIAN}),
    "retention.view": frozenset({Role.CUSTODIAN, Role.AUDITOR, Role.ADMIN}),
    "retention.compliance": frozenset({Role.CUSTODIAN, Role.AUDITOR, Role.ADMIN, Role.SUPERVISOR}),
    "retention.compliance.squads": frozenset({Role.SUPERVISOR}),  # limited to their squads

    # The audit log: read the whole log (and any item's trail without seeing footage);
    # sign a checkpoint of the chain.
    "audit.read": frozenset({Role.AUDITOR}),
    "audit.checkpoint": frozenset({Role.AUDITOR, Role.ADMIN}),

    # IT administration (never evidence): accounts, the jobs page, metrics.
    "accounts.manage": frozenset({Role.ADMIN}),
    "jobs.view": frozenset({Role.ADMIN}),
    "metrics.view": frozenset({Role.ADMIN}),
    # Cameras (ingest/devices.py): admins register, assign and retire them; custodians, who
    # answer for the evidence they upload, read the fleet status too.
    "devices.manage": frozenset({Role.ADMIN}),
    "devices.view": frozenset({Role.ADMIN, Role.CUSTODIAN}),

    # E-mail notifications (bodycam.notify): who may receive each kind (each person opts out).
    "notify.share_received": frozenset({Role.PROSECUTOR}),
    "notify.records_deadline": frozenset({Role.CUSTODIAN}),
    "notify.deletion_approval": frozenset({Role.CUSTODIAN}),
    "notify.custody_alert": frozenset({Role.CUSTODIAN, Role.ADMIN}),
    "notify.camera_undocked": frozenset({Role.CUSTODIAN, Role.ADMIN}),
    "notify.access_decided": frozenset({Role.DETECTIVE}),
    "notify.access_awaiting": frozenset({Role.SUPERVISOR, Role.CUSTODIAN}),

    # Live view (bodycam.live): the "On the air now" page, for those who may watch someone;
    # which officers each may watch is the "live.watch" predicate below. Never the public,
    # never a share recipient.
    "live.onair": frozenset({Role.SUPERVISOR}),
}


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)
                and getattr(user, "role", None) in Role.values)


def has_role(user) -> bool:
    """The account holds a known role (an account without one may not sign in)."""
    return getattr(user, "role", None) in Role.values


def role_may(role: str, perm: str) -> bool:
    """Whether a role (not a signed-in user) holds a role-set permission: for accounts that
    are the object of an action (a share recipient, a detective to assign)."""
    return role in ROLES[perm]


def evidence_scope(user) -> str | None:
    """Which recordings the user's role sees by itself (OWN, SQUADS, ...), or None."""
    return EVIDENCE_SCOPE.get(user.role) if _active(user) else None


# ---------------------------------------------------------------- shares
class ShareRules:
    """What shares grant, as the share models' owner (release/) answers it. Release registers
    its rules when Django starts (``ReleaseConfig.ready``), so this module, below release,
    never imports release. With no rules registered nothing is shared: deny by default."""

    def recordings(self, user, now) -> QuerySet:
        """Sub-select of recording ids shared with ``user`` as items (shares active at ``now``)."""
        return Recording.objects.none().values("id")

    def cases(self, user, now) -> QuerySet:
        """Sub-select of case ids shared with ``user`` (shares active at ``now``)."""
        return Case.objects.none().values("id")

    def allows_download(self, user, recording_id) -> bool:
        """An active share of the recording, or of a case holding it, allows download."""
        return False

    def no_reshare(self, user, recording_id) -> bool:
        """The user holds this recording under a "do not re-share" term."""
        return False

    def case_no_reshare(self, user, case) -> bool:
        """The user holds this case under a "do not re-share" term."""
        return False


_share_rules: ShareRules = ShareRules()


def register_share_rules(rules: ShareRules) -> ShareRules:
    """Install the share rules (one set: the last registered wins); returns the previous ones."""
    global _share_rules
    previous, _share_rules = _share_rules, rules
    return previous


def share_rules() -> ShareRules:
    return _share_rules


# ---------------------------------------------------------------- live view
class LiveRules:
    """Who is command staff (may watch every officer live), as the live app answers it from
    its own table (``LiveConfig.ready`` registers it). Unregistered: nobody."""

    def is_command_staff(self, user) -> bool:
        return False


_live_rules: LiveRules = LiveRules()


def register_live_rules(rules: LiveRules) -> LiveRules:
    global _live_rules
    previous, _live_rules = _live_rules, rules
    return previous


def _supervises(user, officer) -> bool:
    """``user`` supervises a squad the officer's account is a member of."""
    account_id = getattr(officer, "account_id", None)
    if account_id is None:
        return False
    from .models import Squad

    return Squad.objects.filter(supervisors=user, members=account_id).exists()


def _live_watch(user, officer) -> bool:
    """Watch an officer's camera live (obj: the evidence Officer): the officer's squad
    supervisors, and command staff for every officer."""
    if officer is None or user.role not in ROLES["live.onair"]:
        return False
    return _live_rules.is_command_staff(user) or _supervises(user, officer)


def live_command_staff(user) -> bool:
    """The user is command staff (watches every officer): for the on-air page's list."""
    return _active(user) and user.role in ROLES["live.onair"] and _live_rules.is_command_staff(user)


# ---------------------------------------------------------------- predicates
def _now():
    return datetime.now(timezone.utc)


def share_allows_download(user, recording_id) -> bool:
    """An active share of the recording, or of a case holding it, that allows download."""
    return _share_rules.allows_download(user, recording_id)


def _download(user, recording_id=None) -> bool:
    """Download an item (obj: its recording id). A share recipient needs a share allowing it;
    without an object only the role is checked (menus)."""
    if user.role not in ROLES["evidence.download.role"]:
        return False
    if recording_id is not None and user.role in ROLES["share.receive"]:
        return share_allows_download(user, recording_id)
    return True


def _assigned(user, case) -> bool:
    return case.detectives.filter(pk=user.pk).exists()


def _case_change(user, case) -> bool:
    """Change a case (status, files, add recordings): custodians; detectives assigned to it."""
    if user.role in ROLES["case.all"]:
        return True
    return user.role in ROLES["case.assigned"] and case is not None and _assigned(user, case)


def _case_share(user, case) -> bool:
    """Share a case: a role that shares evidence, and either every case or assigned to it."""
    return user.role in ROLES["evidence.share"] and (user.role in ROLES["case.all"] or
                                                      (case is not None and _assigned(user, case)))


def _share_revoke(user, share) -> bool:
    """Revoke a share or link (obj: it): custodians any; its creator while they may share."""
    if share is None:
        return False
    return user.role in ROLES["share.revoke_any"] or (share.created_by_id == user.pk
                                                      and user.role in ROLES["evidence.share"])


def _case_view(user, case) -> bool:
    return case is not None and cases_visible(user).filter(pk=case.pk).exists()


def _no_reshare(user, recording_id) -> bool:
    """A share recipient sees this recording under a "do not re-share" term."""
    return user.role in ROLES["share.receive"] and _share_rules.no_reshare(user, recording_id)


def _case_no_reshare(user, case) -> bool:
    """A share recipient holds this case under a "do not re-share" term."""
    return user.role in ROLES["share.receive"] and case is not None and _share_rules.case_no_reshare(user, case)


PREDICATES = {
    "evidence.download": _download,
    "case.view": _case_view,
    "case.change": _case_change,
    "case.share": _case_share,
    "share.revoke": _share_revoke,
    "share.no_reshare": _no_reshare,
    "case.no_reshare": _case_no_reshare,
    "live.watch": _live_watch,
}

PERMISSIONS: frozenset = frozenset(ROLES) | frozenset(PREDICATES)


def allowed(user, perm: str, obj=None) -> bool:
    """Whether ``user`` holds ``perm`` (for ``obj`` where the permission is a predicate).
    Pure: no audit. An inactive or anonymous user holds nothing; an unknown permission
    name is a programming error (ValueError), never a silent allow."""
    if perm in PREDICATES:
        return _active(user) and bool(PREDICATES[perm](user, obj))
    if perm in ROLES:
        return _active(user) and user.role in ROLES[perm]
    raise ValueError(f"unknown permission {perm!r}")


def is_admin(user) -> bool:
    """IT administration (accounts, jobs, metrics): never evidence."""
    return allowed(user, "accounts.manage")


# ---------------------------------------------------------------- gate, audit, raise
def _is_request(obj) -> bool:
    return hasattr(obj, "META") and hasattr(obj, "method")


def audit_denied(request, action: str, reason: str, object_type: str = "", object_id: str = "", status: int = 403):
    """One denied audit entry for a request (refusals that are not permission checks too:
    bad input 400, not found 404, storage full 507)."""
    record_request(request, action, object_type=object_type, object_id=object_id, outcome="denied",
                   detail={"reason": reason, "status": status})


@contextmanager
def refusals_audited(request, action: str, object_type: str = "", object_id: str = ""):
    """Audit a refusal that leaves the block: a ``BodycamError`` that is not a ``Denied``
    (bad input 400, a case error, storage full 507) writes one denied entry for ``action``
    with its message and status, then goes on to the error mappers (the page or the API
    answer). A ``Denied`` was audited where it was raised and passes untouched, so every
    refusal is audited once."""
    try:
        yield
    except Denied:
        raise
    except BodycamError as exc:
        audit_denied(request, action, exc.message, object_type=object_type, object_id=object_id, status=exc.status)
        raise


def require(request_or_user, perm: str, obj=None, *, action: str | None = None, object_type: str = "",
            object_id: str = "", reason: str | None = None, message: str | None = None, source: str = "",
            error: type[Exception] | None = None):
    """The gate: return the user if they hold ``perm`` (for ``obj``); otherwise write one
    denied audit entry (``action``, default the permission name) and raise ``error``
    (default ``Denied``, 403) with ``message``.

    ``request_or_user``: an HTTP request (actor, source and session come from it) or a
    User (e.g. a service called by the CLI or a job: actor is the username)."""
    is_req = _is_request(request_or_user)
    user = getattr(request_or_user, "user", None) if is_req else request_or_user
    if allowed(user, perm, obj):
        return user
    role = getattr(user, "role", "") or "-"
    why = reason or f"role {role} may not {perm}"
    action = action or perm
    if is_req:
        audit_denied(request_or_user, action, why, object_type=object_type, object_id=str(object_id)[:64])
    else:
        record(action, actor=getattr(user, "username", "") or "anonymous", source=source, object_type=object_type,
               object_id=str(object_id)[:64], outcome="denied", detail={"reason": why, "status": 403})
    raise (error or Denied)(message or f"your role may not do this ({perm})")


# ---------------------------------------------------------------- cases
def cases_visible(user) -> QuerySet:
    """The cases the user may see: custodians all, detectives those assigned, share
    recipients those shared with them (share active). Others none."""
    if not _active(user):
        return Case.objects.none()
    if user.role in ROLES["case.all"]:
        return Case.objects.all()
    if user.role in ROLES["case.assigned"]:
        return Case.objects.filter(detectives=user)
    if user.role in ROLES["share.receive"]:
        return Case.objects.filter(id__in=_share_rules.cases(user, _now()))
    return Case.objects.none()


def cases_changeable(user) -> QuerySet:
    """The cases the user may change (``case.change``) as one queryset."""
    if not _active(user):
        return Case.objects.none()
    if user.role in ROLES["case.all"]:
        return Case.objects.all()
    if user.role in ROLES["case.assigned"]:
        return Case.objects.filter(detectives=user)
    return Case.objects.none()


__all__ = ["PERMISSIONS", "ROLES", "PREDICATES", "EVIDENCE_SCOPE", "Denied", "NotVisible", "allowed", "require",
           "audit_denied", "refusals_audited", "cases_visible", "cases_changeable", "is_admin", "role_may", "has_role",
           "evidence_scope", "share_allows_download", "ShareRules", "register_share_rules", "share_rules",
           "LiveRules", "register_live_rules", "live_command_staff"]
