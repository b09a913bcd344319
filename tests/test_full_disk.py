"""Issue 20, full disk (DESIGN invariant 3): the free-space reserve holds while a chunked body
streams (item 10); a full disk answers 507 even when the catalogue cannot be written, the alert
does not need the disk, /readyz says ingest is not ready (item 11); alerts at most once per
interval (item 12); orphans on the administrators' storage page (item 13).

Low space is real, never mocked: a reserve (BODYCAM_MIN_FREE_BYTES) set against the real free
space of the test's disk, or, where the test may mount one, a small tmpfs filled to the brim."""

import io
import json
import os
import select
import shutil
import socket
import subprocess
from urllib.parse import urlparse

import pytest
import requests

from . import axis
from .axis import new_recording, status_of
from .live import LiveServer

pytestmark = pytest.mark.catalogue  # also runs in the PostgreSQL pass

MiB = 1024 * 1024


def files(live, sub: str) -> list:
    return [p for p in (live.data_dir / "objects" / sub).rglob("*") if p.is_file()]


def chunked_put(conn, path: str, total: int) -> tuple[int, int]:
    """PUT ``total`` bytes with Transfer-Encoding: chunked, 1 MiB a chunk, stopping as soon as
    the server answers. Returns (status, bytes sent)."""
    url, token = conn.get_auth()
    u = urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=60)
    head = [f"PUT {u.path}/{path} HTTP/1.1", f"Host: {u.hostname}:{u.port}", f"X-Auth-Token: {token}",
            "Transfer-Encoding: chunked", "Content-Type: application/octet-stream"]
    s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    block = os.urandom(MiB)
    sent = 0
    try:
        while sent < total and not select.select([s], [], [], 0)[0]:
            s.sendall(b"%x\r\n" % len(block) + block + b"\r\n")
            sent += len(block)
        if sent >= total:
            s.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server stopped reading; its answer is waiting
    buf = b""
    while b"\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    s.close()
    return int(buf.split(b" ", 2)[1]), sent


# ------------------------------------------------------------------ item 10

def test_chunked_upload_stops_at_the_reserve_and_leaves_no_temp_file(live_server_factory):
    live = live_server_factory()
    conn = live.swift()
    name, t0 = new_recording(conn)
    live.stop()
    # A reserve 64 MiB below what is free now: a 0-byte check passes, streaming 512 MiB cannot.
    free = shutil.disk_usage(live.data_dir).free
    live.env["BODYCAM_MIN_FREE_BYTES"] = str(free - 64 * MiB)
    live.start()
    conn = live.swift()
    status, sent = chunked_put(conn, f"{name}/{axis.clip_name(t0, 1, 'mkv')}", 512 * MiB)
    assert status == 507
    assert sent < 512 * MiB  # refused while streaming, not after the whole body
    assert files(live, "incoming") == [] and files(live, "sha256") == []
    assert live.cli_json("evidence", "list") == []
    assert [a["kind"] for a in live.cli_json("alerts")] == ["storage.full"]


# ------------------------------------------------------------------ item 12: alert once per interval

def test_repeated_refusals_raise_one_alert_per_interval(live_server_factory, clip):
    live = live_server_factory(BODYCAM_MIN_FREE_BYTES=str(10**18))  # a reserve larger than any disk
    conn = live.swift()
    name, t0 = new_recording(conn)
    for i in range(3):
        assert status_of(conn.put_object, name, axis.clip_name(t0, i), clip, headers=axis.clip_headers(t0, 2)) == 507
    alerts = live.cli_json("alerts")
    assert [a["kind"] for a in alerts] == ["storage.full"]
    # Every refusal is still audited and logged.
    assert live.sql("SELECT COUNT(*) FROM custody_auditentry WHERE action = 'ingest.refused.full'")[0][0] == 3
    assert live.log.read_text().count("ALERT storage.full") == 3
    # A new interval, a new alert.
    live.stop()
    live.env["BODYCAM_STORAGE_ALERT_INTERVAL"] = "0"
    live.start()
    conn = live.swift()
    assert status_of(conn.put_object, name, axis.clip_name(t0, 9), clip, headers=axis.clip_headers(t0, 2)) == 507
    assert [a["kind"] for a in live.cli_json("alerts")] == ["storage.full"] * 2


# ------------------------------------------------------------------ item 11: a really full disk

@pytest.fixture
def small_disk(tmp_path):
    """A 48 MiB tmpfs for the data directory (needs the right to mount; skipped without it)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mnt)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {res.stderr.decode().strip()[:200]}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path) -> None:
    """Write zeros until the filesystem refuses (ENOSPC): a full disk, for real."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (MiB, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


def test_full_disk_answers_507_even_when_the_catalogue_cannot_be_written(small_disk, tmp_path, clip):
    live = LiveServer(small_disk / "data", {"BODYCAM_MIN_FREE_BYTES": str(MiB), "BODYCAM_METRICS_TOKEN": "m"})
    live.log = tmp_path / "server.log"  # the log is not on the disk that fills up
    live.start()
    try:
        conn = live.swift()
        name, t0 = new_recording(conn)
        conn.put_object(name, axis.clip_name(t0, 1), clip, headers=axis.clip_headers(t0, 2))
        assert requests.get(live.url + "/readyz", timeout=10).status_code == 200

        fill(small_disk / "filler")
        assert shutil.disk_usage(small_disk).free < MiB
        # The upload is refused with 507 (on SQLite the catalogue is on the full disk too, so
        # neither the alert row nor the audit entry can be written: still 507, never 500).
        assert status_of(conn.put_object, name, axis.clip_name(t0, 2), clip, headers=axis.clip_headers(t0, 2)) == 507
        # A new token is a catalogue write too: on SQLite (the catalogue on the full disk) 507, not 500.
        key = (live.data_dir / "keys" / "ingest-test-pd.key").read_text().strip()
        r = requests.get(live.url + "/auth/v1.0", headers={"X-Auth-User": "bws-test-pd", "X-Auth-Key": key}, timeout=10)
        assert r.status_code == (507 if live.database_url.startswith("sqlite") else 200)
        # The alert does not need the disk: it is in the log, and the gauge says so.
        assert "ALERT storage.full" in live.log.read_text()
        m = requests.get(live.url + "/metrics", headers={"Authorization": "Bearer m"}, timeout=10)
        assert m.status_code == 200 and "\nbodycam_storage_below_reserve 1\n" in m.text
        r = requests.get(live.url + "/readyz", timeout=10)
        assert r.status_code == 503 and r.json()["checks"]["ingest"].startswith("not ready")
        assert r.json()["checks"]["database"] == "ok" and r.json()["checks"]["storage"] == "ok"
        assert len(files(live, "sha256")) == 1 and files(live, "incoming") == []

        # Space comes back: ready again, the upload goes through, the first clip is intact.
        (small_disk / "filler").unlink()
        assert requests.get(live.url + "/readyz", timeout=10).status_code == 200
        m = requests.get(live.url + "/metrics", headers={"Authorization": "Bearer m"}, timeout=10)
        assert "\nbodycam_storage_below_reserve 0\n" in m.text
        conn.put_object(name, axis.clip_name(t0, 2), clip[:-1] + b"\0", headers=axis.clip_headers(t0, 2))
        assert len(live.cli_json("evidence", "list")) == 2
        assert live.cli("fsck").returncode == 0
    finally:
        live.stop()


# ------------------------------------------------------------------ item 11/13: /readyz, the admin page

@pytest.mark.django_db
def test_readyz_and_the_storage_page(settings, tmp_path):
    from django.test import Client

    from bodycam.custody.fixity import sweep_orphans
    from bodycam.custody.models import AuditEntry
    from bodycam.storage import get_store, reset_store

    from .access_helpers import client_for, make_user

    store = get_store()
    blob = store.receive(io.BytesIO(b"left by a crash"), 15)
    store.commit(blob)
    sweep_orphans(grace_seconds=0)
    admin, officer = make_user("root", "admin"), make_user("o1", "officer")
    root = client_for(admin)
    page = root.get("/ops/storage/")
    assert page.status_code == 200
    assert b'<td id="orphans">1 (15' in page.content and blob.sha256.encode() in page.content
    assert root.get("/ops/storage/?format=json").json()["orphans"] == 1
    assert AuditEntry.objects.filter(action="ops.storage", actor="root", outcome="ok").count() == 2
    assert client_for(officer).get("/ops/storage/").status_code == 403
    assert AuditEntry.objects.filter(action="ops.storage", actor="o1", outcome="denied").count() == 1

    c = Client()
    r = c.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"]["ingest"] == "ok"
    # The same store with a reserve above the real free space: ingest is not ready.
    settings.MIN_FREE_BYTES = shutil.disk_usage(tmp_path).free + 10**12
    reset_store()
    r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["ingest"].startswith("not ready")
    assert r.json()["checks"]["storage"] == "ok" and r.json()["checks"]["database"] == "ok"
    assert json.loads(root.get("/ops/storage/?format=json").content)["below_reserve"] is True
