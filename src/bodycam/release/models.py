"""Shares outside the department: ``Share`` (one recording -> one prosecutor account) and
``CaseShare`` (a whole case), the "do not re-share" term on item shares, and expiring
revocable links. ``Share`` lived in ``access`` and keeps its table (``access_share``).
Visibility through account shares is decided in ``bodycam.access.services`` (the one restricted query); link reads in ``release.services``."""

import uuid
from datetime import datetime, timezone

from django.conf import settings
from django.db import models


class ShareQuerySet(models.QuerySet):
    """Shares and links (Share, CaseShare, ShareLink)."""

    def active(self, now=None):
        """Not revoked and not expired (at ``now``, default the current time)."""
        now = now or datetime.now(timezone.utc)
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True)
                                                           | models.Q(expires_at__gt=now))


class Share(models.Model):
    """A recording shared with a prosecutor account (``ShareTerms`` adds the terms)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recording = models.ForeignKey("evidence.Recording", on_delete=models.PROTECT, related_name="shares")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shares_received")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shares_made")
    allow_download = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareQuerySet.as_manager()

    class Meta:
        db_table = "access_share"  # created by the access app; the table stays


class CaseShare(models.Model):
    """A whole case shared with a prosecutor account: they see every recording linked to it,
    including recordings added to the case later, until the share expires or is revoked."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="prosecutor_shares")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="case_shares_received")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    allow_download = models.BooleanField(default=False)
    no_reshare = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    objects = ShareQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["recipient", "revoked_at"])]


class ShareTerms(models.Model):
    """Terms attached to a ``Share`` of one recording (a table of its own, so the share
    table stays as it was)."""

    share = models.OneToOneField("release.Share", primary_key=True, on_delete=models.PROTECT, related_name="terms")
    no_reshare = models.BooleanField(default=False)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")


class ShareLink(models.Model):
    """An expiring, revocable link to one recording or one case, opened without an account.

    Only the SHA-256 of the link token is stored. A "do not re-share" link binds to the
    first browser that opens it (a claim cookie whose hash is kept here): forwarding the
    URL to someone else gets them a refusal, which is audited."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_sha256 = models.CharField(max_length=64, unique=True)
    recording = models.ForeignKey("evidence.Recording", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="share_links")
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="share_links")
    label = models.CharField(max_length=200, blank=True, default="", help_text="who it is for")
    allow_download = models.BooleanField(default=False)
    no_reshare = models.BooleanField(default=False)
    claim_sha256 = models.CharField(max_length=64, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ShareQuerySet.as_manager()

    class Meta:
        constraints = [models.CheckConstraint(
            condition=(models.Q(recording__isnull=False, case__isnull=True)
                       | models.Q(recording__isnull=True, case__isnull=False)),
            name="share_link_one_target")]
