"""Cases and case membership. The tables keep their ``access_*`` names (``Meta.db_table``)."""

import uuid

from django.conf import settings
from django.db import models


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

    class Meta:
        db_table = "access_case"  # created by the access app; the table (and its m2m tables) stays

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
        db_table = "access_casefile"  # created by the access app; the table stays
        ordering = ["uploaded_at"]
