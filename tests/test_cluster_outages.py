"""Issue 21, items 6 and 7: ingest under outages answers what a dock can act on, and each
node cleans its own S3 spool.

Real parts only: a ``bodycam serve`` on S3 (a nanio server of the test's own, stopped and
started again), a PostgreSQL database that stops taking connections, a spool whose free
space is below the configured reserve (the reserve set above the disk's real free space).

* S3 down: 503 with Retry-After and a plain-text Swift-style reason (never a 500 page), the
  ``storage.unavailable`` alert, nothing stored; the same upload succeeds once S3 is back.
* PostgreSQL unreachable: 503 with Retry-After on the auth and object endpoints.
* The spool below its reserve: 507 and the ``storage.full`` alert (the S3 store checks its
  spool's free space, as the local store checks its disk).
* A crashed upload's spool copy goes after the grace, even while S3 is down.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from urllib.parse import urlparse, urlunparse

import pytest
import requests

from . import axis
from .objstores import Nanio
from .rawhttp import PartialUpload

pytestmark = pytest.mark.catalogue  # also runs in the PostgreSQL pass

HOUR = 3600


@pytest.fixture
def s3():
    """A nanio server of this test's own (it is stopped and started again) and a bucket."""
    server = Nanio().start()
    bucket = f"o{uuid.uuid4().hex[:12]}"
    server.client().create_bucket(Bucket=bucket)
    server.bucket = bucket
    yield server
    server.stop()


def stop_s3(server) -> None:
    """The S3 server goes away (its data stays on disk for the restart)."""
    server.proc.terminate()
    server.proc.wait(10)


def new_recording(conn):
    user_id, serial = axis.register(conn)
    name, meta = axis.recording(user_id, serial, axis.now())
    conn.put_container(name, headers=meta)
    return name


def put(conn, container: str, obj: str, body: bytes) -> requests.Response:
    url, token = conn.get_auth()
    return requests.put(f"{url}/{container}/{obj}", data=body, headers={"X-Auth-Token": token}, timeout=300)


def assert_retry_later(r: requests.Response, status: int = 503):
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["Content-Type"].startswith("text/plain")
    assert "<html" not in r.text.lower()
    if status == 503:
        assert int(r.headers["Retry-After"]) > 0


def alert_kinds(live) -> list[str]:
    return [a["kind"] for a in live.cli_json("alerts")]


def spool_files(live) -> list[str]:
    spool = live.data_dir / "spool" / "s3-spool"
    return sorted(p.name for p in spool.iterdir()) if spool.exists() else []


def crash_mid_upload(live, conn, name: str) -> None:
    """A node dies while a body is arriving: its spool copy stays behind; then an hour passes."""
    url, token = conn.get_auth()
    body = os.urandom(256 * 1024)
    up = PartialUpload(url, token, name, "bookmark_crashed", body, {})
    up.send(0, len(body) // 2)
    deadline = time.time() + 30
    while time.time() < deadline and not spool_files(live):
        time.sleep(0.05)
    live.kill9()
    up.close()
    left = spool_files(live)
    assert len(left) == 1, left
    past = time.time() - 2 * HOUR  # the grace (BODYCAM_INCOMING_GRACE, an hour) has run out
    os.utime(live.data_dir / "spool" / "s3-spool" / left[0], (past, past))


# ---------------------------------------------------------------- item 6: S3 down
def test_s3_down_is_503_with_retry_after_and_the_retry_is_stored(live_server_factory, s3):
    live = live_server_factory(**s3.env(s3.bucket), BODYCAM_MEDIA_AUTO_PLAYBACK="0")
    conn = live.swift()
    name = new_recording(conn)
    assert put(conn, name, "bookmark_1", b"before the outage").status_code == 201
    crash_mid_upload(live, conn, name)
    stop_s3(s3)
    live.start()
    conn = live.swift()
    r = put(conn, name, "bookmark_2", b"during the outage")
    assert_retry_later(r)
    assert "object store unavailable" in r.text
    assert "storage.unavailable" in alert_kinds(live)
    # item 7: the node cleaned its own spool (the crashed upload's copy) although S3 is down
    assert spool_files(live) == []
    assert live.sql("SELECT COUNT(*) FROM evidence_attachment")[0][0] == 1  # nothing new named
    s3.start()  # S3 is back: the dock's retry is stored
    r = put(conn, name, "bookmark_2", b"during the outage")
    assert r.status_code == 201, r.text
    head = requests.head(f"{conn.get_auth()[0]}/{name}/bookmark_2", headers={"X-Auth-Token": conn.get_auth()[1]},
                         timeout=30)
    assert head.status_code == 200 and head.headers["X-Object-Sha256"] == r.headers["X-Object-Sha256"]
    assert live.cli("fsck").returncode == 0


# ---------------------------------------------------------------- item 6: the spool's free space
def test_spool_below_its_reserve_is_507_with_the_storage_full_alert(live_server_factory, s3, tmp_path):
    free = shutil.disk_usage(tmp_path).free
    live = live_server_factory(**s3.env(s3.bucket), BODYCAM_MEDIA_AUTO_PLAYBACK="0",
                               BODYCAM_MIN_FREE_BYTES=str(free + (1 << 30)))  # more than the disk has free
    conn = live.swift()
    name = new_recording(conn)
    r = put(conn, name, "bookmark_1", b"no room in the spool")
    assert_retry_later(r, 507)
    assert "spool" in r.text
    assert alert_kinds(live) == ["storage.full"]
    assert spool_files(live) == []
    assert live.sql("SELECT COUNT(*) FROM evidence_attachment")[0][0] == 0
    assert not list(s3.client().list_objects_v2(Bucket=s3.bucket).get("Contents", []))


# ---------------------------------------------------------------- item 6: PostgreSQL unreachable
def test_catalogue_down_is_503_with_retry_after(live_server_factory):
    live = live_server_factory(BODYCAM_MEDIA_AUTO_PLAYBACK="0")
    if not live.database_url.startswith("postgres"):
        pytest.skip("a PostgreSQL server that stops taking connections (the SQLite file is the node's own)")
    import psycopg

    conn = live.swift()
    name = new_recording(conn)
    url, token = conn.get_auth()
    key = (live.data_dir / "keys" / "ingest-test-pd.key").read_text().strip()
    p = urlparse(live.database_url)
    db = p.path.lstrip("/")
    with psycopg.connect(urlunparse(p._replace(path="/postgres")), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
        try:
            r = requests.put(f"{url}/{name}/bookmark_1", data=b"while the catalogue is down",
                             headers={"X-Auth-Token": token}, timeout=120)
            assert_retry_later(r)
            assert "catalogue database is unavailable" in r.text
            r = requests.get(live.url + "/auth/v1.0", headers={"X-Auth-User": "bws-test-pd", "X-Auth-Key": key},
                             timeout=120)
            assert_retry_later(r)
        finally:
            admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')
    assert "catalogue unavailable, ingest answers 503" in live.log.read_text()
    r = requests.put(f"{url}/{name}/bookmark_1", data=b"while the catalogue is down",
                     headers={"X-Auth-Token": token}, timeout=120)
    assert r.status_code == 201, r.text
    assert live.cli("fsck").returncode == 0


# ---------------------------------------------------------------- item 7: the spool after a crash
def test_a_crashed_uploads_spool_copy_goes_after_the_grace(live_server_factory, s3):
    live = live_server_factory(**s3.env(s3.bucket), BODYCAM_MEDIA_AUTO_PLAYBACK="0")
    conn = live.swift()
    name = new_recording(conn)
    crash_mid_upload(live, conn, name)
    live.start()
    conn = live.swift()
    assert put(conn, name, "bookmark_1", b"after the crash").status_code == 201  # ingest goes on
    assert spool_files(live) == []
    rows = live.sql("SELECT actor, detail FROM custody_auditentry WHERE action = 'storage.incoming_removed'")
    assert len(rows) == 1 and rows[0][0] == "system:ingest"
    assert any(n.startswith("upload-") for n in json.loads(rows[0][1])["removed"])
