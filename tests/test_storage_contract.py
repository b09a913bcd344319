"""The blob store contract, run against every backend: the local directory and S3 (a real
nanio server with SigV4 checks, started here on 127.0.0.1). Same tests, same expectations."""

from __future__ import annotations

import hashlib
import io
import os
import uuid

import pytest

from bodycam.storage import IncompleteUpload, reset_store
from bodycam.storage.local import LocalBlobStore
from bodycam.storage.s3 import S3BlobStore

from .objstores import ACCESS_KEY, SECRET_KEY

PART = 5 * 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path):
    """(store, corrupt(sha, data), settings-overrides) for one backend, empty."""
    if request.param == "local":
        store = LocalBlobStore(tmp_path / "objects")

        def corrupt(sha, data):
            p = store.path_for(sha)
            os.chmod(p, 0o644)
            p.write_bytes(data)

        return store, corrupt, {"STORAGE_URL": f"file://{tmp_path / 'objects'}"}
    server = request.getfixturevalue("nanio")
    bucket = f"t{uuid.uuid4().hex[:12]}"
    server.client().create_bucket(Bucket=bucket)
    opts = {"endpoint_url": server.url, "region": "us-east-1", "access_key": ACCESS_KEY, "secret_key": SECRET_KEY,
            "part_size": PART, "retention_days": 365, "legal_hold": False}
    store = S3BlobStore(bucket, "vault", spool_dir=tmp_path, **opts)

    def corrupt(sha, data):
        server.client().put_object(Bucket=bucket, Key=store.key_for(sha), Body=data)

    return store, corrupt, {"STORAGE_URL": f"s3://{bucket}/vault", "S3_OPTIONS": opts}


def put(store, data: bytes):
    incoming = store.receive(io.BytesIO(data), len(data))
    created = store.commit(incoming)
    return incoming, created


def read(store, sha):
    with store.open(sha) as f:
        return f.read()


def test_receive_commit_read_back(backend):
    store, _, _ = backend
    data = os.urandom(300_000)
    incoming, created = put(store, data)
    assert created
    assert incoming.sha256 == hashlib.sha256(data).hexdigest() and incoming.md5 == hashlib.md5(data).hexdigest()
    assert incoming.size == len(data) and not os.path.exists(incoming.temp_path)
    assert store.exists(incoming.sha256) and store.size(incoming.sha256) == len(data)
    assert read(store, incoming.sha256) == data
    assert store.rehash(incoming.sha256) == incoming.sha256
    assert list(store.iter_hashes()) == [incoming.sha256]
    assert store.mtime(incoming.sha256) is not None
    store.ping()


def test_same_bytes_twice_is_one_blob(backend):
    store, _, _ = backend
    data = b"the same clip" * 1000
    _, first = put(store, data)
    incoming, second = put(store, data)
    assert first and not second
    assert list(store.iter_hashes()) == [incoming.sha256]


def test_large_upload_streams_in_parts_and_reads_back(backend):
    store, _, _ = backend
    data = os.urandom(2 * PART + 12345)  # three multipart parts on S3
    incoming, _ = put(store, data)
    assert incoming.sha256 == hashlib.sha256(data).hexdigest()
    assert read(store, incoming.sha256) == data


def test_range_reads(backend):
    store, _, _ = backend
    data = os.urandom(1_500_000)
    incoming, _ = put(store, data)
    with store.open(incoming.sha256) as f:
        f.seek(1_000_000)
        assert f.read(1000) == data[1_000_000:1_001_000]
        f.seek(10)
        assert f.read(5) == data[10:15]
        f.seek(-7, io.SEEK_END)
        assert f.read() == data[-7:]
        assert f.read(10) == b""


def test_short_body_raises_and_leaves_nothing(backend):
    store, _, _ = backend
    with pytest.raises(IncompleteUpload):
        store.receive(io.BytesIO(b"x" * 1000), 5000)
    assert list(store.iter_hashes()) == []
    assert store.remove_stale_incoming(0) == []  # no partial upload left behind either


def test_discarded_upload_leaves_nothing(backend):
    store, _, _ = backend
    incoming = store.receive(io.BytesIO(b"never committed"), None)
    assert open(incoming.temp_path, "rb").read() == b"never committed"  # validators read this copy
    incoming.discard()
    assert not os.path.exists(incoming.temp_path)
    assert not store.exists(incoming.sha256) and list(store.iter_hashes()) == []
    assert store.remove_stale_incoming(0) == []


def test_missing_blob(backend):
    store, _, _ = backend
    sha = "ab" * 32
    assert not store.exists(sha) and store.mtime(sha) is None
    with pytest.raises(FileNotFoundError):
        store.open(sha)
    assert store.purge(sha) is False
    with pytest.raises(ValueError):
        store.exists("../../etc/passwd")


def test_quarantine_and_purge(backend):
    store, _, _ = backend
    a, _ = put(store, b"orphan")
    b, _ = put(store, b"purged")
    store.quarantine(a.sha256)
    assert a.sha256 not in set(store.iter_hashes())
    assert store.purge(b.sha256) is True
    assert not store.exists(b.sha256) and store.purge(b.sha256) is False
    assert list(store.iter_hashes()) == []


def test_abandoned_upload_is_swept(backend):
    """A crash mid-upload (receive done, never committed nor discarded) leaves temp data
    that the sweep removes once stale, never a committed blob."""
    store, _, _ = backend
    incoming = store.receive(io.BytesIO(b"crashed before commit"), None)
    assert store.remove_stale_incoming(3600) == []  # fresh: could still be in flight
    removed = store.remove_stale_incoming(0)
    assert removed and not os.path.exists(incoming.temp_path)
    assert not store.exists(incoming.sha256)


@pytest.mark.django_db
def test_fsck_and_orphan_sweep_through_the_catalogue(backend, settings, tmp_path):
    """The same fixity check and orphan sweep work on every backend: a catalogued blob is
    checked, an uncatalogued one is set aside, a changed one is reported."""
    from bodycam.custody.fixity import check_all, sweep_orphans
    from bodycam.evidence.models import Officer
    from bodycam.storage import get_store

    from .access_helpers import ingest_clip_for, make_user

    store, corrupt, overrides = backend
    for k, v in overrides.items():
        setattr(settings, k, v)
    settings.MEDIA_AUTO_PLAYBACK = False
    reset_store()
    assert type(get_store()) is type(store)
    clip = ingest_clip_for(Officer.objects.get(account=make_user("o1", "officer")), tmp_path)
    orphan = get_store().commit(get_store().receive(io.BytesIO(b"crash between blob and row"), None))
    assert orphan
    checked, problems = check_all()
    assert checked == 1 and problems == []
    result = sweep_orphans(grace_seconds=0)
    assert result["quarantined"] == [hashlib.sha256(b"crash between blob and row").hexdigest()]
    assert list(get_store().iter_hashes()) == [clip.sha256]
    corrupt(clip.sha256, b"tampered")
    checked, problems = check_all()
    assert [(p.sha256, p.problem) for p in problems] == [(clip.sha256, "mismatch")]
    reset_store()


@pytest.mark.django_db
def test_orphan_reused_by_a_retried_upload_is_not_set_aside(settings, tmp_path):
    """A crash left a blob without its row; hours later the dock retries the upload. The
    retry reuses the blob (same bytes), so the orphan sweep must not move it aside: neither
    because the blob looks old (the reuse makes it fresh again) nor because the row
    committed while the sweep was listing the store (it asks the catalogue again)."""
    from bodycam.custody.fixity import sweep_orphans
    from bodycam.storage import get_store, register_blob_refs
    from bodycam.storage.refs import _registry

    settings.STORAGE_URL = f"file://{tmp_path / 'objects'}"
    reset_store()
    store = get_store()
    old, late = put(store, b"left by a crash")[0].sha256, put(store, b"row commits mid-sweep")[0].sha256
    long_ago = 1_000_000_000
    for sha in (old, late):
        os.utime(store.path_for(sha), (long_ago, long_ago))
    put(store, b"left by a crash")  # the retry: same bytes, the stored blob is reused
    asked = []

    def row_committed_meanwhile():  # a provider whose row appears after the first listing
        asked.append(1)
        return [(late, {"kind": "clip", "id": "x", "container": "c", "object": "o"})] if len(asked) > 1 else []

    register_blob_refs("test.late", row_committed_meanwhile)
    try:
        assert sweep_orphans(grace_seconds=3600)["quarantined"] == []
        assert store.exists(old) and store.exists(late) and len(asked) == 2
    finally:
        _registry.pop("test.late", None)
        reset_store()
