"""Writing to the audit chain and raising alerts."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timezone

from django.db import connection, transaction

from .models import Alert, AuditEntry

log = logging.getLogger("bodycam.custody")

GENESIS = "0" * 64


def now_ms() -> datetime:
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def entry_digest(fields: dict) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def hashed_fields(e: AuditEntry) -> dict:
    return {
        "seq": e.seq,
        "at": e.at.astimezone(timezone.utc).isoformat(timespec="milliseconds"),
        "actor": e.actor,
        "source": e.source,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "object_sha256": e.object_sha256,
        "outcome": e.outcome,
        "detail": e.detail,
        "prev_hash": e.prev_hash,
    }


def _lock_chain_head():
    # Appends must be serialised so each entry names its true predecessor.
    # SQLite transactions here are IMMEDIATE (one writer); PostgreSQL takes an advisory lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(726354)")


def record(action: str, *, actor: str = "system", source: str = "", object_type: str = "",
           object_id: str = "", object_sha256: str = "", outcome: str = "ok",
           detail: dict | None = None) -> AuditEntry:
    """Append one entry to the audit chain (inside the caller's transaction if any)."""
    with transaction.atomic():
        _lock_chain_head()
        last = AuditEntry.objects.order_by("-seq").only("seq", "entry_hash").first()
        entry = AuditEntry(
            seq=(last.seq + 1) if last else 1,
            at=now_ms(),
            actor=actor[:150],
            source=source[:200],
            action=action,
            object_type=object_type,
            object_id=str(object_id)[:200],
            object_sha256=object_sha256,
            outcome=outcome,
            detail=detail or {},
            prev_hash=last.entry_hash if last else GENESIS,
        )
        entry.entry_hash = entry_digest(hashed_fields(entry))
        entry.save(force_insert=True)
    return entry


def raise_alert(kind: str, message: str, level: str = Alert.Level.CRITICAL) -> Alert:
    log.error("ALERT %s: %s", kind, message)
    return Alert.objects.create(kind=kind, message=message, level=level)
