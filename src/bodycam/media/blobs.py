"""Blobs media names: derivatives (proxies, thumbnails, clips, redacted copies)."""

from __future__ import annotations

from ..evidence.models import not_purged_q
from .models import Derivative


def derivative_refs():
    """Derivatives are catalogued objects too: never orphans (unless their recording was purged)."""
    rows = Derivative.objects.filter(not_purged_q("clip__recording__")).values_list(
        "id", "sha256", "kind", "clip__recording__container_name")
    for id_, sha, kind, container in rows.iterator():
        yield sha, {"kind": "derivative", "id": str(id_), "container": container, "object": kind}


def names_derivative(sha256: str, besides_recording) -> bool:
    """A derivative of a recording not purged (other than ``besides_recording``) is these bytes."""
    rows = Derivative.objects.filter(not_purged_q("clip__recording__"), sha256=sha256)
    if besides_recording is not None:
        rows = rows.exclude(clip__recording_id=besides_recording)
    return rows.exists()
