"""Blobs a purge let go of that the store still holds (``BlobPurge`` rows): registered with
the storage layer so the orphan sweep leaves them for the retention sweep to remove."""

from __future__ import annotations

from .models import BlobPurge


def blobs_waiting_removal():
    return BlobPurge.objects.values_list("sha256", flat=True).iterator()
