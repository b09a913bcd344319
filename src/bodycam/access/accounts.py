"""Creating accounts (CLI, demo): the user, and for officers the Officer row the camera
system knows them by."""

from __future__ import annotations

import uuid

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from ..custody.services import record
from ..evidence.models import Officer
from ..evidence.services import CatalogueError
from ..numbers import parse_uuid
from .models import Role, User
from .policy import role_may


def add_user(username: str, role: str, password: str | None, badge: str = "", axis_user_id: str | None = None,
             actor: str = "cli") -> User:
    """``password=None``: an account that signs in through its directory only (no local password)."""
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
    user = User(username=username, role=role, badge=badge[:32])
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
                axis_user_id=axis_uuid or uuid.uuid4(), defaults={"name": username, "user_key": badge[:100]})
            if officer.account_id and officer.account_id != user.id:
                raise CatalogueError(f"Axis user {axis_uuid} is already linked to another account")
            officer.account = user
            officer.save(update_fields=["account"])
        record("account.create", actor=actor, object_type="user", object_id=str(user.id),
               detail={"username": username, "role": role, "badge": badge, "axis_user_id": str(axis_uuid or "")})
    return user


def locked_accounts(limit: int = 5) -> tuple[int, list[User]]:
    """Accounts locked after failed sign-ins (an admin unlocks them), most recently locked first."""
    qs = User.objects.filter(locked_at__isnull=False).order_by("-locked_at")
    return qs.count(), list(qs[:limit])
