"""One-time enrolment links: how a person gets into a new account, or back into one after a
password reset, without an administrator ever choosing or seeing their password.

An administrator issues a link (``issue_link``; ``reset_password`` clears the password and
issues one). The person opens it (``open_link``): a new account, or one whose authenticator
was reset, is shown a fresh TOTP secret; an account that keeps its authenticator proves it
with a code. They choose a password and give the code (``complete``): the password is set,
the authenticator confirmed, the link used up; then they sign in as everyone does.

The token is 256 random bits shown once (to the administrator, to hand over); only its
SHA-256 is stored. A link is good once, until ``BODYCAM_ENROL_LINK_HOURS`` after it was
issued, and only while it is the account's newest (a new link, disabling the account or a
completed enrolment ends the others). Every step is audited: ``account.enrol_link`` (issued),
``account.password_reset``, ``account.enrol`` (completed, or refused with the reason).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from ..custody.services import record
from ..errors import BadInput, BodycamError
from ..timefmt import isoformat
from . import directory, totp
from .auth import (
    AccountConflict,
    DirectoryManaged,
    change_reason,
    end_sessions,
    refuse,
    refuse_own_account,
    require_admin,
)
from .models import EnrolmentLink, TotpDevice, User

TOKEN_PREFIX = "bce_"
NEW, RESET = "new", "reset"
PASSWORD_MAX = 1024


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_path(token: str) -> str:
    """The page the person opens (the base URL is the server's address)."""
    return f"/enrol/{token}/"


class LinkInvalid(BodycamError):
    """Unknown, used, replaced or expired link, or a disabled account: 404, one message."""

    status = 404
    public = ("This enrolment link cannot be used: it was already used, replaced by a newer one or has expired. "
              "Ask your administrator for a new link.")

    def __init__(self, why: str):
        super().__init__(self.public)
        self.why = why  # in the audit entry, never shown (the account's state is nobody's business)


class EnrolmentFailed(BadInput):
    """The form was wrong (password rules, a wrong code): 400, shown beside the form."""


def issue_link(target: User, actor: User | None = None, source: str = "", reason: str = "",
               purpose: str = NEW, action: str = "account.enrol_link") -> tuple[EnrolmentLink, str]:
    """A new one-time link for ``target`` (earlier unused ones end). Admins (or the CLI), never
    for their own account, never for a directory account (it signs in at its directory) or a
    disabled one. Returns the link row and the token (shown once)."""
    who = require_admin(actor, action, str(target.id), source)
    refuse_own_account(actor, target, action, source, "issue an enrolment link for")
    managed = directory.managed_by(target)
    if managed:
        refuse(action, who, target, f"{target.username} signs in through {managed}: its password is the directory's",
               source, error=DirectoryManaged)
    if not target.is_active:
        refuse(action, who, target, f"{target.username} is disabled: enable the account first", source,
               error=AccountConflict)
    why = change_reason(reason, action, who, target, source) if reason or actor is not None else ""
    return _issue(target, who, source, why, purpose, action)


def _issue(target: User, who: str, source: str, why: str, purpose: str, action: str) -> tuple[EnrolmentLink, str]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = _now()
    expires = now + timedelta(hours=settings.ENROL_LINK_HOURS)
    with transaction.atomic():
        ended = EnrolmentLink.objects.filter(user=target, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=now)
        link = EnrolmentLink.objects.create(user=target, token_sha256=_digest(token), purpose=purpose,
                                            created_by=who, expires_at=expires)
        detail = {"username": target.username, "purpose": purpose, "expires_at": isoformat(expires),
                  "link_id": str(link.id), "earlier_links_ended": ended}
        if why:
            detail["reason"] = why
        record(action, actor=who, source=source, object_type="user", object_id=str(target.id), detail=detail)
    return link, token


def new_account_link(target: User, who: str, source: str, reason: str = "") -> tuple[EnrolmentLink, str]:
    """The first link of an account just created by ``who`` (already checked by the caller)."""
    return _issue(target, who, source, reason, NEW, "account.enrol_link")


def reset_password(target: User, actor: User | None = None, source: str = "", reason: str = ""
                   ) -> tuple[EnrolmentLink, str]:
    """Clear the account's password (it cannot sign in with the old one; its sessions end) and
    issue a one-time link where the person sets a new one. The administrator never chooses it.
    Never one's own account; never a directory account."""
    action = "account.password_reset"
    who = require_admin(actor, action, str(target.id), source)
    refuse_own_account(actor, target, action, source, "reset the password of")
    managed = directory.managed_by(target)
    if managed:
        refuse(action, who, target, f"{target.username} signs in through {managed}: reset the password there", source,
               error=DirectoryManaged)
    if not target.is_active:
        refuse(action, who, target, f"{target.username} is disabled: enable the account first", source,
               error=AccountConflict)
    why = change_reason(reason, action, who, target, source)
    with transaction.atomic():
        target.set_unusable_password()
        User.objects.filter(pk=target.pk).update(password=target.password)
        sessions = end_sessions(target)
        record(action, actor=who, source=source, object_type="user", object_id=str(target.id),
               detail={"username": target.username, "reason": why, "sessions_ended": sessions})
        return _issue(target, who, source, why, RESET, "account.enrol_link")


@dataclass
class Enrolment:
    """What the enrolment page shows: whose link, and the new secret (None: the account keeps
    its authenticator and proves it with a code)."""

    link: EnrolmentLink
    user: User
    secret: str | None

    @property
    def uri(self) -> str:
        return totp.otpauth_uri(self.secret, self.user.username) if self.secret else ""


def _find(token: str, source: str) -> EnrolmentLink:
    token = token if isinstance(token, str) else ""
    link = None
    if token.startswith(TOKEN_PREFIX) and len(token) <= 100:
        link = EnrolmentLink.objects.select_related("user").filter(token_sha256=_digest(token)).first()
    if link is None:
        why = "unknown link"
    elif link.used_at is not None:
        why = "link already used"
    elif link.revoked_at is not None:
        why = "link replaced or ended"
    elif link.expires_at <= _now():
        why = "link expired"
    elif not link.user.is_active:
        why = "account disabled"
    else:
        return link
    record("account.enrol", actor=link.user.username if link else "anonymous", source=source, object_type="user",
           object_id=str(link.user_id) if link else "", outcome="denied",
           detail={"reason": why, "status": 404, **({"link_id": str(link.id)} if link else {})})
    raise LinkInvalid(why)


def open_link(token: str, source: str = "") -> Enrolment:
    """The enrolment page: the link's account and, when it has no confirmed authenticator, the
    secret to enrol (kept unconfirmed until a code proves it)."""
    link = _find(token, source)
    dev = TotpDevice.objects.filter(user=link.user).first()
    if dev is not None and dev.confirmed_at:
        return Enrolment(link, link.user, None)
    if dev is None:
        dev = TotpDevice.objects.create(user=link.user, secret=totp.new_secret())
    return Enrolment(link, link.user, dev.secret)


def complete(token: str, password: str, password2: str, code: str, source: str = "") -> User:
    """Set the password and confirm (or prove) the authenticator, in one transaction, once.
    A wrong form is a 400 (``EnrolmentFailed``, audited) and changes nothing; the link stays
    usable until it expires."""
    link = _find(token, source)  # a refusal is audited here, outside the transaction below
    user = link.user
    with transaction.atomic():
        problem = _complete(link, user, password, password2, code, source)
    if problem:
        record("account.enrol", actor=user.username, source=source, object_type="user", object_id=str(user.id),
               outcome="failed", detail={"reason": problem, "status": 400, "link_id": str(link.id)})
        raise EnrolmentFailed(problem)
    return user


def _complete(link: EnrolmentLink, user: User, password, password2, code, source: str) -> str:
    """The changes of ``complete`` (inside its transaction), or what is wrong (nothing changed)."""
    locked = EnrolmentLink.objects.select_for_update().filter(pk=link.pk, used_at__isnull=True,
                                                               revoked_at__isnull=True, expires_at__gt=_now())
    if not locked.exists():  # used or ended a moment ago, by another request
        return "this link was just used or ended; ask your administrator for a new one"
    password = password if isinstance(password, str) else ""
    if not password or len(password) > PASSWORD_MAX:
        return f"choose a password (1-{PASSWORD_MAX} characters)"
    if password != password2:
        return "the two passwords differ"
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return "password rejected: " + " ".join(exc.messages)
    dev = TotpDevice.objects.select_for_update().filter(user=user).first()
    if dev is None:
        return "open the link again to see your authenticator key"
    step = totp.match_step(dev.secret, code if isinstance(code, str) else "")
    if step is None or step <= dev.last_step:
        return "wrong or expired authenticator code"
    enrolled_now = dev.confirmed_at is None
    dev.last_step = step
    dev.confirmed_at = dev.confirmed_at or _now()
    dev.save()
    user.set_password(password)
    User.objects.filter(pk=user.pk).update(password=user.password)
    now = _now()
    EnrolmentLink.objects.filter(pk=link.pk).update(used_at=now)
    EnrolmentLink.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    if enrolled_now:
        record("account.mfa_enrol", actor=user.username, source=source, object_type="user",
               object_id=str(user.id), detail={"method": "totp", "via": "enrolment link"})
    record("account.enrol", actor=user.username, source=source, object_type="user", object_id=str(user.id),
           detail={"purpose": link.purpose, "link_id": str(link.id), "authenticator": "enrolled" if enrolled_now
                   else "proved"})
    return ""


def pending_link(user: User) -> EnrolmentLink | None:
    """The account's live link (issued, not used, not ended, not expired), if any."""
    return EnrolmentLink.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True,
                                        expires_at__gt=_now()).order_by("-created_at").first()
