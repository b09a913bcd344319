"""Shares and links, on behalf of a signed-in user or a link holder. Every change and every
access through a share writes one audit entry; every refusal too.

Who may share: the roles that hold SHARE (detectives, custodians), for items they can see;
a case may be shared by a custodian or a detective assigned to it. Prosecutors never
re-share (they lack SHARE); "do not re-share" is a term shown to the recipient on every
page and in exports, and on a link it binds the link to the first browser that opens it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from ..access import policy
from ..access.models import Restriction, User
from ..access.services import SHARE, Denied, NotVisible, audit_denied, authorize
from ..cases.models import Case
from ..custody.services import record_request
from ..errors import BadInput
from ..evidence.models import Clip, in_catalogue_q
from ..numbers import parse_uuid, whole_number
from ..timefmt import iso_as_given
from .models import CaseShare, Share, ShareLink, ShareTerms

CLAIM_COOKIE = "bc_link_claim"


class Gone(Denied):
    """A link that existed but was revoked or has expired."""

    status = 410


def safe_path(path: str) -> str:
    """The request path with a link token blanked out: tokens never reach the audit log."""
    return re.sub(r"^/s/[^/]+", "/s/<token>", path)[:200]


def _now():
    return datetime.now(timezone.utc)


def _days(value, required: bool = False, max_days: int = 3650) -> int | None:
    if value in (None, ""):
        if required:
            raise BadInput("days (how long the link lives) is required")
        return None
    if isinstance(value, str):
        value = whole_number(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= max_days:
        raise BadInput(f"days must be a whole number from 1 to {max_days}")
    return value


def _flag(data: dict, name: str) -> bool:
    v = data.get(name, False)
    if isinstance(v, str):
        v = v.lower() in ("1", "yes", "true", "on")
    if not isinstance(v, bool):
        raise BadInput(f"{name} must be true or false")
    return v


def get_case(request, case_key, action: str = "release.case") -> Case:
    """A case the user may see: custodians all, detectives those assigned, prosecutors those
    shared with them. Others (and unknown cases) get 404, audited."""
    cid = parse_uuid(case_key)
    qs = policy.cases_visible(request.user)
    case = (qs.filter(id=cid) if cid else qs.filter(number=str(case_key)[:64])).first()
    if case is None:
        audit_denied(request, action, "no such case, or not visible to this user", object_type="case",
                     object_id=str(case_key)[:64], status=404)
        raise NotVisible("no such case, or not visible to this user")
    return case


def _may_share_case(request, case: Case, action: str) -> None:
    role = request.user.role
    policy.require(request, "case.share", case, action=action, object_type="case", object_id=str(case.id),
                   reason=f"role {role} may not share this case", message=f"role {role} may not share this case")


def _prosecutor(request, name, action, object_type, object_id) -> User:
    if not isinstance(name, str) or not name.strip():
        raise BadInput("recipient (a prosecutor's username) is required")
    if len(name) > 150 or not name.isprintable():  # a lone surrogate ("\ud800") is not: it cannot be encoded for the lookup
        raise BadInput("recipient must be a username (printable text of at most 150 characters)")
    user = User.objects.filter(username=name.strip(), is_active=True).first()
    if user is None or not policy.role_may(user.role, "share.receive"):
        audit_denied(request, action, "recipient is not an active prosecutor account", object_type=object_type,
                     object_id=object_id, status=400)
        raise BadInput("recipient must be an active prosecutor account")
    return user


# ---------------------------------------------------------------- account shares
def share_dict(s: Share) -> dict:
    return {"id": str(s.id), "recording_id": str(s.recording_id), "recipient": s.recipient.username,
            "created_by": s.created_by.username, "allow_download": s.allow_download,
            "created_at": iso_as_given(s.created_at), "expires_at": iso_as_given(s.expires_at), "revoked_at": iso_as_given(s.revoked_at)}


def share_item(request, clip_id, data: dict) -> dict:
    """Share a clip's recording with a prosecutor account (``Share``), with its terms:
    ``allow_download``, ``no_reshare`` (flags), ``days`` (1-3650; none: until revoked)."""
    if not isinstance(data, dict):
        raise BadInput("body must be a JSON object")
    if not isinstance(data.get("recipient"), str) or not data["recipient"].strip():
        raise BadInput("recipient (a prosecutor's username) is required")
    allow_download, no_reshare = data.get("allow_download", False), data.get("no_reshare", False)
    if not isinstance(allow_download, bool) or not isinstance(no_reshare, bool):  # JSON true/false only
        raise BadInput("allow_download and no_reshare must be true or false")
    days = _days(data.get("days"))
    clip = authorize(request, clip_id, SHARE)
    recipient = _prosecutor(request, data["recipient"], "evidence.share", "clip", str(clip.id))
    expires = _now() + timedelta(days=days) if days else None
    with transaction.atomic():
        s = Share.objects.create(recording=clip.recording, recipient=recipient, created_by=request.user,
                                 allow_download=allow_download, expires_at=expires)
        ShareTerms.objects.create(share=s, no_reshare=no_reshare)
        record_request(request, "evidence.share", object_type="clip", object_id=str(clip.id),
                       object_sha256=clip.sha256, detail={"share": str(s.id), "recording": str(clip.recording_id),
                                                          "recipient": recipient.username,
                                                          "allow_download": allow_download, "no_reshare": no_reshare,
                                                          "expires_at": iso_as_given(expires)})
    return share_dict(s) | {"no_reshare": no_reshare}


def share_item_once(request, clip_id, data: dict) -> bool:
    """``share_item`` for the bulk action: False (nothing written) where the recording already
    has a live share with the same prosecutor; otherwise a new share (refusals audited)."""
    clip = authorize(request, clip_id, SHARE)
    name = data.get("recipient") if isinstance(data, dict) else None
    live = Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=_now()))
    if isinstance(name, str) and Share.objects.filter(live, recording_id=clip.recording_id,
                                                      recipient__username=name.strip()).exists():
        return False
    share_item(request, clip_id, data)
    return True


def prosecutors() -> list[User]:
    """Active accounts that may receive shares (the share form's choices: no typed usernames)."""
    roles = [r for r in policy.ROLES["share.receive"]]
    return list(User.objects.filter(is_active=True, role__in=roles).order_by("username"))


def share_case(request, case_key, data: dict) -> dict:
    if not isinstance(data, dict):
        raise BadInput("body must be a JSON object")
    allow_download, no_reshare = _flag(data, "allow_download"), _flag(data, "no_reshare")
    days = _days(data.get("days"))
    case = get_case(request, case_key, "release.case_share")
    _may_share_case(request, case, "release.case_share")
    recipient = _prosecutor(request, data.get("recipient"), "release.case_share", "case", str(case.id))
    expires = _now() + timedelta(days=days) if days else None
    with transaction.atomic():
        s = CaseShare.objects.create(case=case, recipient=recipient, created_by=request.user,
                                     allow_download=allow_download, no_reshare=no_reshare, expires_at=expires)
        record_request(request, "release.case_share", object_type="case", object_id=str(case.id),
                       detail={"share": str(s.id), "case": case.number, "recipient": recipient.username,
                               "allow_download": allow_download, "no_reshare": no_reshare,
                               "expires_at": iso_as_given(expires)})
    return case_share_dict(s)


def case_share_dict(s: CaseShare) -> dict:
    return {"id": str(s.id), "kind": "case", "case": s.case.number, "recipient": s.recipient.username,
            "to": s.recipient.username, "via_case": "", "last_used": "",
            "created_by": s.created_by.username, "allow_download": s.allow_download, "no_reshare": s.no_reshare,
            "created_at": iso_as_given(s.created_at), "expires_at": iso_as_given(s.expires_at), "revoked_at": iso_as_given(s.revoked_at)}


# ---------------------------------------------------------------- links
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(request, data: dict) -> tuple[ShareLink, str]:
    """A link to one item's recording (``clip``) or one ``case``. Returns (link, token);
    the token is shown once and only its hash is kept."""
    if not isinstance(data, dict):
        raise BadInput("body must be a JSON object")
    allow_download, no_reshare = _flag(data, "allow_download"), _flag(data, "no_reshare")
    days = _days(data.get("days"), required=True, max_days=settings.SHARE_LINK_MAX_DAYS)
    label = str(data.get("label", "") or "").strip()
    if len(label) > 200:
        raise BadInput("label must be at most 200 characters")
    if bool(data.get("clip")) == bool(data.get("case")):
        raise BadInput("give exactly one of clip or case")
    target: dict = {}
    if data.get("clip"):
        clip = authorize(request, data["clip"], SHARE)
        target = {"recording": clip.recording}
        obj = ("clip", str(clip.id))
    else:
        case = get_case(request, data["case"], "release.link")
        _may_share_case(request, case, "release.link")
        target = {"case": case}
        obj = ("case", str(case.id))
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        link = ShareLink.objects.create(token_sha256=_token_hash(token), created_by=request.user, label=label,
                                        allow_download=allow_download, no_reshare=no_reshare,
                                        expires_at=_now() + timedelta(days=days), **target)
        record_request(request, "release.link.create", object_type=obj[0], object_id=obj[1],
                       detail={"link": str(link.id), "label": label, "allow_download": allow_download,
                               "no_reshare": no_reshare, "expires_at": iso_as_given(link.expires_at)})
    return link, token


def link_seconds_left(link: ShareLink) -> int:
    """How long the link still lives (at least a minute, for cookie lifetimes)."""
    return max(60, int((link.expires_at - _now()).total_seconds()))


def link_dict(link: ShareLink) -> dict:
    return {"id": str(link.id), "kind": "link", "label": link.label, "created_by": link.created_by.username,
            "to": link.label or "link (no account)", "via_case": "", "last_used": iso_as_given(link.last_used_at) or "",
            "allow_download": link.allow_download, "no_reshare": link.no_reshare, "claimed": bool(link.claim_sha256),
            "case": link.case.number if link.case_id else None,
            "recording": str(link.recording_id) if link.recording_id else None,
            "created_at": iso_as_given(link.created_at), "expires_at": iso_as_given(link.expires_at), "revoked_at": iso_as_given(link.revoked_at),
            "last_used_at": iso_as_given(link.last_used_at)}


def claim_cookie(link: ShareLink) -> str:
    return f"{CLAIM_COOKIE}_{link.id.hex}"


def open_link(request, token: str, cookies: dict) -> tuple[ShareLink, str | None]:
    """The link for ``token`` if it is live. A no-reshare link binds to the first browser:
    returns a new claim value to set as the cookie ``claim_cookie(link)`` then; a browser
    without that cookie is refused.
    Every refusal is audited (link ids only: tokens never reach the log)."""
    link = ShareLink.objects.select_related("case", "recording", "created_by").filter(
        token_sha256=_token_hash(str(token)[:100])).first()

    def refuse(reason, status=404):
        record_request(request, "release.link.denied", actor="link", outcome="denied",
                       object_type="link", object_id=str(link.id) if link else "",
                       detail={"reason": reason, "status": status, "path": safe_path(request.path)})
        raise {404: NotVisible, 410: Gone}.get(status, Denied)(reason)

    if link is None:
        refuse("no such link")
    if link.revoked_at:
        refuse("this link was revoked", 410)
    if link.expires_at <= _now():
        refuse("this link has expired", 410)
    new_claim = None
    claim = cookies.get(claim_cookie(link))
    if link.no_reshare:
        if not link.claim_sha256:
            new_claim = secrets.token_urlsafe(24)
            n = ShareLink.objects.filter(pk=link.pk, claim_sha256="").update(claim_sha256=_token_hash(new_claim))
            if n == 0:  # another browser claimed it a moment ago
                link.refresh_from_db()
                new_claim = None
        if new_claim is None and (not claim or _token_hash(claim) != link.claim_sha256):
            refuse("this link may not be re-shared: it was already opened in another browser", 403)
    ShareLink.objects.filter(pk=link.pk).update(last_used_at=_now())
    return link, new_claim


def link_clips(link: ShareLink) -> QuerySet:
    """THE read check for link holders: the clips of the link's recording or case, minus
    restricted recordings (a link names no person, so a restriction always wins)."""
    # Items in the deletion queue or purged by retention are shared no more.
    qs = Clip.objects.select_related("recording__officer", "recording__device").filter(
        in_catalogue_q("recording__"))
    if link.recording_id:
        qs = qs.filter(recording_id=link.recording_id)
    else:
        qs = qs.filter(recording_id__in=Case.recordings.through.objects.filter(case_id=link.case_id)
                       .values("recording_id"))
    return qs.exclude(recording_id__in=Restriction.objects.values("recording_id"))


def link_actor(link: ShareLink) -> str:
    return f"link:{link.id}"


def link_clip(request, link: ShareLink, clip_id, action: str) -> Clip:
    cid = parse_uuid(clip_id)
    clip = link_clips(link).filter(id=cid).first() if cid else None
    if clip is None:
        record_request(request, f"evidence.{action}", actor=link_actor(link), outcome="denied", object_type="clip",
                       object_id=str(clip_id)[:64], detail={"reason": "not in this link", "status": 404,
                                                               "path": safe_path(request.path)})
        raise NotVisible("no such item in this link")
    if action == "download" and not link.allow_download:
        record_request(request, "evidence.download", actor=link_actor(link), outcome="denied", object_type="clip",
                       object_id=str(clip.id), detail={"reason": "the link does not allow download", "status": 403,
                                                       "path": safe_path(request.path)})
        raise Denied("this link allows viewing only")
    return clip


# ---------------------------------------------------------------- listing and revoking
def shares_seen_by(user, recording) -> list[dict]:
    """The shares of a recording as its item page and API show them: every one, to the roles
    that share (``evidence.share``); none to others."""
    return shares_for_recording(recording) if policy.allowed(user, "evidence.share") else []


def shares_for_recording(recording) -> list[dict]:
    """Every share that reaches a recording: item shares, shares of its cases, links."""
    out = []
    for s in Share.objects.filter(recording=recording).select_related("recipient", "created_by", "terms"):
        terms = getattr(s, "terms", None)
        out.append(share_dict(s) | {"kind": "item", "no_reshare": bool(terms and terms.no_reshare)})
    out = [d | {"to": d["recipient"], "via_case": "", "last_used": ""} for d in out]
    for s in CaseShare.objects.filter(case__recordings=recording).select_related("case", "recipient", "created_by"):
        out.append(case_share_dict(s) | {"via_case": s.case.number})
    for link in ShareLink.objects.filter(Q(recording=recording) | Q(case__recordings=recording)).select_related(
            "case", "created_by"):
        out.append(link_dict(link) | {"via_case": link.case.number if link.case_id else ""})
    return out


def revoke(request, kind: str, share_id) -> dict:
    """Revoke an item share, case share or link. Allowed to custodians and to its creator."""
    sid = parse_uuid(share_id)
    model = {"item": Share, "case": CaseShare, "link": ShareLink}.get(kind)
    if model is None:
        raise BadInput("kind must be item, case or link")
    obj = model.objects.filter(pk=sid).first() if sid else None
    user = request.user
    if not policy.allowed(user, "share.revoke", obj):
        audit_denied(request, "release.revoke", "no such share, or not yours to revoke", object_type=f"share.{kind}",
                     object_id=str(share_id)[:64], status=404)
        raise NotVisible("no such share, or not yours to revoke")
    if obj.revoked_at:
        raise BadInput("already revoked")
    with transaction.atomic():
        now = _now()
        model.objects.filter(pk=obj.pk).update(revoked_at=now)
        if kind == "item":
            ShareTerms.objects.update_or_create(share=obj, defaults={"revoked_by": user})
        else:
            model.objects.filter(pk=obj.pk).update(revoked_by=user)
        record_request(request, "release.revoke", object_type=f"share.{kind}", object_id=str(obj.pk),
                       detail={"revoked_at": iso_as_given(now)})
    return {"id": str(obj.pk), "kind": kind, "revoked_at": iso_as_given(now)}


def no_reshare_terms(user, recording_id) -> bool:
    """Whether a share recipient sees this recording under a "do not re-share" term."""
    return policy.allowed(user, "share.no_reshare", recording_id)


# ---------------------------------------------------------------- shares a user made
def recordings_shared_by(user) -> QuerySet:
    """Sub-select of the recording ids the user's own live shares reach (item shares, links,
    and the recordings of cases they shared): the search filter ``shared=mine``. Only the
    roles that share (``evidence.share``) have any; search intersects it with what the user
    may see (the one access check)."""
    from ..evidence.models import Recording

    if not policy.allowed(user, "evidence.share"):
        return Recording.objects.none().values("id")
    in_cases = Case.recordings.through.objects.filter(
        Q(case_id__in=CaseShare.objects.active().filter(created_by=user).values("case"))
        | Q(case_id__in=ShareLink.objects.active().filter(created_by=user, case__isnull=False).values("case")))
    return Recording.objects.filter(
        Q(id__in=Share.objects.active().filter(created_by=user).values("recording"))
        | Q(id__in=ShareLink.objects.active().filter(created_by=user, recording__isnull=False).values("recording"))
        | Q(id__in=in_cases.values("recording_id"))).values("id")


def shares_made_by(user, limit: int = 5) -> tuple[int, list[dict]]:
    """The user's live shares and links, soonest to expire first (never-expiring last), of
    what they may still see: (how many, the first ``limit``), each {kind, recording_id | case,
    to, expires_at, created_at}. None for roles that do not share."""
    from ..access.services import visible_recording_ids

    if not policy.allowed(user, "evidence.share"):
        return 0, []
    seen, cases = visible_recording_ids(user), policy.cases_visible(user).values("id")
    rows = [{"kind": "item", "recording_id": s.recording_id, "case": "", "to": s.recipient.username,
             "expires_at": s.expires_at, "created_at": s.created_at}
            for s in Share.objects.active().filter(created_by=user, recording_id__in=seen).select_related("recipient")]
    rows += [{"kind": "case", "recording_id": None, "case": s.case.number, "to": s.recipient.username,
              "expires_at": s.expires_at, "created_at": s.created_at}
             for s in CaseShare.objects.active().filter(created_by=user, case_id__in=cases).select_related("case",
                                                                                                          "recipient")]
    rows += [{"kind": "link", "recording_id": link.recording_id, "case": link.case.number if link.case_id else "",
              "to": link.label or "link (no account)", "expires_at": link.expires_at, "created_at": link.created_at}
             for link in ShareLink.objects.active().filter(created_by=user).filter(
                 Q(recording_id__in=seen) | Q(case_id__in=cases)).select_related("case")]
    far = datetime.max.replace(tzinfo=timezone.utc)
    rows.sort(key=lambda r: (r["expires_at"] or far, r["created_at"]))
    return len(rows), rows[:limit]
