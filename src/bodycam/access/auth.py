"""Sign-in: password, TOTP second factor, lockout, rate limits, sessions, API tokens,
and the account changes admins make (unlock, role, MFA reset). Every outcome is audited.

The web views (bodycam.web.views) are thin wrappers around these functions.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction

from ..custody.actions import edit_detail
from ..custody.services import record
from ..errors import BodycamError
from ..timefmt import isoformat
from . import directory, ldap_auth, policy, totp
from .models import ApiToken, DirectoryLink, LoginAttempt, Role, Throttle, TotpDevice, User

LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class AuthFailed(BodycamError):
    """Wrong credentials, locked or disabled account: one generic message for the user."""

    status = 401

    @property
    def message(self) -> str:  # never the internal reason
        return self.public

    def __init__(self, reason: str, public: str = "Wrong username or password, or the account is locked."):
        super().__init__(reason)
        self.reason = reason
        self.public = public


# -- rate limits --------------------------------------------------------------------------

def throttle_hit(key: str, limit: int, window_s: int) -> bool:
    """Count one hit on ``key``; True if it is within ``limit`` hits per ``window_s`` seconds.
    Kept in the database so every server process shares the count."""
    now = _now()
    since = now - timedelta(seconds=window_s)
    with transaction.atomic():
        if Throttle.objects.filter(key=key, at__gte=since).count() >= limit:
            return False
        Throttle.objects.create(key=key, at=now)
        if secrets.randbelow(50) == 0:  # occasional cleanup of old hits
            Throttle.objects.filter(at__lt=now - timedelta(hours=1)).delete()
    return True


# -- lockout ------------------------------------------------------------------------------

def _note_attempt(username: str, stage: str, success: bool, source: str) -> None:
    LoginAttempt.objects.create(username=username[:150], at=_now(), stage=stage, success=success, source=source[:200])
    if secrets.randbelow(100) == 0:  # the audit log keeps every attempt; this table only needs the window
        LoginAttempt.objects.filter(at__lt=_now() - timedelta(days=1)).delete()


def _failure(user: User | None, username: str, stage: str, source: str, reason: str, session: str = "",
             method: str = "password") -> None:
    """Record a failed attempt; lock the account at the 5th failure within 15 minutes."""
    with transaction.atomic():
        _note_attempt(username, stage, False, source)
        record("auth.login", actor=username[:150], source=source, object_type="user",
               object_id=str(user.id) if user else "", outcome="failed",
               detail={"stage": stage, "method": method, "reason": reason, "session": session})
        if user is None or user.locked_at:
            return
        since = _now() - LOCKOUT_WINDOW
        fails = LoginAttempt.objects.filter(username=user.username, success=False, at__gte=since).count()
        if fails >= LOCKOUT_FAILURES:
            User.objects.filter(pk=user.pk).update(locked_at=_now())
            user.locked_at = _now()
            record("account.lock", actor="system", source=source, object_type="user", object_id=str(user.id),
                   detail={"username": user.username, "failures": fails,
                           "window_minutes": int(LOCKOUT_WINDOW.total_seconds() // 60)})


def check_password(username: str, password: str, source: str, session: str = "") -> User:
    """First factor. Returns the user (MFA still to do) or raises AuthFailed (audited)."""
    username = (username or "").strip()[:150]
    user = User.objects.filter(username=username).first()
    if user is not None and user.locked_at:
        _note_attempt(username, "password", False, source)
        record("auth.login", actor=username, source=source, object_type="user", object_id=str(user.id),
               outcome="denied", detail={"stage": "password", "reason": "account locked", "session": session})
        raise AuthFailed("account locked")
    if ldap_auth.enabled() and (user is None or DirectoryLink.objects.filter(user=user, source="ldap").exists()):
        return _check_ldap(username, password, user, source, session)
    authed = authenticate(username=username, password=password or "")
    if authed is None:
        _failure(user, username, "password", source,
                 "unknown user" if user is None else ("account disabled" if not user.is_active else "wrong password"),
                 session)
        raise AuthFailed("wrong password")
    if not policy.has_role(authed):
        _failure(authed, username, "password", source, "account has no role", session)
        raise AuthFailed("no role")
    return authed


def _check_ldap(username: str, password: str, user: User | None, source: str, session: str) -> User:
    """The LDAP path of the password form (a local account of that name signs in locally)."""
    try:
        identity = ldap_auth.authenticate(username, password or "")
    except directory.DirectoryUnavailable as exc:
        directory.refuse(username, "ldap", exc.reason, source, session, user, outcome="error")
        raise AuthFailed(exc.reason, exc.public) from None
    except directory.DirectoryRefused as exc:
        _failure(user, username, "password", source, exc.reason, session, method="ldap")
        raise AuthFailed(exc.reason) from None
    mapping = directory.parse_group_roles(settings.LDAP_GROUP_ROLES, "BODYCAM_LDAP_GROUP_ROLES")
    try:
        return directory.sign_in(identity, mapping, source, session)
    except directory.DirectoryRefused as exc:
        raise AuthFailed(exc.reason, exc.public) from None


def begin_enrolment(user: User) -> TotpDevice:
    """A fresh unconfirmed secret (or the pending one) for the enrolment page."""
    dev = TotpDevice.objects.filter(user=user).first()
    if dev and dev.confirmed_at:
        raise ValueError("already enrolled")
    if dev is None:
        dev = TotpDevice.objects.create(user=user, secret=totp.new_secret())
    return dev


def verify_totp(user: User, code: str, source: str, session: str = "", enrolling: bool = False) -> None:
    """Second factor. Accepts a code once (replay-proof); failures count toward lockout."""
    user.refresh_from_db(fields=["locked_at", "is_active"])
    if user.locked_at or not user.is_active:
        _note_attempt(user.username, "totp", False, source)
        record("auth.login", actor=user.username, source=source, object_type="user", object_id=str(user.id),
               outcome="denied", detail={"stage": "totp", "reason": "account locked", "session": session})
        raise AuthFailed("account locked")
    with transaction.atomic():
        dev = TotpDevice.objects.select_for_update().filter(user=user).first()
        if dev is None or (not enrolling and not dev.confirmed_at):
            raise AuthFailed("not enrolled", "Set up your authenticator first.")
        step = totp.match_step(dev.secret, code)
        if step is None or step <= dev.last_step:
            reason = "wrong code" if step is None else "code already used"
        else:
            reason = ""
            dev.last_step = step
            if enrolling and not dev.confirmed_at:
                dev.confirmed_at = _now()
                record("account.mfa_enrol", actor=user.username, source=source, object_type="user",
                       object_id=str(user.id), detail={"method": "totp", "session": session})
            dev.save()
    if reason:
        _failure(user, user.username, "totp", source, reason, session)
        raise AuthFailed(reason, "Wrong or expired code." if reason != "account locked" else
                         "Wrong username or password, or the account is locked.")


def login_succeeded(user: User, source: str, session: str, banner: str, method: str = "password",
                    mfa: str = "totp", mfa_evidence: dict | None = None) -> None:
    """``method``: password (local), ldap or oidc; ``mfa``: totp, or idp (the OpenID provider's
    MFA, with its amr/acr in ``mfa_evidence``)."""
    _note_attempt(user.username, "totp" if mfa == "totp" else "idp", True, source)
    detail = {"stage": "complete", "method": method, "mfa": mfa, "session": session, "banner_acknowledged": banner}
    if mfa_evidence:
        detail["mfa_evidence"] = mfa_evidence
    record("auth.login", actor=user.username, source=source, object_type="user", object_id=str(user.id),
           detail=detail)


def is_enrolled(user: User) -> bool:
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


# -- account administration (admin role; CLI acts as "cli") ---------------------------------

class AccountError(BodycamError):
    """Bad request about an account (unknown user, unknown role): 400."""

    status = 400


class AccountDenied(AccountError):
    """The actor may not make this account change: 403."""

    status = 403


def require_admin(actor: User | None, action: str, target: str, source: str) -> str:
    """The actor may manage accounts (a refusal is audited): their name for the audit, "cli"
    for the command line. Views call it before looking a name up, so only admins learn
    whether an account exists."""
    if actor is None:
        return "cli"
    policy.require(actor, "accounts.manage", action=action, object_type="user", object_id=target, source=source,
                   reason="admin role required", message="admin role required", error=AccountDenied)
    return actor.username


def get_user(username_or_id: str) -> User:
    user = User.objects.filter(username=username_or_id).first()
    if user is None:
        from ..numbers import parse_uuid

        uid = parse_uuid(username_or_id)
        user = User.objects.filter(id=uid).first() if uid else None
    if user is None:
        raise AccountError(f"no user {username_or_id!r}")
    return user


def refuse_own_account(actor: User | None, target: User, action: str, source: str, what: str) -> None:
    """Nobody changes their own privileges: an admin may not change their own role, unlock
    themselves, reset their own MFA or enable/disable their own account. A refusal is a
    403, audited (``action``, outcome denied)."""
    if actor is None or actor.pk != target.pk:
        return
    reason = f"nobody may {what} their own account"
    record(action, actor=actor.username, source=source, object_type="user", object_id=str(target.id),
           outcome="denied", detail={"username": target.username, "reason": reason, "status": 403})
    raise AccountDenied(reason + "; ask another administrator")


class AccountConflict(AccountError):
    """The account is not in a state for this change (already disabled, ...): 409."""

    status = 409


class AccountNotFound(AccountError):
    """No such account: 404."""

    status = 404


class TokenNotFound(AccountError):
    """No such token (for this account): 404."""

    status = 404


class DirectoryManaged(AccountError):
    """The account's role comes from its directory: not changed locally (409)."""

    status = 409


REASON_MAX = 500


def change_reason(reason, action: str, who: str, target: User, source: str) -> str:
    """The reason an account change states (1-500 characters); a missing one is a 400, audited."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > REASON_MAX:
        msg = f"give a reason for the change (1-{REASON_MAX} characters)"
        record(action, actor=who, source=source, object_type="user", object_id=str(target.id), outcome="denied",
               detail={"username": target.username, "reason": msg, "status": 400})
        raise AccountError(msg)
    return text


def unlock(target: User, actor: User | None = None, source: str = "") -> None:
    who = require_admin(actor, "account.unlock", str(target.id), source)
    refuse_own_account(actor, target, "account.unlock", source, "unlock")
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(locked_at=None)
        # Failures before the unlock no longer count toward the next lock.
        LoginAttempt.objects.filter(username=target.username, success=False).delete()
        record("account.unlock", actor=who, source=source, object_type="user", object_id=str(target.id),
               detail={"username": target.username})
    target.locked_at = None


def set_role(target: User, role: str, actor: User | None = None, source: str = "", reason: str = "") -> None:
    """Change an account's role: admins (or the CLI), never their own, always with a reason."""
    who = require_admin(actor, "account.role_change", str(target.id), source)
    refuse_own_account(actor, target, "account.role_change", source, "change the role of")
    if role not in Role.values:
        raise AccountError(f"unknown role {role!r}; one of: {', '.join(Role.values)}")
    managed = directory.managed_by(target)
    if managed:
        msg = f"the role of {target.username} comes from {managed} groups at each sign-in; change it in the directory"
        record("account.role_change", actor=who, source=source, object_type="user", object_id=str(target.id),
               outcome="denied", detail={"username": target.username, "reason": msg, "status": 409})
        raise DirectoryManaged(msg)
    why = change_reason(reason, "account.role_change", who, target, source)
    before = target.role
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(role=role)
        record("account.role_change", actor=who, source=source, object_type="user", object_id=str(target.id),
               detail={"username": target.username, **edit_detail({"role": before}, {"role": role}), "reason": why})
    target.role = role


def refuse(action: str, who: str, target: User | None, message: str, source: str = "",
           error: type[AccountError] | None = None, object_id: str = "") -> None:
    """Audit a refused account change (outcome denied, with the reason and status) and raise it."""
    error = error or AccountError
    record(action, actor=who, source=source, object_type="user",
           object_id=str(target.id) if target is not None else object_id[:64], outcome="denied",
           detail={"username": target.username if target is not None else "", "reason": message,
                   "status": error.status})
    raise error(message)


def end_sessions(user: User) -> int:
    """End every session of ``user`` now (signed in, or half-way through signing in): the
    sessions are deleted, so the next request of that browser goes to the login page."""
    from django.contrib.sessions.models import Session

    uid, ended = str(user.pk), 0
    for s in Session.objects.filter(expire_date__gt=_now()).iterator():
        data = s.get_decoded()
        if data.get("_auth_user_id") == uid or data.get("bc_pending") == uid:
            s.delete()
            ended += 1
    return ended


def set_active(target: User, active: bool, actor: User | None = None, source: str = "", reason: str = "") -> dict:
    """Disable (offboard) or re-enable an account, with a reason. Disabling ends its sessions,
    revokes its API tokens and unused enrolment links at once; its footage, its Officer row
    and the audit trail stay. Never one's own account. Returns what ended (counts)."""
    from .models import EnrolmentLink

    action = "account.disable" if not active else "account.enable"
    who = require_admin(actor, action, str(target.id), source)
    refuse_own_account(actor, target, action, source, "disable or enable")
    why = change_reason(reason, action, who, target, source)
    target.refresh_from_db(fields=["is_active"])
    if target.is_active == active:
        refuse(action, who, target, f"{target.username} is already {'active' if active else 'disabled'}", source,
               error=AccountConflict)
    ended = {}
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(is_active=active)
        if not active:
            ended["tokens_revoked"] = ApiToken.objects.filter(user=target, revoked_at__isnull=True).update(
                revoked_at=_now())
            ended["links_revoked"] = EnrolmentLink.objects.filter(
                user=target, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=_now())
            ended["sessions_ended"] = end_sessions(target)
        record(action, actor=who, source=source, object_type="user", object_id=str(target.id),
               detail={"username": target.username, "reason": why, **ended})
    target.is_active = active
    return ended


def reset_mfa(target: User, actor: User | None = None, source: str = "", reason: str | None = None) -> None:
    """Remove the account's authenticator: it enrols a new one at its next sign-in. Never one's
    own. ``reason``: required from the pages (None: the command line, where it is optional)."""
    who = require_admin(actor, "account.mfa_reset", str(target.id), source)
    refuse_own_account(actor, target, "account.mfa_reset", source, "reset the MFA of")
    detail = {"username": target.username}
    if reason is not None:
        detail["reason"] = change_reason(reason, "account.mfa_reset", who, target, source)
    with transaction.atomic():
        TotpDevice.objects.filter(user=target).delete()
        record("account.mfa_reset", actor=who, source=source, object_type="user", object_id=str(target.id),
               detail=detail)


def enrol_with_secret(target: User, secret: str | None = None, label: str = "", actor: str = "cli") -> str:
    """Provision a confirmed TOTP secret (CLI/demo); returns the base32 secret."""
    secret = secret or totp.new_secret()
    with transaction.atomic():
        TotpDevice.objects.update_or_create(user=target, defaults={"secret": secret, "confirmed_at": _now(),
                                                                   "last_step": 0, "label": label})
        record("account.mfa_enrol", actor=actor, object_type="user", object_id=str(target.id),
               detail={"method": "totp", "provisioned": True, "username": target.username})
    return secret


# -- API tokens -----------------------------------------------------------------------------

TOKEN_PREFIX = "bct_"


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


TOKEN_DAYS_MAX = 3650


def create_token(user: User, name: str, days: int | None = None, actor: str = "cli", by: User | None = None,
                 source: str = "") -> tuple[ApiToken, str]:
    """Issue an API token for an integration; the key is shown once, only its hash is kept.
    ``by``: the administrator on the pages (checked, audited as them; never for their own
    account: a token is a credential without the second factor); None: the command line."""
    action = "account.token_create"
    if by is not None:
        actor = require_admin(by, action, str(user.id), source)
        refuse_own_account(by, user, action, source, "create an API token for")
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 100:
        refuse(action, actor, user, "token name must be 1-100 characters", source)
    if days is not None and not (isinstance(days, int) and 1 <= days <= TOKEN_DAYS_MAX):
        refuse(action, actor, user, f"days must be a whole number from 1 to {TOKEN_DAYS_MAX}", source)
    if not user.is_active:
        refuse(action, actor, user, f"{user.username} is disabled: enable the account first", source,
               error=AccountConflict)
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = _now() + timedelta(days=days) if days else None
    with transaction.atomic():
        tok = ApiToken.objects.create(user=user, name=name, key_sha256=token_digest(key), expires_at=expires)
        record(action, actor=actor, source=source, object_type="api_token", object_id=str(tok.id),
               detail={"user": user.username, "user_id": str(user.id), "name": name,
                       "expires_at": isoformat(expires)})
    return tok, key


def revoke_token(token_id: str, actor: str = "cli", by: User | None = None, source: str = "",
                 owner: User | None = None, reason: str = "") -> ApiToken:
    """Revoke a token at once. ``by``: the administrator on the pages (one's own tokens may be
    revoked: that takes a credential away); ``owner``: the token must be that account's."""
    from ..numbers import parse_uuid

    if by is not None:
        actor = require_admin(by, "account.token_revoke", str(token_id)[:64], source)
    tid = parse_uuid(token_id)
    tok = ApiToken.objects.select_related("user").filter(id=tid).first() if tid else None
    if tok is None or (owner is not None and tok.user_id != owner.pk):
        refuse("account.token_revoke", actor, owner, f"no token {str(token_id)[:64]!r}", source, error=TokenNotFound,
               object_id=str(token_id))
    if tok.revoked_at is not None:
        refuse("account.token_revoke", actor, tok.user, f"token {tok.name!r} is already revoked", source,
               error=AccountConflict)
    with transaction.atomic():
        ApiToken.objects.filter(pk=tok.pk).update(revoked_at=_now())
        detail = {"user": tok.user.username, "user_id": str(tok.user_id), "name": tok.name}
        if reason:
            detail["reason"] = reason[:REASON_MAX]
        record("account.token_revoke", actor=actor, source=source, object_type="api_token", object_id=str(tok.id),
               detail=detail)
    return tok


def user_for_token(key: str) -> tuple[User, ApiToken] | None:
    if not key or not key.startswith(TOKEN_PREFIX) or len(key) > 100:
        return None
    tok = ApiToken.objects.select_related("user").filter(key_sha256=token_digest(key), revoked_at__isnull=True).first()
    if tok is None or (tok.expires_at and tok.expires_at <= _now()):
        return None
    if not tok.user.is_active or tok.user.locked_at:
        return None
    if tok.last_used_at is None or _now() - tok.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=tok.pk).update(last_used_at=_now())
    return tok.user, tok


def session_limits() -> tuple[int, int]:
    return settings.SESSION_IDLE_SECONDS, settings.SESSION_ABSOLUTE_SECONDS
