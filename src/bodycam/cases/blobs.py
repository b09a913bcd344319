"""Blobs a case names: its other files (reports, photos, 911 audio)."""

from __future__ import annotations

from .models import CaseFile


def case_file_refs():
    for id_, sha, name, case in CaseFile.objects.values_list("id", "sha256", "name", "case__number").iterator():
        yield sha, {"kind": "case_file", "id": str(id_), "container": f"case {case}", "object": name}


def names_case_file(sha256: str, besides_recording) -> bool:
    """A case file is these bytes (case files belong to no recording)."""
    return CaseFile.objects.filter(sha256=sha256).exists()
