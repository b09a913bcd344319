"""The evidence catalogue. Rows describe originals; the bytes live in the blob store.

Times are UTC, kept to the millisecond. Originals are never modified: a clip row's
sha256/size are set once at ingest and nothing updates them.
"""

import re
import uuid

from django.conf import settings
from django.db import models, transaction


class Officer(models.Model):
    """A person who wears a camera, as the body-worn system knows them (Axis user UUID)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    axis_user_id = models.UUIDField(unique=True)
    name = models.CharField(max_length=100, blank=True, default="")
    user_key = models.CharField(max_length=100, blank=True, default="", help_text="Axis 'UserID' (badge/employee no.)")
    active = models.BooleanField(default=True)
    account = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="officer")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.name} ({self.user_key})" if self.user_key else self.name or str(self.axis_user_id)


class Device(models.Model):
    class Kind(models.TextChoices):
        BODY = "body"
        VEHICLE = "vehicle"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    serial = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=100, blank=True, default="")
    model = models.CharField(max_length=64, blank=True, default="")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.BODY)
    active = models.BooleanField(default=True)
    # Ed25519 public key (raw 32 bytes, base64) used to verify clip manifests.
    public_key = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    # Fleet administration (ingest/devices.py): who carries the camera or which vehicle/unit it
    # is mounted in (an inventory fact; a recording's officer is still the one its camera names),
    # and retirement (the row, its key and its evidence stay; new uploads are flagged).
    assigned_officer = models.ForeignKey(Officer, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="assigned_devices")
    vehicle = models.CharField(max_length=100, blank=True, default="", help_text="vehicle or unit name")
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_reason = models.CharField(max_length=500, blank=True, default="")

    def __str__(self):
        return self.serial


class Category(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    axis_id = models.CharField(max_length=32, unique=True, help_text="Id published in System/Categories.json")
    name = models.CharField(max_length=100, unique=True)
    retention_days = models.PositiveIntegerField(null=True, blank=True, help_text="empty = keep indefinitely")
    # The floor a custodian may not go below (retention/): shortening under it is refused.
    min_retention_days = models.PositiveIntegerField(default=0)
    min_indefinite = models.BooleanField(default=False, help_text="must be kept indefinitely (e.g. homicide)")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name


def in_catalogue_q(prefix: str = "") -> models.Q:
    """Recordings still in the catalogue: not in the deletion queue's grace period
    (``deleted_at``) and not purged by retention (``purged_at``). ``prefix`` reaches a
    recording through a relation, e.g. ``in_catalogue_q("recording__")`` on clips."""
    return models.Q(**{f"{prefix}deleted_at__isnull": True, f"{prefix}purged_at__isnull": True})


def not_purged_q(prefix: str = "") -> models.Q:
    """Recordings whose bytes are still stored (a purged recording's row is its tombstone)."""
    return models.Q(**{f"{prefix}purged_at__isnull": True})


class RecordingQuerySet(models.QuerySet):
    def in_catalogue(self):
        """Evidence still in the catalogue (see ``in_catalogue_q``)."""
        return self.filter(in_catalogue_q())

    def not_purged(self):
        return self.filter(not_purged_q())


class Recording(models.Model):
    """One Axis recording container ``<UserID>_<BWCSerialNumber>_<TriggerOnTime>``."""

    class Status(models.TextChoices):
        TRANSFERRING = "transferring"
        COMPLETE = "complete"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    container_name = models.CharField(max_length=200, unique=True)
    # Readable identity (evidence/identity.py): the number is given once, at creation, and
    # never changes; the title is a person's ("" = the default made from category, incident, time).
    evidence_number = models.CharField(max_length=100, unique=True, null=True, blank=True, editable=False)
    title = models.CharField(max_length=200, blank=True, default="")
    officer = models.ForeignKey(Officer, on_delete=models.PROTECT, related_name="recordings")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="recordings")
    scu_serial = models.CharField(max_length=64, blank=True, default="")
    firmware = models.CharField(max_length=64, blank=True, default="")
    bwc_model = models.CharField(max_length=64, blank=True, default="")
    trigger_on = models.CharField(max_length=64, blank=True, default="")
    trigger_off = models.CharField(max_length=64, blank=True, default="")
    trigger_on_time = models.DateTimeField()
    trigger_off_time = models.DateTimeField(null=True, blank=True)
    trigger_on_location = models.CharField(max_length=64, blank=True, default="")
    trigger_off_location = models.CharField(max_length=64, blank=True, default="")
    start_time = models.DateTimeField(null=True, blank=True)
    stop_time = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRANSFERRING)
    metadata = models.JSONField(default=dict, help_text="container metadata exactly as received")
    categories = models.ManyToManyField(Category, blank=True, related_name="recordings")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Retention (retention/): kept at least until retain_until; deleted_at = in the deletion
    # queue's grace period (hidden, recoverable); purged_at = bytes gone, row kept as tombstone.
    retain_until = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    objects = RecordingQuerySet.as_manager()

    class Meta:
        ordering = ["-trigger_on_time"]
        indexes = [models.Index(fields=["officer", "trigger_on_time"]), models.Index(fields=["device", "trigger_on_time"])]

    def __str__(self):
        return self.container_name

    def save(self, *args, **kwargs):
        if self._state.adding and not self.evidence_number:
            from .identity import next_evidence_number

            # The number and the row commit together (or neither does: the number is then not given).
            with transaction.atomic():
                self.evidence_number = next_evidence_number(self.start_time or self.trigger_on_time)
                return super().save(*args, **kwargs)
        return super().save(*args, **kwargs)

    @property
    def started_by(self) -> str:
        """What started the recording, for people: "siren (unit 12)", "button", "light bar"."""
        return trigger_label(self.trigger_on, (self.metadata or {}).get("TriggerOnUnit", ""))


class EvidenceSequence(models.Model):
    """The last evidence number given in one sequence (``identity.sequence_key``: e.g. one per
    year). Advanced by one UPDATE in the transaction that creates the recording."""

    key = models.CharField(max_length=100, primary_key=True)
    last = models.BigIntegerField(default=0)


def trigger_label(trigger_on: str, unit: str = "") -> str:
    """``SignalSiren`` + unit ``12`` -> ``siren (unit 12)``; ``SignalLightBar`` -> ``light bar``;
    ``SignalCAD`` -> ``CAD``; other Axis triggers (``Button``, ``Still``) lower-cased."""
    name = trigger_on[6:] if trigger_on.startswith("Signal") and len(trigger_on) > 6 else trigger_on
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", name) or [name]
    label = " ".join(w if len(w) > 1 and w.isupper() else w.lower() for w in words)
    return f"{label} (unit {unit})" if unit else label


class Clip(models.Model):
    """An original media file (mkv/mp4) exactly as the camera wrote it."""

    class Signature(models.TextChoices):
        ABSENT = "absent"
        VALID = "valid"
        INVALID = "invalid"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="clips")
    object_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    md5 = models.CharField(max_length=32)
    size = models.BigIntegerField()
    container_type = models.CharField(max_length=8)
    start_time = models.DateTimeField(null=True, blank=True)
    stop_time = models.DateTimeField(null=True, blank=True)
    start_location = models.CharField(max_length=64, blank=True, default="")
    stop_location = models.CharField(max_length=64, blank=True, default="")
    duration_s = models.FloatField()
    media_info = models.JSONField(default=dict, help_text="streams found by the ingest probe")
    signature = models.CharField(max_length=8, choices=Signature.choices, default=Signature.ABSENT)
    metadata = models.JSONField(default=dict, help_text="object metadata exactly as received")
    ingested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start_time", "object_name"]
        constraints = [models.UniqueConstraint(fields=["recording", "object_name"], name="clip_unique_name")]

    def __str__(self):
        return f"{self.recording.container_name}/{self.object_name}"


class Attachment(models.Model):
    """Any other object of a recording container, kept byte-exact: key files, GNSS
    tracks, bookmark texts. Parsed forms live in Bookmark / GnssPoint."""

    class Kind(models.TextChoices):
        KEY = "key"
        GNSS = "gnss"
        BOOKMARK = "bookmark"
        MANIFEST = "manifest"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="attachments")
    object_name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    sha256 = models.CharField(max_length=64, db_index=True)
    md5 = models.CharField(max_length=32)
    size = models.BigIntegerField()
    metadata = models.JSONField(default=dict)
    ingested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recording", "object_name"], name="attachment_unique_name")]


class Bookmark(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="bookmarks")
    attachment = models.OneToOneField(Attachment, null=True, on_delete=models.PROTECT)
    text = models.TextField(blank=True, default="")
    category_id = models.CharField(max_length=32, blank=True, default="")
    category_name = models.CharField(max_length=100, blank=True, default="")
    tags = models.JSONField(default=dict, help_text="'key:value;...' parsed; bare tags map to ''")
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start_time"]


class GnssPoint(models.Model):
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="gnss_points")
    attachment = models.ForeignKey(Attachment, on_delete=models.PROTECT)
    seq = models.PositiveIntegerField()
    latitude = models.FloatField()
    longitude = models.FloatField()
    seconds_from_start = models.FloatField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["recording", "seq"]


class Note(models.Model):
    """A note on a recording. Notes are added, never edited (the audit log has them too)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recording = models.ForeignKey("evidence.Recording", on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "access_note"  # created by the access app; the table stays
        ordering = ["created_at"]


class Tag(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recording = models.ForeignKey("evidence.Recording", on_delete=models.PROTECT, related_name="tags")
    name = models.CharField(max_length=64)

    class Meta:
        db_table = "access_tag"  # created by the access app; the table stays
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["recording", "name"], name="tag_unique_per_recording")]
