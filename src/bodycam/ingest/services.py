"""The ingest pipeline: validate, then commit. Views call these; nothing here knows HTTP
beyond the status codes carried by IngestError."""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction

from ..custody.models import Alert
from ..custody.services import raise_alert, raise_alert_throttled, record
from ..evidence.models import Attachment, Bookmark, Category, Clip, Device, GnssPoint, Officer, Recording
from ..files import write_private
from ..media.probe import MediaError, probe
from ..numbers import parse_uuid
from ..storage import InsufficientStorage, StoreUnavailable, get_store
from ..storage.base import IncompleteUpload
from ..storage.locks import blob_lock
from . import signatures, swift
from .errors import (
    BadRequest,
    Busy,
    ChecksumMismatch,
    Conflict,
    Forbidden,
    NotFound,
    OutOfSpace,
    TooLarge,
    Unauthorized,
    Unavailable,
)
from .models import IngestAccount, IngestToken, SystemObject

log = logging.getLogger("bodycam.ingest")

# Capabilities we implement, declared to the body-worn system (System/Capabilities.json).
CAPABILITIES = {
    "Read": {"ReadCategories": True},
    "Store": {
        "StoreUserIDKey": True,
        "StoreBookmarks": True,
        "StoreGNSSTrackRecording": True,
        "StoreSignedVideo": False,
        "StoreRejectedContent": False,
    },
    "StoreAndRead": {"StoreReadSystemID": True},
}

_upload_slots = threading.BoundedSemaphore(settings.MAX_CONCURRENT_UPLOADS)

# Tests force races through this: called with a point's name ("ingest.blob_committed": the
# blob is at its address, its row not yet committed) and details. None in production.
race_hook = None


def _race_point(point: str, **info) -> None:
    if race_hook is not None:
        race_hook(point, info)


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# ---------------------------------------------------------------- accounts and tokens

def ensure_account(site_name: str) -> tuple[IngestAccount, str]:
    """Return the account for a site and its API key (kept in keys/, created once)."""
    key_file = settings.KEYS_DIR / f"ingest-{_safe(site_name)}.key"
    account = IngestAccount.objects.filter(site_name=site_name).first()
    if account and key_file.exists():
        return account, key_file.read_text().strip()
    key = secrets.token_urlsafe(32)
    settings.KEYS_DIR.mkdir(parents=True, exist_ok=True)
    write_private(key_file, key)
    if account:
        account.key_hash = _hash_key(key)
        account.save(update_fields=["key_hash"])
    else:
        account = IngestAccount.objects.create(
            site_name=site_name, username=f"bws-{_safe(site_name)}"[:64], key_hash=_hash_key(key))
    record("ingest.account.key_issued", object_type="ingest_account", object_id=str(account.id),
           detail={"site": site_name, "username": account.username})
    return account, key


def _safe(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in s).strip("-").lower() or "site"


def authenticate(username: str, key: str, source: str) -> tuple[IngestAccount, str]:
    account = IngestAccount.objects.filter(username=username).first()
    if not account or not key or not secrets.compare_digest(account.key_hash, _hash_key(key)):
        record("ingest.login", actor=f"ingest:{username[:64]}", source=source, outcome="denied")
        raise Unauthorized("invalid X-Auth-User / X-Auth-Key")
    token = "bc_" + secrets.token_urlsafe(32)
    IngestToken.objects.filter(expires_at__lt=datetime.now(timezone.utc)).delete()
    IngestToken.objects.create(token_hash=_hash_key(token), account=account,
                               expires_at=datetime.now(timezone.utc) + timedelta(seconds=settings.INGEST_TOKEN_TTL_SECONDS))
    record("ingest.login", actor=f"ingest:{username}", source=source)
    return account, token


def account_for_token(token: str | None, account_part: str) -> IngestAccount:
    if not token:
        raise Unauthorized("X-Auth-Token missing")
    row = IngestToken.objects.select_related("account").filter(
        token_hash=_hash_key(token), expires_at__gt=datetime.now(timezone.utc)).first()
    if row is None:
        raise Unauthorized("X-Auth-Token invalid or expired")
    if account_part != f"AUTH_{row.account.username}":
        raise Forbidden("token does not belong to this account")
    return row.account


# ---------------------------------------------------------------- System/

def capabilities_json() -> bytes:
    return json.dumps(CAPABILITIES, indent=2, sort_keys=True).encode()


def categories_json() -> bytes:
    cats = Category.objects.filter(active=True).order_by("name")
    return json.dumps([{"Name": c.name, "Id": c.axis_id} for c in cats]).encode()


class Outcome(enum.Enum):
    """What a write did (ingest/views.py answers it in Swift's terms)."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # a repeat of what is stored: a retried upload or Complete


def put_system_object(name: str, meta: dict, actor: str, replace: bool) -> Outcome:
    if name in ("Capabilities.json", "Categories.json"):
        raise Forbidden(f"System/{name} is published by the content destination")
    if parse_uuid(name) is None:
        raise BadRequest("System objects are named by the SystemID (a UUID)")
    obj = SystemObject.objects.filter(name=name).first()
    if obj is None:
        if not replace:
            raise NotFound(f"System/{name}")
        SystemObject.objects.create(name=name, metadata=meta)
        record("ingest.system.register", actor=actor, object_type="system", object_id=name, detail=meta)
        return Outcome.CREATED
    # ConnectionId is set when the object is created and never changes.
    if obj.metadata.get("ConnectionId") and meta.get("ConnectionId", obj.metadata["ConnectionId"]) != obj.metadata["ConnectionId"]:
        raise Forbidden("ConnectionId of a system never changes")
    obj.metadata = meta if replace else {**obj.metadata, **meta}
    obj.save()
    record("ingest.system.update", actor=actor, object_type="system", object_id=name, detail=meta)
    return Outcome.UPDATED


# ---------------------------------------------------------------- Users/ and Devices/

def _bool(value: str | None, default: bool = True) -> bool:
    if value is None:
        return default
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise BadRequest(f"Active must be True or False, not {value[:16]!r}")


def put_user(name: str, meta: dict, actor: str, create: bool) -> Outcome:
    axis_id = parse_uuid(name)
    if axis_id is None:
        raise BadRequest("Users objects are named by the user's UUID")
    fields = {"name": meta.get("Name", "")[:100], "active": _bool(meta.get("Active")),
              "user_key": meta.get("UserID", "")[:100]}
    if fields["user_key"] and Officer.objects.filter(user_key=fields["user_key"]).exclude(axis_user_id=axis_id).exists():
        raise BadRequest(f"UserID {fields['user_key']!r} is already used by another user")
    with transaction.atomic():
        officer = Officer.objects.filter(axis_user_id=axis_id).first()
        if officer is None:
            if not create:
                raise NotFound(f"Users/{name}")
            officer = Officer.objects.create(axis_user_id=axis_id, **fields)
            record("ingest.user.register", actor=actor, object_type="officer", object_id=str(officer.id), detail=meta)
            return Outcome.CREATED
        before = {k: getattr(officer, k) for k in fields}
        for k, v in fields.items():
            setattr(officer, k, v)
        officer.save()
        record("ingest.user.update", actor=actor, object_type="officer", object_id=str(officer.id),
               detail={"before": before, "after": fields})
    return Outcome.UPDATED


def put_device(serial: str, meta: dict, actor: str, create: bool) -> Outcome:
    if not swift.SERIAL_RE.match(serial):
        raise BadRequest("device serial must be 1-64 letters, digits, '.', '-' or '_'")
    fields = {"name": meta.get("Name", "")[:100], "active": _bool(meta.get("Active"))}
    if meta.get("Model"):
        fields["model"] = meta["Model"][:64]
    with transaction.atomic():
        device = Device.objects.filter(serial=serial).first()
        if device is None:
            if not create:
                raise NotFound(f"Devices/{serial}")
            device = Device.objects.create(serial=serial, **fields)
            record("ingest.device.register", actor=actor, object_type="device", object_id=str(device.id), detail=meta)
            return Outcome.CREATED
        before = {k: getattr(device, k) for k in fields}
        for k, v in fields.items():
            setattr(device, k, v)
        device.save()
        record("ingest.device.update", actor=actor, object_type="device", object_id=str(device.id),
               detail={"before": before, "after": fields})
    return Outcome.UPDATED


# ---------------------------------------------------------------- recordings

def _recording_fields(name: str, meta: dict) -> dict:
    user_id, serial, trigger_on_name = swift.parse_container_name(name)
    if meta.get("UserID") and meta["UserID"].lower() != str(user_id):
        raise BadRequest("UserID metadata does not match the container name")
    if meta.get("BWCSerialNumber") and meta["BWCSerialNumber"] != serial:
        raise BadRequest("BWCSerialNumber metadata does not match the container name")
    if meta.get("ContainerName") and meta["ContainerName"] != name:
        raise BadRequest("ContainerName metadata does not match the container name")
    officer = Officer.objects.filter(axis_user_id=user_id).first()
    if officer is None:
        raise BadRequest(f"unknown user {user_id}: register it under Users/ first")
    device = Device.objects.filter(serial=serial).first()
    if device is None:
        raise BadRequest(f"unknown device {serial!r}: register it under Devices/ first")
    trigger_on = swift.time_pair(meta, "TriggerOnTime") or trigger_on_name
    if abs((trigger_on - trigger_on_name).total_seconds()) > 1.0:
        raise BadRequest("TriggerOnTime does not match the container name")
    trigger_off = swift.time_pair(meta, "TriggerOffTime")
    start = swift.time_pair(meta, "StartTime")
    stop = swift.time_pair(meta, "StopTime")
    swift.ordered(trigger_on, trigger_off, "trigger")
    swift.ordered(start, stop, "recording")
    status = meta.get("Status", "Transferring")
    if status not in ("Transferring", "Complete"):
        raise BadRequest("Status must be Transferring or Complete")
    return dict(
        officer=officer, device=device, trigger_on_time=trigger_on, trigger_off_time=trigger_off,
        start_time=start, stop_time=stop,
        scu_serial=meta.get("SCUSerialNumber", "")[:64], firmware=meta.get("FirmwareVersion", "")[:64],
        bwc_model=meta.get("BWCModel", "")[:64], trigger_on=meta.get("TriggerOn", "")[:64],
        trigger_off=meta.get("TriggerOff", "")[:64], trigger_on_location=meta.get("TriggerOnLocation", "")[:64],
        trigger_off_location=meta.get("TriggerOffLocation", "")[:64], time_zone=meta.get("TimeZone", "")[:64],
    ), status


def put_recording(name: str, meta: dict, actor: str, source: str, replace: bool) -> Outcome:
    """PUT (create) or POST (update metadata) a recording container."""
    with transaction.atomic():
        rec = Recording.objects.select_for_update().filter(container_name=name).first()
        if rec is None and not replace:
            raise NotFound(f"container {name}")
        merged = meta if rec is None else {**rec.metadata, **meta}
        fields, status = _recording_fields(name, merged)
        if rec is None:
            if status == "Complete":
                raise BadRequest("a recording cannot be Complete before it has clips")
            rec = Recording.objects.create(container_name=name, metadata=merged, **fields)
            detail = {"container": name}
            if fields["device"].retired_at:  # accepted (no evidence is turned away), and flagged
                detail["retired_device"] = fields["device"].serial
                raise_alert("camera.retired_upload", f"Retired camera {fields['device'].serial} uploaded "
                            f"recording {rec.evidence_number or name}", level=Alert.Level.WARNING)
            record("ingest.recording.create", actor=actor, source=source, object_type="recording",
                   object_id=str(rec.id), detail=detail)
            return Outcome.CREATED
        if rec.status == Recording.Status.COMPLETE:
            if merged == rec.metadata:
                return Outcome.UNCHANGED  # a retried Complete is harmless
            raise Forbidden("recording is Complete; no further changes are accepted")
        if status == "Complete" and not rec.clips.exists():
            raise BadRequest("a recording cannot be Complete without clips")
        for k, v in fields.items():
            setattr(rec, k, v)
        rec.metadata = merged
        if status == "Complete":
            rec.status = Recording.Status.COMPLETE
            rec.completed_at = datetime.now(timezone.utc)
        rec.save()
        record("ingest.recording.complete" if status == "Complete" else "ingest.recording.update",
               actor=actor, source=source, object_type="recording", object_id=str(rec.id), detail=meta)
    return Outcome.UPDATED


# ---------------------------------------------------------------- what ingest may read back
#
# Ingest credentials write. They read back only what a dock or body-worn system needs to
# resume and verify: HEAD (metadata, MD5 and SHA-256) of the containers this account created,
# and the listings of those of them still Transferring. Never an original's bytes: reading
# evidence is a person's act through the access check (the web app and its API).

def _actor(account: IngestAccount) -> str:
    return f"ingest:{account.username}"


def _created_by(account: IngestAccount, rec_ids) -> set[str]:
    """Which of these recordings this account created, from their (append-only) audit entries."""
    from ..custody.models import AuditEntry

    ids = [str(i) for i in rec_ids]
    if not ids:
        return set()
    return set(AuditEntry.objects.filter(object_type="recording", object_id__in=ids, action="ingest.recording.create",
                                         actor=_actor(account)).values_list("object_id", flat=True))


def own_unfinished_containers(account: IngestAccount) -> list[str]:
    recs = dict(Recording.objects.in_catalogue().filter(status=Recording.Status.TRANSFERRING)
                .values_list("id", "container_name"))
    mine = _created_by(account, recs)
    return sorted(name for rid, name in recs.items() if str(rid) in mine)


def readable_recording(account: IngestAccount, name: str, listing: bool = False) -> Recording:
    """The recording this account may HEAD (its own) or list (its own, still Transferring)."""
    rec = open_recording(name)
    if not _created_by(account, [rec.id]):
        raise Forbidden("ingest credentials read back only containers they created")
    if listing and rec.status != Recording.Status.TRANSFERRING:
        raise Forbidden("ingest credentials list only their own unfinished containers; use HEAD to verify an object")
    return rec


def open_recording(name: str) -> Recording:
    rec = Recording.objects.filter(container_name=name).select_related("officer", "device").first()
    if rec is None:
        raise NotFound(f"container {name}")
    if rec.purged_at or rec.deleted_at:
        raise Forbidden("recording left the catalogue by retention expiry; nothing more is accepted for it")
    return rec


# ---------------------------------------------------------------- objects

def check_size(store, length: int | None) -> None:
    """Refuse a size no store could take (413) before anything is written, and without an
    alert: it says nothing about free space, and any ingest client could send it."""
    if length is None:
        return
    if length > settings.MAX_OBJECT_BYTES:
        raise TooLarge(f"Content-Length {length} is larger than the largest object accepted "
                       f"({settings.MAX_OBJECT_BYTES} bytes, BODYCAM_MAX_OBJECT_BYTES)")
    capacity = store.capacity_bytes()
    if capacity is not None and length > capacity:
        raise TooLarge(f"Content-Length {length} is larger than the whole store ({capacity} bytes)")


def refuse_full(what: str, reason: str, actor: str, source: str, rec: Recording | None = None):
    """507: alert (at most once per BODYCAM_STORAGE_ALERT_INTERVAL), audit when the catalogue
    can still be written, and never fail because it cannot (the disk may be the full one)."""
    raise_alert_throttled("storage.full", f"ingest refused {what}: {reason}", settings.STORAGE_ALERT_INTERVAL)
    try:
        record("ingest.refused.full", actor=actor, source=source, object_type="recording" if rec else "",
               object_id=str(rec.id) if rec else "", outcome="error", detail={"object": what, "reason": reason})
    except DatabaseError as exc:
        log.error("ingest refused %s (storage full); audit entry not written: %s", what, exc)
    raise OutOfSpace("insufficient storage: " + reason)


def store_unavailable(what: str, reason: str):
    """503 with Retry-After: the blob store cannot be reached or written just now. Nothing was
    stored (the camera keeps its copy and retries); alerted at most once per
    BODYCAM_STORAGE_ALERT_INTERVAL, never failing because the catalogue is down too."""
    raise_alert_throttled("storage.unavailable", f"ingest could not store {what}: {reason}",
                          settings.STORAGE_ALERT_INTERVAL)
    raise Unavailable(f"object store unavailable, nothing was stored; retry later ({reason[:300]})")


_stale_lock = threading.Lock()
_stale_checked_at = 0.0


def remove_stale_uploads(store) -> list[str]:
    """Temp files of uploads that stopped (a crash, a killed worker) go once untouched for
    BODYCAM_INCOMING_GRACE seconds. Run from ingest itself (at most every few minutes per
    process), so it does not depend on the job scheduler; the orphan sweep does the same."""
    global _stale_checked_at
    import time

    grace = settings.INCOMING_GRACE_SECONDS
    now = time.monotonic()
    with _stale_lock:
        if _stale_checked_at and now - _stale_checked_at < min(grace, 300):
            return []
        _stale_checked_at = now
    try:
        removed = store.remove_stale_incoming(grace)
    except Exception as exc:  # housekeeping must never fail an upload
        log.warning("could not remove stale uploads: %s", exc)
        return []
    if removed:
        log.info("removed %d stale upload temp file(s): %s", len(removed), ", ".join(removed[:20]))
        try:
            record("storage.incoming_removed", actor="system:ingest",
                   detail={"removed": removed[:100], "count": len(removed), "grace_seconds": grace})
        except DatabaseError as exc:
            log.error("stale upload removal not audited: %s", exc)
    return removed


@dataclass
class StoredResult:
    outcome: Outcome
    sha256: str
    md5: str
    size: int
    duplicate: bool


def _check_clip_meta(name: str, meta: dict) -> dict:
    ext = name.rsplit(".", 1)[1]
    if meta.get("ContainerType") and meta["ContainerType"].lower() != ext:
        raise BadRequest(f"ContainerType {meta['ContainerType']!r} does not match the object name")
    start, stop = swift.time_pair(meta, "StartTime"), swift.time_pair(meta, "StopTime")
    swift.ordered(start, stop, "clip")
    return dict(container_type=ext, start_time=start, stop_time=stop,
                start_location=meta.get("StartLocation", "")[:64], stop_location=meta.get("StopLocation", "")[:64])


def _finite(value, what: str) -> float:
    # json.loads takes NaN and Infinity; bool is an int to Python but not a number here.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"{what} is not a number: {str(value)[:40]!r}")
    try:
        f = float(value)
    except OverflowError:
        raise BadRequest(f"{what} is not a finite number") from None
    if f != f or f in (float("inf"), float("-inf")):
        raise BadRequest(f"{what} is not a finite number")
    return f


def _parse_gnss(path: str) -> list[dict]:
    """Every point checked here, before anything is stored: a bad track is a 400 and no blob."""
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read(16 * 1024 * 1024))
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"GNSS track is not valid location JSON: {str(exc)[:200]}") from None
    entries = doc.get("CoordinateEntries") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise BadRequest("GNSS track is not valid location JSON: CoordinateEntries must be a list")
    points = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise BadRequest(f"GNSS entry {i} is not an object")
        wkt = e.get("LocationWKT")
        if not isinstance(wkt, str):
            raise BadRequest(f"GNSS entry {i}: LocationWKT is not a string")
        lat, lon = swift.parse_wkt_point(wkt)
        points.append(dict(seq=i, latitude=lat, longitude=lon,
                           seconds_from_start=_finite(e.get("SecondsFromStart"), f"GNSS entry {i}: SecondsFromStart"),
                           at=swift.parse_iso(e.get("Timestamp"), f"GNSS entry {i}: Timestamp")))
    return points


def _check_bookmark_meta(meta: dict, rec: Recording) -> dict:
    """StartTime/EndTime of a bookmark, checked before its bytes are stored."""
    start = swift.parse_iso(meta["StartTime"], "bookmark StartTime") if meta.get("StartTime") else rec.start_time
    end = swift.parse_iso(meta["EndTime"], "bookmark EndTime") if meta.get("EndTime") else None
    swift.ordered(start, end, "bookmark")
    return {"start": start, "end": end}


def _read_text(path: str, limit: int = 64 * 1024) -> str:
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise BadRequest("bookmark text is longer than 64 KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("bookmark text is not UTF-8") from None


def put_object(rec_name: str, obj_name: str, stream, length: int | None, etag: str | None,
               meta: dict, actor: str, source: str) -> StoredResult:
    """Stream one object into the vault: temp file + hashes, validate, commit blob, commit row."""
    rec = open_recording(rec_name)
    if rec.status == Recording.Status.COMPLETE:
        raise Forbidden("recording is Complete; originals are immutable")
    kind = swift.object_kind(obj_name)
    clip_fields = _check_clip_meta(obj_name, meta) if kind == "clip" else None
    bookmark_times = _check_bookmark_meta(meta, rec) if kind == "bookmark" else None
    if length == 0 and kind in ("clip", "key", "gnss", "manifest"):
        raise BadRequest("zero-length object")

    store = get_store()
    check_size(store, length)
    if not _upload_slots.acquire(blocking=False):
        raise Busy("too many uploads in progress; retry soon")
    incoming = None
    try:
        remove_stale_uploads(store)
        try:
            incoming = store.receive(stream, length)
        except InsufficientStorage as exc:
            refuse_full(f"{rec_name}/{obj_name}", str(exc), actor, source, rec)
        except IncompleteUpload as exc:
            raise BadRequest(f"incomplete body: {exc}") from None
        except StoreUnavailable as exc:
            store_unavailable(f"{rec_name}/{obj_name}", str(exc))
        if incoming.size == 0 and kind != "bookmark":
            raise BadRequest("zero-length object")
        if etag and etag.strip('"').lower() != incoming.md5:
            raise ChecksumMismatch(f"body MD5 {incoming.md5} does not match ETag {etag}")
        client_sha = meta.get("Sha256") or None
        if client_sha and client_sha.lower() != incoming.sha256:
            raise ChecksumMismatch(f"body SHA-256 {incoming.sha256} does not match X-Object-Meta-Sha256")

        parsed = None
        if kind == "clip":
            try:
                info = probe(incoming.temp_path)
            except MediaError as exc:
                raise BadRequest(f"clip rejected: {exc}") from None
            expected = {"mkv": "matroska", "mp4": "mov"}[clip_fields["container_type"]]
            if info.format_name.split(",")[0] != expected:
                raise BadRequest(f"clip container is {info.format_name}, not {clip_fields['container_type']}")
            parsed = info
        elif kind == "gnss":
            parsed = _parse_gnss(incoming.temp_path)
        elif kind == "bookmark":
            parsed = (_read_text(incoming.temp_path), bookmark_times)

        existing = (Clip if kind == "clip" else Attachment).objects.filter(recording=rec, object_name=obj_name).first()
        if existing:
            incoming.discard()
            if existing.sha256 == incoming.sha256:
                return StoredResult(Outcome.UNCHANGED, existing.sha256, existing.md5, existing.size, duplicate=True)
            raise Conflict(f"{obj_name} already stored with different content; originals are immutable")

        # Blob first, row second: a crash in between leaves an orphan blob that a retry
        # reuses and the orphan sweep reconciles; never a row without its bytes. The blob's
        # lock spans both steps: a retention purge or the orphan sweep removing these bytes
        # waits for the row (and then keeps them), or removes them before store.commit looks
        # (which then stores them again from this upload's copy). A 201 means the bytes stay.
        with blob_lock(incoming.sha256):
            try:
                store.commit(incoming)
            except InsufficientStorage as exc:
                refuse_full(f"{rec_name}/{obj_name}", str(exc), actor, source, rec)
            except StoreUnavailable as exc:
                store_unavailable(f"{rec_name}/{obj_name}", str(exc))
            _race_point("ingest.blob_committed", sha256=incoming.sha256, object=obj_name)
            try:
                with transaction.atomic():
                    _create_rows(rec, obj_name, kind, incoming, meta, clip_fields, parsed)
                    signatures.on_object_stored(rec, kind, obj_name, actor, source)
                    record("ingest.object.stored", actor=actor, source=source,
                           object_type="clip" if kind == "clip" else "attachment", object_id=f"{rec.id}/{obj_name}",
                           object_sha256=incoming.sha256, detail={"container": rec_name, "object": obj_name,
                                                                  "size": incoming.size, "kind": kind})
            except IntegrityError:
                # A concurrent upload of the same name won the race; answer like a retry. Any other
                # integrity error is a defect, not a conflict: it is not reported as one.
                existing = (Clip if kind == "clip" else Attachment).objects.filter(recording=rec,
                                                                                   object_name=obj_name).first()
                if existing is None:
                    raise
                if existing.sha256 == incoming.sha256:
                    return StoredResult(Outcome.UNCHANGED, existing.sha256, existing.md5, existing.size, duplicate=True)
                raise Conflict(f"{obj_name} already stored with different content") from None
        if kind == "clip":  # proxy + thumbnail (and transcript when enabled), made by background jobs
            from ..media.services import on_clip_stored

            on_clip_stored(Clip.objects.filter(recording=rec, object_name=obj_name).values_list("id", flat=True)[0])
        return StoredResult(Outcome.CREATED, incoming.sha256, incoming.md5, incoming.size, duplicate=False)
    finally:
        if incoming is not None:
            incoming.discard()
        _upload_slots.release()


def _create_rows(rec, obj_name, kind, incoming, meta, clip_fields, parsed):
    common = dict(recording=rec, object_name=obj_name, sha256=incoming.sha256, md5=incoming.md5,
                  size=incoming.size, metadata=meta)
    if kind == "clip":
        Clip.objects.create(**common, **clip_fields, duration_s=parsed.duration_s, media_info=parsed.as_dict())
        return
    att = Attachment.objects.create(kind=kind, **common)
    if kind == "gnss":
        GnssPoint.objects.bulk_create(GnssPoint(recording=rec, attachment=att, **p) for p in parsed)
    elif kind == "bookmark":
        text, times = parsed
        start, end = times["start"], times["end"]
        Bookmark.objects.create(recording=rec, attachment=att, text=text, category_id=meta.get("CategoryID", "")[:32],
                                category_name=meta.get("CategoryName", "")[:100],
                                tags=swift.parse_tags(meta.get("Tags", "")), start_time=start, end_time=end)
        if meta.get("CategoryID") or meta.get("CategoryName"):
            cat = Category.objects.filter(axis_id=meta.get("CategoryID", "")).first() or \
                Category.objects.filter(name=meta.get("CategoryName", "")).first()
            if cat:  # unknown categories are kept on the bookmark, never rejected
                rec.categories.add(cat)


def post_object_metadata(rec_name: str, obj_name: str, meta: dict, actor: str, source: str) -> Outcome:
    """Swift POST on an object replaces its metadata. The bytes never change."""
    rec = open_recording(rec_name)
    if rec.status == Recording.Status.COMPLETE:
        raise Forbidden("recording is Complete; no further changes are accepted")
    item = Clip.objects.filter(recording=rec, object_name=obj_name).first() or \
        Attachment.objects.filter(recording=rec, object_name=obj_name).first()
    if item is None:
        raise NotFound(f"{rec_name}/{obj_name}")
    if isinstance(item, Clip):
        for k, v in _check_clip_meta(obj_name, meta).items():
            setattr(item, k, v)
    before = item.metadata
    item.metadata = meta
    item.save()
    record("ingest.object.metadata", actor=actor, source=source, object_type="clip" if isinstance(item, Clip) else "attachment",
           object_id=f"{rec.id}/{obj_name}", object_sha256=item.sha256, detail={"before": before, "after": meta})
    return Outcome.UPDATED


def find_object(account: IngestAccount, rec_name: str, obj_name: str):
    """An object for HEAD (metadata and hashes, what a dock verifies before it frees a file)."""
    rec = readable_recording(account, rec_name)
    item = Clip.objects.filter(recording=rec, object_name=obj_name).first() or \
        Attachment.objects.filter(recording=rec, object_name=obj_name).first()
    if item is None:
        raise NotFound(f"{rec_name}/{obj_name}")
    return rec, item
