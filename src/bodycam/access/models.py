"""Accounts, roles and the object rules that decide who sees which recording.

Every id is a UUID. The rules themselves are evaluated in one place:
``bodycam.access.services.visible_clips`` (one restricted query, no per-row loops).
See docs/access.md.
"""

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    DETECTIVE = "detective"
    CUSTODIAN = "custodian"
    PROSECUTOR = "prosecutor"
    ADMIN = "admin"
    AUDITOR = "auditor"


class Squad(models.Model):
    """A unit of officers; its supervisors see its members' recordings."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    supervisors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="supervised_squads")

    def __str__(self):
        return self.name


class User(AbstractUser):
    # UUIDs, never guessable sequences.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    role = models.CharField(max_length=16, choices=Role.choices)
    badge = models.CharField(max_length=32, blank=True, default="")
    squad = models.ForeignKey(Squad, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    # Set after 5 failed sign-ins in 15 minutes; only an admin clears it.
    locked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.username} ({self.role})"


class TotpDevice(models.Model):
    """The user's RFC 6238 authenticator. ``confirmed_at`` is set once a code was proven."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE,
                                related_name="totp")
    secret = models.CharField(max_length=64, help_text="base32")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last time step accepted: a code is never accepted twice (replay).
    last_step = models.BigIntegerField(default=0)
    label = models.CharField(max_length=32, blank=True, default="")


class LoginAttempt(models.Model):
    """Sign-in results used for lockout (failures per account in a window)."""

    id = models.BigAutoField(primary_key=True)
    username = models.CharField(max_length=150, db_index=True)
    at = models.DateTimeField(db_index=True)
    stage = models.CharField(max_length=8)  # password | totp
    success = models.BooleanField()
    source = models.CharField(max_length=200, blank=True, default="")


class Throttle(models.Model):
    """One hit against a rate limit bucket (shared by every server process via the database)."""

    id = models.BigAutoField(primary_key=True)
    key = models.CharField(max_length=200)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "at"])]


class ApiToken(models.Model):
    """A bearer token for an integration; acts with its user's role and rules.
    Only the SHA-256 of the token is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)


class Restriction(models.Model):
    """A restricted recording (victim statement, internal affairs): only the named
    people see it, whatever their role."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recording = models.OneToOneField("evidence.Recording", on_delete=models.PROTECT, related_name="restriction")
    reason = models.CharField(max_length=200)
    allowed = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="restricted_access")
    created_at = models.DateTimeField(auto_now_add=True)


class CriticalIncidentLock(models.Model):
    """Critical-incident lockout: the involved officers cannot view the recording until
    a custodian releases it (``released_at``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recording = models.ForeignKey("evidence.Recording", on_delete=models.PROTECT, related_name="incident_locks")
    involved = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="incident_locks")
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)


class Grant(models.Model):
    """An explicit grant to see one recording (e.g. an admin asked to look at footage)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants")
    recording = models.ForeignKey("evidence.Recording", on_delete=models.PROTECT, related_name="grants")
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)


class DirectoryLink(models.Model):
    """An account that a directory manages (LDAP/Active Directory or an OpenID provider): it
    signs in there, and its role comes from its directory groups at each sign-in, never from a
    local change. ``subject`` is the directory's stable id (LDAP entryUUID/objectGUID, OIDC
    ``sub``); ``issuer`` is the OpenID provider ("" for LDAP)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE,
                                related_name="directory")
    source = models.CharField(max_length=8)  # ldap | oidc
    issuer = models.CharField(max_length=255, blank=True, default="")
    subject = models.CharField(max_length=255)
    groups = models.JSONField(default=list)  # the groups seen at the last sign-in
    synced_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "issuer", "subject"], name="directory_link_subject")]


class EnrolmentLink(models.Model):
    """A one-time link an administrator hands to a person: it sets the account's password and
    enrols (or proves) its authenticator, once, before ``expires_at``. Only the SHA-256 of the
    token is stored; issuing a new link for an account ends the earlier ones (``revoked_at``).
    ``purpose``: ``new`` (a new account) or ``reset`` (a password reset, a new link)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolment_links")
    token_sha256 = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=8)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class AccessRequest(models.Model):
    """A detective asks to see one recording for a case (access/requests.py). A supervisor of
    the recording officer's squad or a custodian approves it, which creates a time-limited
    ``Grant`` (``grant``), or denies it; the requester never decides their own request."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DENIED = "denied"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests")
    recording = models.ForeignKey("evidence.Recording", on_delete=models.PROTECT, related_name="access_requests")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="access_requests")
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True, default="")
    grant = models.OneToOneField(Grant, null=True, blank=True, on_delete=models.PROTECT, related_name="request")

    class Meta:
        ordering = ["-created_at"]
