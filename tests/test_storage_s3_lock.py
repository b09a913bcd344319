"""Write-once on S3: Object Lock compliance retention and legal holds, checked against
moto's server (which emulates Object Lock and refuses deletes of locked versions)."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from bodycam.storage.s3 import RetentionLocked, S3BlobStore

from .objstores import ACCESS_KEY, SECRET_KEY


def _store(server, **kw):
    bucket = f"lock{uuid.uuid4().hex[:10]}"
    server.client().create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    return S3BlobStore(bucket, "vault", endpoint_url=server.url, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                       part_size=5 << 20, **kw)


def _put(store, data):
    incoming = store.receive(io.BytesIO(data), len(data))
    assert store.commit(incoming)
    return incoming.sha256


def test_commit_sets_compliance_retention_and_purge_refuses(moto_s3, tmp_path):
    store = _store(moto_s3, retention_days=30, spool_dir=tmp_path)
    assert store.object_lock
    sha = _put(store, b"evidence" * 1000)
    head = store.client.head_object(Bucket=store.bucket, Key=store.key_for(sha))
    assert head["ObjectLockMode"] == "COMPLIANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert timedelta(days=29) < until - datetime.now(timezone.utc) < timedelta(days=31)
    with pytest.raises(RetentionLocked, match="retention until"):
        store.purge(sha)
    assert store.exists(sha) and store.rehash(sha) == sha
    # The staging copy is gone for good, not kept as a hidden version behind a delete marker.
    staged = store.client.list_object_versions(Bucket=store.bucket, Prefix="vault/incoming/")
    assert not staged.get("Versions") and not staged.get("DeleteMarkers")
    # Not just our own check: the server itself refuses to delete the locked version.
    versions = store.client.list_object_versions(Bucket=store.bucket, Prefix=store.key_for(sha))["Versions"]
    with pytest.raises(Exception, match="AccessDenied|locked|retention|WORM|protected"):
        store.client.delete_object(Bucket=store.bucket, Key=store.key_for(sha), VersionId=versions[0]["VersionId"])
    assert store.exists(sha)


def test_legal_hold_blocks_purge_until_lifted(moto_s3, tmp_path):
    store = _store(moto_s3, retention_days=0, legal_hold=True, spool_dir=tmp_path)
    sha = _put(store, b"held")
    head = store.client.head_object(Bucket=store.bucket, Key=store.key_for(sha))
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    with pytest.raises(RetentionLocked, match="legal hold"):
        store.purge(sha)
    store.set_legal_hold(sha, False)
    assert store.purge(sha) is True
    assert not store.exists(sha)
    # Every version went, not just a delete marker on top of the bytes.
    left = store.client.list_object_versions(Bucket=store.bucket, Prefix=store.key_for(sha))
    assert not left.get("Versions")


def test_locked_orphan_is_set_aside_not_lost(moto_s3, tmp_path):
    store = _store(moto_s3, retention_days=30, spool_dir=tmp_path)
    keep, orphan = _put(store, b"catalogued"), _put(store, b"orphan")
    store.quarantine(orphan)
    assert list(store.iter_hashes()) == [keep]
    assert store.exists(orphan)  # retention still holds it at its address; the orphans/ copy marks it


def test_multipart_upload_on_lock_bucket(moto_s3, tmp_path):
    import hashlib
    import os

    store = _store(moto_s3, retention_days=1, spool_dir=tmp_path)
    data = os.urandom((5 << 20) * 2 + 99)
    sha = _put(store, data)
    assert sha == hashlib.sha256(data).hexdigest()
    with store.open(sha) as f:
        f.seek(5 << 20)
        assert f.read(100) == data[5 << 20:(5 << 20) + 100]
