"""Blobs public-records requests name: their release packages."""

from __future__ import annotations

from .models import RecordsRequest


def release_package_refs():
    rows = RecordsRequest.objects.exclude(package_sha256="").values_list("id", "package_sha256", "number")
    for id_, sha, number in rows.iterator():
        yield sha, {"kind": "release_package", "id": str(id_), "container": f"records request {number}",
                    "object": "package.zip"}


def names_release_package(sha256: str, besides_recording) -> bool:
    """A release package is these bytes (a package belongs to no one recording)."""
    return RecordsRequest.objects.filter(package_sha256=sha256).exists()
