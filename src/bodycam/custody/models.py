"""Append-only audit chain and operator alerts."""

import uuid

from django.db import models

from ..errors import BodycamError


class AuditImmutable(BodycamError):
    """Raised by any attempt to change or remove an audit entry through the ORM."""

    status = 500  # a programming error, never a client's


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditImmutable("audit entries are never updated")

    def delete(self):
        raise AuditImmutable("audit entries are never deleted")

    def bulk_update(self, *args, **kwargs):
        raise AuditImmutable("audit entries are never updated")


AppendOnlyManager = models.Manager.from_queryset(AppendOnlyQuerySet)


class AuditEntry(models.Model):
    """One event. ``entry_hash`` covers every field and the previous entry's hash,
    so editing, deleting or reordering a row breaks the chain from there on."""

    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    source = models.CharField(max_length=200, blank=True, default="")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32, blank=True, default="")
    object_id = models.CharField(max_length=200, blank=True, default="")
    object_sha256 = models.CharField(max_length=64, blank=True, default="")
    outcome = models.CharField(max_length=16, default="ok")
    detail = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def save(self, *args, **kwargs):
        if not kwargs.get("force_insert"):
            raise AuditImmutable("audit entries are appended with force_insert and never updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutable("audit entries are never deleted")


class Alert(models.Model):
    class Level(models.TextChoices):
        WARNING = "warning"
        CRITICAL = "critical"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    level = models.CharField(max_length=16, choices=Level.choices)
    kind = models.CharField(max_length=64)
    message = models.TextField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class Checkpoint(models.Model):
    """A signed statement "the chain had ``size`` entries and its head was ``head_hash``"
    (Ed25519, server key). Copies go to a witness file outside the database."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    size = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    at = models.DateTimeField()
    public_key = models.CharField(max_length=64)
    signature = models.CharField(max_length=100)

    class Meta:
        ordering = ["size", "at"]


class AuditExport(models.Model):
    """A file of audit entries an auditor asked for (CSV or JSON lines; the audit page's
    filters up to a fixed sequence number), made by a job and kept in the blob store."""

    class Format(models.TextChoices):
        CSV = "csv"
        JSONL = "jsonl"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job_id = models.UUIDField(unique=True)  # the jobs.Job that made it (jobs sits above custody)
    format = models.CharField(max_length=8, choices=Format.choices)
    filters = models.JSONField(default=dict)
    upto = models.BigIntegerField()
    entries = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField(default=0)
    created_by = models.CharField(max_length=150)  # the auditor's username
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
