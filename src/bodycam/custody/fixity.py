"""Fixity: re-hash every stored original and compare with the catalogue."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..evidence.models import Attachment, Clip
from ..storage import get_store
from .services import raise_alert, record


@dataclass
class Problem:
    sha256: str
    problem: str  # "missing" | "mismatch"
    actual_sha256: str | None = None
    items: list[dict] = field(default_factory=list)


def catalogue_hashes() -> dict[str, list[dict]]:
    """sha256 -> the catalogue items that name it."""
    by_hash: dict[str, list[dict]] = {}
    for model, kind in ((Clip, "clip"), (Attachment, "attachment")):
        # Purged recordings (retention/) keep their rows as tombstones; their bytes are gone on purpose.
        rows = model.objects.filter(recording__purged_at__isnull=True).values_list(
            "id", "sha256", "object_name", "recording__container_name")
        for id_, sha, name, container in rows.iterator():
            by_hash.setdefault(sha, []).append({"kind": kind, "id": str(id_), "container": container, "object": name})
    # Derivatives (proxies, thumbnails, clips) are catalogued objects too: never orphans.
    from ..media.models import Derivative

    rows = Derivative.objects.filter(clip__recording__purged_at__isnull=True).values_list(
        "id", "sha256", "kind", "clip__recording__container_name")
    for id_, sha, kind, container in rows.iterator():
        by_hash.setdefault(sha, []).append({"kind": "derivative", "id": str(id_), "container": container,
                                            "object": kind})
    # A case's other files and the public-release packages live in the same store.
    from ..cases.models import CaseFile
    from ..records.models import RecordsRequest

    for id_, sha, name, case in CaseFile.objects.values_list("id", "sha256", "name", "case__number").iterator():
        by_hash.setdefault(sha, []).append({"kind": "case_file", "id": str(id_), "container": f"case {case}",
                                            "object": name})
    rows = RecordsRequest.objects.exclude(package_sha256="").values_list("id", "package_sha256", "number")
    for id_, sha, number in rows.iterator():
        by_hash.setdefault(sha, []).append({"kind": "release_package", "id": str(id_),
                                            "container": f"records request {number}", "object": "package.zip"})
    return by_hash


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
    known = set(catalogue_hashes())
    quarantined = []
    cutoff = time.time() - grace_seconds
    for sha in list(store.iter_hashes()):
        if sha in known:
            continue
        mtime = store.mtime(sha)
        if mtime is None or mtime > cutoff:
            continue
        store.quarantine(sha)
        quarantined.append(sha)
    stale = store.remove_stale_incoming(grace_seconds)
    result = {"quarantined": quarantined, "stale_uploads_removed": stale}
    if quarantined or stale:
        record("storage.orphan_sweep", actor=actor, detail=result)
    return result
