"""Activation triggers: policy on a virtual clock, and the real multicast signal bus with
real camera processes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from bodycam.device.camera import simulate
from bodycam.device.storage import DeviceStorage
from bodycam.device.triggers import Event, Policy, TriggerPolicyError, hears
from bodycam.provenance import manifest as mf
from bodycam.provenance.keys import public_b64

from ..live import free_port
from .helpers import FPS, camera, decode, recordings, run_scenario


def events_of(storage, name):
    return [e for e in storage.events() if e["event"] == name]


def test_signal_policy_speed_threshold_and_disabled_signal(tmp_path):
    policy = {"signals": {"siren": {"activate": False}}, "speed_threshold_kmh": 110}
    storage, config = camera(tmp_path / "cam", buffer_seconds=0)
    simulate(storage, "barcode", {"start": "2026-11-20T08:00:00Z", "duration": 30, "policy": policy, "events": [
        {"t": 2, "signal": "siren"},                       # disabled by policy
        {"t": 4, "signal": "speed", "value": 90},          # under the threshold
        {"t": 6, "signal": "speed", "value": 135},         # over it: starts
        {"t": 20, "action": "stop"},
    ]}, config)
    recs = recordings(storage)
    assert len(recs) == 1
    assert recs[0]["metadata"]["TriggerOn"] == "SignalSpeed"
    assert decode(recs[0]["dir"] / recs[0]["clips"][0]["object"]).first_index == 6 * FPS
    reasons = [e["reason"] for e in events_of(storage, "signal.ignored")]
    assert any("siren does not activate" in r for r in reasons)
    assert any("not over 110" in r for r in reasons)


def test_officer_may_not_cancel_a_holster_activation(tmp_path):
    storage, _, _ = run_scenario(tmp_path / "cam", [
        {"t": 5, "signal": "holster"}, {"t": 10, "action": "stop"}, {"t": 12, "action": "record"}],
        duration=20, buffer_seconds=0)
    recs = recordings(storage)
    assert len(recs) == 1
    meta = recs[0]["metadata"]
    assert meta["TriggerOn"] == "SignalHolster"
    assert meta["TriggerOff"] == "ShiftEnd"                    # the button did not stop it
    assert events_of(storage, "stop.refused")[0]["reason"].startswith("policy: officer may not cancel")
    assert events_of(storage, "activate.ignored")[0]["reason"] == "already recording"


def test_lightbar_off_stops_when_policy_says_so(tmp_path):
    storage, config = camera(tmp_path / "cam", buffer_seconds=0)
    simulate(storage, "barcode", {"start": "2026-11-20T08:00:00Z", "duration": 20,
                                  "policy": {"signals": {"lightbar": {"stop_on_off": True}}},
                                  "events": [{"t": 3, "signal": "lightbar", "vehicle": ""},
                                             {"t": 9, "signal": "lightbar", "state": "off"}]}, config)
    rec = recordings(storage)[0]
    assert (rec["metadata"]["TriggerOn"], rec["metadata"]["TriggerOff"]) == ("SignalLightBar", "SignalLightBar")
    assert abs(decode(rec["dir"] / rec["clips"][0]["object"]).duration - 6.0) <= 0.2


def test_group_membership_and_policy_file_validation(tmp_path):
    assert hears(["CAR-17"], Event("signal", signal="lightbar", vehicle="CAR-17"))
    assert not hears(["CAR-22"], Event("signal", signal="lightbar", vehicle="CAR-17"))
    assert hears([], Event("signal", signal="crash"))             # no vehicle: every camera in range
    bad = tmp_path / "policy.json"
    for doc in ({"signals": {"laser": {}}}, {"signals": {"siren": {"activate": "yes"}}}, {"speed_threshold_kmh": -1},
                {"colour": "blue"}):
        bad.write_text(json.dumps(doc))
        with pytest.raises(TriggerPolicyError):
            Policy.load(str(bad))
    bad.write_text("{not json")
    with pytest.raises(TriggerPolicyError):
        Policy.load(str(bad))


# ---------------------------------------------------------------- real processes, real multicast

def _env(port):
    env = {**os.environ, "BODYCAM_SIGNAL_PORT": str(port)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def _start_camera(storage, env, *extra):
    proc = subprocess.Popen(
        [sys.executable, "-m", "bodycam.cli", "camera", "run", "--storage", str(storage), "--source", "barcode",
         "--resolution", "160x120", "--fps", str(FPS), "--bitrate", "150000", "--buffer", "2",
         "--user-id", "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a01", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    line = proc.stdout.readline()
    assert "camera ready" in line, proc.stderr.read()
    return proc


def _wait_for(cond, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def test_lightbar_signal_starts_cameras_in_its_group_only(tmp_path):
    env = _env(free_port())
    cams = {name: tmp_path / name for name in ("a", "b", "c")}
    groups = {"a": "CAR-17", "b": "CAR-17", "c": "CAR-22"}
    procs = {n: _start_camera(cams[n], env, "--serial", f"BWC-{n}", "--group", groups[n]) for n in cams}
    try:
        time.sleep(3)  # let the pre-event buffers fill
        sent = subprocess.run([sys.executable, "-m", "bodycam.cli", "signal", "send", "lightbar", "--vehicle", "CAR-17"],
                              env=env, capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0, sent.stderr
        assert _wait_for(lambda: all(DeviceStorage(cams[n]).recordings() for n in ("a", "b")))
        time.sleep(2)
    finally:
        for p in procs.values():
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs.values():
            p.wait(30)
    for n in ("a", "b"):
        storage = DeviceStorage(cams[n])
        (rec,) = recordings(storage)
        assert rec["metadata"]["TriggerOn"] == "SignalLightBar"
        assert rec["metadata"]["TriggerOff"] == "PowerOff"
        start = events_of(storage, "recording.start")[0]
        assert start["trigger"] == "SignalLightBar" and "vehicle:CAR-17" in start["source"]
        d = decode(rec["dir"] / rec["clips"][0]["object"])
        assert d.contiguous and d.duration >= 2.0       # the 2 s pre-event buffer came along
    c = DeviceStorage(cams["c"])
    assert recordings(c) == []
    (ignored,) = events_of(c, "signal.ignored")
    assert ignored["reason"] == "not in this camera's group" and ignored["vehicle"] == "CAR-17"


def test_camera_killed_mid_recording_leaves_a_playable_signed_clip(tmp_path):
    """kill -9 while recording (power loss): the clip plays up to its last fragment; on the
    next start the camera closes the recording (TriggerOff PowerLoss) and signs the clip."""
    env = _env(free_port())
    cam = tmp_path / "cam"
    proc = _start_camera(cam, env, "--record", "--no-signals", "--buffer", "0")
    storage = DeviceStorage(cam)
    try:
        assert _wait_for(lambda: storage.recordings() and any(
            p.stat().st_size > 20_000 for p in storage.recordings()[0].glob("*.mp4")))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    (rec,) = recordings(storage)
    assert rec["state"] == "recording" and rec["clips"] == []
    # the camera comes back on
    res = subprocess.run([sys.executable, "-m", "bodycam.cli", "camera", "run", "--storage", str(cam), "--source",
                          "barcode", "--duration", "0.5", "--no-signals"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    (rec,) = recordings(storage)
    assert rec["state"] == "closed" and rec["metadata"]["TriggerOff"] == "PowerLoss" and rec.get("recovered")
    (clip,) = rec["clips"]
    d = decode(rec["dir"] / clip["object"])
    assert d.first_index == 0 and d.contiguous and d.frames >= 10
    verdict = mf.verify((rec["dir"] / clip["manifest"]).read_bytes(), public_b64(storage.key()),
                        clip_sha256=clip["sha256"], clip_object=clip["object"], device_serial=rec["metadata"]["BWCSerialNumber"],
                        container=rec["container"])
    assert verdict.valid, verdict.reason


def test_buttons_reach_a_running_camera(tmp_path):
    env = _env(free_port())
    cam = tmp_path / "cam"
    proc = _start_camera(cam, env, "--no-signals")
    storage = DeviceStorage(cam)

    def ctl(*args):
        res = subprocess.run([sys.executable, "-m", "bodycam.cli", "camera", "ctl", *args, "--storage", str(cam)],
                             env=env, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr

    try:
        time.sleep(2.5)
        ctl("record")
        assert _wait_for(lambda: bool(storage.recordings()))
        ctl("bookmark", "--text", "door kicked", "--category-name", "Arrest", "--tags", "Unit:4")
        ctl("still")
        time.sleep(1.5)
        ctl("stop")
        assert _wait_for(lambda: any(r["state"] == "closed" and not r.get("still") for r in recordings(storage)))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    recs = recordings(storage)
    video = [r for r in recs if not r.get("still")]
    assert len(video) == 1 and len([r for r in recs if r.get("still")]) == 1
    meta = video[0]["metadata"]
    assert (meta["TriggerOn"], meta["TriggerOff"]) == ("Button", "Button")
    assert [p.read_text() for p in video[0]["dir"].glob("bookmark_*")] == ["door kicked"]
    d = decode(video[0]["dir"] / video[0]["clips"][0]["object"])
    assert d.contiguous and d.duration >= 3.0          # 2 s of buffer + the time recorded
    # no camera running: a button press says so
    res = subprocess.run([sys.executable, "-m", "bodycam.cli", "camera", "ctl", "record", "--storage", str(cam)],
                         env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "no camera is running" in res.stderr


def test_signals_can_be_authenticated_with_a_fleet_key(tmp_path, monkeypatch):
    from bodycam.device.triggers import SignalListener, send_signal

    port = free_port()
    key = tmp_path / "fleet.key"
    key.write_bytes(os.urandom(32).hex().encode())
    heard = []
    monkeypatch.setenv("BODYCAM_SIGNAL_KEY_FILE", str(key))
    listener = SignalListener(heard.append, port=port).start()
    try:
        send_signal("siren", vehicle="CAR-17", port=port)                 # signed with the fleet key
        monkeypatch.delenv("BODYCAM_SIGNAL_KEY_FILE")
        send_signal("crash", vehicle="CAR-17", port=port)                 # unsigned: ignored
        other = tmp_path / "other.key"
        other.write_bytes(os.urandom(32).hex().encode())
        monkeypatch.setenv("BODYCAM_SIGNAL_KEY_FILE", str(other))
        send_signal("holster", vehicle="CAR-17", port=port)               # wrong key: ignored
        assert _wait_for(lambda: listener.rejected >= 6, timeout=5)      # 2 signals x 3 copies
    finally:
        listener.stop()
    assert [e.signal for e in heard] == ["siren"]
    assert heard[0].vehicle == "CAR-17" and heard[0].source.startswith("multicast:127.0.0.1")
