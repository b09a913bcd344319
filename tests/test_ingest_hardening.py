"""Issue 20, ingest: what ingest credentials may read (item 1), bad input answered with a 4xx
and nothing stored (items 6, 7), impossible sizes (12), stale temp files and orphans (13).

Driven by the real python-swiftclient (and a raw socket where a polite client cannot send the
request) against a real ``bodycam serve``."""

import hashlib
import io
import json
import os
import socket
import time
from datetime import timedelta
from urllib.parse import urlparse

import pytest
import requests

from . import axis
from .axis import new_recording, status_of
from .rawhttp import PartialUpload

pytestmark = pytest.mark.catalogue  # also runs in the PostgreSQL pass


@pytest.fixture
def live(shared_live):
    """The module's one server (see conftest.shared_live): each test makes its own recordings,
    on a site of its own where it looks at the account's listing, and checks what changed while
    it ran. The tests that kill their server or count every orphan start their own."""
    return shared_live


def files(live, sub: str) -> list:
    return sorted(p.name for p in (live.data_dir / "objects" / sub).rglob("*") if p.is_file())


def store_state(live) -> tuple:
    """What a refused request must not change: catalogue objects, attachments, blobs, orphans."""
    return (live.cli_json("evidence", "list"), live.sql("SELECT COUNT(*) FROM evidence_attachment")[0][0],
            files(live, "sha256"), files(live, "orphans"))


def nothing_stored(live, before: tuple) -> bool:
    """No new catalogue object, attachment, blob or orphan since ``before``; no temp file."""
    return store_state(live) == before and not files(live, "incoming")


def raw_request(live, conn, head_lines: list[str], body: bytes = b"") -> tuple[int, bytes]:
    """Send one request exactly as given; return (status, response bytes)."""
    url, token = conn.get_auth()
    u = urlparse(url)
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        head = [head_lines[0].replace("{path}", u.path), f"Host: {u.hostname}:{u.port}", f"X-Auth-Token: {token}",
                *head_lines[1:]]
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return int(buf.split(b" ", 2)[1]), buf


# ------------------------------------------------------------------ item 1: read back only what a dock needs

def test_ingest_credentials_never_read_an_original(live, clip):
    conn = live.swift(site="Reader PD")  # sites of its own: the account listings below are exact
    name, t0 = new_recording(conn)
    obj = axis.clip_name(t0, 1)
    conn.put_object(name, obj, clip, headers=axis.clip_headers(t0, 2))
    sha, md5 = hashlib.sha256(clip).hexdigest(), hashlib.md5(clip).hexdigest()

    # What a dock needs to resume and verify: HEAD with both hashes, and the listing of its
    # own unfinished container.
    h = conn.head_object(name, obj)
    assert h["x-object-sha256"] == sha and h["etag"] == md5 and int(h["content-length"]) == len(clip)
    assert conn.head_container(name)["x-container-meta-status"] == "Transferring"
    assert {c["name"] for c in conn.get_account()[1]} == {"Devices", "System", "Users", name}
    assert [o["name"] for o in conn.get_container(name)[1]] == [obj]

    # Never the bytes: 403, audited as a denial by the ingest account; no download entry.
    assert status_of(conn.get_object, name, obj) == 403
    denied = [r for r in live.sql("SELECT actor, outcome, detail FROM custody_auditentry WHERE action = 'ingest.denied'")
              if name in r[2]]
    assert len(denied) == 1 and denied[0][0] == "ingest:bws-reader-pd" and denied[0][1] == "denied"
    assert json.loads(denied[0][2])["method"] == "GET" and obj in json.loads(denied[0][2])["path"]
    assert live.sql("SELECT COUNT(*) FROM custody_auditentry WHERE action = 'evidence.download'")[0][0] == 0

    # Once Complete: no longer listed anywhere; HEAD still verifies (the dock frees its files).
    conn.post_container(name, headers={"X-Container-Meta-Status": "Complete"})
    assert {c["name"] for c in conn.get_account()[1]} == {"Devices", "System", "Users"}
    assert status_of(conn.get_container, name) == 403
    assert conn.head_object(name, obj)["x-object-sha256"] == sha
    assert status_of(conn.get_object, name, obj) == 403

    # Another site's credentials (another dock's connection file) see nothing of it.
    other = live.swift(site="Reader Other PD")
    assert {c["name"] for c in other.get_account()[1]} == {"Devices", "System", "Users"}
    assert status_of(other.head_container, name) == 403
    assert status_of(other.head_object, name, obj) == 403
    assert status_of(other.get_object, name, obj) == 403
    assert status_of(other.get_container, name) == 403


def test_unfinished_listing_is_only_the_accounts_own(live, clip):
    mine, theirs = live.swift(site="Listing PD"), live.swift(site="Listing Other PD")
    a, _ = new_recording(mine)
    b, _ = new_recording(theirs, axis.now() - timedelta(minutes=5), badge="5001")
    assert {c["name"] for c in mine.get_account()[1]} - {"Devices", "System", "Users"} == {a}
    assert {c["name"] for c in theirs.get_account()[1]} - {"Devices", "System", "Users"} == {b}
    assert status_of(theirs.get_container, a) == 403


# ------------------------------------------------------------------ item 6: a 4xx, never a 500

@pytest.mark.parametrize("key,value", [
    ("TriggerOnTimeISO", "0001-01-01T00:00:00+01:00"),
    ("TriggerOnTimeISO", "9999-12-31T23:59:59-01:00"),
    ("StopTimeISO", "9999-12-31T23:59:59-01:00"),
])
def test_iso_times_beyond_a_datetime_are_400(live, key, value):
    conn = live.swift()
    user_id, serial = axis.register(conn)
    name, meta = axis.recording(user_id, serial, axis.now())
    meta[f"X-Container-Meta-{key}"] = value
    recordings = live.sql("SELECT COUNT(*) FROM evidence_recording")[0][0]
    assert status_of(conn.put_container, name, headers=meta) == 400
    assert live.sql("SELECT COUNT(*) FROM evidence_recording")[0][0] == recordings


@pytest.mark.parametrize("timestamp", [1767225600, None, ["2026-01-01T00:00:00Z"]])
def test_gnss_timestamp_that_is_not_a_string_is_400(live, timestamp):
    conn = live.swift()
    name, t0 = new_recording(conn)
    before = store_state(live)
    track = json.loads(axis.gnss_track(t0))
    track["CoordinateEntries"][2]["Timestamp"] = timestamp
    assert status_of(conn.put_object, name, f"{t0:%Y%m%d_%H%M%S}_1_ABC123_gpstrail.json",
                     json.dumps(track).encode()) == 400
    assert nothing_stored(live, before)


def test_chunked_body_with_a_bad_chunk_size_is_400(live):
    conn = live.swift()
    name, t0 = new_recording(conn)
    before = store_state(live)
    status, resp = raw_request(live, conn, [f"PUT {{path}}/{name}/bookmark_{int(t0.timestamp())}_1 HTTP/1.1",
                                            "Transfer-Encoding: chunked"], b"zz\r\nhello\r\n0\r\n\r\n")
    assert status == 400, resp[:300]
    assert nothing_stored(live, before)
    # The server is fine afterwards.
    assert conn.head_container(name)["x-container-meta-status"] == "Transferring"


# ------------------------------------------------------------------ item 7: validate before anything is stored

@pytest.mark.parametrize("meta", [
    {"X-Object-Meta-StartTime": "not-a-time"},
    {"X-Object-Meta-EndTime": "2026-02-30T00:00:00Z"},
    {"X-Object-Meta-StartTime": "2026-01-01T10:00:00Z", "X-Object-Meta-EndTime": "2026-01-01T09:00:00Z"},
])
def test_bookmark_with_bad_times_stores_nothing(live, meta):
    conn = live.swift()
    name, t0 = new_recording(conn)
    before = store_state(live)
    assert status_of(conn.put_object, name, f"bookmark_{int(t0.timestamp())}_1",
                     f"driver stepped out ({name})".encode(), headers=meta) == 400  # bytes no other test sends
    assert nothing_stored(live, before)
    live.cli("orphan-sweep", "--grace", "0")
    assert files(live, "orphans") == before[3]


@pytest.mark.parametrize("seconds", ["NaN", "Infinity", "-Infinity", '"12"', "true", "1e999"])
def test_gnss_with_a_non_finite_offset_is_400_not_409(live, seconds):
    conn = live.swift()
    name, t0 = new_recording(conn)
    before = store_state(live)
    body = axis.gnss_track(t0).decode().replace('"SecondsFromStart": 20.0', f'"SecondsFromStart": {seconds}', 1)
    assert seconds in body
    track = f"{t0:%Y%m%d_%H%M%S}_1_ABC123_gpstrail.json"
    assert status_of(conn.put_object, name, track, body.encode()) == 400
    assert nothing_stored(live, before)
    # The camera's corrected track is then taken as the first (no conflict with a ghost).
    conn.put_object(name, track, axis.gnss_track(t0))
    assert len(live.cli_json("evidence", "show", name)["gnss"]) == 5


# ------------------------------------------------------------------ item 12: impossible sizes

@pytest.mark.parametrize("length,status", [("99999999999999999999", 413), (str(2**62), 413),
                                           ("999999999999999999999999", 400), ("-1", 400), ("1e9", 400)])
def test_impossible_content_length_is_refused_without_an_alert(live, length, status):
    conn = live.swift()
    name, t0 = new_recording(conn)
    before, alerts = store_state(live), live.cli_json("alerts")
    got, resp = raw_request(live, conn, [f"PUT {{path}}/{name}/{axis.clip_name(t0, 1)} HTTP/1.1",
                                         f"Content-Length: {length}", "Connection: close"])
    assert got == status, resp[:300]
    assert live.cli_json("alerts") == alerts
    assert nothing_stored(live, before)


# ------------------------------------------------------------------ item 13: temp files and orphans

def test_stale_upload_temp_file_goes_after_the_grace_without_a_sweep(live_server_factory, clip):
    live = live_server_factory(BODYCAM_INCOMING_GRACE="2")
    conn = live.swift()
    name, t0 = new_recording(conn)
    url, token = conn.get_auth()
    up = PartialUpload(url, token, name, axis.clip_name(t0, 1), clip, axis.clip_headers(t0, 2))
    up.send(0, len(clip) // 2)
    incoming = live.data_dir / "objects" / "incoming"
    deadline = time.time() + 10
    while time.time() < deadline and not list(incoming.iterdir()):
        time.sleep(0.1)
    time.sleep(0.3)
    live.kill9()  # the upload's temp file is left behind, as a crash leaves it
    up.close()
    assert len(list(incoming.iterdir())) == 1
    live.start()
    time.sleep(2.5)
    conn = live.swift()
    conn.put_object(name, axis.clip_name(t0, 2), clip, headers=axis.clip_headers(t0, 2))  # ingest goes on
    assert list(incoming.iterdir()) == []
    rows = live.sql("SELECT actor, detail FROM custody_auditentry WHERE action = 'storage.incoming_removed'")
    assert len(rows) == 1 and rows[0][0] == "system:ingest" and json.loads(rows[0][1])["count"] == 1


def _plant_blob(live, data: bytes) -> str:
    """Put bytes into the live store's content address with no catalogue row: exactly what a
    crash between blob commit and row commit leaves."""
    from bodycam.storage.local import LocalBlobStore

    store = LocalBlobStore(live.data_dir / "objects")
    incoming = store.receive(io.BytesIO(data), len(data))
    store.commit(incoming)
    return incoming.sha256


def test_orphans_are_counted_and_removed_only_by_the_audited_command(live_server_factory, clip):
    live = live_server_factory(BODYCAM_METRICS_TOKEN="scrape-me")
    conn = live.swift()
    name, t0 = new_recording(conn)
    lost = _plant_blob(live, os.urandom(4096))
    retried = _plant_blob(live, clip)
    live.cli("orphan-sweep", "--grace", "0")
    assert files(live, "orphans") == sorted([lost, retried])
    # The camera retries the upload the crash cut short: a catalogue row now names that hash,
    # and a copy of it sits in orphans/ (the duplicate the issue found).
    conn.put_object(name, axis.clip_name(t0, 1), clip, headers=axis.clip_headers(t0, 2))

    metrics = requests.get(live.url + "/metrics", headers={"Authorization": "Bearer scrape-me"}, timeout=10).text
    assert "\nbodycam_storage_orphans 2\n" in metrics
    assert f"\nbodycam_storage_orphan_bytes {4096 + len(clip)}\n" in metrics
    listed = live.cli_json("orphans", "list")
    assert listed["orphans"] == 2
    assert {o["sha256"]: o["named_by_catalogue"] for o in listed["items"]} == {lost: False, retried: True}

    # A reason is required; within the grace (30 days by default) nothing goes.
    assert live.cli("orphans", "purge", check=False).returncode == 2
    res = json.loads(live.cli("orphans", "purge", "--reason", "crash 2026-01-01").stdout)
    assert res["removed"] == [] and res["kept_within_grace"] == 2
    assert files(live, "orphans") == sorted([lost, retried])
    res = json.loads(live.cli("orphans", "purge", "--reason", "crash leftovers", "--older-than-days", "0",
                              "--dry-run").stdout)
    assert res["removed"] == [lost] and files(live, "orphans") == sorted([lost, retried])

    res = json.loads(live.cli("orphans", "purge", "--reason", "crash leftovers", "--older-than-days", "0").stdout)
    assert res["removed"] == [lost] and res["kept_named_by_catalogue"] == [retried]
    assert files(live, "orphans") == [retried]  # never something a catalogue row names
    rows = live.sql("SELECT object_sha256, outcome, detail FROM custody_auditentry WHERE action = 'storage.orphan.purge'")
    assert len(rows) == 1 and rows[0][0] == lost and rows[0][1] == "ok"
    assert json.loads(rows[0][2])["reason"] == "crash leftovers" and json.loads(rows[0][2])["size"] == 4096
    assert live.cli("fsck").returncode == 0
