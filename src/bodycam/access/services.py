"""Who may see and do what with evidence. Deny by default.

Two questions, answered only here:
1. *Which clips may this user see?*  ``visible_clips(user)``: one restricted queryset
   (a single SQL query with sub-selects, never a per-row loop).
2. *May this user do ACTION to that clip?*  ``authorize(request, clip_id, action)``: the
   clip must be in (1) and the user's role must hold ACTION in ``PERMISSIONS``. Every
   denial is audited; a clip the user may not see answers 404 (no existence oracle).

Visibility, by role (docs/access.md has the table):
  officer     own recordings (the Officer row linked to the account)
  supervisor  recordings of officers in squads they supervise
  detective   recordings linked to cases they are assigned to
  custodian   everything
  prosecutor  recordings shared with them, alone or through a shared case (release.CaseShare)
              (share active: not revoked, not expired)
  admin       nothing unless granted
  auditor     nothing (reads the audit log instead) unless granted
then for everyone: + explicit grants, + restricted items naming them;
  - restricted items not naming them (restriction beats role),
  - recordings under a critical-incident lock that names them as involved, until released.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from django.db.models import Exists, OuterRef, Q, QuerySet

from ..cases.models import Case
from ..custody.services import record, record_request
from ..errors import BodycamError
from ..evidence.models import Clip, Officer, Recording
from .models import CriticalIncidentLock, Grant, Restriction, Role, Squad

VIEW, PLAY, DOWNLOAD, EDIT, SHARE, DELETE, AUDIT = "view", "play", "download", "edit", "share", "delete", "audit"

# Actions on one visible item, by role. Anything not listed is denied.
PERMISSIONS: dict[str, frozenset] = {
    VIEW: frozenset(Role.values),
    PLAY: frozenset(Role.values),
    DOWNLOAD: frozenset({Role.DETECTIVE, Role.CUSTODIAN, Role.PROSECUTOR}),  # prosecutor: share must allow it
    EDIT: frozenset({Role.OFFICER, Role.SUPERVISOR, Role.DETECTIVE, Role.CUSTODIAN}),
    SHARE: frozenset({Role.DETECTIVE, Role.CUSTODIAN}),
    DELETE: frozenset(),  # originals leave only by retention expiry (retention/), never by a user
    AUDIT: frozenset(Role.values),  # those who may see the item may read its custody record
}
# Read the whole audit log / any item's audit trail without seeing the footage.
AUDIT_LOG_ROLES = frozenset({Role.AUDITOR})
ACCOUNT_ADMIN_ROLES = frozenset({Role.ADMIN})


class Denied(BodycamError):
    status = 403

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class NotVisible(Denied):
    status = 404


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.role in Role.values)


def is_admin(user) -> bool:
    """IT administration (accounts, jobs, metrics): never evidence."""
    return _active(user) and user.role in ACCOUNT_ADMIN_ROLES


def visible_recording_ids(user) -> QuerySet:
    """Sub-select of Recording ids the user may see (used inside visible_clips)."""
    now = datetime.now(timezone.utc)
    if not _active(user):
        return Recording.objects.none().values("id")
    allow = Q(pk__in=[])
    role = user.role
    # Each rule is an IN (sub-select) on an indexed column, so the database unions index
    # lookups (SQLite "MULTI-INDEX OR") instead of scanning every recording.
    if role == Role.OFFICER:
        allow |= Q(officer_id__in=Officer.objects.filter(account=user).values("id"))
    elif role == Role.SUPERVISOR:
        allow |= Q(officer_id__in=Officer.objects.filter(
            account__squad__in=Squad.objects.filter(supervisors=user).values("id")).values("id"))
    elif role == Role.DETECTIVE:
        allow |= Q(id__in=Case.recordings.through.objects.filter(case__detectives=user).values("recording_id"))
    elif role == Role.CUSTODIAN:
        allow |= Q(pk__isnull=False)  # everything (Q() would vanish when OR-ed below)
    elif role == Role.PROSECUTOR:
        from ..release.models import (  # shares live in release/; still one query
            CaseShare,
            Share,
        )

        allow |= Q(id__in=Share.objects.filter(recipient=user, revoked_at__isnull=True)
                   .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).values("recording"))
        allow |= Q(id__in=Case.recordings.through.objects.filter(
            case__in=CaseShare.objects.filter(recipient=user, revoked_at__isnull=True)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).values("case")).values("recording_id"))
    named = Restriction.objects.filter(allowed=user).values("recording")
    allow |= Q(id__in=Grant.objects.filter(user=user).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
               .values("recording"))
    allow |= Q(id__in=named)
    # Items in the deletion queue (grace period) or purged (tombstones) are evidence no more.
    qs = Recording.objects.in_catalogue().filter(allow)
    qs = qs.exclude(Q(id__in=Restriction.objects.values("recording")) & ~Q(id__in=named))
    qs = qs.exclude(id__in=CriticalIncidentLock.objects.filter(involved=user, released_at__isnull=True)
                    .values("recording"))
    return qs.values("id")


def visible_clips(user, *, in_order: bool = False) -> QuerySet:
    """THE access check for evidence: every read of clips starts here.

    ``in_order``: the same rule as a correlated EXISTS instead of IN (...), for callers that
    page through a large visible set in index order (a custodian's search): the database
    then walks the ORDER BY index and stops after one page instead of collecting every id."""
    qs = Clip.objects.select_related("recording__officer__account", "recording__device")
    if not _active(user):
        return qs.none()
    if in_order:
        return qs.filter(Exists(visible_recording_ids(user).filter(pk=OuterRef("recording_id"))))
    return qs.filter(recording_id__in=visible_recording_ids(user))


def may(user, action: str) -> bool:
    return _active(user) and user.role in PERMISSIONS.get(action, ())


def prosecutor_may_download(user, recording_id) -> bool:
    """An active share of the recording, or of a case holding it, that allows download."""
    from ..release.models import CaseShare, Share

    now = datetime.now(timezone.utc)
    live = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    return Share.objects.filter(recipient=user, recording_id=recording_id, allow_download=True,
                                revoked_at__isnull=True).filter(live).exists() or \
        CaseShare.objects.filter(recipient=user, allow_download=True, revoked_at__isnull=True,
                                 case__recordings=recording_id).filter(live).exists()


def parse_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def authorize(request, clip_id, action: str) -> Clip:
    """The clip, if ``request.user`` may do ``action`` to it; otherwise audit the denial
    and raise NotVisible (404) or Denied (403)."""
    user = request.user
    cid = parse_uuid(clip_id)

    def deny(exc: Denied):
        record_request(request, f"evidence.{action}", object_type="clip", object_id=str(clip_id)[:64],
                       outcome="denied", detail={"reason": exc.reason, "status": exc.status})
        raise exc

    if action == DELETE:
        deny(Denied("originals are never deleted by a user; only retention expiry deletes, and it is audited"))
    if cid is None:
        deny(NotVisible("not a clip id"))
    if action == AUDIT and _active(user) and user.role in AUDIT_LOG_ROLES:
        clip = Clip.objects.select_related("recording__officer__account", "recording__device").filter(id=cid).first()
    else:
        clip = visible_clips(user).filter(id=cid).first()
    if clip is None:
        deny(NotVisible("no such clip, or not visible to this user"))
    if not may(user, action):
        deny(Denied(f"role {user.role} may not {action} evidence"))
    if action == DOWNLOAD and user.role == Role.PROSECUTOR and not prosecutor_may_download(user, clip.recording_id):
        deny(Denied("the share does not allow download"))
    return clip


def capabilities(user, clip: Clip) -> dict:
    caps = {a: may(user, a) for a in (PLAY, DOWNLOAD, EDIT, SHARE, AUDIT)}
    if caps[DOWNLOAD] and user.role == Role.PROSECUTOR:
        caps[DOWNLOAD] = prosecutor_may_download(user, clip.recording_id)
    caps[DELETE] = False
    return caps


def audit_denied(request, action: str, reason: str, object_type: str = "", object_id: str = "", status: int = 403):
    record_request(request, action, object_type=object_type, object_id=object_id, outcome="denied",
                   detail={"reason": reason, "status": status})


__all__ = ["visible_clips", "visible_recording_ids", "authorize", "may", "capabilities", "Denied", "NotVisible",
           "PERMISSIONS", "record"]
