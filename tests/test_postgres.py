"""The same vault on PostgreSQL: a real cluster, a real server, a full Axis upload."""

import hashlib

import pytest

from bodycam.media.synth import make_clip

from . import axis
from .pg import PostgresCluster


@pytest.fixture(scope="module")
def pg():
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


def test_ingest_and_fsck_on_postgresql(pg, live_server_factory, tmp_path):
    live = live_server_factory(BODYCAM_DATABASE_URL=pg.create_database("vault1"))
    conn = live.swift()
    user_id, serial = axis.register(conn)
    t0 = axis.now()
    name, meta = axis.recording(user_id, serial, t0)
    conn.put_container(name, headers=meta)
    data = open(make_clip(str(tmp_path / "a.mp4"), seconds=2), "rb").read()
    conn.put_object(name, axis.clip_name(t0, 1), data, headers=axis.clip_headers(t0, 2))
    conn.put_object(name, axis.clip_name(t0, 1), data, headers=axis.clip_headers(t0, 2))  # duplicate
    conn.post_container(name, headers={"X-Container-Meta-Status": "Complete"})
    rows = live.cli_json("evidence", "list")
    assert len(rows) == 1 and rows[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert rows[0]["status"] == "complete"
    assert conn.head_object(name, axis.clip_name(t0, 1))["x-object-sha256"] == hashlib.sha256(data).hexdigest()
    assert live.cli("fsck").returncode == 0
    # No SQLite file was made: the catalogue really lives in PostgreSQL.
    assert not (live.data_dir / "bodycam.sqlite3").exists()
