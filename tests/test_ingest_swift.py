"""The Axis Body Worn Integration API driven by the real python-swiftclient, against a
real server, as an Axis body-worn system would."""

import hashlib
import json
from datetime import timedelta

import pytest
import swiftclient

from bodycam.media.synth import make_clip

from . import axis

pytestmark = pytest.mark.catalogue  # also runs in the PostgreSQL pass


@pytest.fixture
def live(shared_live):
    """The module's one server (see conftest.shared_live): each test registers its own officer
    and recording and counts only its own rows and blobs."""
    return shared_live


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    return {
        "mp4": make_clip(str(d / "a.mp4"), seconds=3, fmt="mp4"),
        "mkv": make_clip(str(d / "b.mkv"), seconds=2, fmt="mkv", pattern="smptebars"),
        "mp4b": make_clip(str(d / "c.mp4"), seconds=2, fmt="mp4", pattern="mandelbrot"),
    }


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_full_recording_round_trip(live, clips):
    conn = live.swift()
    # Capabilities: what we declare, with an ETag that is the MD5 of the body.
    headers, body = conn.get_object("System", "Capabilities.json")
    assert headers["etag"] == hashlib.md5(body).hexdigest()
    caps = json.loads(body)
    assert caps["Store"]["StoreBookmarks"] and caps["Store"]["StoreGNSSTrackRecording"]
    assert caps["StoreAndRead"]["StoreReadSystemID"]
    headers, body = conn.get_object("System", "Categories.json")
    assert headers["etag"] == hashlib.md5(body).hexdigest()
    categories = {c["Name"]: c["Id"] for c in json.loads(body)}
    assert "Arrest" in categories

    user_id, serial = axis.register(conn)
    t0 = axis.now()
    name, cmeta = axis.recording(user_id, serial, t0, seconds=5, prebuffer=30)
    conn.put_container(name, headers=cmeta)

    start = t0 - timedelta(seconds=30)
    c1 = axis.clip_name(start, 4711)
    c2 = axis.clip_name(start + timedelta(seconds=3), 4711, "mkv")
    with open(clips["mp4"], "rb") as f:
        etag = conn.put_object(name, c1, f, headers=axis.clip_headers(start, 3))
    assert etag == hashlib.md5(open(clips["mp4"], "rb").read()).hexdigest()
    # The second clip is sent chunked (no Content-Length), as streaming clients do.
    with open(clips["mkv"], "rb") as f:
        conn.put_object(name, c2, f, chunk_size=65536,
                        headers=axis.clip_headers(start + timedelta(seconds=3), 2, "mkv"))
    bm = f"bookmark_{int(t0.timestamp())}_1"
    conn.put_object(name, bm, "Suspect fled on foot – north".encode(), headers={
        "X-Object-Meta-CategoryID": categories["Arrest"], "X-Object-Meta-CategoryName": "Arrest",
        "X-Object-Meta-Tags": "TriggerOn:Button;Priority:High", "X-Object-Meta-StartTime": axis.iso(t0)})
    track = f"{start:%Y%m%d_%H%M%S}_4711_{serial}_gpstrail.json"
    conn.put_object(name, track, axis.gnss_track(start), headers={"X-Object-Meta-FileType": "json"})
    # While the recording is Transferring its own listing names every object (a dock resumes
    # from it); container metadata is kept.
    headers, listing = conn.get_container(name)
    assert {o["name"] for o in listing} == {c1, c2, bm, track}
    assert headers["x-container-meta-triggeron"] == "Button"
    conn.post_container(name, headers={"X-Container-Meta-Status": "Complete"})

    rows = {r["object"]: r for r in live.cli_json("evidence", "list") if r["recording"] == name}
    assert set(rows) == {c1, c2}
    r1 = rows[c1]
    assert r1["sha256"] == sha(clips["mp4"])
    assert r1["size"] == len(open(clips["mp4"], "rb").read())
    assert r1["officer"]["axis_user_id"] == user_id and r1["officer"]["name"] == "Officer Garcia"
    assert r1["device"] == serial and r1["recording"] == name
    assert r1["start"] == axis.iso(start).replace("Z", ".000Z")
    assert r1["trigger_on"] == "Button" and r1["status"] == "complete"
    assert abs(r1["duration_s"] - 3.0) < 0.2
    assert rows[c2]["sha256"] == sha(clips["mkv"])

    # The stored originals are byte-identical; ingest credentials verify them by HEAD (hashes),
    # they never read them back (tests/test_ingest_access.py).
    for obj, path in ((c1, clips["mp4"]), (c2, clips["mkv"])):
        headers = conn.head_object(name, obj)
        assert headers["x-object-sha256"] == sha(path)
        assert headers["etag"] == hashlib.md5(open(path, "rb").read()).hexdigest()
        blob = live.data_dir / "objects" / "sha256" / sha(path)[:2] / sha(path)[2:4] / sha(path)
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == sha(path)

    # Bookmark and GNSS were parsed into the catalogue.
    detail = live.cli_json("evidence", "show", name)
    assert detail["bookmarks"][0]["text"] == "Suspect fled on foot – north"
    assert detail["bookmarks"][0]["tags"] == {"TriggerOn": "Button", "Priority": "High"}
    assert detail["categories"] == ["Arrest"]
    assert len(detail["gnss"]) == 5 and detail["gnss"][0] == [55.718409, 13.221184]


def test_user_and_device_rename(live):
    conn = live.swift()
    user_id, serial = axis.register(conn, name="Old Name")
    conn.post_object("Users", user_id, headers={"X-Object-Meta-Name": "New Name", "X-Object-Meta-Active": "True"})
    headers = conn.head_object("Users", user_id)
    assert headers["x-object-meta-name"] == "New Name"
    conn.post_object("Devices", serial, headers={"X-Object-Meta-Name": "Car 17 dash", "X-Object-Meta-Active": "True"})
    assert conn.head_object("Devices", serial)["x-object-meta-name"] == "Car 17 dash"
    # SystemID: create, read back, ConnectionId never changes.
    sys_id = "0f3a9a52-1b0e-4e1c-9c7d-6a4f2c1d0b11"
    conn.put_object("System", sys_id, b"", headers={"X-Object-Meta-ConnectionId": "c-1", "X-Object-Meta-SystemName": "HQ"})
    assert conn.head_object("System", sys_id)["x-object-meta-systemname"] == "HQ"
    with pytest.raises(swiftclient.ClientException) as e:
        conn.post_object("System", sys_id, headers={"X-Object-Meta-ConnectionId": "c-2"})
    assert e.value.http_status == 403


def test_duplicate_upload_is_recognised(live, clips, clip):
    conn = live.swift()
    user_id, serial = axis.register(conn)
    t0 = axis.now()
    name, cmeta = axis.recording(user_id, serial, t0)
    conn.put_container(name, headers=cmeta)
    obj = axis.clip_name(t0, 1)
    data = clip  # bytes no other test stores: the store below gains exactly one blob

    def blobs() -> list:
        return list((live.data_dir / "objects" / "sha256").glob("*/*/*"))

    before = len(blobs())
    conn.put_object(name, obj, data, headers=axis.clip_headers(t0, 2))
    conn.put_object(name, obj, data, headers=axis.clip_headers(t0, 2))  # retry after a lost 201
    rows = [r for r in live.cli_json("evidence", "list") if r["recording"] == name]
    assert len(rows) == 1
    assert len(blobs()) == before + 1
    # Same name, different bytes: originals are immutable.
    other = open(clips["mp4b"], "rb").read()
    with pytest.raises(swiftclient.ClientException) as e:
        conn.put_object(name, obj, other, headers=axis.clip_headers(t0, 2))
    assert e.value.http_status == 409
