"""Public-records requests: who asked for what, by when the law says we must answer,
which items answer it, their redactions, the custodian's approval and the package."""

import uuid

from django.conf import settings
from django.db import models


class RecordsRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"              # received, items being gathered and redacted
        SUBMITTED = "submitted"    # sent to a custodian for approval
        APPROVED = "approved"
        RELEASED = "released"      # package made
        DENIED = "denied"          # closed without release (exemption), with reason

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=32, unique=True)
    requester = models.CharField(max_length=200)
    requester_contact = models.CharField(max_length=200, blank=True, default="")
    scope = models.TextField(max_length=5000)
    received_on = models.DateField()
    critical_incident = models.BooleanField(default=False)
    deadline = models.DateField(help_text="statutory deadline, extensions included")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    # The approver was the submitter, allowed by BODYCAM_RECORDS_SINGLE_PERSON_APPROVAL (the page says so).
    single_person_approval = models.BooleanField(default=False)
    approved_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True, default="")
    released_at = models.DateTimeField(null=True, blank=True)
    package_sha256 = models.CharField(max_length=64, blank=True, default="", db_index=True)
    package_size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deadline", "number"]

    def __str__(self):
        return self.number


class DeadlineExtension(models.Model):
    """A logged extension of the statutory deadline (e.g. 30 days), with its reason."""

    id = models.BigAutoField(primary_key=True)
    request = models.ForeignKey(RecordsRequest, on_delete=models.PROTECT, related_name="extensions")
    days = models.PositiveIntegerField()
    reason = models.CharField(max_length=500)
    old_deadline = models.DateField()
    new_deadline = models.DateField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at"]


class RequestItem(models.Model):
    """One clip answering the request, and what will be released for it: a redacted copy, or
    the clip as it is (``as_is_reason`` says why nothing needs redacting). A removed item stays
    listed with its reason (``removed_at``) and is left out of the release."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(RecordsRequest, on_delete=models.PROTECT, related_name="items")
    clip = models.ForeignKey("evidence.Clip", on_delete=models.PROTECT, related_name="+")
    redaction = models.ForeignKey("media.Redaction", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    as_is_reason = models.CharField(max_length=500, blank=True, default="",
                                    help_text="released unredacted, and why nothing needs redacting")
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    removal_reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["added_at"]
        constraints = [models.UniqueConstraint(fields=["request", "clip"], name="records_item_once")]


class DeliveryLink(models.Model):
    """An expiring, revocable link through which the requester downloads the release package
    without an account (like release's share links: only the token's SHA-256 is kept)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(RecordsRequest, on_delete=models.PROTECT, related_name="delivery_links")
    token_sha256 = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=200, blank=True, default="", help_text="who it is for")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at"]


class Correspondence(models.Model):
    """One dated entry of the request's correspondence log: a letter or e-mail sent to or
    received from the requester, its summary and, optionally, the file itself (blob store)."""

    class Direction(models.TextChoices):
        SENT = "sent"
        RECEIVED = "received"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(RecordsRequest, on_delete=models.PROTECT, related_name="correspondence")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    on = models.DateField()
    summary = models.CharField(max_length=2000)
    file_name = models.CharField(max_length=200, blank=True, default="")
    file_sha256 = models.CharField(max_length=64, blank=True, default="", db_index=True)
    file_size = models.BigIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True, default="")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["on", "at"]
