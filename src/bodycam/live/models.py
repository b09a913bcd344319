"""Live view: who is on the air (a camera recording and announcing it), where they were,
who watched. Positions are the recording's metadata: once the recording is docked they
point at it and go with it at retention's purge (``retention.services._purge``)."""

import uuid

from django.conf import settings
from django.db import models


class LiveSession(models.Model):
    """One recording as the live view knows it: from the camera's ``start`` to its ``stop``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey("evidence.Device", on_delete=models.PROTECT, related_name="+")
    officer = models.ForeignKey("evidence.Officer", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    container_name = models.CharField(max_length=255)
    trigger = models.CharField(max_length=64, blank=True, default="")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    trigger_off = models.CharField(max_length=64, blank=True, default="")
    last_heard_at = models.DateTimeField()
    watchme_at = models.DateTimeField(null=True, blank=True, help_text="the officer's last 'watch me' request")
    # set when the recording is docked (evidence.Recording with this device and container)
    recording = models.ForeignKey("evidence.Recording", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "container_name"], name="live_session_unique")]
        indexes = [models.Index(fields=["ended_at", "started_at"])]


class LivePosition(models.Model):
    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="positions")
    recording = models.ForeignKey("evidence.Recording", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    event = models.CharField(max_length=16)  # start | position | watchme | stop
    at = models.DateTimeField()
    latitude = models.FloatField()
    longitude = models.FloatField()
    accuracy = models.FloatField(default=0)

    class Meta:
        ordering = ["session", "at", "id"]


class CommandStaff(models.Model):
    """A supervisor who may watch every officer live (not only their squads'). Added and
    removed by an administrator (``bodycam live command-staff``), each change audited."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE,
                                related_name="+")
    added_by = models.CharField(max_length=150)
    added_at = models.DateTimeField(auto_now_add=True)
