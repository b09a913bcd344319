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
