"""A real server whose blob store is S3 (nanio, SigV4-checked): Swift upload, download,
ranged playback of the proxy the job makes, fsck, readiness; no local objects directory used."""

from __future__ import annotations

import hashlib
import uuid

import pytest
import requests

from bodycam.media.synth import make_clip

from . import axis

pytestmark = pytest.mark.catalogue


def test_server_on_s3_ingests_serves_and_verifies(live_server_factory, nanio, tmp_path):
    bucket = f"live{uuid.uuid4().hex[:10]}"
    nanio.client().create_bucket(Bucket=bucket)
    live = live_server_factory(BODYCAM_JOBS_INLINE="1", **nanio.env(bucket))
    conn = live.swift()
    user_id, serial = axis.register(conn)
    t0 = axis.now()
    name, meta = axis.recording(user_id, serial, t0)
    conn.put_container(name, headers=meta)
    data = open(make_clip(str(tmp_path / "a.mp4"), seconds=2), "rb").read()
    conn.put_object(name, axis.clip_name(t0, 1), data, headers=axis.clip_headers(t0, 2))
    sha = hashlib.sha256(data).hexdigest()
    # The bytes live in the bucket at their content address, nowhere else.
    key = f"vault/sha256/{sha[:2]}/{sha[2:4]}/{sha}"
    assert nanio.client().get_object(Bucket=bucket, Key=key)["Body"].read() == data
    assert not any((live.data_dir / "objects").glob("sha256/*/*/*"))
    assert conn.head_object(name, axis.clip_name(t0, 1))["x-object-sha256"] == sha
    # The playback proxy (made by the job) is an S3 object too; fsck re-hashes everything there.
    kinds = dict(live.sql("SELECT kind, COUNT(*) FROM media_derivative GROUP BY kind"))
    assert kinds.get("proxy") == 1
    assert live.cli("fsck").returncode == 0
    assert requests.get(live.url + "/readyz", timeout=10).json()["checks"]["storage"] == "ok"
    # Tamper with the object behind the server's back: fsck notices.
    nanio.client().put_object(Bucket=bucket, Key=key, Body=data[:-1] + bytes([data[-1] ^ 1]))
    assert live.cli("fsck", check=False).returncode == 1
