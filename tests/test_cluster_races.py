"""Issue 21, items 1 and 2: naming a blob and removing it never overlap (storage.locks).

1. A retention purge removes recording A's blob while recording B uploads the same bytes:
   the upload's store.commit finds the blob, the purge's "still needed?" and delete land
   before B's row commits, and B gets 201 for bytes that are gone.
2. The orphan sweep moves aside a blob a retried upload is reusing (S3 cannot refresh the
   blob's date, and the sweep's second look misses a row not yet committed): 201, and the
   bytes are under orphans/.

Each interleaving is forced. On PostgreSQL a third connection holds
``LOCK TABLE evidence_attachment IN SHARE MODE`` so the upload stops at its row while the
sweep runs (``pg_locks`` says who waits). On both engines the upload stops at
``ingest.services.race_hook`` ("ingest.blob_committed") and the test lets it go on once
the sweep waits for the blob's lock (``storage.locks.race_hook``) or has finished.
"""

from __future__ import annotations

import hashlib
import io
import threading
from datetime import timedelta

import pytest

from bodycam.custody import fixity
from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Attachment, Recording
from bodycam.ingest import services as ingest_services
from bodycam.retention import services as ret
from bodycam.storage import get_store
from bodycam.storage import locks as blob_locks

from . import test_retention_races as races
from .retention_helpers import device
from .test_retention_races import PURGE, QUEUE, Side, recording

# the races' fixtures: the world (an officer), PostgreSQL's lock machinery, the store (local, S3 on nanio)
world, pg, store_kind = races.world, races.pg, races.store_kind

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.catalogue]

TEXT = b"Suspect fled north on Main St; bystander filmed from the bus stop."


def new_recording(w, serial: str) -> str:
    """A recording just begun (nowhere near its retention), with no objects yet."""
    t0 = ret.utcnow().replace(microsecond=0) - timedelta(minutes=5)
    name = f"{w['off'].axis_user_id}_{device(serial).serial}_{t0:%Y%m%dT%H%M%SZ}"
    ingest_services.put_recording(name, {"TriggerOn": "Button"}, "test", "", replace=True)
    return name


def put_bookmark(container: str, obj: str, data: bytes = TEXT):
    return ingest_services.put_object(container, obj, io.BytesIO(data), len(data), None, {}, "test", "")


def due_recording_with_bookmark(w) -> tuple[Recording, str]:
    """Recording A, queued and due for purge at PURGE, holding a bookmark with TEXT."""
    rec, _ = recording(w, 1)
    put_bookmark(rec.container_name, "bookmark_1")
    ret.sweep(now=QUEUE)
    return rec, hashlib.sha256(TEXT).hexdigest()


def orphan_blob(data: bytes = TEXT) -> str:
    """A blob stored with no row naming it (a crash between blob and row commit)."""
    store = get_store()
    inc = store.receive(io.BytesIO(data), len(data))
    store.commit(inc)
    return inc.sha256


def assert_kept(upload: Side, container: str, sha: str):
    assert upload.error is None, upload.error
    assert upload.result.outcome is ingest_services.Outcome.CREATED and upload.result.sha256 == sha
    assert get_store().exists(sha), "201 answered, and the blob is gone"
    assert Attachment.objects.filter(recording__container_name=container, sha256=sha).exists()
    _checked, problems = fixity.check_all()
    assert problems == [], problems


# ---------------------------------------------------------------- item 1: purge vs a deduplicating upload
def test_purge_waits_for_an_upload_naming_the_same_bytes_pg_table_lock(world, pg, store_kind):
    """The issue's reproduction: B's upload has found the blob (store.commit) and stops at its
    row (the attachment table is locked); the sweep purges A meanwhile."""
    mon, lock = pg
    a, sha = due_recording_with_bookmark(world)
    b = new_recording(world, "BWC-9")
    lock.execute("LOCK TABLE evidence_attachment IN SHARE MODE")
    upload = Side(lambda: put_bookmark(b, "bookmark_2")).go()
    mon.wait_until(lambda: mon.waiting(upload) or upload.done, "the upload to stop at its row")
    assert not upload.done, upload.error
    sweep = Side(lambda: ret.sweep(now=PURGE)).go()
    mon.wait_until(lambda: mon.waiting(sweep) or sweep.done, "the sweep to finish or wait")
    lock.rollback()
    upload.join(120)
    sweep.join(120)
    assert sweep.error is None, sweep.error
    assert [p["container"] for p in sweep.result["purged"]] == [a.container_name]
    assert_kept(upload, b, sha)
    assert AuditEntry.objects.filter(action="retention.purge_blob", object_sha256=sha,
                                     detail__kept="a live item names these bytes again").count() == 1


def test_purge_waits_for_a_case_file_naming_the_same_bytes_pg_table_lock(world, pg, store_kind, tmp_path):
    """The same for a case file (a detective attaches a copy of A's bookmark text to a case):
    the upload has stored the file and stops at its row while the sweep purges A."""
    from bodycam.cases.models import CaseFile

    from .access_helpers import World, client_for

    mon, lock = pg
    a, sha = due_recording_with_bookmark(world)
    (tmp_path / "case").mkdir()
    det = client_for(World(tmp_path / "case").detective)
    lock.execute("LOCK TABLE access_casefile IN SHARE MODE")
    upload = Side(lambda: det.post("/cases/C-1/files", {"file": io.BytesIO(TEXT), "description": "copy of a note",
                                                         "csrfmiddlewaretoken": det.cookies["csrftoken"].value})).go()
    mon.wait_until(lambda: mon.waiting(upload) or upload.done, "the case file to stop at its row")
    assert not upload.done, upload.error
    sweep = Side(lambda: ret.sweep(now=PURGE)).go()
    mon.wait_until(lambda: mon.waiting(sweep) or sweep.done, "the sweep to finish or wait")
    lock.rollback()
    upload.join(120)
    sweep.join(120)
    assert sweep.error is None and upload.error is None, (sweep.error, upload.error)
    assert a.container_name in [p["container"] for p in sweep.result["purged"]]
    assert upload.result.status_code == 302 and CaseFile.objects.get().sha256 == sha
    assert get_store().exists(sha), "the case file was stored, and its blob is gone"
    _checked, problems = fixity.check_all()
    assert problems == [], problems


def _hold_upload_at_its_row(monkeypatch):
    """The upload stops after store.commit, before its row: (reached, go) events."""
    reached, go = threading.Event(), threading.Event()

    def hook(point, info):
        if point == "ingest.blob_committed":
            reached.set()
            assert go.wait(120), "the test never let the upload go on"

    monkeypatch.setattr(ingest_services, "race_hook", hook)
    return reached, go


def _notice_lock_waits(monkeypatch):
    waiting = threading.Event()
    monkeypatch.setattr(blob_locks, "race_hook", lambda point, sha: waiting.set())
    return waiting


def _until(cond, what: str, limit_s: float = 120):
    import time

    end = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_purge_waits_for_an_upload_naming_the_same_bytes(world, store_kind, monkeypatch):
    """Both engines: B's upload is stopped between store.commit (the bytes were there) and its
    row; the sweep purges A then. The sweep must wait for B's row and keep the blob."""
    a, sha = due_recording_with_bookmark(world)
    b = new_recording(world, "BWC-9")
    reached, go = _hold_upload_at_its_row(monkeypatch)
    waiting = _notice_lock_waits(monkeypatch)
    upload = Side(lambda: put_bookmark(b, "bookmark_2")).go()
    _until(lambda: reached.is_set() or upload.done, "the upload to reach its row")
    assert not upload.done, upload.error
    sweep = Side(lambda: ret.sweep(now=PURGE)).go()
    _until(lambda: waiting.is_set() or sweep.done, "the sweep to finish or wait for the blob")
    go.set()
    upload.join(120)
    sweep.join(120)
    assert sweep.error is None, sweep.error
    assert [p["container"] for p in sweep.result["purged"]] == [a.container_name]
    assert_kept(upload, b, sha)


def test_a_retried_blob_removal_waits_for_an_upload_naming_the_same_bytes(world, store_kind, monkeypatch):
    """The BlobPurge retry path (a blob the store refused earlier): same exclusion."""
    sha = orphan_blob()
    now = ret.utcnow()
    ret.BlobPurge.objects.create(sha256=sha, recordings=["r"], first_failed_at=now, last_tried_at=now,
                                 retry_after=now - timedelta(days=1), last_error="locked")
    b = new_recording(world, "BWC-9")
    reached, go = _hold_upload_at_its_row(monkeypatch)
    waiting = _notice_lock_waits(monkeypatch)
    upload = Side(lambda: put_bookmark(b, "bookmark_2")).go()
    _until(lambda: reached.is_set() or upload.done, "the upload to reach its row")
    assert not upload.done, upload.error
    retry = Side(lambda: ret.retry_blob_purges("system:retention")).go()
    _until(lambda: waiting.is_set() or retry.done, "the retry to finish or wait for the blob")
    go.set()
    upload.join(120)
    retry.join(120)
    assert retry.error is None, retry.error
    assert retry.result["kept"] == [sha] and retry.result["removed"] == []
    assert_kept(upload, b, sha)


# ---------------------------------------------------------------- item 2: orphan sweep vs a retried upload
@pytest.fixture
def s3_store(store_kind):
    if store_kind != "s3":
        pytest.skip("a local blob's date is refreshed when an upload reuses it; S3 cannot do that")
    return store_kind


def test_orphan_sweep_waits_for_a_retried_upload_reusing_the_orphan_pg_table_lock(world, pg, s3_store):
    mon, lock = pg
    sha = orphan_blob()
    b = new_recording(world, "BWC-9")
    lock.execute("LOCK TABLE evidence_attachment IN SHARE MODE")
    upload = Side(lambda: put_bookmark(b, "bookmark_2")).go()
    mon.wait_until(lambda: mon.waiting(upload) or upload.done, "the upload to stop at its row")
    assert not upload.done, upload.error
    # grace -60: the orphan is older than the grace (S3 keeps the blob's first date)
    sweep = Side(lambda: fixity.sweep_orphans(grace_seconds=-60)).go()
    mon.wait_until(lambda: mon.waiting(sweep) or sweep.done, "the orphan sweep to finish or wait")
    lock.rollback()
    upload.join(120)
    sweep.join(120)
    assert sweep.error is None, sweep.error
    assert sweep.result["quarantined"] == []
    assert_kept(upload, b, sha)
    assert sha not in [o[0] for o in get_store().iter_orphans()]


def test_orphan_sweep_waits_for_a_retried_upload_reusing_the_orphan(world, s3_store, monkeypatch):
    sha = orphan_blob()
    b = new_recording(world, "BWC-9")
    reached, go = _hold_upload_at_its_row(monkeypatch)
    waiting = _notice_lock_waits(monkeypatch)
    upload = Side(lambda: put_bookmark(b, "bookmark_2")).go()
    _until(lambda: reached.is_set() or upload.done, "the upload to reach its row")
    assert not upload.done, upload.error
    sweep = Side(lambda: fixity.sweep_orphans(grace_seconds=-60)).go()
    _until(lambda: waiting.is_set() or sweep.done, "the orphan sweep to finish or wait for the blob")
    go.set()
    upload.join(120)
    sweep.join(120)
    assert sweep.error is None, sweep.error
    assert sweep.result["quarantined"] == []
    assert_kept(upload, b, sha)


def test_orphan_sweep_still_sets_aside_an_orphan_nobody_names(world, store_kind):
    """The lock changes nothing for a true orphan: it is moved aside, and an upload of the
    same bytes afterwards stores them again from its own copy."""
    sha = orphan_blob()
    assert fixity.sweep_orphans(grace_seconds=-60)["quarantined"] == [sha]
    assert not get_store().exists(sha)
    b = new_recording(world, "BWC-9")
    res = put_bookmark(b, "bookmark_2")
    assert res.outcome is ingest_services.Outcome.CREATED and get_store().exists(sha)
