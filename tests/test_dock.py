"""The dock against a real server: Axis/Swift upload, hash confirmation, freeing device
storage, resuming after kill -9, signatures verified at ingest, parallel docks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from bodycam.device.camera import simulate
from bodycam.device.storage import DeviceStorage, read_json

from . import axis
from .device.helpers import camera, recordings

pytestmark = pytest.mark.catalogue  # also runs in the PostgreSQL pass


def shift_start() -> str:
    t = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def conn_file(live, tmp_path):
    path = tmp_path / "connection.json"
    if not path.exists():
        path.write_text(json.dumps(live.connection()))
    return path


def make_camera(live, tmp_path, name, events, duration, register=True, set_key=True, **settings):
    """Officer + camera registered as the BWM/admin would, key registered, a shift recorded."""
    serial = f"BWC-{name}"
    user_id = None
    if register:
        user_id, _ = axis.register(live.swift(), serial=serial, name=f"Officer {name}", badge=f"B-{name}")
    storage, config = camera(tmp_path / name, serial=serial, user_id=user_id or "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a09",
                             **settings)
    if set_key:
        live.cli("device", "set-key", serial, "--public-key-file", str(storage.keys_dir / "device.pub"))
    simulate(storage, "barcode", {"start": shift_start(), "duration": duration, "events": events,
                                  "gnss": {"points": [[55.70, 13.19], [55.71, 13.20]], "speed_mps": 30}}, config)
    return storage


def dock(live, tmp_path, storage, *extra, check=True):
    res = live.cli("dock", "--storage", str(storage.root), "--connection-file", str(conn_file(live, tmp_path)),
                   "--json", *extra, check=False)
    if check:
        assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout) if res.stdout.strip() else None


def journal(storage):
    path = storage.root / "dock.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def audit(live, action):
    return [json.loads(d) for (d,) in live.sql(
        "SELECT detail FROM custody_auditentry WHERE action = ? ORDER BY seq", action)]


def server_clips(live):
    return {(c["recording"], c["object"]): c for c in live.cli_json("evidence", "list")}


SHIFT = [{"t": 12, "action": "record"},
         {"t": 20, "action": "bookmark", "text": "suspect fled north", "category_name": "Arrest", "tags": "Unit:12"},
         {"t": 24, "action": "still"},
         {"t": 40, "action": "stop"}]


def test_dock_uploads_everything_verifies_and_frees_the_camera(live, tmp_path):
    storage = make_camera(live, tmp_path, "1", SHIFT, duration=45, buffer_seconds=10, clip_seconds=12)
    local = {c["object"]: c["sha256"] for r in recordings(storage) for c in r["clips"]}
    video = [r for r in recordings(storage) if not r.get("still")][0]
    assert len(video["clips"]) == 4 and len(local) == 5     # 38 s in 12 s clips + 1 still

    result = dock(live, tmp_path, storage)
    assert len(result["uploaded"]) == 2 and not result["failed"]
    assert storage.recordings() == [] and list(storage.recordings_dir.iterdir()) == []   # freed

    clips = server_clips(live)
    assert {o: c["sha256"] for (_, o), c in clips.items()} == local   # bit for bit
    assert {c["signature"] for c in clips.values()} == {"valid"}
    assert {c["status"] for c in clips.values()} == {"complete"}
    detail = live.cli_json("evidence", "show", video["container"])
    assert detail["trigger_on"] == "Button" and detail["metadata"]["SCUSerialNumber"] == "bodycam-dock"
    assert detail["start"].startswith(video["metadata"]["StartTimeISO"][:19])
    assert [b["text"] for b in detail["bookmarks"]] == ["suspect fled north"]
    assert detail["bookmarks"][0]["category_name"] == "Arrest" and "Arrest" in detail["categories"]
    assert len(detail["gnss"]) >= 20
    assert sum(a["kind"] == "manifest" for a in detail["attachments"]) == 4
    # Every object was confirmed by the server's hashes before its local copy was deleted.
    freed = [e for e in journal(storage) if e["event"] == "object.freed"]
    puts = {(e["recording"], e["object"]): e for e in journal(storage) if e["event"] == "object.put"}
    for e in freed:
        put = puts[(e["recording"], e["object"])]
        assert put["status"] == 201 and put["server_sha256"] == put["sha256"] == e["sha256"]
    # Docking again has nothing to do.
    assert dock(live, tmp_path, storage)["uploaded"] == []


def test_bookmarked_recordings_go_first(live, tmp_path):
    storage = make_camera(live, tmp_path, "2", [
        {"t": 2, "action": "record"}, {"t": 6, "action": "stop"},
        {"t": 10, "action": "record"}, {"t": 12, "action": "bookmark", "text": "use of force"},
        {"t": 14, "action": "stop"}], duration=16, buffer_seconds=0)
    first, second = sorted(recordings(storage), key=lambda r: r["metadata"]["TriggerOnTime"])
    dock(live, tmp_path, storage)
    order = [e["recording"] for e in journal(storage) if e["event"] == "container.put"]
    assert order == [second["container"], first["container"]]


def test_tampered_clip_or_manifest_fails_verification_at_ingest(live, tmp_path):
    storage = make_camera(live, tmp_path, "3", [{"t": 1, "action": "record"}, {"t": 13, "action": "stop"}],
                          duration=14, buffer_seconds=0, clip_seconds=4)
    (rec,) = recordings(storage)
    c1, c2, c3 = rec["clips"][:3]
    # 1: one byte of the video changed after signing (the dock faithfully uploads what it finds)
    p = rec["dir"] / c1["object"]
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))
    state = read_json(rec["dir"] / "recording.json")
    state["clips"][0]["sha256"] = __import__("hashlib").sha256(bytes(data)).hexdigest()   # a forger updates the state
    (rec["dir"] / "recording.json").write_text(json.dumps(state))
    # 2: the manifest's signed metadata edited (clip times moved)
    m = rec["dir"] / c2["manifest"]
    doc = json.loads(m.read_text())
    doc["payload"]["clip"]["metadata"]["StartTime"] = "1000000000.000"
    m.write_text(json.dumps(doc))
    dock(live, tmp_path, storage)
    sig = {o: c["signature"] for (_, o), c in server_clips(live).items()}
    assert sig[c1["object"]] == "invalid" and sig[c2["object"]] == "invalid" and sig[c3["object"]] == "valid"
    reasons = {d["object"]: d["reason"] for d in audit(live, "ingest.signature.invalid")}
    assert "SHA-256" in reasons[c1["object"]]
    assert "signature does not verify" in reasons[c2["object"]]


def test_manifest_before_clip_absent_manifest_and_late_key(live, tmp_path):
    """Order does not matter; no manifest = absent; no registered key = invalid until one is set."""
    storage = make_camera(live, tmp_path, "4", [{"t": 1, "action": "record"}, {"t": 9, "action": "stop"}],
                          duration=10, buffer_seconds=0, clip_seconds=4, set_key=False)
    (rec,) = recordings(storage)
    conn = live.swift()
    name = rec["container"]
    conn.put_container(name, headers={f"X-Container-Meta-{k}": v for k, v in rec["metadata"].items()})
    c1, c2 = rec["clips"][:2]
    hdr = lambda c: {f"X-Object-Meta-{k}": v for k, v in c["metadata"].items()}  # noqa: E731
    conn.put_object(name, c1["manifest"], (rec["dir"] / c1["manifest"]).read_bytes())   # manifest first
    conn.put_object(name, c1["object"], (rec["dir"] / c1["object"]).read_bytes(), headers=hdr(c1))
    conn.put_object(name, c2["object"], (rec["dir"] / c2["object"]).read_bytes(), headers=hdr(c2))  # no manifest
    sig = {o: c["signature"] for (_, o), c in server_clips(live).items()}
    assert sig == {c1["object"]: "invalid", c2["object"]: "absent"}       # device has no key yet
    out = live.cli("device", "set-key", "BWC-4", "--public-key-file", str(storage.keys_dir / "device.pub")).stdout
    assert "1 valid" in out
    sig = {o: c["signature"] for (_, o), c in server_clips(live).items()}
    assert sig == {c1["object"]: "valid", c2["object"]: "absent"}
    # A key that is not the camera's makes its manifests invalid again.
    other = tmp_path / "other.pub"
    from bodycam.provenance.keys import load_or_create, public_b64

    other.write_text(public_b64(load_or_create(tmp_path / "other.key")))
    assert "1 invalid" in live.cli("device", "set-key", "BWC-4", "--public-key-file", str(other)).stdout
    bad = live.cli("device", "set-key", "BWC-4", "--public-key-file", str(rec["dir"] / c1["manifest"]), check=False)
    assert bad.returncode == 2 and "Ed25519" in bad.stderr


def test_dock_killed_half_way_resumes_without_loss_or_duplicates(live, tmp_path):
    storage = make_camera(live, tmp_path, "5", [{"t": 1, "action": "record"}, {"t": 31, "action": "stop"}],
                          duration=32, buffer_seconds=0, clip_seconds=3, bitrate=400_000)
    (rec,) = recordings(storage)
    originals = {c["object"]: c["sha256"] for c in rec["clips"]}
    assert len(originals) >= 9
    total = sum((rec["dir"] / c["object"]).stat().st_size for c in rec["clips"])
    env = {**live.env}
    proc = subprocess.Popen([sys.executable, "-m", "bodycam.cli", "dock", "--storage", str(storage.root),
                             "--connection-file", str(conn_file(live, tmp_path)), "--rate-limit", str(total // 4)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            puts = [e for e in journal(storage) if e["event"] == "object.put" and e["status"] == 201]
            if len(puts) >= 5:
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    confirmed_before = {e["object"] for e in journal(storage) if e["event"] == "object.put" and e["status"] == 201}
    assert 5 <= len(confirmed_before) < 2 * len(originals)
    # Nothing was deleted before the whole recording was confirmed and Complete.
    assert all((rec["dir"] / o).exists() for o in originals)
    assert read_json(rec["dir"] / "upload.json")["status"] == "pending"

    result = dock(live, tmp_path, storage)
    assert result["uploaded"] == [rec["container"]]
    assert not rec["dir"].exists()
    clips = server_clips(live)
    assert {o: c["sha256"] for (_, o), c in clips.items()} == originals          # nothing lost, bit for bit
    assert {c["signature"] for c in clips.values()} == {"valid"}
    # Nothing uploaded twice: each object was stored by the server once, and no object got
    # two successful PUTs from the docks (the one in flight at the kill is asked for by HEAD).
    stored = Counter(d["object"] for d in audit(live, "ingest.object.stored"))
    assert stored and max(stored.values()) == 1 and set(originals) <= set(stored)
    ok_puts = Counter(e["object"] for e in journal(storage) if e["event"] == "object.put" and e["status"] == 201)
    assert max(ok_puts.values()) == 1


def test_dock_never_frees_what_the_server_has_not_confirmed(live, tmp_path):
    # Unregistered device: the server refuses the recording (400) -> kept on the camera, marked rejected.
    rogue = make_camera(live, tmp_path, "6", [{"t": 1, "action": "record"}, {"t": 5, "action": "stop"}],
                        duration=6, buffer_seconds=0, register=False, set_key=False)
    res = dock(live, tmp_path, rogue)
    assert len(res["rejected"]) == 1
    (rec,) = recordings(rogue)
    assert all((rec["dir"] / c["object"]).exists() for c in rec["clips"])
    assert read_json(rec["dir"] / "upload.json")["status"] == "rejected"
    assert dock(live, tmp_path, rogue)["rejected"] == []                 # not retried on its own
    assert rec["dir"].exists()

    # Server dies mid-dock: the dock fails, deletes nothing; once it is back, the dock finishes.
    storage = make_camera(live, tmp_path, "7", [{"t": 1, "action": "record"}, {"t": 13, "action": "stop"}],
                          duration=14, buffer_seconds=0, clip_seconds=3, bitrate=400_000)
    (rec,) = recordings(storage)
    total = sum((rec["dir"] / c["object"]).stat().st_size for c in rec["clips"])
    conn_file(live, tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "bodycam.cli", "dock", "--storage", str(storage.root),
                             "--connection-file", str(tmp_path / "connection.json"), "--rate-limit", str(total // 3)],
                            env=live.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert next_put(storage)
    live.kill9()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert all((rec["dir"] / c["object"]).exists() for c in rec["clips"])
    assert not any(e["event"] == "object.freed" for e in journal(storage))
    live.start()
    dock(live, tmp_path, storage)
    assert not rec["dir"].exists()
    assert {o for (_, o) in server_clips(live)} >= {c["object"] for c in rec["clips"]}

    # The admin registers the rogue camera's officer and device; a retry then goes through.
    rogue_rec = recordings(rogue)[0]
    meta = rogue_rec["metadata"]
    sw = live.swift()
    sw.put_object("Users", meta["UserID"], b"", headers={"X-Object-Meta-Name": "Officer 6", "X-Object-Meta-Active": "True"})
    sw.put_object("Devices", meta["BWCSerialNumber"], b"", headers={"X-Object-Meta-Active": "True"})
    assert dock(live, tmp_path, rogue, "--retry-rejected")["uploaded"] == [rogue_rec["container"]]
    assert not rogue_rec["dir"].exists()


def next_put(storage, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(e["event"] == "object.put" for e in journal(storage)):
            return True
        time.sleep(0.05)
    return False


def test_several_docks_upload_in_parallel(live, tmp_path):
    cams = [make_camera(live, tmp_path, f"P{i}", [{"t": 1, "action": "record"}, {"t": 7, "action": "stop"},
                                                  {"t": 9, "action": "record"}, {"t": 14, "action": "stop"}],
                        duration=15, buffer_seconds=0, clip_seconds=3) for i in range(3)]
    expected = {c["object"]: c["sha256"] for s in cams for r in recordings(s) for c in r["clips"]}
    conn = conn_file(live, tmp_path)
    procs = [subprocess.Popen([sys.executable, "-m", "bodycam.cli", "dock", "--storage", str(s.root),
                               "--connection-file", str(conn), "--parallel", "2", "--json"],
                              env=live.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for s in cams]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, out + err
        assert len(json.loads(out)["uploaded"]) == 2
    got = {o: c["sha256"] for (_, o), c in server_clips(live).items()}
    assert got == expected
    assert all(s.recordings() == [] for s in cams)
    # One dock per camera: a second dock on the same storage is refused while one runs.
    with open(cams[0].root / ".dock.lock", "a+") as lock:
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_EX)
        res = live.cli("dock", "--storage", str(cams[0].root), "--connection-file", str(conn), check=False)
        assert res.returncode == 2 and "another dock" in res.stderr


def test_one_incident_three_angles_one_timeline(live, tmp_path):
    """A patrol car and two body cameras paired with it hear the car's light bar; a third body
    camera elsewhere does not. All docked, the server holds three overlapping recordings."""
    sw = live.swift()
    users = {}
    for serial, name in (("CAR-17", "Garcia"), ("BWC-A", "Garcia"), ("BWC-B", "Chen"), ("BWC-C", "Okafor")):
        users[serial], _ = axis.register(sw, serial=serial, name=f"Officer {name}", badge=f"I-{serial}")
    scenario = {
        "start": shift_start(), "duration": 40,
        "cameras": [{"serial": "CAR-17", "user_id": users["CAR-17"], "groups": ["CAR-17"], "kind": "vehicle"},
                    {"serial": "BWC-A", "user_id": users["BWC-A"], "groups": ["CAR-17"]},
                    {"serial": "BWC-B", "user_id": users["BWC-B"], "groups": ["CAR-17"]},
                    {"serial": "BWC-C", "user_id": users["BWC-C"], "groups": ["CAR-22"]}],
        "events": [{"t": 10, "signal": "lightbar", "vehicle": "CAR-17"},
                   {"t": 20, "camera": "BWC-B", "action": "bookmark", "text": "arrest", "category_name": "Arrest"},
                   {"t": 30, "camera": "BWC-A", "action": "stop"},
                   {"t": 32, "signal": "lightbar", "vehicle": "CAR-17", "state": "off"}]}
    sc = tmp_path / "incident.json"
    sc.write_text(json.dumps(scenario))
    root = tmp_path / "cams"
    out = live.cli("camera", "simulate", "--storage", str(root), "--source", "testsrc2", "--scenario", str(sc),
                   "--resolution", "160x120", "--fps", "10", "--bitrate", "150000", "--buffer", "5")
    assert [c["serial"] for c in json.loads(out.stdout)] == ["CAR-17", "BWC-A", "BWC-B", "BWC-C"]
    for serial in users:
        s = DeviceStorage(root / serial)
        live.cli("device", "set-key", serial, "--public-key-file", str(s.keys_dir / "device.pub"))
        dock(live, tmp_path, s)
    recs = {}
    for (container, _), c in server_clips(live).items():
        recs.setdefault(container.split("_")[1], c)
    assert set(recs) == {"CAR-17", "BWC-A", "BWC-B"}                 # BWC-C is not in the car's group
    assert {c["trigger_on"] for c in recs.values()} == {"SignalLightBar"}
    assert recs["BWC-A"]["trigger_off"] == "Button" and recs["CAR-17"]["trigger_off"] == "ShiftEnd"
    starts = {s: datetime.fromisoformat(c["start"].replace("Z", "+00:00")) for s, c in recs.items()}
    assert max(starts.values()) - min(starts.values()) < timedelta(seconds=1)   # one timeline: all from t=5
    assert {c["signature"] for c in server_clips(live).values()} == {"valid"}
