"""Fixity: re-hash every stored blob and compare with the catalogue.

Which rows name which blobs comes from the blob-reference registry
(``storage.refs.catalogue_hashes``): each app registers its own, so nothing here imports
the apps that own them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import BodycamError
from ..storage import catalogue_hashes, get_store, leaving_hashes
from ..storage.locks import blob_locks
from ..timefmt import iso_from_epoch
from .services import raise_alert, record

__all__ = ["Problem", "catalogue_hashes", "check_all", "orphan_report", "purge_orphans", "run_fixity_check",
           "sweep_orphans"]


@dataclass
class Problem:
    sha256: str
    problem: str  # "missing" | "mismatch"
    actual_sha256: str | None = None
    items: list[dict] = field(default_factory=list)


def check_all() -> tuple[int, list[Problem]]:
    store = get_store()
    by_hash = catalogue_hashes()
    problems = []
    for sha, items in by_hash.items():
        if not store.exists(sha):
            problems.append(Problem(sha, "missing", None, items))
            continue
        actual = store.rehash(sha)
        if actual != sha:
            problems.append(Problem(sha, "mismatch", actual, items))
    return len(by_hash), problems


def run_fixity_check(actor: str = "system:fixity") -> tuple[int, list[Problem]]:
    """The periodic job: check, then audit the result and alert on any failure."""
    checked, problems = check_all()
    record("fixity.check", actor=actor, outcome="ok" if not problems else "failed",
           detail={"checked": checked, "problems": [asdict(p) for p in problems][:100]})
    for p in problems:
        raise_alert("fixity." + p.problem, f"stored object {p.sha256} is {p.problem}: " +
                    ", ".join(f"{i['container']}/{i['object']}" for i in p.items))
    return checked, problems


# How many orphan candidates the sweep locks and checks at once (one catalogue read each).
ORPHAN_LOCK_BATCH = 64

# Tests force races through this ("orphan.check": the candidates are locked, the catalogue
# not yet read again). None in production.
race_hook = None


def _race_point(point: str, **info) -> None:
    if race_hook is not None:
        race_hook(point, info)


def sweep_orphans(grace_seconds: float = 3600, actor: str = "system:orphan-sweep") -> dict:
    """Reconcile the store with the catalogue after crashes.

    Blobs no row names (a crash between blob commit and row commit) are moved to
    ``orphans/`` (never deleted) once older than the grace period, since an in-flight
    upload may be about to commit its row. Temp files of uploads that never finished are
    removed once untouched for the grace period (an active upload keeps writing, so its
    mtime stays fresh): they were never acknowledged, so the camera still holds those bytes.
    """
    import time

    store = get_store()
    # Blobs retention is waiting to remove (an Object Lock still running) are not orphans.
    known = set(catalogue_hashes()) | leaving_hashes()
    quarantined = []
    cutoff = time.time() - grace_seconds
    candidates = []
    for sha in list(store.iter_hashes()):
        if sha in known:
            continue
        mtime = store.mtime(sha)
        if mtime is None or mtime > cutoff:
            continue
        candidates.append(sha)
    # Asked again just before moving anything, under the blobs' locks (storage.locks): a
    # retried upload that reuses one of these blobs holds its lock from store.commit (which
    # found the bytes, and on S3 cannot refresh their date) until its row has committed, so
    # here its row is either committed and seen, or the upload has not looked yet and stores
    # the bytes again from its own copy after they are moved aside.
    for i in range(0, len(candidates), ORPHAN_LOCK_BATCH):
        batch = candidates[i:i + ORPHAN_LOCK_BATCH]
        with blob_locks(batch):
            _race_point("orphan.check", hashes=batch)
            known = set(catalogue_hashes()) | leaving_hashes()
            for sha in batch:
                mtime = store.mtime(sha)
                if sha in known or mtime is None or mtime > cutoff:
                    continue
                store.quarantine(sha)
                quarantined.append(sha)
    stale = store.remove_stale_incoming(grace_seconds)
    result = {"quarantined": quarantined, "stale_uploads_removed": stale}
    if quarantined or stale:
        record("storage.orphan_sweep", actor=actor, detail=result)
    return result


def orphan_report() -> dict:
    """What sits in ``orphans/`` (and in ``incoming/``): counted, nothing changed."""
    import time

    store = get_store()
    known = set(catalogue_hashes()) | leaving_hashes()
    now = time.time()
    orphans = [{"sha256": sha, "size": size, "set_aside_at": iso_from_epoch(at), "age_days": round((now - at) / 86400, 3),
                "named_by_catalogue": sha in known}
               for sha, size, at in sorted(store.iter_orphans(), key=lambda o: o[2])]
    incoming = store.incoming_files()
    return {"orphans": len(orphans), "orphan_bytes": sum(o["size"] for o in orphans), "items": orphans,
            "incoming_files": len(incoming), "incoming_bytes": sum(size for _, size, _ in incoming)}


class OrphanPurgeRefused(BodycamError):
    status = 400


def purge_orphans(*, reason: str, older_than_days: float, actor: str = "cli", dry_run: bool = False) -> dict:
    """Remove quarantined orphans set aside more than ``older_than_days`` ago, each with its own
    audit entry written before the bytes go. Never one whose hash a catalogue row names (or
    retention is still waiting to remove): those are kept and reported."""
    import time

    reason = (reason or "").strip()
    if not reason:
        raise OrphanPurgeRefused("a reason is required to remove orphans (--reason)")
    if older_than_days < 0:
        raise OrphanPurgeRefused("--older-than-days must be 0 or more")
    store = get_store()
    cutoff = time.time() - older_than_days * 86400
    candidates = [(sha, size, at) for sha, size, at in store.iter_orphans() if at <= cutoff]
    too_young = sum(1 for _, _, at in store.iter_orphans() if at > cutoff)
    # Asked after listing: a row committed meanwhile keeps its bytes.
    known = set(catalogue_hashes()) | leaving_hashes()
    removed, named, refused = [], [], []
    for sha, size, at in candidates:
        if sha in known:
            named.append(sha)
            continue
        if dry_run:
            removed.append(sha)
            continue
        record("storage.orphan.purge", actor=actor, object_type="blob", object_id=sha, object_sha256=sha,
               detail={"size": size, "set_aside_at": iso_from_epoch(at), "reason": reason[:500]})
        try:
            store.remove_orphan(sha)
        except Exception as exc:  # e.g. Object Lock retention still running on S3
            record("storage.orphan.purge", actor=actor, object_type="blob", object_id=sha, object_sha256=sha,
                   outcome="failed", detail={"error": f"{type(exc).__name__}: {str(exc)[:300]}"})
            refused.append(sha)
            continue
        removed.append(sha)
    return {"removed": removed, "kept_named_by_catalogue": named, "kept_within_grace": too_young,
            "refused_by_store": refused, "dry_run": dry_run, "older_than_days": older_than_days}
