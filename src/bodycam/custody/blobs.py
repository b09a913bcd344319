"""Blobs the custody app names: audit log exports."""

from __future__ import annotations

from .models import AuditExport


def audit_export_refs():
    for id_, sha, fmt in AuditExport.objects.values_list("id", "sha256", "format").iterator():
        yield sha, {"kind": "audit_export", "id": str(id_), "container": "audit log exports",
                    "object": f"audit-{id_}.{fmt}"}


def names_audit_export(sha256: str, besides_recording) -> bool:
    return AuditExport.objects.filter(sha256=sha256).exists()
