"""Accounts, roles and the object rules that decide who sees which recording.

Every id is a UUID. The rules themselves are evaluated in one place:
``bodycam.access.services.visible_clips`` (one restricted query, no per-row loops).
See docs/access.md.
"""

import uuid
from datetime import datetime, timezone

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class ShareQuerySet(models.QuerySet):
    """Shares and links (access.Share, release.CaseShare, release.ShareLink)."""

    def active(self, now=None):
        """Not revoked and not expired (at ``now``, default the current time)."""
        now = now or datetime.now(timezone.utc)
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True)
                                                           | models.Q(expires_at__gt=now))


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


class Case(models.Model):
    """An investigation: detectives assigned to it see the recordings linked to it.
    While a case is open its recordings are never deleted (retention/); closing it lets
    their retention run again."""

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200, blank=True, default="")
    incident_number = models.CharField(max_length=64, blank=True, default="", db_index=True,
                                       help_text="dispatch (CAD) incident number")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    detectives = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="cases")
    recordings = models.ManyToManyField("evidence.Recording", blank=True, related_name="cases")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.number


class CaseFile(models.Model):
    """Any other file of a case (report, photo, 911 audio): bytes in the blob store by hash."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="files")
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True, default="")
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at"]


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


class Share(models.Model):
    """A recording shared with a prosecutor account (release/ and the web app extend this
    with cases and expiring links)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recording = models.ForeignKey("evidence.Recording", on_delete=models.PROTECT, related_name="shares")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shares_received")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shares_made")
    allow_download = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareQuerySet.as_manager()


class Note(models.Model):
    """A note on a recording. Notes are added, never edited (the audit log has them too)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recording = models.ForeignKey("evidence.Recording", on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]


class Tag(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recording = models.ForeignKey("evidence.Recording", on_delete=models.PROTECT, related_name="tags")
    name = models.CharField(max_length=64)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["recording", "name"], name="tag_unique_per_recording")]
