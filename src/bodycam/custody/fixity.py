"""Fixity: re-hash every stored blob and compare with the catalogue.

Which rows name which blobs comes from the blob-reference registry
(``storage.refs.catalogue_hashes``): each app registers its own, so nothing here imports
the apps that own them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..storage import catalogue_hashes, get_store, leaving_hashes
from .services import raise_alert, record

__all__ = ["Problem", "catalogue_hashes", "check_all", "run_fixity_check", "sweep_orphans"]


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
    if candidates:
        # Asked again just before moving anything: a retried upload may have reused one of
        # these blobs and committed its row while the store was being listed.
        known = set(catalogue_hashes()) | leaving_hashes()
    for sha in candidates:
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
