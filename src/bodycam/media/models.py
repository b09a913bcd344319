"""Derivatives: files made from an original (proxy, thumbnail, clip, redacted copy).
Each is a new object in the blob store that names the hash of the file it was made
from; originals are never rewritten."""

import uuid

from django.conf import settings
from django.db import models


class Derivative(models.Model):
    class Kind(models.TextChoices):
        PROXY = "proxy"          # H.264 faststart MP4 for playback
        THUMBNAIL = "thumbnail"  # JPEG still(s)
        CLIP = "clip"            # in/out excerpt
        REDACTED = "redacted"    # redacted copy for release
        OTHER = "other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clip = models.ForeignKey("evidence.Clip", on_delete=models.PROTECT, related_name="derivatives",
                             help_text="the original this descends from")
    parent_sha256 = models.CharField(max_length=64, help_text="hash of the file it was made from")
    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=64)
    params = models.JSONField(default=dict, help_text="how it was made (in/out points, redaction spec, ...)")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
