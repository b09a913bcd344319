"""A job the workers run (proxy, transcript, redaction, sweep...), kept in the catalogue so
people can see its progress and log, and so running it twice is recognisable."""

import uuid

from django.conf import settings
from django.db import models


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0..1")
    message = models.CharField(max_length=200, blank=True, default="")
    log = models.TextField(blank=True, default="")
    params = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    error = models.TextField(blank=True, default="")
    # What the job works on (e.g. object_type="clip", object_id=<uuid>), for the UI and for idempotency.
    object_type = models.CharField(max_length=32, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # While a worker runs the job it keeps renewing this lease; a job whose lease ran out is
    # one whose worker died, and another worker may take it over.
    lease_until = models.DateTimeField(null=True, blank=True)
    # The catalogue is the truth, the broker a hint: when a queued job should start (now, or
    # after a retry's backoff), when a message for it last went to the broker and how many went.
    # A queued job not started a grace after it was due, or a running one whose lease ran out, is
    # overdue: the reconciler (jobs.reconcile) sends it again.
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatches = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} {self.id} ({self.status})"
