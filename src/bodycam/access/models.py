"""Accounts and roles. Object-level rules grow here (see docs/access.md)."""

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    DETECTIVE = "detective"
    CUSTODIAN = "custodian"
    PROSECUTOR = "prosecutor"
    ADMIN = "admin"
    AUDITOR = "auditor"


class User(AbstractUser):
    # UUIDs, never guessable sequences.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    role = models.CharField(max_length=16, choices=Role.choices)
    badge = models.CharField(max_length=32, blank=True, default="")

    def __str__(self):
        return f"{self.username} ({self.role})"
