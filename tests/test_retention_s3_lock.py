"""Retention on an S3 bucket with Object Lock (moto's server, which refuses to delete a
locked version): a blob the store will not remove yet is kept back, not forgotten. The orphan
sweep leaves it alone, a later sweep removes it once the lock has run out, and bytes that a
live item names again in the meantime stay."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from bodycam.cli import main
from bodycam.custody.fixity import sweep_orphans
from bodycam.custody.models import Alert, AuditEntry
from bodycam.evidence.defaults import ensure_default_categories
from bodycam.media.synth import make_clip
from bodycam.retention import services as ret
from bodycam.retention.models import BlobPurge, Tombstone
from bodycam.storage import get_store, reset_store

from .access_helpers import client_for, make_user
from .objstores import ACCESS_KEY, SECRET_KEY
from .retention_helpers import device, ingest, officer, utc

pytestmark = pytest.mark.django_db

T0 = utc(2026, 1, 10, 12, 0, 0)
DAY = timedelta(days=1)
LOCK_S = 3


@pytest.fixture
def locked_bucket(moto_s3, settings, tmp_path):
    bucket = f"ret{uuid.uuid4().hex[:10]}"
    moto_s3.client().create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    settings.STORAGE_URL = f"s3://{bucket}/vault"
    # No default retention: each test sets a lock of a few seconds on the blob it purges.
    settings.S3_OPTIONS = {"endpoint_url": moto_s3.url, "region": "us-east-1", "access_key": ACCESS_KEY,
                           "secret_key": SECRET_KEY, "part_size": 5 << 20, "retention_days": 0, "legal_hold": False}
    settings.MEDIA_AUTO_PLAYBACK = False
    reset_store()
    ensure_default_categories()
    yield get_store()
    reset_store()


def purged_while_locked(store, tmp_path):
    """One recording ingested at T0, its blob locked for LOCK_S seconds, then expired and
    purged by the sweep while the lock still runs: (sha256, lock end, recording)."""
    clip = make_clip(str(tmp_path / "a.mp4"), seconds=1)
    rec = ingest(officer("Officer Reyes", "4711"), device("BWC-1"), T0, clip)
    sha = rec.clips.get().sha256
    until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=LOCK_S + 1)
    store.client.put_object_retention(Bucket=store.bucket, Key=store.key_for(sha),
                                      Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until})
    assert len(ret.sweep(now=T0 + 366 * DAY)["queued"]) == 1
    rep = ret.sweep(now=T0 + 397 * DAY)
    assert [p["recording"] for p in rep["purged"]] == [str(rec.id)]
    return sha, until, rec, clip


def test_locked_blob_is_removed_by_a_later_sweep_once_the_lock_ends(locked_bucket, tmp_path, capsys):
    store = locked_bucket
    sha, until, rec, _ = purged_while_locked(store, tmp_path)
    # The catalogue purge happened (tombstone), the store refused the bytes: kept back, said so.
    assert Tombstone.objects.get(recording=rec).blobs_removed == [sha]
    assert store.exists(sha)
    row = BlobPurge.objects.get(sha256=sha)
    assert row.recordings == [str(rec.id)] and row.retry_after == until and "retention until" in row.last_error
    assert Alert.objects.filter(kind="retention.purge_blob", message__contains=sha).exists()
    assert AuditEntry.objects.filter(action="retention.purge_blob", outcome="failed", object_sha256=sha).exists()
    assert main(["retention", "blobs"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(b["sha256"], b["attempts"]) for b in listed] == [(sha, 1)]
    custodian = client_for(make_user("cust", "custodian"))
    assert sha[:17] in custodian.get("/retention/").content.decode()  # shown, truncated
    assert [b["sha256"] for b in custodian.get("/retention/?format=json").json()["blobs_waiting"]] == [sha]

    # Not an orphan: the orphan sweep leaves it where it is.
    assert sweep_orphans(grace_seconds=0)["quarantined"] == []
    # Before the lock ends the sweep does not even ask the store.
    rep = ret.sweep(now=T0 + 398 * DAY)
    assert rep["blobs_retried"] == {"removed": [], "kept": [], "waiting": [sha], "waiting_total": 1}
    assert BlobPurge.objects.get(sha256=sha).attempts == 1 and store.exists(sha)
    assert ret.sweep(now=T0 + 398 * DAY + DAY, dry_run=True)["blobs_retried"] == {
        "due": [], "due_total": 0, "waiting": [sha], "waiting_total": 1}

    time.sleep(max(0.0, (until - datetime.now(timezone.utc)).total_seconds()) + 0.5)
    rep = ret.sweep(now=T0 + 399 * DAY)
    assert rep["blobs_retried"] == {"removed": [sha], "kept": [], "waiting": [], "waiting_total": 0}
    assert not store.exists(sha) and not BlobPurge.objects.exists()
    versions = store.client.list_object_versions(Bucket=store.bucket, Prefix=store.key_for(sha))
    assert not versions.get("Versions")  # every version gone, not hidden behind a delete marker
    done = AuditEntry.objects.filter(action="retention.purge_blob", outcome="ok", object_sha256=sha).get()
    assert done.detail["recordings"] == [str(rec.id)] and done.detail["attempts"] == 2


def test_bytes_named_again_while_locked_are_kept(locked_bucket, tmp_path):
    store = locked_bucket
    sha, until, _, clip = purged_while_locked(store, tmp_path)
    # The same file arrives again in another recording (same hash: the stored blob is reused).
    again = ingest(officer("Officer Diaz", "5150"), device("BWC-2"), utc(2026, 11, 1, 9, 0, 0), clip)
    assert again.clips.get().sha256 == sha
    time.sleep(max(0.0, (until - datetime.now(timezone.utc)).total_seconds()) + 0.5)
    rep = ret.sweep(now=T0 + 398 * DAY)
    assert rep["blobs_retried"] == {"removed": [], "kept": [sha], "waiting": [], "waiting_total": 0}
    assert store.exists(sha) and store.rehash(sha) == sha and not BlobPurge.objects.exists()
    kept = AuditEntry.objects.filter(action="retention.purge_blob", outcome="ok", object_sha256=sha).get()
    assert "names these bytes again" in kept.detail["kept"]
