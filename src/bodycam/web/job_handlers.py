"""Jobs the audit page starts (the work is in evidence_ops.auditlog, below the jobs app)."""

from __future__ import annotations

from ..jobs.registry import handler


@handler("web.audit_verify")
def audit_verify(ctx) -> dict:
    from ..evidence_ops import auditlog

    return auditlog.verify_job(ctx)


@handler("web.audit_export")
def audit_export(ctx, filters: dict, upto: int, fmt: str, by: str) -> dict:
    from ..evidence_ops import auditlog

    return auditlog.export_job(ctx, filters, upto, fmt, by)
