"""Blobs public-records requests name: their release packages and correspondence files."""

from __future__ import annotations

from .models import Correspondence, RecordsRequest


def release_package_refs():
    rows = RecordsRequest.objects.exclude(package_sha256="").values_list("id", "package_sha256", "number")
    for id_, sha, number in rows.iterator():
        yield sha, {"kind": "release_package", "id": str(id_), "container": f"records request {number}",
                    "object": "package.zip"}


def names_release_package(sha256: str, besides_recording) -> bool:
    """A release package is these bytes (a package belongs to no one recording)."""
    return RecordsRequest.objects.filter(package_sha256=sha256).exists()


def correspondence_refs():
    rows = Correspondence.objects.exclude(file_sha256="").values_list("id", "file_sha256", "request__number",
                                                                      "file_name")
    for id_, sha, number, name in rows.iterator():
        yield sha, {"kind": "records_correspondence", "id": str(id_), "container": f"records request {number}",
                    "object": name}


def names_correspondence(sha256: str, besides_recording) -> bool:
    """A correspondence file is these bytes (it belongs to no one recording)."""
    return Correspondence.objects.filter(file_sha256=sha256).exists()
