"""Derivatives: files made from an original (proxy, thumbnail, clip, redacted copy).
Each is a new object in the blob store that names the hash of the file it was made
from; originals are never rewritten."""

import hashlib
import json
import uuid

from django.conf import settings
from django.db import models


def params_key(params: dict) -> str:
    """SHA-256 of the parameters as canonical JSON (sorted keys): the same settings give the
    same key whatever order they were written in."""
    return hashlib.sha256(json.dumps(params or {}, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode()).hexdigest()


class Derivative(models.Model):
    class Kind(models.TextChoices):
        PROXY = "proxy"          # H.264 faststart MP4 for playback
        THUMBNAIL = "thumbnail"  # JPEG still(s)
        IMAGE = "image"          # a still photo's picture, full size (JPEG)
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
    # One derivative per (clip, kind, settings): params_key(params), set on save. Duplicates made
    # before the constraint keep their rows and blobs, marked "duplicate:<their id>" (migration 0004).
    params_key = models.CharField(max_length=64, default="", editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["clip", "kind", "params_key"],
                                               name="derivative_one_per_settings")]

    def save(self, *args, **kwargs):
        if not self.params_key:
            self.params_key = params_key(self.params)
        super().save(*args, **kwargs)


class Transcript(models.Model):
    """The transcript of one original clip. ``machine`` is what the speech model wrote and
    is never changed; ``segments`` is the current text (the machine's until someone edits
    it). Every edit is a TranscriptRevision and an audit entry."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clip = models.OneToOneField("evidence.Clip", on_delete=models.PROTECT, related_name="transcript")
    parent_sha256 = models.CharField(max_length=64)
    model = models.CharField(max_length=100)
    language = models.CharField(max_length=8, default="en", help_text="main language (most speech)")
    language_probability = models.FloatField(null=True, blank=True, help_text="Whisper's, for the main language")
    language_source = models.CharField(max_length=16, default="detected",
                                       help_text="detected | forced (agency default or job override) | model")
    languages = models.JSONField(default=list, help_text="every language heard, most speech first")
    machine = models.JSONField(help_text="segments with words as the model wrote them (kept unchanged)")
    segments = models.JSONField(help_text="current segments (edited or machine)")
    version = models.PositiveIntegerField(default=1)
    vtt = models.ForeignKey(Derivative, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    json = models.ForeignKey(Derivative, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class Translation(models.Model):
    """Machine translation to English of a clip's non-English speech (Whisper's translate
    task on the audio): a second derivative beside the transcript, never replacing it, never
    edited, always labelled as machine translation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clip = models.OneToOneField("evidence.Clip", on_delete=models.PROTECT, related_name="translation")
    transcript = models.ForeignKey(Transcript, on_delete=models.PROTECT, related_name="translations")
    parent_sha256 = models.CharField(max_length=64)
    model = models.CharField(max_length=100)
    language = models.CharField(max_length=8, default="en", help_text="target language")
    source_languages = models.JSONField(default=list)
    segments = models.JSONField(help_text="English segments with the source language of each")
    vtt = models.ForeignKey(Derivative, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    json = models.ForeignKey(Derivative, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)


class TranscriptRevision(models.Model):
    """One edit of a transcript: the segments after it, who and why."""

    id = models.BigAutoField(primary_key=True)
    transcript = models.ForeignKey(Transcript, on_delete=models.PROTECT, related_name="revisions")
    version = models.PositiveIntegerField()
    segments = models.JSONField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version"]
        constraints = [models.UniqueConstraint(fields=["transcript", "version"], name="transcript_version_unique")]


class Redaction(models.Model):
    """A redaction of one original clip: the machine's plan (face and plate tracks), the user's
    edits (tracks off, manual boxes, audio ranges, method, reasons) and the output."""

    class Status(models.TextChoices):
        ANALYZING = "analyzing"
        REVIEW = "review"        # plan ready for a person to check
        RENDERING = "rendering"
        DONE = "done"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clip = models.ForeignKey("evidence.Clip", on_delete=models.PROTECT, related_name="redactions")
    parent_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ANALYZING, db_index=True)
    plan = models.JSONField(default=dict, help_text="tracks, audio ranges, method, reasons")
    output = models.ForeignKey(Derivative, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    analyze_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    render_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]


class Analysis(models.Model):
    """What the machine found in one original (face and plate tracks), made once per
    model and settings: ``key`` is the SHA-256 of both (``redactions.analysis_settings``), so a
    redaction opened later reuses it and nothing is analysed again until the model or the
    settings change. Never edited: a redaction copies the tracks into its own plan."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clip = models.ForeignKey("evidence.Clip", on_delete=models.PROTECT, related_name="analyses")
    parent_sha256 = models.CharField(max_length=64)
    key = models.CharField(max_length=64, help_text="SHA-256 of the models and settings used")
    settings = models.JSONField(default=dict, help_text="the models and settings the key names")
    plan = models.JSONField(default=dict, help_text="clip size, frames and the tracks found")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["clip", "key"], name="analysis_one_per_key")]


class PlateRead(models.Model):
    """A licence plate the machine read in a clip: one per plate track of an analysis, with
    the seconds it is in view. A machine finding (never edited), searchable by its text."""

    id = models.BigAutoField(primary_key=True)
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="plate_reads")
    clip = models.ForeignKey("evidence.Clip", on_delete=models.PROTECT, related_name="plate_reads")
    text = models.CharField(max_length=16, db_index=True, help_text="upper-case letters and digits")
    track = models.CharField(max_length=16)
    start_s = models.FloatField()
    end_s = models.FloatField()
    score = models.FloatField(help_text="the model's mean character probability of the read")

    class Meta:
        ordering = ["start_s", "id"]
