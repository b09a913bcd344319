"""Credentials and state of the Axis/Swift ingest endpoint."""

import uuid

from django.db import models


class IngestAccount(models.Model):
    """One BlobAPIUserName/BlobAPIKey pair (one per connected body-worn system site)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site_name = models.CharField(max_length=64, unique=True)
    username = models.CharField(max_length=64, unique=True)
    key_hash = models.CharField(max_length=128, help_text="sha256 of the API key")
    created_at = models.DateTimeField(auto_now_add=True)


class IngestToken(models.Model):
    """Swift auth token; kept in the database so any ingest node can check it."""

    token_hash = models.CharField(max_length=64, primary_key=True)
    account = models.ForeignKey(IngestAccount, on_delete=models.CASCADE)
    expires_at = models.DateTimeField()


class SystemObject(models.Model):
    """Objects of the ``System/`` container written by the body-worn system (SystemID)."""

    name = models.CharField(max_length=200, primary_key=True)
    metadata = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)
