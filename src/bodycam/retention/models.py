"""Retention: the policy (one row), legal holds, the deletion queue, tombstones of purged
recordings, and dispatch (CAD) incidents with their links to recordings.

Category periods live on ``evidence.Category`` (retention_days, min_retention_days,
min_indefinite); a recording's retention state on ``evidence.Recording`` (retain_until,
deleted_at, purged_at). See docs/retention.md.
"""

import uuid

from django.db import models


class RetentionSettings(models.Model):
    """The agency's retention and compliance policy (a single row, id=1). Loaded from a
    YAML/JSON policy file or edited by a custodian in the UI; every change is audited."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    grace_days = models.PositiveIntegerField(default=30, help_text="days an expired item stays recoverable")
    require_approval = models.BooleanField(default=False, help_text="a custodian approves each purge")
    notice_days = models.PositiveIntegerField(default=30, help_text="upcoming-deletion report window")
    price_per_tb_month = models.FloatField(default=23.0)
    call_type_categories = models.JSONField(default=dict, help_text="CAD call type -> category name")
    required_call_types = models.JSONField(default=list, help_text="call types that require recording")
    late_activation_s = models.PositiveIntegerField(default=120)
    link_slack_s = models.PositiveIntegerField(default=300, help_text="time tolerance for CAD linking")
    review_sample_size = models.PositiveIntegerField(default=5)
    policy_sha256 = models.CharField(max_length=64, blank=True, default="")
    policy_loaded_at = models.DateTimeField(null=True, blank=True)
    # The clock of the last real sweep: a later sweep whose "now" is earlier is refused.
    last_sweep_at = models.DateTimeField(null=True, blank=True)


class LegalHold(models.Model):
    """Blocks deletion of its recordings (and of every recording of its case) until released."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    reason = models.CharField(max_length=500)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="holds")
    recordings = models.ManyToManyField("evidence.Recording", blank=True, related_name="legal_holds")
    placed_by = models.CharField(max_length=150)
    placed_at = models.DateTimeField()
    released_by = models.CharField(max_length=150, blank=True, default="")
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at"]


class DeletionEntry(models.Model):
    """One expired recording in the deletion queue. ``pending`` until ``purge_after``
    (the grace period); then purged, unless recovered or blocked (hold, open case) first."""

    class State(models.TextChoices):
        PENDING = "pending"
        RECOVERED = "recovered"   # a custodian took it back
        CANCELLED = "cancelled"   # a hold/case/longer retention appeared before the purge
        PURGED = "purged"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recording = models.ForeignKey("evidence.Recording", on_delete=models.PROTECT, related_name="deletion_entries")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    expired_at = models.DateTimeField(help_text="when retention ran out")
    queued_at = models.DateTimeField()
    purge_after = models.DateTimeField()
    categories = models.JSONField(default=list)
    retention_days = models.PositiveIntegerField(null=True)
    approved_by = models.CharField(max_length=150, blank=True, default="")
    approved_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=150, blank=True, default="")
    closed_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["purge_after"]
        constraints = [models.UniqueConstraint(fields=["recording"], condition=models.Q(state="pending"),
                                               name="one_pending_deletion_per_recording")]


class Tombstone(models.Model):
    """What remains of a purged recording: who/what/when and the hashes, never the bytes."""

    recording = models.OneToOneField("evidence.Recording", primary_key=True, on_delete=models.PROTECT,
                                     related_name="tombstone")
    container_name = models.CharField(max_length=200)
    officer = models.CharField(max_length=200, blank=True, default="")
    device = models.CharField(max_length=64, blank=True, default="")
    categories = models.JSONField(default=list)
    recorded_at = models.DateTimeField()
    ingested_at = models.DateTimeField(null=True)
    expired_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True)
    purged_at = models.DateTimeField()
    objects_json = models.JSONField(default=list, help_text="[{object, kind, sha256, size}] of the originals")
    blobs_removed = models.JSONField(default=list)
    blobs_kept = models.JSONField(default=list, help_text="hashes another live item still uses")
    bytes_freed = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-purged_at"]


class BlobPurge(models.Model):
    """A blob a purge let go of that the store has not removed yet: the object store refused
    (S3 Object Lock retention still running, a legal hold) or failed. The sweep tries again
    once ``retry_after`` has passed (the lock's end, when the store said it), so footage
    leaves when its retention ends and the lock allows, not never. Until then the blob is
    accounted for: the orphan sweep leaves it alone (fixity and backups skip it, as no live
    row names it)."""

    sha256 = models.CharField(max_length=64, unique=True)
    recordings = models.JSONField(default=list, help_text="ids of the purged recordings that named it")
    first_failed_at = models.DateTimeField()
    last_tried_at = models.DateTimeField()
    retry_after = models.DateTimeField(db_index=True, help_text="real time; the lock's end when known")
    attempts = models.PositiveIntegerField(default=1)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["retry_after"]


class CadIncident(models.Model):
    """One dispatch (CAD) incident as imported."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=64, unique=True)
    call_type = models.CharField(max_length=100, db_index=True)
    received_at = models.DateTimeField(db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=200, blank=True, default="")
    badges = models.JSONField(default=list, help_text="officers by badge number")
    units = models.JSONField(default=list, help_text="unit / vehicle ids")
    source = models.CharField(max_length=200, blank=True, default="")
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["received_at"]


class CadLink(models.Model):
    """A recording linked to an incident: automatically (officer/vehicle + time overlap) or
    by hand. Removing a link keeps the row (removed_at) so the override stays visible."""

    class Method(models.TextChoices):
        AUTO = "auto"
        MANUAL = "manual"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey(CadIncident, on_delete=models.PROTECT, related_name="links")
    recording = models.ForeignKey("evidence.Recording", on_delete=models.PROTECT, related_name="cad_links")
    method = models.CharField(max_length=8, choices=Method.choices)
    matched_by = models.CharField(max_length=16, blank=True, default="", help_text="badge | unit | manual")
    suggested_category = models.CharField(max_length=100, blank=True, default="")
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    removed_by = models.CharField(max_length=150, blank=True, default="")
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "recording"], name="cad_link_unique")]
