"""Accounts: creating them (CLI, demo, the Accounts pages: the user, and for officers the
Officer row the camera system knows them by), finding them (the list and its filters) and
what the account page shows (its tokens, its change-log). Role, MFA, lock, disable and
tokens are changed in ``auth``; enrolment links in ``enrolment``."""

from __future__ import annotations

import uuid

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from ..custody.models import AuditEntry
from ..custody.services import record
from ..errors import BadInput
from ..evidence.models import Officer
from ..evidence.services import CatalogueError
from ..numbers import parse_uuid
from .models import ApiToken, DirectoryLink, Role, Squad, TotpDevice, User
from .policy import role_may


def add_user(username: str, role: str, password: str | None, badge: str = "", axis_user_id: str | None = None,
             actor: str = "cli", first_name: str = "", last_name: str = "", email: str = "",
             squad: Squad | None = None, source: str = "", reason: str = "") -> User:
    """``password=None``: an account without a local password (a directory account, or one
    that sets it through an enrolment link)."""
    if role not in Role.values:
        raise CatalogueError(f"unknown role {role!r}; one of: {', '.join(Role.values)}")
    if not username or len(username) > 150 or not all(c.isalnum() or c in "@.+-_" for c in username):
        raise CatalogueError("username must be 1-150 letters, digits or @.+-_")
    if User.objects.filter(username=username).exists():
        raise CatalogueError(f"user {username!r} already exists")
    axis_uuid = None
    if axis_user_id:
        axis_uuid = parse_uuid(axis_user_id)
        if axis_uuid is None:
            raise CatalogueError("--axis-user-id must be a UUID")
    user = User(username=username, role=role, badge=badge[:32], first_name=first_name[:150],
                last_name=last_name[:150], email=email[:254], squad=squad)
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CatalogueError("password rejected: " + " ".join(exc.messages)) from None
        user.set_password(password)
    with transaction.atomic():
        user.save()
        if axis_uuid or role_may(role, "evidence.own_recordings"):
            officer, created = Officer.objects.get_or_create(
                axis_user_id=axis_uuid or uuid.uuid4(),
                defaults={"name": (full_name(user) or username)[:100], "user_key": badge[:100]})
            if officer.account_id and officer.account_id != user.id:
                raise CatalogueError(f"Axis user {axis_uuid} is already linked to another account")
            officer.account = user
            officer.save(update_fields=["account"])
        detail = {"username": username, "role": role, "badge": badge, "axis_user_id": str(axis_uuid or "")}
        if first_name or last_name or email or squad:
            detail.update(name=full_name(user), email=email, squad=squad.name if squad else "")
        if reason:
            detail["reason"] = reason
        record("account.create", actor=actor, source=source, object_type="user", object_id=str(user.id), detail=detail)
    return user


def full_name(user: User) -> str:
    return f"{user.first_name} {user.last_name}".strip()


# ---------------------------------------------------------------- the Accounts pages
NAME_MAX = 150


def _text(form, name: str, limit: int, label: str) -> str:
    value = form.get(name, "")
    value = value.strip() if isinstance(value, str) else ""
    if len(value) > limit or not value.isprintable():
        raise BadInput(f"{label} must be at most {limit} printable characters")
    return value


def find_squad(value: str) -> Squad | None:
    """A squad from a form's <select> (its id) or the command line (its name); "" for none."""
    if not value:
        return None
    uid = parse_uuid(value)
    squad = Squad.objects.filter(Q(name=value) | Q(id=uid) if uid else Q(name=value)).first()
    if squad is None:
        raise BadInput(f"no squad {value[:100]!r}")
    return squad


def create_account(form, actor: User, source: str = "") -> tuple[User, str]:
    """An administrator creates an account from the Accounts page's form (a dict of strings:
    username, role, first_name, last_name, badge, email, squad, axis_user_id, reason). The
    account has no password: it gets a one-time enrolment link (returned once, to hand over)
    where the person sets it and enrols their authenticator. Every field is checked before
    anything is stored; a refusal is a 400, audited (``account.create``, denied)."""
    from .auth import AccountError, refuse, require_admin
    from .enrolment import new_account_link

    who = require_admin(actor, "account.create", "", source)
    try:
        username = _text(form, "username", 150, "username")
        role = _text(form, "role", 16, "role")
        if role not in Role.values:
            raise BadInput(f"choose a role: one of {', '.join(Role.values)}")
        first, last = _text(form, "first_name", NAME_MAX, "first name"), _text(form, "last_name", NAME_MAX, "last name")
        badge = _text(form, "badge", 32, "badge")
        email = _text(form, "email", 254, "e-mail")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise BadInput("e-mail is not an address") from None
        squad = find_squad(_text(form, "squad", 100, "squad"))
        axis = _text(form, "axis_user_id", 36, "Axis user ID")
        reason = _text(form, "reason", 500, "reason")
        with transaction.atomic():
            user = add_user(username, role, None, badge=badge, axis_user_id=axis or None, actor=who, first_name=first,
                            last_name=last, email=email, squad=squad, source=source, reason=reason)
            _, token = new_account_link(user, who, source, reason)
    except (BadInput, CatalogueError) as exc:
        refuse("account.create", who, None, exc.message, source, error=AccountError,
               object_id=str(form.get("username", ""))[:64] if isinstance(form.get("username"), str) else "")
    return user, token


def find_account(key: str, actor: User, action: str, source: str = "") -> User:
    """The account a page names (username or id); an unknown one is a 404, audited."""
    from .auth import AccountNotFound, refuse

    key = key if isinstance(key, str) else ""
    user = User.objects.filter(username=key).first()
    if user is None:
        uid = parse_uuid(key)
        user = User.objects.filter(id=uid).first() if uid else None
    if user is None:
        refuse(action, actor.username, None, "no such account", source, error=AccountNotFound, object_id=key)
    return user


STATUSES = {"active": "active", "disabled": "disabled", "locked": "locked", "pending": "enrolment pending"}


def find_accounts(role: str = "", squad: str = "", status: str = "", q: str = "") -> QuerySet:
    """The Accounts list: every account, or those of a role, a squad (its id), a status
    (``STATUSES``) and a text on username, name or badge. Each row carries ``mfa_enrolled``
    and ``directory_managed``. A filter value that is not one of the choices is a 400."""
    if role and role not in Role.values:
        raise BadInput(f"role must be one of {', '.join(Role.values)}")
    if status and status not in STATUSES:
        raise BadInput(f"status must be one of {', '.join(STATUSES)}")
    if not isinstance(q, str) or len(q) > 100:
        raise BadInput("search text must be at most 100 characters")
    qs = User.objects.select_related("squad").annotate(
        mfa_enrolled=Exists(TotpDevice.objects.filter(user=OuterRef("pk"), confirmed_at__isnull=False)),
        directory_managed=Exists(DirectoryLink.objects.filter(user=OuterRef("pk"))),
    ).order_by("username")
    if role:
        qs = qs.filter(role=role)
    if squad:
        qs = qs.filter(squad=find_squad(squad))
    if status == "active":
        qs = qs.filter(is_active=True, locked_at__isnull=True)
    elif status == "disabled":
        qs = qs.filter(is_active=False)
    elif status == "locked":
        qs = qs.filter(locked_at__isnull=False)
    elif status == "pending":
        qs = qs.filter(is_active=True, password__startswith="!", directory_managed=False)
    q = q.strip()
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(first_name__icontains=q) | Q(last_name__icontains=q)
                       | Q(badge__icontains=q))
    return qs


def account_tokens(user: User) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user).order_by("-created_at"))


def account_changes(user: User, limit: int = 50) -> list[AuditEntry]:
    """The account's change-log, newest first: entries about the account (created, role,
    lock, MFA, links, sign-ins) and about its API tokens."""
    token_ids = [str(t) for t in ApiToken.objects.filter(user=user).values_list("id", flat=True)]
    return list(AuditEntry.objects.filter(Q(object_type="user", object_id=str(user.id))
                                          | Q(object_type="api_token", object_id__in=token_ids))
                .order_by("-seq")[:limit])


def locked_accounts(limit: int = 5) -> tuple[int, list[User]]:
    """Accounts locked after failed sign-ins (an admin unlocks them), most recently locked first."""
    qs = User.objects.filter(locked_at__isnull=False).order_by("-locked_at")
    return qs.count(), list(qs[:limit])
