"""Who may see and do what with evidence. Deny by default.

Two questions, answered only here:
1. *Which clips may this user see?*  ``visible_clips(user)``: one restricted queryset
   (a single SQL query with sub-selects, never a per-row loop).
2. *May this user do ACTION to that clip?*  ``authorize(request, clip_id, action)``: the
   clip must be in (1) and the user's role must hold ACTION (``access.policy``). Every
   denial is audited; a clip the user may not see answers 404 (no existence oracle).

Visibility, by role (docs/access.md has the table):
  officer     own recordings (the Officer row linked to the account)
  supervisor  recordings of officers in squads they supervise
  detective   recordings linked to cases they are assigned to (with BODYCAM_DETECTIVES_SEE_ALL:
              every recording, less the exclusions below)
  custodian   everything
  prosecutor  recordings shared with them, alone or through a shared case (rules from release/)
              (share active: not revoked, not expired)
  admin       nothing unless granted
  auditor     nothing (reads the audit log instead) unless granted
then for everyone: + explicit grants, + restricted items naming them;
  - restricted items not naming them (restriction beats role),
  - recordings under a critical-incident lock that names them as involved, until released.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime, timezone

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from ..cases.models import Case
from ..custody.services import record_request
from ..evidence.models import Clip, Officer, Recording
from ..numbers import parse_uuid
from . import policy
from .models import CriticalIncidentLock, Grant, Restriction, Squad
from .policy import Denied, NotVisible, audit_denied  # noqa: F401  (callers import them from here)

VIEW, PLAY, DOWNLOAD, EDIT, SHARE, DELETE, AUDIT = "view", "play", "download", "edit", "share", "delete", "audit"
# Clip actions with their own rule (access.policy "evidence.transcript.edit", "evidence.redact").
TRANSCRIPT_EDIT, REDACT = "transcript.edit", "redact"
CLIP_ACTIONS = (VIEW, PLAY, DOWNLOAD, EDIT, SHARE, DELETE, AUDIT, TRANSCRIPT_EDIT, REDACT)
_WORDS = {TRANSCRIPT_EDIT: "edit transcripts of"}

# Actions on one visible item, by role: named in access.policy ("evidence.<action>").
PERMISSIONS: dict[str, frozenset] = {a: policy.ROLES.get(f"evidence.{a}", policy.ROLES.get(f"evidence.{a}.role"))
                                     for a in CLIP_ACTIONS}


def _active(user) -> bool:
    return policy._active(user)


@dataclass
class Reach:
    """What a user's role and grants reach, before the exclusions (deleted, purged,
    restricted, locked): every recording, or those of some officers plus some recording sets.
    ``visible_recording_ids`` is built from it; search uses the same parts to start from an
    index on its own table (officer + date) instead of testing every row."""
    everything: bool = False
    officers: QuerySet | None = None  # Officer ids whose recordings the role sees
    recordings: list = dc_field(default_factory=list)  # sub-selects of recording ids


def reach(user) -> Reach | None:
    """None: an inactive or unknown account, which sees nothing."""
    if not _active(user):
        return None
    now = datetime.now(timezone.utc)
    out = Reach()
    scope = policy.evidence_scope(user)
    # Each rule is an IN (sub-select) on an indexed column, so the database unions index
    # lookups (SQLite "MULTI-INDEX OR") instead of scanning every recording.
    if scope == policy.OWN:
        out.officers = Officer.objects.filter(account=user).values("id")
    elif scope == policy.SQUADS:
        out.officers = Officer.objects.filter(
            account__squad__in=Squad.objects.filter(supervisors=user).values("id")).values("id")
    elif scope == policy.ASSIGNED_CASES and settings.DETECTIVES_SEE_ALL:
        out.everything = True  # BODYCAM_DETECTIVES_SEE_ALL: restricted and locked stay out (below)
    elif scope == policy.ASSIGNED_CASES:
        out.recordings.append(Case.recordings.through.objects.filter(case__detectives=user).values("recording_id"))
    elif scope == policy.ALL:
        out.everything = True
    elif scope == policy.SHARED:
        shares = policy.share_rules()  # registered by release/, which owns the share models
        out.recordings.append(shares.recordings(user, now))
        out.recordings.append(Case.recordings.through.objects.filter(
            case__in=shares.cases(user, now)).values("recording_id"))
    out.recordings.append(Grant.objects.filter(user=user).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                          .values("recording"))
    out.recordings.append(Restriction.objects.filter(allowed=user).values("recording"))
    return out


def visible_recording_ids(user) -> QuerySet:
    """Sub-select of Recording ids the user may see (used inside visible_clips)."""
    return reached_recording_ids(user, reach(user))


def reached_recording_ids(user, r: Reach | None) -> QuerySet:
    """``visible_recording_ids`` from the user's ``reach`` the caller already holds (a search
    computes it once and also starts from its parts): the reach, less the exclusions."""
    if r is None:
        return Recording.objects.none().values("id")
    allow = Q(pk__isnull=False) if r.everything else Q(pk__in=[])  # (Q() would vanish when OR-ed)
    if r.officers is not None:
        allow |= Q(officer_id__in=r.officers)
    for sub in r.recordings:
        allow |= Q(id__in=sub)
    named = Restriction.objects.filter(allowed=user).values("recording")
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
    """The user's role holds clip ACTION (``access.policy`` "evidence.<action>"), whatever the item."""
    return action in CLIP_ACTIONS and policy.allowed(user, f"evidence.{action}")


def authorize(request, clip_id, action: str, *, audit_action: str | None = None) -> Clip:
    """The clip, if ``request.user`` may do ``action`` to it; otherwise audit the denial
    (as ``audit_action``, default ``evidence.<action>``) and raise NotVisible (404) or
    Denied (403)."""
    user = request.user
    cid = parse_uuid(clip_id)
    audit_action = audit_action or f"evidence.{action}"

    def deny(exc: Denied):
        record_request(request, audit_action, object_type="clip", object_id=str(clip_id)[:64],
                       outcome="denied", detail={"reason": exc.reason, "status": exc.status})
        raise exc

    if action == DELETE:
        deny(Denied("originals are never deleted by a user; only retention expiry deletes, and it is audited"))
    if cid is None:
        deny(NotVisible("not a clip id"))
    if action == AUDIT and policy.allowed(user, "audit.read"):
        clip = Clip.objects.select_related("recording__officer__account", "recording__device").filter(id=cid).first()
    else:
        clip = visible_clips(user).filter(id=cid).first()
    if clip is None:
        deny(NotVisible("no such clip, or not visible to this user"))
    if not may(user, action):
        deny(Denied(f"role {user.role} may not {_WORDS.get(action, action)} evidence"))
    if action == DOWNLOAD and not policy.allowed(user, "evidence.download", clip.recording_id):
        deny(Denied("the share does not allow download"))
    return clip


def capabilities(user, clip: Clip) -> dict:
    """What the user may do to this (visible) item: drives the item page's links and buttons."""
    caps = {a: may(user, a) for a in (PLAY, DOWNLOAD, EDIT, SHARE, AUDIT)}
    if caps[DOWNLOAD]:
        caps[DOWNLOAD] = policy.allowed(user, "evidence.download", clip.recording_id)
    caps[DELETE] = False
    caps["categories_remove"] = caps[EDIT] and policy.allowed(user, "evidence.categories.remove")
    caps["transcript_edit"] = may(user, EDIT) and may(user, TRANSCRIPT_EDIT)
    caps[REDACT] = may(user, REDACT)
    return caps


__all__ = ["visible_clips", "visible_recording_ids", "authorize", "may", "capabilities", "Denied", "NotVisible",
           "PERMISSIONS", "audit_denied"]
