"""Races between the retention sweep and legal holds, uploads and a second sweep, forced
rather than hoped for (issue 21, items 3 and 8).

On PostgreSQL (the clustered engine) each side runs in a thread with its own connection and
a third connection holds a table or row lock, so one side stops at a known statement while
the other goes on; ``pg_locks`` tells the test when a side is waiting. Nothing here sleeps
and hopes. On SQLite (one writer at a time) the sweep's race hook
(``retention.services.race_hook``) runs the other side between the sweep's first look and
its locked change; the tests that need PostgreSQL's locks skip there.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection

from bodycam.access.models import Role
from bodycam.cases.models import Case
from bodycam.cli import main
from bodycam.custody.models import AuditEntry
from bodycam.evidence.defaults import ensure_default_categories
from bodycam.evidence.models import Recording
from bodycam.media.synth import make_clip
from bodycam.retention import services as ret
from bodycam.retention.models import BlobPurge, DeletionEntry, LegalHold, Tombstone
from bodycam.storage import get_store

from .access_helpers import client_for, make_user
from .retention_helpers import device, ingest, officer, utc

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.catalogue]

T0 = utc(2026, 1, 10, 12, 0, 0)
DAY = timedelta(days=1)
QUEUE = T0 + 400 * DAY   # Uncategorized: 365 days, so this sweep queues (30 days' grace)
PURGE = T0 + 431 * DAY   # and this one purges


@pytest.fixture(params=["local", "s3"])
def store_kind(request, settings):
    """The blob store the race runs on: the local one, or S3 (nanio, SigV4 checked)."""
    if request.param == "s3":
        from bodycam.storage import reset_store

        from .objstores import ACCESS_KEY, SECRET_KEY

        server = request.getfixturevalue("nanio")
        bucket = f"r{uuid.uuid4().hex[:12]}"
        server.client().create_bucket(Bucket=bucket)
        settings.STORAGE_URL = f"s3://{bucket}/vault"
        settings.S3_OPTIONS = {"endpoint_url": server.url, "region": "us-east-1", "access_key": ACCESS_KEY,
                               "secret_key": SECRET_KEY, "part_size": 5 << 20, "retention_days": 0,
                               "legal_hold": False}
        settings.MEDIA_AUTO_PLAYBACK = False
        reset_store()
    return request.param


@pytest.fixture
def world(tmp_path):
    ensure_default_categories()
    return {"off": officer("Officer Reyes", "4711"), "tmp": tmp_path}


def recording(w, n: int) -> tuple[Recording, str]:
    """A real clip through ingest (distinct bytes per n), and its hash."""
    path = make_clip(str(w["tmp"] / f"c{n}.mp4"), seconds=1, width=160 + 16 * n, height=120)
    rec = ingest(w["off"], device(f"BWC-{n}"), T0 + (n - 1) * timedelta(minutes=1), path)
    return rec, hashlib.sha256(open(path, "rb").read()).hexdigest()


# ---------------------------------------------------------------- PostgreSQL machinery
def pg_only():
    if connection.vendor != "postgresql":
        pytest.skip("forces the interleaving with PostgreSQL row and table locks")


def pg_connect(autocommit: bool = False):
    import psycopg

    sd = connection.settings_dict
    return psycopg.connect(host=sd["HOST"] or None, port=sd["PORT"] or None, user=sd["USER"] or None,
                           password=sd["PASSWORD"] or None, dbname=sd["NAME"], autocommit=autocommit)


SIDES: list[threading.Thread] = []


class Side(threading.Thread):
    """One side of a race: ``fn`` in a thread with its own database connection."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        SIDES.append(self)
        self.fn, self.result, self.error, self.pid = fn, None, None, None
        self.started_db = threading.Event()

    def run(self):
        from django.db import connection as conn

        try:
            if conn.vendor == "postgresql":
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_backend_pid()")
                    self.pid = cur.fetchone()[0]
            self.started_db.set()
            self.result = self.fn()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            self.error = exc
        finally:
            self.started_db.set()
            conn.close()

    @property
    def done(self) -> bool:
        return not self.is_alive()

    def go(self) -> "Side":
        self.start()
        self.started_db.wait(60)
        return self


class Monitor:
    """An autocommit connection that asks PostgreSQL whether a side waits for a lock."""

    def __init__(self):
        self.conn = pg_connect(autocommit=True)

    def waiting(self, side: Side) -> bool:
        row = self.conn.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", (side.pid,)).fetchone()
        return row[0] > 0

    def wait_until(self, cond, what: str, limit_s: float = 120) -> None:
        """Poll until ``cond()``; the limit only stops a hung test, nothing is judged by time."""
        end = time.monotonic() + limit_s
        while not cond():
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)

    def what(self, side: Side) -> str:
        """What the side's backend is doing (for failure messages)."""
        row = self.conn.execute("SELECT wait_event_type, wait_event, query FROM pg_stat_activity WHERE pid = %s",
                                (side.pid,)).fetchone()
        return repr(row)

    def close(self):
        self.conn.close()


@pytest.fixture
def pg():
    pg_only()
    mon = Monitor()
    lock = pg_connect()
    yield mon, lock
    lock.close()  # a failed test still lets its sides finish before the tables are flushed
    while SIDES:
        SIDES.pop().join(120)
    mon.close()


# ---------------------------------------------------------------- item 3: holds and the sweep
def test_hold_waiting_behind_a_purge_is_refused_with_when_and_why(world, pg, store_kind):
    """The purge has begun (it holds the recording's lock and waits at its tombstone); a hold
    asked for now must not say "placed" for a recording the purge then removes: it waits for
    the purge and is refused, saying when and why the recording went."""
    mon, lock = pg
    rec, sha = recording(world, 1)
    ret.sweep(now=QUEUE)
    lock.execute("LOCK TABLE retention_tombstone IN SHARE MODE")  # the purge stops at its tombstone
    sweep = Side(lambda: ret.sweep(now=PURGE)).go()
    mon.wait_until(lambda: mon.waiting(sweep) or sweep.done, "the sweep to stop at the tombstone")
    assert not sweep.done, sweep.error
    hold = Side(lambda: ret.place_hold("Smith v. City", "litigation", "cli", recordings=[rec.container_name])).go()
    mon.wait_until(lambda: hold.done or mon.waiting(hold), "the hold to finish or wait")
    lock.rollback()  # the purge goes on
    sweep.join(120)
    hold.join(120)
    assert sweep.error is None and [p["container"] for p in sweep.result["purged"]] == [rec.container_name]
    rec.refresh_from_db()
    assert rec.purged_at is not None and not get_store().exists(sha)
    # The hold was asked for while the purge ran: refused, never "placed" for purged footage.
    assert isinstance(hold.error, ret.RetentionError), f"hold answered {hold.result!r} while the recording was purged"
    msg = str(hold.error)
    assert "not placed" in msg and rec.container_name in msg and "purged at 2027-03-17" in msg
    assert "retention (365 days, Uncategorized) ran out" in msg
    assert not LegalHold.objects.exists()
    assert DeletionEntry.objects.get(recording=rec).state == "purged"  # not overwritten to "cancelled"


def test_hold_placed_before_the_purge_reaches_the_recording_wins(world, pg):
    """The hold holds the recording's lock (and waits to write its row); the sweep comes to
    purge the recording meanwhile: it must wait for the hold and then keep the recording."""
    mon, lock = pg
    rec, sha = recording(world, 1)
    ret.sweep(now=QUEUE)
    lock.execute("LOCK TABLE retention_legalhold IN SHARE MODE")  # the hold stops at its row
    hold = Side(lambda: ret.place_hold("Smith v. City", "litigation", "cli", recordings=[rec.container_name])).go()
    mon.wait_until(lambda: mon.waiting(hold) or hold.done, "the hold to stop at its row")
    assert not hold.done, hold.error
    sweep = Side(lambda: ret.sweep(now=PURGE)).go()
    mon.wait_until(lambda: sweep.done or mon.waiting(sweep), "the sweep to finish or wait")
    lock.rollback()
    hold.join(120)
    sweep.join(120)
    assert hold.error is None and sweep.error is None, (hold.error, sweep.error)
    rec.refresh_from_db()
    assert rec.purged_at is None and get_store().exists(sha), "a hold said placed, and the recording was purged"
    assert sweep.result["purged"] == [] and not Tombstone.objects.exists()
    assert DeletionEntry.objects.get(recording=rec).state == "cancelled" and rec.deleted_at is None
    assert ret.retention_info(rec)["blocked_by"] == ["legal hold Smith v. City"]


def test_uploads_go_on_while_the_sweep_is_busy(world, pg):
    """The sweep is stopped in the middle (after one purge, at the second recording's entry):
    an upload from another connection must go through, audit entry and all, instead of
    waiting for the whole sweep (the sweep takes the audit chain's lock per recording)."""
    mon, lock = pg
    first, _ = recording(world, 1)
    second, _ = recording(world, 2)
    ret.sweep(now=QUEUE)
    DeletionEntry.objects.filter(recording=first).update(purge_after=PURGE - 2 * DAY)  # purged first
    clip = make_clip(str(world["tmp"] / "new.mp4"), seconds=1, width=320, height=240)
    lock.execute("SELECT id FROM retention_deletionentry WHERE recording_id = %s FOR UPDATE", (second.id,))
    sweep = Side(lambda: ret.sweep(now=PURGE)).go()
    mon.wait_until(lambda: mon.waiting(sweep) or sweep.done, "the sweep to stop at the second entry")
    assert not sweep.done, sweep.error
    first_committed = Recording.objects.get(pk=first.pk).purged_at is not None
    just_now = ret.utcnow().replace(microsecond=0) - timedelta(minutes=5)
    upload = Side(lambda: ingest(world["off"], device("BWC-9"), just_now, clip)).go()
    mon.wait_until(lambda: upload.done or mon.waiting(upload), "the upload to finish or wait")
    stalled = not upload.done
    lock.rollback()
    upload.join(120)
    sweep.join(120)
    assert not stalled, "the upload waited for the retention sweep"
    assert first_committed  # the sweep commits recording by recording
    assert upload.error is None and sweep.error is None, (upload.error, sweep.error)
    assert len(sweep.result["purged"]) == 2
    new = upload.result.clips.get()
    assert get_store().exists(new.sha256)
    assert AuditEntry.objects.filter(action="ingest.object.stored", object_sha256=new.sha256).count() == 1


# ---------------------------------------------------------------- item 3 on both engines
def test_hold_on_a_purged_recording_is_refused_with_when_and_why(world):
    rec, _ = recording(world, 1)
    other, _ = recording(world, 2)
    ret.sweep(now=QUEUE)
    ret.sweep(now=PURGE)
    rec.refresh_from_db()
    assert rec.purged_at is not None
    with pytest.raises(ret.RetentionError) as err:
        ret.place_hold("Late", "subpoena", "cli", recordings=[rec.container_name])
    msg = str(err.value)
    assert msg.startswith("legal hold Late not placed: ") and rec.container_name in msg
    assert "purged at 2027-03-17T12:00:00+00:00 by system:retention" in msg
    assert "retention (365 days, Uncategorized) ran out at 2027-01-10T12:00:00+00:00" in msg
    assert "grace period ended at 2027-03-16T12:00:00+00:00" in msg
    # The CLI: exit 2 and the reason, never 0 and "placed".
    assert main(["retention", "hold", "place", "Late", "--reason", "subpoena", "--recording", rec.container_name]) == 2
    # The page: 400 with the reason, nothing placed.
    client = client_for(make_user("cust", Role.CUSTODIAN))
    r = client.post("/retention/", {"action": "hold", "name": "Late", "reason": "subpoena",
                                    "recordings": rec.container_name,
                                    "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert r.status_code == 400 and "was purged at 2027-03-17" in r.content.decode()
    assert not LegalHold.objects.exists()
    # A hold on a case is placed for what is left, and says which recordings were already purged.
    case = Case.objects.create(number="C-9", status=Case.Status.CLOSED)
    case.recordings.add(rec)
    hold = ret.place_hold("Grand jury", "subpoena", "cli", case="C-9")
    assert hold.already_purged == [rec.container_name]
    assert AuditEntry.objects.filter(action="retention.hold", object_id=str(hold.id),
                                     detail__case_recordings_already_purged=[str(rec.id)]).exists()


def test_hold_placed_after_the_sweep_listed_its_work_wins(world, monkeypatch):
    """The sweep has listed the due entries; a hold is placed before it reaches the
    recording. The purge must see the hold (checked again under the recording's lock)."""
    rec, sha = recording(world, 1)
    ret.sweep(now=QUEUE)
    seen = []

    def hook(point, info):
        if point == "sweep.purge" and not seen:
            seen.append(info)
            ret.place_hold("Smith v. City", "litigation", "cli", recordings=[rec.container_name])

    monkeypatch.setattr(ret, "race_hook", hook)
    rep = ret.sweep(now=PURGE)
    assert seen, "the sweep did not stop between listing and purging"
    rec.refresh_from_db()
    assert rec.purged_at is None and get_store().exists(sha) and rep["purged"] == []
    assert DeletionEntry.objects.get(recording=rec).state == "cancelled"


# ---------------------------------------------------------------- item 8: two sweeps, one removal
def waiting_blobs(n: int) -> list[str]:
    store, out = get_store(), []
    for i in range(n):
        data = f"purged footage {i}".encode()
        inc = store.receive(io.BytesIO(data), len(data))
        store.commit(inc)
        now = ret.utcnow()
        BlobPurge.objects.create(sha256=inc.sha256, recordings=["r"], first_failed_at=now, last_tried_at=now,
                                 retry_after=now - DAY, last_error="locked")
        out.append(inc.sha256)
    return out


def assert_removed_once(hashes, reports):
    for sha in hashes:
        assert not get_store().exists(sha)
        assert AuditEntry.objects.filter(action="retention.purge_blob", object_sha256=sha).count() == 1, sha
    assert not BlobPurge.objects.exists()
    removed = [sha for rep in reports for sha in rep["blobs_retried"]["removed"]]
    assert sorted(removed) == sorted(hashes)  # each once, by one sweep or the other


def test_two_sweeps_retrying_the_same_blobs_remove_and_audit_each_once(world, pg, store_kind):
    """Both sweeps have listed the same waiting blobs and wait at the blob table; released
    together, each blob is removed and audited by one of them only."""
    mon, lock = pg
    hashes = waiting_blobs(3)
    lock.execute("LOCK TABLE retention_blobpurge IN SHARE MODE")
    a = Side(lambda: ret.sweep(now=QUEUE)).go()
    b = Side(lambda: ret.sweep(now=QUEUE)).go()
    mon.wait_until(lambda: (mon.waiting(a) or a.done) and (mon.waiting(b) or b.done), "both sweeps to wait")
    assert not a.done and not b.done, (a.error, b.error)
    lock.rollback()
    a.join(120)
    b.join(120)
    assert a.error is None and b.error is None, (a.error, b.error)
    assert_removed_once(hashes, [a.result, b.result])


def test_a_sweep_retrying_blobs_another_sweep_removed_meanwhile_audits_nothing(world, monkeypatch):
    """One sweep has listed the waiting blobs; another sweep retries (and removes) them all
    before the first acts: the first removes nothing and audits nothing."""
    hashes = waiting_blobs(3)
    inner, started = [], []

    def hook(point, info):
        if point == "blob_retry" and not started:
            started.append(info)
            inner.append(ret.retry_blob_purges("system:other-sweep"))

    monkeypatch.setattr(ret, "race_hook", hook)
    outer = ret.retry_blob_purges("system:retention")
    assert inner, "the sweep did not stop between listing and removing"
    assert_removed_once(hashes, [{"blobs_retried": inner[0]}, {"blobs_retried": outer}])
    assert outer["removed"] == []
