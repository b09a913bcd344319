"""Bluetooth LE activation (issue 26): real advertisement bytes from the real emitter
(``bodycam signal send --ble``) over bumble virtual controllers on one link, heard by real
camera processes (``bodycam camera run --ble``) through their real scanner, trigger
pipeline and policy; the recording docked to a real server whose item page names the
signal and the unit. Only the radio is virtual (``ble_radio.VirtualRadio``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time

import pytest

from bodycam.device import signals as sig
from bodycam.device.ble import GROUP_SECONDS, BleListener, BleRadio
from bodycam.device.storage import DeviceStorage
from bodycam.device.triggers import Policy, TriggerPolicyError

from .. import axis
from ..live import free_port
from .ble_radio import VirtualRadio
from .helpers import FPS, decode, recordings

USER = "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a01"


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("BODYCAM_SIGNAL")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.abspath("src"), env.get("PYTHONPATH", "")) if p)
    return env


def cli(*args, check=True):
    res = subprocess.run([sys.executable, "-m", "bodycam.cli", *args], env=_env(), capture_output=True, text=True,
                         timeout=120)
    if check:
        assert res.returncode == 0, res.stdout + res.stderr
    return res


def send(radio, index, kind, key_file, *extra):
    """The emitter, as a vehicle computer runs it: one process, one signal."""
    res = cli("signal", "send", "--ble", kind, "--key-file", str(key_file), "--transport", radio.transport(index),
              "--seconds", "0.5", *extra)
    return json.loads(res.stdout)


def start_camera(storage, transport, *extra):
    proc = subprocess.Popen(
        [sys.executable, "-m", "bodycam.cli", "camera", "run", "--storage", str(storage), "--source", "barcode",
         "--resolution", "160x120", "--fps", str(FPS), "--bitrate", "150000", "--no-signals", "--ble", transport,
         *extra], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    line = proc.stdout.readline()
    assert "camera ready" in line, proc.stderr.read()
    return proc


def stop_camera(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def wait_for(cond, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def events(storage, name=None):
    return [e for e in DeviceStorage(storage).events() if name is None or e["event"] == name]


def ctl(storage, action):
    cli("camera", "ctl", action, "--storage", str(storage))


@pytest.fixture
def keys(tmp_path):
    """An agency key; emitter keys for unit 12 (the patrol car) and unit 99 (not on the cameras' roster)."""
    d = tmp_path / "keys"
    d.mkdir()
    cli("signal", "keygen", "--out", str(d / "agency.json"))
    assert (d / "agency.json").stat().st_mode & 0o777 == 0o600
    cli("signal", "provision", "--agency-key", str(d / "agency.json"), "--unit", "12", "--emitter", "1",
        "--out", str(d / "car12.json"))
    cli("signal", "provision", "--agency-key", str(d / "agency.json"), "--unit", "99", "--emitter", "1",
        "--out", str(d / "unit99.json"))
    return d


def provision_camera(storage, keys, emitter, *extra):
    cli("camera", "ble-keys", "--storage", str(storage), "--agency-key", str(keys / "agency.json"), "--units", "12",
        "--unit", "12", "--emitter", str(emitter), *extra)


# ---------------------------------------------------------------- the format, byte for byte

def test_advertisement_layout_matches_the_documented_test_vector():
    """The example in docs/device.md, recomputed here from the text of the spec (struct +
    hmac), not from the module: what a microcontroller must produce."""
    agency = bytes(range(32))
    k = hmac.new(agency, b"bodycam-ble-v1" + struct.pack("<IH", 12, 1), hashlib.sha256).digest()
    body = struct.pack("<HBBBBBIHQ", 0xFFFF, 0xB1, 1, 2, 0, 0, 12, 1, 1000)
    expected = bytes([30, 0xFF]) + body + hmac.new(k, body, hashlib.sha256).digest()[:8]
    assert expected.hex() == "1effffffb1010200000c0000000100e8030000000000007e3656ca07df9cca"  # docs/device.md
    ad = sig.encode(sig.Frame("siren", 12, 1, 1000), sig.derive_key(agency, 12, 1))
    assert ad == expected and len(ad) == 31
    # found behind other AD structures (flags, a name), decoded field by field
    frame = sig.decode(sig.find(bytes([2, 0x01, 0x06, 4, 0x09, 0x43, 0x31, 0x32]) + ad))
    assert (frame.event, frame.unit, frame.emitter, frame.counter, frame.tag) == ("siren", 12, 1, 1000, ad[-8:])
    assert sig.find(ad, company_id=0x0059) is None          # another company's data is not ours
    with pytest.raises(sig.Malformed):
        sig.decode(ad[:-1])


def test_policy_file_takes_rssi_debounce_and_hops(tmp_path):
    p = Policy.from_dict({"min_rssi_dbm": -70, "debounce_s": 5, "group_hops": 0,
                          "signals": {"holster": {"min_rssi_dbm": -60}, "door": {"activate": False}}})
    assert (p.min_rssi("siren"), p.min_rssi("holster"), p.debounce_s, p.group_hops) == (-70, -60, 5, 0)
    assert Policy.default().min_rssi("siren") == -80
    for bad in ({"min_rssi_dbm": "near"}, {"min_rssi_dbm": -200}, {"debounce_s": -1}, {"group_hops": 1.5},
                {"signals": {"siren": {"min_rssi_dbm": True}}}):
        with pytest.raises(TriggerPolicyError):
            Policy.from_dict(bad)


# ---------------------------------------------------------------- emitter -> camera -> server

@pytest.mark.catalogue
def test_siren_starts_recording_refusals_never_act_and_the_server_names_signal_and_unit(live, tmp_path, keys):
    user_id, _ = axis.register(live.swift(), serial="BWC-B1", name="Officer Bly", badge="B-77")
    cam = tmp_path / "cam"
    provision_camera(cam, keys, 101)
    cli("camera", "init", "--storage", str(cam), "--serial", "BWC-B1", "--user-id", user_id)
    live.cli("device", "set-key", "BWC-B1", "--public-key-file", str(cam / "keys" / "device.pub"))
    # the attacker's radio heard the patrol car; it has no key, or a key of the wrong unit
    with VirtualRadio(3) as radio:                       # 0: patrol car, 1: camera, 2: attacker
        proc = start_camera(cam, radio.transport(1), "--buffer", "2")
        attacker = BleRadio(radio.transport(2), "attacker").start()
        try:
            time.sleep(2.5)                                                      # the pre-event buffer fills
            forged = sig.encode(sig.Frame("siren", 12, 1, 2**40), os.urandom(32))
            attacker.advertise(forged, 0.5)                                      # no agency key: bad tag
            send(radio, 0, "siren", keys / "unit99.json")                        # a unit not on the roster
            radio.rssi[1] = -90                                                  # the car is far away ...
            send(radio, 0, "lightbar", keys / "car12.json")                      # ... out of range
            del radio.rssi[1]
            assert not DeviceStorage(cam).recordings()
            siren = send(radio, 0, "siren", keys / "car12.json")                 # in range: starts
            assert wait_for(lambda: events(cam, "recording.start"))
            light = send(radio, 0, "lightbar", keys / "car12.json")              # a newer signal, heard
            ctl(cam, "stop")
            assert wait_for(lambda: recordings(DeviceStorage(cam))[0]["state"] == "closed")
            attacker.advertise(bytes.fromhex(siren["advertisement"]), 0.5)       # replay of the siren
            send(radio, 0, "door", keys / "car12.json")                          # then a real door signal
            assert wait_for(lambda: len(events(cam, "recording.start")) == 2)
            time.sleep(1)
        finally:
            attacker.close()
            stop_camera(proc)
    storage = DeviceStorage(cam)
    starts = events(cam, "recording.start")
    # exactly the siren and (after the replay, refused) the door started recordings
    assert [s["trigger"] for s in starts] == ["SignalSiren", "SignalDoor"]
    assert f"ble-12-1-{siren['counter']}" == starts[0]["signal_id"] and ":unit:12:emitter:1:" in starts[0]["source"]
    refused = {e["reason"]: e for e in events(cam, "signal.refused")}
    assert set(refused) == {"bad tag", "unknown unit", "replayed counter"}
    assert (refused["unknown unit"]["unit"], refused["replayed counter"]["counter"]) == (99, siren["counter"])
    assert refused["replayed counter"]["last_counter"] > siren["counter"]
    (weak,) = [e for e in events(cam, "signal.ignored") if e["reason"].startswith("out of range")]
    assert weak["rssi"] == -90 and weak["signal"] == "lightbar"
    (ignored,) = events(cam, "activate.ignored")                 # the light bar while recording
    assert ignored["reason"] == "already recording" and ignored["trigger"] == "SignalLightBar"
    assert light["counter"] > siren["counter"]
    recs = sorted(recordings(storage), key=lambda r: r["metadata"]["TriggerOnTime"])
    meta = recs[0]["metadata"]
    assert (meta["TriggerOn"], meta["TriggerOnUnit"], meta["TriggerOff"]) == ("SignalSiren", "12", "Button")
    d = decode(recs[0]["dir"] / recs[0]["clips"][0]["object"])
    # the 2 s pre-event buffer came along (whole GOPs: within one 1 s keyframe interval)
    assert d.contiguous and starts[0]["buffered_from"] <= starts[0]["t"] - 1.0
    assert d.first_index == round(starts[0]["buffered_from"] * FPS)
    assert recs[1]["metadata"]["TriggerOn"] == "SignalDoor"
    # signals only start: nothing but the button stopped the first recording
    assert [e["trigger"] for e in events(cam, "recording.stop")] == ["Button", "PowerOff"]

    conn = tmp_path / "connection.json"
    conn.write_text(json.dumps(live.connection()))
    res = live.cli("dock", "--storage", str(cam), "--connection-file", str(conn), "--json", check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    detail = json.loads(live.cli("evidence", "show", recs[0]["container"]).stdout)
    assert (detail["trigger_on"], detail["metadata"]["TriggerOnUnit"]) == ("SignalSiren", "12")
    pw = tmp_path / "pw"
    pw.write_text("long-enough-passphrase-7")
    live.cli("user", "add", "cust", "--role", "custodian", "--password-file", str(pw))
    from ..test_access_live import sign_in

    s = sign_in(live, "cust", pw.read_text())
    items = s.get(live.url + "/api/evidence/").json()["results"]
    clip = next(c for c in items if c["recording"] == recs[0]["container"])
    page = s.get(f"{live.url}/evidence/{clip['id']}/").text
    assert re.search(r'<th>Started by</th><td id="started-by">siren \(unit 12\)</td>', page), page[:3000]


# ---------------------------------------------------------------- group activation

def test_group_start_reaches_the_units_other_camera_and_does_not_loop(tmp_path, keys):
    a, b = tmp_path / "a", tmp_path / "b"
    provision_camera(a, keys, 101)
    provision_camera(b, keys, 102)
    with VirtualRadio(2) as radio:
        pa = start_camera(a, radio.transport(0), "--buffer", "1", "--serial", "BWC-A", "--user-id", USER)
        pb = start_camera(b, radio.transport(1), "--buffer", "1", "--serial", "BWC-B", "--user-id", USER)
        try:
            time.sleep(1.5)
            ctl(a, "record")                                   # the officer presses record on camera A
            assert wait_for(lambda: events(b, "recording.start"))
            ctl(a, "stop")                                     # A stops while B's relay is still on the air
            assert wait_for(lambda: recordings(DeviceStorage(a))[0]["state"] == "closed")
            time.sleep(GROUP_SECONDS + 1.5)                    # every burst has ended
            ctl(b, "stop")
            assert wait_for(lambda: recordings(DeviceStorage(b))[0]["state"] == "closed")
        finally:
            stop_camera(pa)
            stop_camera(pb)
    (sa,) = events(a, "ble.group_start")
    (sb,) = events(b, "ble.group_start")
    assert (sa["unit"], sa["emitter"], sa["hops"]) == (12, 101, 0)
    assert (sb["unit"], sb["emitter"], sb["counter"], sb["hops"]) == (12, 101, sa["counter"], 1)  # a relay
    assert [s["trigger"] for s in events(a, "recording.start")] == ["Button"]       # A did not restart
    (start_b,) = events(b, "recording.start")
    assert start_b["trigger"] == "SignalGroupStart" and ":unit:12:emitter:101:" in start_b["source"]
    (rec_b,) = recordings(DeviceStorage(b))
    assert (rec_b["metadata"]["TriggerOn"], rec_b["metadata"]["TriggerOnUnit"]) == ("SignalGroupStart", "12")
    assert not events(a, "signal.refused") and not events(b, "signal.refused")


def test_verifier_over_the_radio_debounce_hop_limit_and_replay_after_restart(tmp_path):
    """In one process: the scanner's decisions with the policy's debounce and group_hops,
    and the high-water counters surviving a camera restart."""
    agency = sig.AgencyKey.generate()
    keys = sig.CameraKeys(agency, frozenset({12}), 12, 201)
    car = sig.EmitterKey.provision(agency, 12, 1)
    policy = Policy.from_dict({"debounce_s": 30, "group_hops": 0})
    state = tmp_path / "ble-counters.json"
    log, heard = [], []

    def listener(transport):
        v = sig.Verifier(keys, policy, lambda e, **f: log.append((e, f)), state)
        return BleListener(transport, keys, v, heard.append).start()

    with VirtualRadio(2) as radio:
        emitter = BleRadio(radio.transport(0), "car").start()
        cam = listener(radio.transport(1))
        try:
            ads = [sig.encode(sig.Frame(k, 12, 1, c), car.key) for k, c in (("holster", 5), ("holster", 6),
                                                                            ("group", 7))]
            for ad in ads:
                emitter.advertise(ad, 0.3)
            assert wait_for(lambda: cam.verifier.accepted == 3, 10)
            assert [e.signal for e in heard] == ["holster", "group"]             # the 2nd holster: debounce
            assert any(f.get("reason", "").startswith("debounce") for _, f in log)
            assert cam.group_start(heard[1]) is None                             # group_hops 0: not relayed
            own = cam.group_start(heard[0])                                      # a holster start: originate
            assert (own.unit, own.emitter, own.hops) == (12, 201, 0)
        finally:
            cam.stop()
        cam = listener(radio.transport(1))                                       # the camera restarts
        try:
            emitter.advertise(ads[2], 0.3)                                       # the last group start, again
            emitter.advertise(sig.encode(sig.Frame("siren", 12, 1, 8), car.key), 0.3)
            assert wait_for(lambda: cam.verifier.accepted == 1, 10)
        finally:
            cam.stop()
            emitter.close()
    assert [e.signal for e in heard] == ["holster", "group", "siren"]
    assert [f["reason"] for e, f in log if e == "signal.refused"] == ["replayed counter"]
    assert json.loads(state.read_text())["high"] == {"12:1": 8}


def test_ble_needs_keys_and_refuses_what_it_cannot_send(tmp_path, keys):
    res = cli("camera", "run", "--storage", str(tmp_path / "cam"), "--source", "barcode", "--user-id", USER,
              "--ble", "tcp-client:127.0.0.1:9", "--duration", "1", check=False)
    assert res.returncode == 2 and "camera ble-keys" in res.stderr
    for extra in (["lightbar", "--off"], ["cad"], ["siren", "--vehicle", "CAR-1"], ["siren"]):
        args = ["signal", "send", "--ble", *extra, "--transport", "tcp-client:127.0.0.1:9"]
        if extra != ["siren"]:
            args += ["--key-file", str(keys / "car12.json")]
        res = cli(*args, check=False)
        assert res.returncode == 2 and res.stderr.strip(), extra
    res = cli("signal", "send", "--ble", "siren", "--key-file", str(keys / "car12.json"), "--transport",
              f"tcp-client:127.0.0.1:{free_port()}", check=False)
    assert res.returncode == 2 and "cannot open BLE transport" in res.stderr
