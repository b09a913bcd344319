"""Append-only audit chain and operator alerts."""

import uuid

from django.db import models


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

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]


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
