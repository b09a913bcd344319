"""Retention: when a recording may go, the deletion queue, the purge, holds and cases.

Rules (docs/retention.md):
- A recording's period is the longest of its categories ("indefinite" beats any number);
  with no category it is the Uncategorized category's. It runs from the trigger-on time;
  ``retain_until`` (a recovery, a custodian's extension) can only push it later.
- A recording under an active legal hold (directly or through its case), or linked to an
  open case, is never queued nor purged.
- The sweep (daily job; ``bodycam retention sweep``) queues expired items: they are hidden
  (``deleted_at``) but recoverable for the grace period. A pending entry whose grace has
  run out (and that a custodian approved, when approval is required) is purged: blobs no
  other live item uses are removed from the store, search documents and derivatives go,
  and the Recording row stays as a tombstone (``purged_at``) with a Tombstone row keeping
  hashes, categories and dates. Every step is audited.
- Safety: the sweep refuses to purge when its clock is earlier than the last sweep's
  (a clock jumped backward) or when the configured policy file is invalid.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db import transaction

from ..cases.models import Case
from ..custody.models import Alert
from ..custody.services import raise_alert, record
from ..errors import BodycamError
from ..evidence.models import Bookmark, Category, GnssPoint, Recording
from ..evidence.services import DEFAULT_UNCATEGORIZED_DAYS, period_days
from ..live import services as live
from ..media.models import Derivative, PlateRead, Redaction, Transcript, TranscriptRevision, Translation
from ..search import services as search
from ..storage.refs import is_named
from ..timefmt import iso_seconds
from . import policy as pol
from .models import BlobPurge, DeletionEntry, LegalHold, RetentionSettings, Tombstone


class RetentionError(BodycamError):
    """A refused retention operation (bad input, clock, policy): nothing was changed."""

    status = 400


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# ------------------------------------------------------------------ periods
def _uncategorized() -> Category | None:
    return Category.objects.filter(name=pol.UNCATEGORIZED).first()


def expiry(rec: Recording, cats: list[Category], uncategorized: Category | None) -> datetime | None:
    days = period_days(cats, uncategorized)
    if days is None:
        return None
    exp = rec.trigger_on_time + timedelta(days=days)
    if rec.retain_until and rec.retain_until > exp:
        exp = rec.retain_until
    return exp


def blocked_ids() -> set:
    """Recordings that must not be deleted now: active holds (direct or through a case) and open cases."""
    ids = set(LegalHold.recordings.through.objects.filter(legalhold__released_at__isnull=True)
              .values_list("recording_id", flat=True))
    held_cases = LegalHold.objects.filter(released_at__isnull=True, case__isnull=False).values("case_id")
    ids |= set(Case.recordings.through.objects.filter(case_id__in=held_cases).values_list("recording_id", flat=True))
    ids |= set(Case.recordings.through.objects.filter(case__status=Case.Status.OPEN)
               .values_list("recording_id", flat=True))
    items = _pending_request_items()
    if items is not None:
        ids |= set(items.values_list("clip__recording_id", flat=True))
    return ids


def _pending_request_items():
    """Items of public-records requests not yet answered: the law forbids destroying them."""
    from django.apps import apps

    if not apps.is_installed("bodycam.records"):
        return None
    from ..records.models import RecordsRequest, RequestItem

    done = (RecordsRequest.Status.RELEASED, RecordsRequest.Status.DENIED)
    return RequestItem.objects.exclude(request__status__in=done)


def block_reasons(rec: Recording) -> list[str]:
    out = [f"legal hold {h.name}" for h in LegalHold.objects.filter(recordings=rec, released_at__isnull=True)]
    out += [f"legal hold {h.name} (case {h.case.number})" for h in
            LegalHold.objects.filter(case__recordings=rec, released_at__isnull=True).select_related("case")]
    out += [f"open case {c.number}" for c in Case.objects.filter(recordings=rec, status=Case.Status.OPEN)]
    items = _pending_request_items()
    if items is not None:
        out += sorted({f"pending records request {n}" for n in
                       items.filter(clip__recording=rec).values_list("request__number", flat=True)})
    return out


def retention_info(rec: Recording) -> dict:
    cats = list(rec.categories.all())
    exp = expiry(rec, cats, _uncategorized())
    return {"recording": str(rec.id), "container": rec.container_name,
            "categories": sorted(c.name for c in cats) or [pol.UNCATEGORIZED],
            "retention_days": period_days(cats, _uncategorized()), "expires_at": iso_seconds(exp),
            "retain_until": iso_seconds(rec.retain_until), "blocked_by": block_reasons(rec),
            "deleted_at": iso_seconds(rec.deleted_at), "purged_at": iso_seconds(rec.purged_at)}


def _expired(now: datetime, blocked: set) -> list[tuple[Recording, datetime, list[Category]]]:
    """Live recordings whose retention ran out by ``now`` and that nothing blocks."""
    uncat = _uncategorized()
    finite = [c.retention_days for c in Category.objects.all() if c.retention_days is not None]
    shortest = min(finite + [uncat.retention_days if uncat and uncat.retention_days else DEFAULT_UNCATEGORIZED_DAYS])
    qs = (Recording.objects.in_catalogue().filter(trigger_on_time__lte=now - timedelta(days=shortest))
          .prefetch_related("categories").order_by("trigger_on_time"))
    out = []
    for rec in qs.iterator(chunk_size=500):
        if rec.id in blocked:
            continue
        cats = list(rec.categories.all())
        exp = expiry(rec, cats, uncat)
        if exp is not None and exp <= now:
            out.append((rec, exp, cats))
    return out


def upcoming(now: datetime | None = None, days: int | None = None) -> list[dict]:
    """Items that will enter the deletion queue within ``days`` (default: notice_days), and
    pending entries that will be purged in that window. The notification lists these."""
    now = now or utcnow()
    row = pol.settings_row()
    days = row.notice_days if days is None else days
    horizon = now + timedelta(days=days)
    blocked = blocked_ids()
    rows = [{"recording": str(r.id), "container": r.container_name, "officer": str(r.officer),
             "categories": sorted(c.name for c in cats) or [pol.UNCATEGORIZED], "expires_at": iso_seconds(exp),
             "purge_after": iso_seconds(exp + timedelta(days=row.grace_days)), "state": "expiring"}
            for r, exp, cats in _expired(horizon, blocked) if exp > now]
    for e in DeletionEntry.objects.filter(state=DeletionEntry.State.PENDING, purge_after__lte=horizon) \
            .select_related("recording__officer"):
        rows.append({"recording": str(e.recording_id), "container": e.recording.container_name,
                     "officer": str(e.recording.officer), "categories": e.categories, "expires_at": iso_seconds(e.expired_at),
                     "purge_after": iso_seconds(e.purge_after), "state": "pending",
                     "approved": e.approved_at is not None})
    return sorted(rows, key=lambda r: r["purge_after"])


# ------------------------------------------------------------------ the sweep
def _check_policy_file(path: str | None, actor: str) -> dict | None:
    path = path if path is not None else settings.RETENTION_POLICY_FILE
    if not path:
        return None
    try:
        p = pol.load_file(path)
    except pol.RetentionPolicyError as exc:
        raise_alert("retention.policy_invalid", f"retention sweep refused: policy file {path}: {exc}")
        record("retention.sweep", actor=actor, outcome="failed",
               detail={"reason": "invalid policy file", "path": str(path), "error": str(exc)})
        raise RetentionError(f"policy file {path} is invalid, nothing was deleted: {exc}") from None
    if p.sha256 != pol.settings_row().policy_sha256:
        return pol.apply(p, actor=actor)
    return {"policy_sha256": p.sha256, "changes": []}


def sweep(now: datetime | None = None, dry_run: bool = False, actor: str = "system:retention",
          policy_file: str | None = None) -> dict:
    """Queue expired items, purge those whose grace period is over. Returns the report.

    Each recording is settled in a short transaction of its own, under its row lock (the
    same lock ``place_hold``, ``recover`` and ``extend`` take first), and everything that
    keeps it is checked again under that lock: a hold committed before the purge wins, one
    waiting behind the purge finds the recording purged and is refused. The audit chain is
    locked only for each recording's own entry, so uploads go on beside a long sweep."""
    real_now = utcnow()
    now = now or real_now
    if now.tzinfo is None:
        raise RetentionError("the sweep time must carry a time zone (e.g. 2027-01-01T00:00:00Z)")
    applied = None if dry_run else _check_policy_file(policy_file, actor)
    if dry_run and (policy_file or settings.RETENTION_POLICY_FILE):
        try:
            pol.load_file(policy_file or settings.RETENTION_POLICY_FILE)
        except pol.RetentionPolicyError as exc:
            raise RetentionError(f"policy file is invalid: {exc}") from None
    report = {"now": iso_seconds(now), "dry_run": dry_run, "queued": [], "purged": [], "cancelled": [],
              "awaiting_approval": [], "policy": applied, "blobs_removed": []}
    # Checked here first so the alert and the audit entry are written (a refused
    # transaction would roll them back), and again under the lock below.
    last = pol.settings_row().last_sweep_at
    if last and now < last:
        msg = (f"clock is behind the last sweep ({iso_seconds(now)} < {iso_seconds(last)}): "
               "refusing to delete anything until the clock is right")
        if not dry_run:  # outside the refused transaction, so the alert and the audit entry stay
            raise_alert("retention.clock_backward", msg)
            record("retention.sweep", actor=actor, outcome="failed",
                   detail={"reason": "clock backward", "now": iso_seconds(now), "last_sweep_at": iso_seconds(last)})
        raise RetentionError(msg)
    with transaction.atomic():  # claim the clock: a later sweep with an earlier clock is refused
        row = RetentionSettings.objects.select_for_update().get(id=1)
        if row.last_sweep_at and now < row.last_sweep_at:  # another sweep moved it meanwhile
            raise RetentionError("another sweep ran meanwhile with a later clock; nothing was deleted")
        if not dry_run:
            row.last_sweep_at = now
            row.save(update_fields=["last_sweep_at"])
    uncat = _uncategorized()
    # 1. Pending entries whose grace is over: purge, or cancel when something now keeps them.
    due = list(DeletionEntry.objects.filter(state=DeletionEntry.State.PENDING, purge_after__lte=now)
               .order_by("purge_after").values_list("id", flat=True))
    for entry_id in due:
        _race_point("sweep.purge", entry=entry_id)
        kind, item, blobs = _settle_due(entry_id, row, uncat, now, actor, dry_run)
        if kind:
            report[kind].append(item)
        if blobs:  # this recording's purge has committed: its blobs go now, not after the whole sweep
            report["blobs_removed"] += _remove_blobs({sha: [item["recording"]] for sha in blobs}, actor)
    # 2. Newly expired items enter the queue (hidden, recoverable during the grace period).
    for rec, _exp, _cats in _expired(now, blocked_ids()):
        _race_point("sweep.queue", recording=rec.id)
        item = _queue_expired(rec.id, row, uncat, now, actor, dry_run)
        if item:
            report["queued"].append(item)
    if not dry_run:
        record("retention.sweep", actor=actor, detail={
            "now": iso_seconds(now), "queued": len(report["queued"]), "purged": len(report["purged"]),
            "cancelled": len(report["cancelled"]), "awaiting_approval": len(report["awaiting_approval"])})
    # Blobs the store refused earlier (an Object Lock that has run out since): tried again.
    report["blobs_retried"] = blob_purge_report() if dry_run else retry_blob_purges(actor)
    report["upcoming"] = upcoming(now)
    if not dry_run and (report["upcoming"] or report["awaiting_approval"]):
        Alert.objects.create(level=Alert.Level.WARNING, kind="retention.upcoming", message=(
            f"{len(report['upcoming'])} recording(s) leave within {row.notice_days} days; "
            f"{len(report['awaiting_approval'])} await a custodian's approval (see /retention/)"))
    return report


# Tests force races through this: called with a point's name ("sweep.purge", "sweep.queue",
# "blob_retry") between a decision made outside the lock and the locked change it leads
# to. None in production.
race_hook = None


def _race_point(point: str, **info) -> None:
    if race_hook is not None:
        race_hook(point, info)


def _lock_recordings(ids) -> list[Recording]:
    """Lock the recordings' rows (in id order, so two lockers never deadlock), with their
    current state. Every change that decides whether a recording may go takes these locks
    first: the sweep's purge and queueing, holds, recovery, extension, case reopening."""
    return list(Recording.objects.select_for_update().filter(id__in=list(ids)).order_by("id"))


def _settle_due(entry_id, row: RetentionSettings, uncat, now: datetime, actor: str,
                dry_run: bool) -> tuple[str, dict, list[str]]:
    """Purge, cancel or leave one due entry, in a transaction of its own under the
    recording's lock: (report key or "", report item, blobs to remove after the commit)."""
    with transaction.atomic():
        rec_id = DeletionEntry.objects.filter(id=entry_id).values_list("recording_id", flat=True).first()
        recs = _lock_recordings([rec_id]) if rec_id else []
        entry = DeletionEntry.objects.select_for_update().filter(id=entry_id).first()
        if not recs or entry is None or entry.state != DeletionEntry.State.PENDING:
            return "", {}, []  # settled meanwhile: a hold, a recovery, another sweep
        rec = recs[0]
        item = {"recording": str(rec.id), "container": rec.container_name}
        reasons = block_reasons(rec)
        exp = expiry(rec, list(rec.categories.all()), uncat)
        keep = "blocked: " + "; ".join(reasons) if reasons else \
            ("retention now runs to " + (iso_seconds(exp) or "indefinite") if exp is None or exp > now else "")
        if keep:
            if not dry_run:
                _close(entry, DeletionEntry.State.CANCELLED, actor, keep, now)
            return "cancelled", item | {"why": keep}, []
        if row.require_approval and entry.approved_at is None:
            return "awaiting_approval", item, []
        if dry_run:
            return "purged", item, []
        result, blobs = _purge(entry, now, actor)
        return "purged", result, blobs


def _queue_expired(rec_id, row: RetentionSettings, uncat, now: datetime, actor: str, dry_run: bool) -> dict | None:
    """Put one expired recording in the deletion queue, in a transaction of its own under its
    lock, after checking again that it is live, expired and kept by nothing."""
    with transaction.atomic():
        recs = _lock_recordings([rec_id])
        if not recs:
            return None
        rec = recs[0]
        cats = list(rec.categories.all())
        exp = expiry(rec, cats, uncat)
        if rec.deleted_at or rec.purged_at or exp is None or exp > now or block_reasons(rec):
            return None
        item = {"recording": str(rec.id), "container": rec.container_name, "expired_at": iso_seconds(exp),
                "categories": sorted(c.name for c in cats) or [pol.UNCATEGORIZED],
                "purge_after": iso_seconds(now + timedelta(days=row.grace_days))}
        if dry_run:
            return item
        DeletionEntry.objects.create(recording=rec, expired_at=exp, queued_at=now,
                                     purge_after=now + timedelta(days=row.grace_days),
                                     categories=item["categories"], retention_days=period_days(cats, uncat))
        Recording.objects.filter(pk=rec.pk).update(deleted_at=now)
        record("retention.queue", actor=actor, object_type="recording", object_id=str(rec.id),
               detail=item | {"sweep_now": iso_seconds(now)})
        return item


def _close(entry: DeletionEntry, state: str, actor: str, note: str, now: datetime) -> None:
    entry.state, entry.closed_by, entry.closed_at, entry.note = state, actor[:150], now, note[:500]
    entry.save(update_fields=["state", "closed_by", "closed_at", "note"])
    Recording.objects.filter(pk=entry.recording_id).update(deleted_at=None)
    record(f"retention.{state}", actor=actor, object_type="recording", object_id=str(entry.recording_id),
           detail={"entry": str(entry.id), "note": note})


def _still_needed(sha: str, rec: Recording | None = None) -> bool:
    """Does a live row other than those of ``rec`` (and its derivatives) name this blob? Every
    owner of blob-naming rows answers for its own (``storage.refs``)."""
    return is_named(sha, besides_recording=rec.pk if rec is not None else None)


def _purge(entry: DeletionEntry, now: datetime, actor: str) -> tuple[dict, list[str]]:
    """Tombstone one recording (inside the sweep's transaction); return the blobs to remove
    once the transaction has committed."""
    rec = Recording.objects.select_related("officer", "device").get(pk=entry.recording_id)
    clips, atts = list(rec.clips.all()), list(rec.attachments.all())
    ders = list(Derivative.objects.filter(clip__recording=rec))
    der_ids = [d.id for d in ders]
    objects = [{"object": c.object_name, "kind": "clip", "sha256": c.sha256, "size": c.size} for c in clips]
    objects += [{"object": a.object_name, "kind": a.kind, "sha256": a.sha256, "size": a.size} for a in atts]
    sizes = {o["sha256"]: o["size"] for o in objects} | {d.sha256: d.size for d in ders}
    removed, kept = [], []
    for sha in sizes:
        (kept if _still_needed(sha, rec) else removed).append(sha)
    cats = sorted(rec.categories.values_list("name", flat=True)) or [pol.UNCATEGORIZED]
    Tombstone.objects.create(
        recording=rec, container_name=rec.container_name, officer=str(rec.officer), device=rec.device.serial,
        categories=cats, recorded_at=rec.trigger_on_time, ingested_at=rec.created_at, expired_at=entry.expired_at,
        deleted_at=rec.deleted_at, purged_at=now, objects_json=objects, blobs_removed=removed, blobs_kept=kept,
        bytes_freed=sum(sizes[s] for s in removed))
    # Purged footage can be neither found nor played: no search text, no proxies/thumbnails.
    search.forget(rec.id)
    _drop_derivative_rows(rec, der_ids)
    GnssPoint.objects.filter(recording=rec).delete()
    live.forget_positions(rec)  # positions sent while it was recording (live view) are its metadata too
    Bookmark.objects.filter(recording=rec).delete()
    Recording.objects.filter(pk=rec.pk).update(purged_at=now)
    entry.state, entry.closed_by, entry.closed_at = DeletionEntry.State.PURGED, actor[:150], now
    entry.save(update_fields=["state", "closed_by", "closed_at"])
    detail = {"container": rec.container_name, "categories": cats, "recorded_at": iso_seconds(rec.trigger_on_time),
              "expired_at": iso_seconds(entry.expired_at), "queued_at": iso_seconds(entry.queued_at), "sweep_now": iso_seconds(now),
              "objects": objects, "derivatives_removed": len(ders), "blobs_removed": removed, "blobs_kept": kept,
              "approved_by": entry.approved_by}
    record("retention.purge", actor=actor, object_type="recording", object_id=str(rec.id),
           object_sha256=clips[0].sha256 if clips else "", detail=detail)
    return {"recording": str(rec.id), "container": rec.container_name, "blobs_removed": len(removed),
            "blobs_kept": len(kept)}, removed


def _drop_derivative_rows(rec: Recording, der_ids: list) -> None:
    """Transcripts (text of the footage) go; a redaction keeps its plan but loses its output;
    then the derivative rows go. A row some other table still protects stays (its blob is
    removed all the same, and the recording is hidden from everyone)."""
    from django.db.models import ProtectedError

    # Machine translations of the transcripts are text of the footage too.
    Translation.objects.filter(clip__recording=rec).delete()
    PlateRead.objects.filter(clip__recording=rec).delete()  # plate texts the machine read in it
    ts = Transcript.objects.filter(clip__recording=rec)
    TranscriptRevision.objects.filter(transcript__in=ts).delete()
    ts.delete()
    Redaction.objects.filter(output_id__in=der_ids).update(output=None)
    try:
        with transaction.atomic():
            Derivative.objects.filter(id__in=der_ids).delete()
    except ProtectedError:
        pass


def _remove_blobs(hashes: dict[str, list[str]], actor: str) -> list[str]:
    """After the catalogue committed: a blob the store refuses or fails to remove is kept in
    ``BlobPurge`` and tried again by later sweeps (never a catalogue row without its tombstone)."""
    from ..storage import get_store
    from ..storage.locks import blob_lock

    store, done = get_store(), []
    for sha, recordings in hashes.items():
        # The blob's lock around the last look and the removal: an upload naming these bytes
        # now (store.commit found them, its row is not committed yet) is waited for and seen.
        with blob_lock(sha):
            _race_point("blob_remove", sha256=sha)
            if _named_again(sha, recordings, actor):
                continue
            try:
                store.purge(sha)
                done.append(sha)
            except Exception as exc:  # noqa: BLE001 - alert and go on with the others
                row = _defer_blob_purge(sha, recordings, exc)
                raise_alert("retention.purge_blob", f"could not remove blob {sha}: {exc}; the retention sweep "
                                                    f"tries again after {iso_seconds(row.retry_after)}")
                record("retention.purge_blob", actor=actor, outcome="failed", object_sha256=sha,
                       detail={"error": str(exc)[:300], "recordings": recordings,
                               "retry_after": iso_seconds(row.retry_after)})
    return done


def _named_again(sha: str, recordings: list[str], actor: str) -> bool:
    """Does a live item name these bytes again (ingested after the purge committed)? Then the
    blob stays, and that is audited."""
    if not _still_needed(sha):
        return False
    record("retention.purge_blob", actor=actor, object_sha256=sha,
           detail={"kept": "a live item names these bytes again", "recordings": recordings})
    return True


def _defer_blob_purge(sha: str, recordings: list[str], exc: Exception) -> BlobPurge:
    """Keep a blob the store would not remove for a later sweep: after the Object Lock's end
    when the store said when, else at the next sweep. Real time: the store's lock runs on it."""
    now = utcnow()
    until = getattr(exc, "until", None)  # storage.s3.RetentionLocked
    retry_after = max(until, now) if until else now
    row, created = BlobPurge.objects.get_or_create(sha256=sha, defaults={
        "recordings": recordings, "first_failed_at": now, "last_tried_at": now, "retry_after": retry_after,
        "last_error": str(exc)[:500]})
    if not created:
        row.recordings = sorted(set(row.recordings) | set(recordings))
        row.attempts, row.last_tried_at, row.retry_after = row.attempts + 1, now, retry_after
        row.last_error = str(exc)[:500]
        row.save(update_fields=["recordings", "attempts", "last_tried_at", "retry_after", "last_error"])
    return row


# How long a sweep has a waiting blob to itself once it took it for a retry (a crashed
# sweep's blob is tried again after this).
BLOB_RETRY_CLAIM = timedelta(minutes=15)


def retry_blob_purges(actor: str) -> dict:
    """Remove the kept-back blobs that are due: {removed, kept, waiting, waiting_total}. A blob some
    live item names again (the same bytes ingested since) stays, and its row goes.

    Sweeps running at once share the work: each blob is taken by one sweep (its row's
    ``retry_after`` moved past the claim, only if it was still due), and the row's deletion
    and its audit entry commit together, only where the row was still there. So one blob is
    removed once and audited once, whichever sweep does it."""
    from ..storage.locks import blob_lock

    now = utcnow()
    out = {"removed": [], "kept": []}
    due = list(BlobPurge.objects.filter(retry_after__lte=now).order_by("retry_after", "sha256")
               .values_list("sha256", flat=True))
    for sha in due:
        _race_point("blob_retry", sha256=sha)
        if not BlobPurge.objects.filter(sha256=sha, retry_after__lte=now).update(retry_after=now + BLOB_RETRY_CLAIM):
            continue  # another sweep took it (or removed it) meanwhile
        row = BlobPurge.objects.filter(sha256=sha).first()
        if row is None:
            continue
        with blob_lock(sha):  # as in _remove_blobs: an upload naming these bytes now is seen
            _retry_one(row, actor, out)
    return out | _still_waiting()


def _retry_one(row: BlobPurge, actor: str, out: dict) -> None:
    """One claimed waiting blob, under its lock: kept (a live item names it again) or removed."""
    from ..storage import get_store

    sha = row.sha256
    if _still_needed(sha):
        with transaction.atomic():
            if BlobPurge.objects.filter(id=row.id).delete()[0]:
                record("retention.purge_blob", actor=actor, object_sha256=sha,
                       detail={"kept": "a live item names these bytes again", "recordings": row.recordings})
                out["kept"].append(sha)
        return
    try:
        get_store().purge(sha)
    except Exception as exc:  # noqa: BLE001 - keep it for the next sweep
        again = _defer_blob_purge(sha, row.recordings, exc)
        record("retention.purge_blob", actor=actor, outcome="failed", object_sha256=sha,
               detail={"error": str(exc)[:300], "attempts": again.attempts, "retry_after": iso_seconds(again.retry_after)})
        if getattr(exc, "until", None) is None:  # not a lock with an end date: someone must look
            raise_alert("retention.purge_blob", f"could not remove blob {sha} "
                                                f"(attempt {again.attempts}): {exc}")
        return
    with transaction.atomic():
        if BlobPurge.objects.filter(id=row.id).delete()[0]:
            record("retention.purge_blob", actor=actor, object_sha256=sha,
                   detail={"recordings": row.recordings, "attempts": row.attempts + 1,
                           "first_failed_at": iso_seconds(row.first_failed_at)})
            out["removed"].append(sha)


def _hashes(name: str, rows, limit: int = 100) -> dict:
    """{name: the first ``limit`` hashes, soonest retry first; name_total: how many}."""
    rows = rows.order_by("retry_after", "sha256")
    return {name: list(rows.values_list("sha256", flat=True)[:limit]), f"{name}_total": rows.count()}


def _still_waiting() -> dict:
    """The kept-back blobs left after a retry."""
    return _hashes("waiting", BlobPurge.objects.all())


def blob_purge_report() -> dict:
    """What ``retry_blob_purges`` would try now (due) and what waits for later (dry run)."""
    now = utcnow()
    return (_hashes("due", BlobPurge.objects.filter(retry_after__lte=now))
            | _hashes("waiting", BlobPurge.objects.filter(retry_after__gt=now)))


def blobs_pending(limit: int | None = None) -> list[dict]:
    """The kept-back blobs, soonest retry first (``bodycam retention blobs``)."""
    rows = BlobPurge.objects.order_by("retry_after", "sha256")[:limit]
    return [{"sha256": r.sha256, "recordings": r.recordings, "first_failed_at": iso_seconds(r.first_failed_at),
             "last_tried_at": iso_seconds(r.last_tried_at), "retry_after": iso_seconds(r.retry_after), "attempts": r.attempts,
             "last_error": r.last_error} for r in rows]


# ------------------------------------------------------------------ custodian actions
def _recording(key) -> Recording:
    from ..access.rules import RuleError, get_recording

    try:
        return get_recording(str(key))
    except RuleError as exc:
        raise RetentionError(str(exc)) from None


def recover(key, actor: str, days: int = 30, reason: str = "", source: str = "",
            now: datetime | None = None) -> Recording:
    """Take a queued item back during its grace period; its retention runs at least ``days``
    more (from ``now``: the real clock, or the test's)."""
    now = now or utcnow()
    if not reason.strip():
        raise RetentionError("a reason is required to recover an item")
    if not isinstance(days, int) or not 1 <= days <= pol.MAX_DAYS:
        raise RetentionError("days must be a whole number of at least 1")
    rec = _recording(key)
    with transaction.atomic():
        rec = _lock_recordings([rec.id])[0]  # the sweep's order: the recording, then its entry
        entry = DeletionEntry.objects.select_for_update().filter(recording=rec,
                                                                 state=DeletionEntry.State.PENDING).first()
        if entry is None:
            why = "it was already purged (only its tombstone remains)" if rec.purged_at else \
                "it is not in the deletion queue"
            raise RetentionError(f"cannot recover {rec.container_name}: {why}")
        until = now + timedelta(days=days)
        Recording.objects.filter(pk=rec.pk).update(retain_until=until)
        _close(entry, DeletionEntry.State.RECOVERED, actor, reason, now)
        record("retention.retain_until", actor=actor, source=source, object_type="recording", object_id=str(rec.id),
               detail={"retain_until": iso_seconds(until), "reason": reason})
    rec.refresh_from_db()
    return rec


def approve(keys, actor: str, source: str = "") -> int:
    n = 0
    with transaction.atomic():
        for key in keys:
            rec = _recording(key)
            entry = DeletionEntry.objects.filter(recording=rec, state=DeletionEntry.State.PENDING).first()
            if entry is None:
                raise RetentionError(f"{rec.container_name} is not in the deletion queue")
            if entry.approved_at is None:
                entry.approved_at, entry.approved_by = utcnow(), actor[:150]
                entry.save(update_fields=["approved_at", "approved_by"])
                record("retention.approve", actor=actor, source=source, object_type="recording",
                       object_id=str(rec.id), detail={"entry": str(entry.id)})
                n += 1
    return n


def extend(key, until: datetime, actor: str, reason: str, source: str = "") -> Recording:
    """Keep one item at least until ``until`` (never shortens)."""
    if not reason.strip():
        raise RetentionError("a reason is required")
    rec = _recording(key)
    with transaction.atomic():
        rec = _lock_recordings([rec.id])[0]  # a purge running now finishes first, and is seen
        if rec.purged_at:
            raise RetentionError(f"cannot extend: {purged_note(rec)}")
        if rec.retain_until and rec.retain_until >= until:
            raise RetentionError(f"already kept until {iso_seconds(rec.retain_until)}; retention is never shortened here")
        Recording.objects.filter(pk=rec.pk).update(retain_until=until)
        record("retention.retain_until", actor=actor, source=source, object_type="recording", object_id=str(rec.id),
               detail={"retain_until": iso_seconds(until), "reason": reason})
        _cancel_pending([rec.id], actor, f"kept until {iso_seconds(until)}")
    rec.refresh_from_db()
    return rec


def _cancel_pending(rec_ids, actor: str, note: str) -> int:
    """Inside the caller's transaction: the recordings are locked first (the sweep's order)."""
    ids = list(rec_ids)
    _lock_recordings(ids)
    n = 0
    for entry in DeletionEntry.objects.select_for_update().filter(recording_id__in=ids,
                                                                   state=DeletionEntry.State.PENDING):
        _close(entry, DeletionEntry.State.CANCELLED, actor, note, utcnow())
        n += 1
    return n


def place_hold(name: str, reason: str, actor: str, recordings=(), case: str | None = None,
               source: str = "") -> LegalHold:
    if not name.strip() or not reason.strip():
        raise RetentionError("a hold needs a name and a reason")
    recs = [_recording(r) for r in recordings or []]
    case_obj = None
    if case:
        case_obj = Case.objects.filter(number=case).first()
        if case_obj is None:
            raise RetentionError(f"no case {case!r}")
    if not recs and case_obj is None:
        raise RetentionError("name the recordings or the case the hold covers")
    direct = {r.id for r in recs}
    with transaction.atomic():
        ids = direct | (set(case_obj.recordings.values_list("id", flat=True)) if case_obj else set())
        # The recordings' locks first: a purge that has begun finishes before the hold looks
        # (and the hold sees it); a purge not yet begun waits and then finds the hold.
        locked = _lock_recordings(ids)
        purged = [r for r in locked if r.purged_at]
        if any(r.id in direct for r in purged):
            raise RetentionError(f"legal hold {name} not placed: " +
                                 "; ".join(purged_note(r) for r in purged if r.id in direct))
        hold = LegalHold.objects.create(name=name[:200], reason=reason[:500], case=case_obj, placed_by=actor[:150],
                                        placed_at=utcnow())
        hold.recordings.add(*[r for r in locked if r.id in direct])
        cancelled = _cancel_pending(ids, actor, f"legal hold {name}")
        hold.already_purged = [r.container_name for r in purged]  # of the case: only their tombstones remain
        record("retention.hold", actor=actor, source=source, object_type="hold", object_id=str(hold.id),
               detail={"name": name, "reason": reason, "case": case, "recordings": [str(r.id) for r in recs],
                       "pending_deletions_cancelled": cancelled,
                       "case_recordings_already_purged": [str(r.id) for r in purged]})
    return hold


def purged_note(rec: Recording) -> str:
    """When and why a recording was purged (for refusals of what needs its bytes)."""
    entry = DeletionEntry.objects.filter(recording=rec, state=DeletionEntry.State.PURGED) \
        .order_by("-closed_at").first()
    text = f"{rec.container_name} was purged at {iso_seconds(rec.purged_at)}"
    if entry is None:
        return text + "; only its tombstone remains"
    days = f"{entry.retention_days} days" if entry.retention_days is not None else "its period"
    text += (f" by {entry.closed_by or 'the retention sweep'}: its retention ({days}, "
             f"{', '.join(entry.categories) or pol.UNCATEGORIZED}) ran out at {iso_seconds(entry.expired_at)}, it was "
             f"queued at {iso_seconds(entry.queued_at)} and nothing kept it when its grace period ended at "
             f"{iso_seconds(entry.purge_after)}")
    if entry.approved_by:
        text += f" (purge approved by {entry.approved_by})"
    return text + "; only its tombstone remains"


def release_hold(hold_id, actor: str, reason: str = "", source: str = "") -> LegalHold:
    from ..numbers import parse_uuid

    hold = LegalHold.objects.filter(id=parse_uuid(hold_id)).first() if parse_uuid(hold_id) else \
        LegalHold.objects.filter(name=str(hold_id), released_at__isnull=True).first()
    if hold is None:
        raise RetentionError(f"no legal hold {hold_id!r}")
    if hold.released_at:
        raise RetentionError("the hold was already released")
    with transaction.atomic():
        hold.released_at, hold.released_by = utcnow(), actor[:150]
        hold.save(update_fields=["released_at", "released_by"])
        record("retention.hold_release", actor=actor, source=source, object_type="hold", object_id=str(hold.id),
               detail={"name": hold.name, "reason": reason})
    return hold


def case_status_changed(case: Case, status: str, actor: str) -> dict:
    """cases.services status hook: reopening a case blocks deletion again (its recordings'
    pending deletions are cancelled)."""
    cancelled = 0
    if status == Case.Status.OPEN:
        cancelled = _cancel_pending(case.recordings.values_list("id", flat=True), actor,
                                    f"case {case.number} reopened")
    return {"pending_deletions_cancelled": cancelled}


def queue_rows(state: str = DeletionEntry.State.PENDING, limit: int = 500) -> list[dict]:
    qs = DeletionEntry.objects.select_related("recording__officer", "recording__device").order_by("purge_after")
    if state:
        qs = qs.filter(state=state)
    return [{"id": str(e.id), "recording": str(e.recording_id), "container": e.recording.container_name,
             "officer": str(e.recording.officer), "device": e.recording.device.serial, "state": e.state,
             "categories": e.categories, "expired_at": iso_seconds(e.expired_at), "queued_at": iso_seconds(e.queued_at),
             "purge_after": iso_seconds(e.purge_after), "approved_by": e.approved_by, "closed_by": e.closed_by,
             "note": e.note} for e in qs[:limit]]


def tombstone_dict(t: Tombstone) -> dict:
    return {"recording": str(t.recording_id), "container": t.container_name, "officer": t.officer,
            "device": t.device, "categories": t.categories, "recorded_at": iso_seconds(t.recorded_at),
            "expired_at": iso_seconds(t.expired_at), "purged_at": iso_seconds(t.purged_at), "objects": t.objects_json,
            "blobs_removed": t.blobs_removed, "blobs_kept": t.blobs_kept, "bytes_freed": t.bytes_freed}


# ------------------------------------------------------------------ the custodian's queues
def deletion_queue(limit: int = 5) -> dict:
    """Pending deletion entries, next purge first: {count, awaiting_approval (count; 0 when the
    policy needs no approval), require_approval, rows: [DeletionEntry with .recording]}."""
    row = pol.settings_row()
    qs = DeletionEntry.objects.filter(state=DeletionEntry.State.PENDING).select_related("recording__officer")
    return {"count": qs.count(), "require_approval": row.require_approval,
            "awaiting_approval": qs.filter(approved_at__isnull=True).count() if row.require_approval else 0,
            "rows": list(qs.order_by("purge_after")[:limit])}


def open_holds(limit: int = 5) -> tuple[int, list[LegalHold]]:
    """Legal holds not released, newest first, each with ``n_recordings``."""
    from django.db.models import Count

    qs = LegalHold.objects.filter(released_at__isnull=True).select_related("case")
    rows = list(qs.annotate(n_recordings=Count("recordings")).order_by("-placed_at")[:limit])
    return qs.count(), rows
