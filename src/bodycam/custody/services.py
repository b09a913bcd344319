"""Writing to the audit chain and raising alerts."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from functools import partial

from django.db import DatabaseError, connection, transaction

from . import actions
from .models import Alert, AuditEntry
from .witness import note_head

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
    """Append one entry to the audit chain (inside the caller's transaction if any). Once
    that transaction commits, the entry's hash is appended to the witness file (``witness``).

    ``action`` must be declared in ``custody.actions``: an undeclared one raises
    ``UndeclaredAction`` under ``settings.AUDIT_STRICT`` (tests, debug) and is otherwise
    written all the same, with an error logged."""
    _check_action(action)
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
        transaction.on_commit(partial(note_head, entry.seq, entry.entry_hash))
    return entry


def _check_action(action: str) -> None:
    if actions.is_declared(action):
        return
    from django.conf import settings

    if settings.AUDIT_STRICT:
        actions.check(action)
    log.error("undeclared audit action %r written; declare it in bodycam/custody/actions.py", action)


def raise_alert(kind: str, message: str, level: str = Alert.Level.CRITICAL) -> Alert:
    log.error("ALERT %s: %s", kind, message)
    return Alert.objects.create(kind=kind, message=message, level=level)


_alert_lock = threading.Lock()
_alert_stored_at: dict[str, float] = {}


def raise_alert_throttled(kind: str, message: str, interval: float,
                          level: str = Alert.Level.CRITICAL) -> Alert | None:
    """An alert for a condition that repeats (a full disk refuses every upload).

    Always logged. Kept as an Alert row at most once per ``interval`` seconds per kind
    (across processes: the catalogue is asked for a recent one). Never raises because the
    database cannot be written, since the condition it reports may be the very disk the
    database lives on: then the log line (and the storage gauges in /metrics) carry it.
    Returns the new row, or None when throttled or not storable."""
    log.error("ALERT %s: %s", kind, message)
    now = time.monotonic()
    with _alert_lock:
        last = _alert_stored_at.get(kind)
        if last is not None and now - last < interval:
            return None
    try:
        with transaction.atomic():
            since = datetime.now(timezone.utc) - timedelta(seconds=interval)
            if Alert.objects.filter(kind=kind, created_at__gte=since).exists():
                alert = None
            else:
                alert = Alert.objects.create(kind=kind, message=message, level=level)
    except DatabaseError as exc:
        log.critical("ALERT %s could not be stored in the catalogue (%s: %s); this log line is the alert",
                     kind, type(exc).__name__, str(exc)[:200])
        return None
    with _alert_lock:
        _alert_stored_at[kind] = now
    return alert


# -- request-aware helpers used by the web app and the API ------------------------------

def request_source(request) -> str:
    """Client address (and user agent family) for the audit entry's ``source``."""
    ip = request.META.get("REMOTE_ADDR", "") or ""
    agent = (request.META.get("HTTP_USER_AGENT", "") or "")[:80]
    return f"{ip} {agent}".strip()[:200]


def session_ref(request) -> str:
    """A stable reference to the session that does not reveal its key (first 16 hex of SHA-256)."""
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None) if session is not None else None
    if key:
        return "s:" + hashlib.sha256(key.encode()).hexdigest()[:16]
    auth = getattr(request, "auth", None)
    token_id = getattr(auth, "id", None)
    return f"t:{token_id}" if token_id else ""


def actor_of(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user.username
    return "anonymous"


def record_request(request, action: str, *, actor: str | None = None, object_type: str = "", object_id: str = "",
                   object_sha256: str = "", outcome: str = "ok", detail: dict | None = None) -> AuditEntry:
    """``record`` for an HTTP request: actor, source address and session filled in."""
    d = dict(detail or {})
    ref = session_ref(request)
    if ref:
        d.setdefault("session", ref)
    d.setdefault("method", request.method)
    d.setdefault("path", request.path[:200])
    return record(action, actor=actor or actor_of(request), source=request_source(request),
                  object_type=object_type, object_id=str(object_id), object_sha256=object_sha256,
                  outcome=outcome, detail=d)


def open_alerts(limit: int = 5) -> tuple[int, list[Alert]]:
    """Alerts nobody acknowledged yet (fixity, storage, witness, retention), newest first."""
    qs = Alert.objects.filter(acknowledged_at__isnull=True).order_by("-created_at")
    return qs.count(), list(qs[:limit])
