"""Every error the Axis spec names, and crashes: a wrong request changes nothing."""

import json
import os
import time
from datetime import timedelta

import pytest
import requests

from bodycam.media.synth import make_clip

from . import axis
from .axis import new_recording, status_of
from .rawhttp import PartialUpload

pytestmark = pytest.mark.catalogue  # also runs in the PostgreSQL pass


@pytest.fixture
def live(shared_live):
    """The module's one server (see conftest.shared_live); tests that restart, crash or corrupt
    theirs start their own with ``live_server_factory``."""
    return shared_live


def clips_in(live, name: str) -> list:
    """The catalogue's clips of the recording ``name`` (``bodycam evidence list``)."""
    return [r for r in live.cli_json("evidence", "list") if r["recording"] == name]


def blobs(live) -> set:
    return {p.name for p in (live.data_dir / "objects" / "sha256").glob("*/*/*")}


def blob_count(live) -> int:
    return len(blobs(live))


def stored(live) -> list:
    return live.cli_json("evidence", "list")


def test_401_bad_credentials_and_tokens(live):
    conn = live.connection()
    url = conn["AuthenticationTokenURI"][0]
    r = requests.get(url, headers={"X-Auth-User": conn["BlobAPIUserName"], "X-Auth-Key": "wrong"})
    assert r.status_code == 401
    r = requests.get(url, headers={"X-Auth-User": conn["BlobAPIUserName"], "X-Auth-Key": conn["BlobAPIKey"]})
    assert r.status_code == 200 and r.headers["X-Auth-Token"] and r.headers["X-Storage-Url"].startswith(live.url)
    storage = r.headers["X-Storage-Url"]
    assert requests.get(storage + "/System/Capabilities.json").status_code == 401
    assert requests.get(storage + "/System/Capabilities.json", headers={"X-Auth-Token": "bc_forged"}).status_code == 401
    # A valid token for another account is not enough.
    other = requests.get(storage.replace("AUTH_", "AUTH_x"), headers={"X-Auth-Token": r.headers["X-Auth-Token"]})
    assert other.status_code == 403


def test_400_unknown_user_or_device_is_not_auto_created(live):
    conn = live.swift()
    user_id, serial = axis.register(conn)
    t0 = axis.now()
    import uuid
    stranger = str(uuid.uuid4())
    name, meta = axis.recording(stranger, serial, t0)
    assert status_of(conn.put_container, name, headers=meta) == 400
    name, meta = axis.recording(user_id, "UNKNOWN-9", t0)
    assert status_of(conn.put_container, name, headers=meta) == 400
    users = conn.get_container("Users")[1]
    assert stranger not in {u["name"] for u in users}
    assert conn.get_account()[1] and not any(c["name"].startswith(stranger) for c in conn.get_account()[1])


@pytest.mark.parametrize("key,value", [
    ("TriggerOnTime", "not-a-time"),
    ("StartTimeISO", "2026-13-45T99:00:00Z"),
    ("StopTime", "100"),                      # 1970: out of bounds
    ("TriggerOffTime", "9999999999"),         # year 2286: out of bounds
    ("StartTimeISO", "2026-01-01T00:00:00"),  # no UTC offset
])
def test_400_bad_timestamps(live, key, value):
    conn = live.swift()
    user_id, serial = axis.register(conn)
    name, meta = axis.recording(user_id, serial, axis.now())
    meta[f"X-Container-Meta-{key}"] = value
    assert status_of(conn.put_container, name, headers=meta) == 400
    assert not any(c["name"] == name for c in conn.get_account()[1])


def test_400_stop_before_start_and_mismatched_names(live):
    conn = live.swift()
    user_id, serial = axis.register(conn)
    t0 = axis.now()
    name, meta = axis.recording(user_id, serial, t0)
    bad = dict(meta, **{"X-Container-Meta-StopTime": str(int(t0.timestamp()) - 3600),
                        "X-Container-Meta-StopTimeISO": axis.iso(t0 - timedelta(hours=1))})
    assert status_of(conn.put_container, name, headers=bad) == 400
    assert status_of(conn.put_container, "not-a-recording-name", headers=meta) == 400
    assert status_of(conn.put_container, name, headers=dict(meta, **{"X-Container-Meta-BWCSerialNumber": "OTHER"})) == 400
    assert status_of(conn.put_container, name, headers=dict(meta, **{"X-Container-Meta-Name": "x" * 5000})) == 400


def test_400_zero_length_and_undecodable_clips(live, clip):
    conn = live.swift()
    name, t0 = new_recording(conn)
    before = blobs(live)
    h = axis.clip_headers(t0, 2)
    assert status_of(conn.put_object, name, axis.clip_name(t0, 1), b"", headers=h) == 400
    assert status_of(conn.put_object, name, axis.clip_name(t0, 2), os.urandom(50_000), headers=h) == 400
    # An mp4 under an .mkv name, or a clip whose stop precedes its start.
    assert status_of(conn.put_object, name, axis.clip_name(t0, 3, "mkv"), clip,
                     headers=axis.clip_headers(t0, 2, "mkv")) == 400
    bad = dict(h, **{"X-Object-Meta-StopTime": str(int(t0.timestamp()) - 10), "X-Object-Meta-StopTimeISO": axis.iso(t0 - timedelta(seconds=10))})
    assert status_of(conn.put_object, name, axis.clip_name(t0, 4), clip, headers=bad) == 400
    assert status_of(conn.put_object, name, "../../etc/passwd", clip, headers=h) in (400, 404)
    assert clips_in(live, name) == [] and blobs(live) == before
    assert list((live.data_dir / "objects" / "incoming").iterdir()) == []


def test_422_wrong_etag_and_404_missing_container(live, clip):
    conn = live.swift()
    name, t0 = new_recording(conn)
    before = blobs(live)
    assert status_of(conn.put_object, name, axis.clip_name(t0, 1), clip, etag="0" * 32,
                     headers=axis.clip_headers(t0, 2)) == 422
    assert status_of(conn.put_object, name, axis.clip_name(t0, 1), clip,
                     headers=dict(axis.clip_headers(t0, 2), **{"X-Object-Meta-Sha256": "f" * 64})) == 422
    assert status_of(conn.put_object, name + "0", axis.clip_name(t0, 1), clip, headers=axis.clip_headers(t0, 2)) in (400, 404)
    assert clips_in(live, name) == [] and clips_in(live, name + "0") == [] and blobs(live) == before


def test_403_after_complete_and_on_delete(live, clip):
    conn = live.swift()
    name, t0 = new_recording(conn)
    obj = axis.clip_name(t0, 1)
    conn.put_object(name, obj, clip, headers=axis.clip_headers(t0, 2))
    assert status_of(conn.delete_object, name, obj) == 403
    conn.post_container(name, headers={"X-Container-Meta-Status": "Complete"})
    conn.post_container(name, headers={"X-Container-Meta-Status": "Complete"})  # a retry is harmless
    assert status_of(conn.put_object, name, axis.clip_name(t0, 2), clip, headers=axis.clip_headers(t0, 2)) == 403
    assert status_of(conn.post_container, name, headers={"X-Container-Meta-TriggerOff": "Changed"}) == 403
    assert len(clips_in(live, name)) == 1


def test_503_when_busy(live_server_factory, clip):
    live = live_server_factory(BODYCAM_MAX_CONCURRENT_UPLOADS=1)
    conn = live.swift()
    name, t0 = new_recording(conn)
    url, token = conn.get_auth()
    slow = PartialUpload(url, token, name, axis.clip_name(t0, 1), clip, axis.clip_headers(t0, 2))
    slow.send(0, 1000)
    time.sleep(0.5)
    r = requests.put(f"{url}/{name}/{axis.clip_name(t0, 2)}", data=clip,
                     headers={"X-Auth-Token": token, **axis.clip_headers(t0, 2)})
    assert r.status_code == 503 and r.headers["Retry-After"]
    slow.send(1000, len(clip))
    assert slow.response_status() == 201
    slow.close()
    r = requests.put(f"{url}/{name}/{axis.clip_name(t0, 2)}", data=clip,
                     headers={"X-Auth-Token": token, **axis.clip_headers(t0, 2)})
    assert r.status_code == 201


def test_507_when_out_of_space_alerts_and_deletes_nothing(live_server_factory, clip):
    live = live_server_factory()
    conn = live.swift()
    name, t0 = new_recording(conn)
    conn.put_object(name, axis.clip_name(t0, 1), clip, headers=axis.clip_headers(t0, 2))
    live.stop()
    # Restart the same vault with a reserve larger than the disk: every upload is refused.
    live.env["BODYCAM_MIN_FREE_BYTES"] = str(10**18)
    live.start()
    conn = live.swift()
    other = make_clip(str(live.data_dir / "b.mp4"), seconds=1, pattern="smptebars")
    assert status_of(conn.put_object, name, axis.clip_name(t0, 2), open(other, "rb").read(),
                     headers=axis.clip_headers(t0, 1)) == 507
    rows = stored(live)
    assert len(rows) == 1 and blob_count(live) == 1  # the earlier clip is untouched
    alerts = live.cli_json("alerts")
    assert alerts and alerts[0]["kind"] == "storage.full"


def test_interrupted_upload_stores_nothing_and_retry_succeeds(live, clip):
    conn = live.swift()
    name, t0 = new_recording(conn)
    before = blobs(live)
    url, token = conn.get_auth()
    obj = axis.clip_name(t0, 1)
    up = PartialUpload(url, token, name, obj, clip, axis.clip_headers(t0, 2))
    up.send(0, len(clip) // 2)
    up.close()  # the client disconnects half-way
    deadline = time.time() + 10
    incoming = live.data_dir / "objects" / "incoming"
    while time.time() < deadline and list(incoming.iterdir()):
        time.sleep(0.2)
    assert list(incoming.iterdir()) == []
    assert clips_in(live, name) == [] and blobs(live) == before
    conn.put_object(name, obj, clip, headers=axis.clip_headers(t0, 2))
    rows = clips_in(live, name)
    assert len(rows) == 1 and rows[0]["size"] == len(clip)


def test_server_killed_mid_upload_loses_and_duplicates_nothing(live_server_factory, clip):
    live = live_server_factory()
    conn = live.swift()
    name, t0 = new_recording(conn)
    first = axis.clip_name(t0, 1)
    conn.put_object(name, first, clip, headers=axis.clip_headers(t0, 2))
    url, token = conn.get_auth()
    second_data = open(make_clip(str(live.data_dir / "b.mp4"), seconds=2, pattern="smptebars"), "rb").read()
    second = axis.clip_name(t0 + timedelta(seconds=2), 1)
    up = PartialUpload(url, token, name, second, second_data, axis.clip_headers(t0, 2))
    up.send(0, len(second_data) // 2)
    time.sleep(0.3)
    live.kill9()
    up.close()
    live.start()
    # The stored clip survived intact; the half upload left no catalogue row or blob.
    assert live.cli("fsck").returncode == 0
    assert [r["object"] for r in stored(live)] == [first]
    conn = live.swift()
    conn.put_object(name, second, second_data, headers=axis.clip_headers(t0, 2))  # the camera retries
    conn.put_object(name, first, clip, headers=axis.clip_headers(t0, 2))  # and re-sends one it never saw confirmed
    rows = stored(live)
    assert sorted(r["object"] for r in rows) == sorted([first, second])
    assert blob_count(live) == 2
    # The dead upload's temp file is cleaned by the sweep; stored blobs are untouched.
    live.cli("orphan-sweep", "--grace", "0")
    assert list((live.data_dir / "objects" / "incoming").iterdir()) == []
    assert blob_count(live) == 2 and live.cli("fsck").returncode == 0


def test_bit_flip_and_missing_object_make_fsck_fail(live_server_factory, clip):
    live = live_server_factory()
    conn = live.swift()
    name, t0 = new_recording(conn)
    obj = axis.clip_name(t0, 1)
    conn.put_object(name, obj, clip, headers=axis.clip_headers(t0, 2))
    assert live.cli("fsck").returncode == 0
    row = stored(live)[0]
    path = live.data_dir / "objects" / "sha256" / row["sha256"][:2] / row["sha256"][2:4] / row["sha256"]
    assert not os.access(path, os.W_OK) or os.geteuid() == 0  # stored read-only
    assert oct(path.stat().st_mode & 0o777) == "0o444"
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    res = live.cli("fsck", check=False)
    assert res.returncode == 1
    assert f"MISMATCH: {name}/{obj}" in res.stdout and row["id"] in res.stdout
    report = json.loads(live.cli("fsck", "--json", check=False).stdout)
    assert report["problems"][0]["problem"] == "mismatch" and report["problems"][0]["sha256"] == row["sha256"]
    path.unlink()
    res = live.cli("fsck", check=False)
    assert res.returncode == 1 and f"MISSING: {name}/{obj}" in res.stdout
    assert any(a["kind"].startswith("fixity.") for a in live.cli_json("alerts"))
