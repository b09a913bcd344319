"""Directory sign-in (LDAP/Active Directory, OpenID Connect): what both have in common.

A directory says who someone is and which groups they are in (``Identity``); this module turns
that into a bodycam account: the groups map to a role through a setting (``group=role;...``,
the first pair that matches wins), a user in no mapped group is refused (deny by default), the
account is created at the first sign-in and its role follows the directory at every sign-in
(each change audited, as ``account.role_change`` by ``directory:<source>``). Local accounts
are never taken over by a directory one of the same name, and keep signing in with their
password (break-glass). Every refusal is audited (``auth.login``, outcome denied, with the method).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from ..custody.actions import edit_detail
from ..custody.services import record
from ..errors import BodycamError
from .models import DirectoryLink, Role, User

SOURCES = {"ldap": "LDAP", "oidc": "OpenID Connect"}


@dataclass
class Identity:
    """Who the directory says signed in."""

    source: str  # ldap | oidc
    subject: str  # stable id in the directory
    username: str
    groups: list[str] = field(default_factory=list)  # as the directory names them (DN, name or id)
    issuer: str = ""
    email: str = ""
    name: str = ""
    mfa: dict | None = None  # the IdP's MFA evidence ({"amr": [...], "acr": ...}) when it counts


class DirectoryRefused(BodycamError):
    """The directory (or its mapping) does not let this person in. ``reason`` is audited;
    the user sees ``public``; ``audited`` once ``refuse`` wrote its audit entry."""

    status = 401
    audited = False

    @property
    def message(self) -> str:  # the audited reason never reaches the person signing in
        return self.public

    def __init__(self, reason: str, public: str = "Wrong username or password, or the account is locked."):
        super().__init__(reason)
        self.reason = reason
        self.public = public


class DirectoryUnavailable(DirectoryRefused):
    """The directory could not be reached or answered an error."""

    def __init__(self, reason: str):
        super().__init__(reason, "The directory could not be reached. Try again, or ask an administrator.")


def parse_group_roles(text: str, setting: str) -> list[tuple[str, str]]:
    """``"group=role;group=role"`` -> [(group, role)]. The role is after the *last* ``=``, so an
    LDAP DN (``cn=x,ou=groups,dc=example,dc=org=officer``) works as the group."""
    pairs = []
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        group, sep, role = part.rpartition("=")
        group, role = group.strip(), role.strip()
        if not sep or not group or role not in Role.values:
            raise ImproperlyConfigured(f"{setting}: {part!r} is not group=role with a role among {', '.join(Role.values)}")
        pairs.append((group, role))
    return pairs


def _names(group: str) -> set[str]:
    """A group as it may be written in a mapping: as given, and for a DN its first value (cn)."""
    g = group.strip().lower()
    names = {g}
    first = g.split(",", 1)[0]
    if "=" in first and "," in g:
        names.add(first.split("=", 1)[1].strip())
    return names


def role_for(groups: list[str], mapping: list[tuple[str, str]]) -> tuple[str | None, str]:
    """The role of the first mapping pair whose group the user is in, and that group."""
    held: set[str] = set()
    for g in groups:
        held |= _names(str(g))
    for group, role in mapping:
        if group.strip().lower() in held:
            return role, group
    return None, ""


def in_group(groups: list[str], wanted: str) -> bool:
    held: set[str] = set()
    for g in groups:
        held |= _names(str(g))
    return wanted.strip().lower() in held


def _valid_username(name: str) -> bool:
    return 0 < len(name) <= 150 and all(c.isalnum() or c in "@.+-_" for c in name)


def refuse(identity_or_name, source: str, reason: str, client: str, session: str, user: User | None = None,
           outcome: str = "denied", public: str | None = None) -> DirectoryRefused:
    """Audit a refused directory sign-in; returns the exception to raise."""
    name = identity_or_name.username if isinstance(identity_or_name, Identity) else str(identity_or_name or "")
    record("auth.login", actor=name[:150] or f"directory:{source}", source=client, object_type="user",
           object_id=str(user.id) if user else "", outcome=outcome,
           detail={"stage": "directory", "method": source, "reason": reason, "session": session})
    exc = DirectoryRefused(reason, public) if public else DirectoryRefused(reason)
    exc.audited = True
    return exc


def sign_in(identity: Identity, mapping: list[tuple[str, str]], client: str, session: str) -> User:
    """The bodycam account for a directory identity the directory has just vouched for: created
    at the first sign-in, its role set from the groups. Raises DirectoryRefused (audited)."""
    src = identity.source
    role, matched = role_for(identity.groups, mapping)
    who = f"directory:{src}"
    link = (DirectoryLink.objects.select_related("user")
            .filter(source=src, issuer=identity.issuer, subject=identity.subject).first())
    user = link.user if link else None
    # Refusals are checked (and audited) before anything changes.
    if role is None:
        raise refuse(identity, src, "no mapped directory group", client, session, user,
                     public="Your directory account is not in any group that may use this system.")
    if user is None:
        if not _valid_username(identity.username):
            raise refuse(identity, src, f"directory username {identity.username[:60]!r} is not usable",
                         client, session)
        if User.objects.filter(username=identity.username).exists():
            # Never take over a local (break-glass) account or another directory's.
            raise refuse(identity, src, "an account with this username exists and is not linked to this "
                         "directory", client, session)
    elif user.locked_at:
        raise refuse(identity, src, "account locked", client, session, user)
    elif not user.is_active:
        raise refuse(identity, src, "account disabled in bodycam", client, session, user)
    now = datetime.now(timezone.utc)
    with transaction.atomic():
        if user is None:
            user = _create(identity, role, who)
            link = DirectoryLink.objects.create(user=user, source=src, issuer=identity.issuer,
                                                subject=identity.subject, groups=identity.groups[:200], synced_at=now)
        current = user.role
        if current != role:
            User.objects.filter(pk=user.pk).update(role=role)
            record("account.role_change", actor=who, source=client, object_type="user", object_id=str(user.id),
                   detail={"username": user.username, **edit_detail({"role": current}, {"role": role}),
                           "reason": f"directory group {matched!r} at sign-in", "groups": identity.groups[:50]})
            user.role = role
        DirectoryLink.objects.filter(pk=link.pk).update(groups=identity.groups[:200], synced_at=now)
    return user


def _create(identity: Identity, role: str, who: str) -> User:
    from .accounts import add_user

    user = add_user(identity.username, role, None, actor=who)
    changed = []
    if identity.email:
        user.email = identity.email[:254]
        changed.append("email")
    if identity.name:
        user.first_name = identity.name[:150]
        changed.append("first_name")
    if changed:
        user.save(update_fields=changed)
    return user


def managed_by(user: User) -> str:
    """"LDAP" / "OpenID Connect" for a directory-managed account, "" for a local one."""
    link = DirectoryLink.objects.filter(user=user).first()
    return SOURCES.get(link.source, link.source) if link else ""
