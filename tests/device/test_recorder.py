"""The recorder on a virtual clock, measured by decoding the files it writes.

The source is a frame-number barcode (each frame shows its own index), so the first and
last decoded frames say exactly which moments of the shift a clip holds.
"""

import json
import os

import pytest

from bodycam.device.camera import simulate
from bodycam.device.clipwriter import repair_fragmented_mp4
from bodycam.device.recorder import recover
from bodycam.device.storage import RECORDING, DeviceStorage

from .helpers import FPS, START_EPOCH, camera, decode, recordings, run_scenario


def only_recording(storage):
    recs = [r for r in recordings(storage) if not r.get("still")]
    assert len(recs) == 1, [r["container"] for r in recs]
    return recs[0]


@pytest.mark.parametrize("keyframe_interval", [1.0, 3.0])
def test_30s_buffer_activation_at_40_stop_at_100(tmp_path, keyframe_interval):
    storage, config, _ = run_scenario(tmp_path / "cam", [{"t": 40, "action": "record"}, {"t": 100, "action": "stop"}],
                                      duration=101, buffer_seconds=30, keyframe_interval_s=keyframe_interval)
    rec = only_recording(storage)
    assert len(rec["clips"]) == 1
    d = decode(rec["dir"] / rec["clips"][0]["object"])
    start_s = d.first_index / FPS
    assert 10.0 <= start_s < 10.0 + config.keyframe_interval_s     # begins 30 s before the press (next keyframe)
    assert d.duration == pytest.approx(100.0 - start_s, abs=0.15)      # ... and lasts to the stop
    if keyframe_interval == 1.0:                                       # the default: 90 s ± 1 s
        assert abs(d.duration - 90.0) <= 1.0
    assert d.last_video_s - d.first_video_s + 1 / FPS == pytest.approx(d.duration, abs=0.01)
    assert d.contiguous
    meta = rec["metadata"]
    assert float(meta["TriggerOnTime"]) == pytest.approx(START_EPOCH + 40, abs=0.01)
    assert float(meta["StartTime"]) == pytest.approx(START_EPOCH + start_s, abs=0.01)
    assert float(meta["StopTime"]) == pytest.approx(START_EPOCH + 100, abs=0.2)
    assert meta["TriggerOn"] == meta["TriggerOff"] == "Button"
    # Audio is not buffered by default: the 30 s before the press carry no sound (silence,
    # in sync with the video); the officer's tone starts at the press.
    press = 40.0 - start_s
    assert d.audio_first_s == pytest.approx(0.0, abs=0.1)
    assert d.loudness(0.0, press - 0.1) < 1e-4
    assert d.loudness(press + 0.2, press + 59) > 0.05
    assert d.audio_samples / 48000 == pytest.approx(d.duration, abs=0.2)


def test_zero_buffer_starts_at_the_activation(tmp_path):
    storage, _, _ = run_scenario(tmp_path / "cam", [{"t": 40, "action": "record"}, {"t": 100, "action": "stop"}],
                                 duration=105, buffer_seconds=0)
    rec = only_recording(storage)
    d = decode(rec["dir"] / rec["clips"][0]["object"])
    assert d.first_index == 40 * FPS
    assert abs(d.duration - 60.0) <= 1.0
    assert d.audio_first_s == pytest.approx(0.0, abs=0.1)


def test_buffer_audio_when_enabled(tmp_path):
    storage, _, _ = run_scenario(tmp_path / "cam", [{"t": 20, "action": "record"}, {"t": 30, "action": "stop"}],
                                 duration=32, buffer_seconds=10, buffer_audio=True)
    rec = only_recording(storage)
    d = decode(rec["dir"] / rec["clips"][0]["object"])
    assert d.first_index == 10 * FPS
    assert d.audio_first_s == pytest.approx(0.0, abs=0.1)
    assert d.audio_samples / 48000 == pytest.approx(20.0, abs=0.2)
    assert d.loudness(0.2, 9.8) > 0.05          # the buffered part has its sound (sine at 1/8 amplitude)


def test_long_recording_is_split_into_contiguous_clips(tmp_path):
    storage, _, _ = run_scenario(tmp_path / "cam", [{"t": 5, "action": "record"}, {"t": 50, "action": "stop"}],
                                 duration=52, buffer_seconds=5, clip_seconds=20, container_type="mkv")
    rec = only_recording(storage)
    assert [c["object"].rsplit(".", 1)[1] for c in rec["clips"]] == ["mkv"] * 3
    parts = [decode(rec["dir"] / c["object"]) for c in rec["clips"]]
    assert parts[0].first_index == 0
    for a, b in zip(parts, parts[1:]):
        assert b.first_index == a.last_index + 1       # nothing lost or doubled at a split
    assert [round(p.duration) for p in parts] == [20, 20, 10]
    assert all(p.contiguous for p in parts)
    # each clip's metadata times line up with its content
    for c, p in zip(rec["clips"], parts):
        assert float(c["metadata"]["StartTime"]) == pytest.approx(START_EPOCH + p.first_index / FPS, abs=0.01)


@pytest.mark.parametrize("container_type", ["mp4", "mkv"])
def test_file_cut_off_mid_recording_still_decodes(tmp_path, container_type):
    """Power loss = the file ends wherever the last write stopped. Every complete fragment
    plays: MKV as it is; fragmented MP4 once the camera's start-up recovery has dropped the
    half-written trailing fragment (a box that runs past the end of the file stops players)."""
    storage, _, _ = run_scenario(tmp_path / "cam", [{"t": 0, "action": "record"}, {"t": 20, "action": "stop"}],
                                 duration=21, buffer_seconds=0, container_type=container_type)
    rec = only_recording(storage)
    path = rec["dir"] / rec["clips"][0]["object"]
    data = path.read_bytes()
    for fraction in (0.35, 0.6, 0.9):
        cut = tmp_path / f"cut-{fraction}.{container_type}"
        cut.write_bytes(data[: int(len(data) * fraction)])
        if container_type == "mp4":
            kept = repair_fragmented_mp4(cut)
            assert kept is not None and len(data) * fraction - kept < len(data) / 10  # at most ~one GOP lost
        d = decode(cut)
        assert d.first_index == 0 and d.contiguous
        # all but (at most) the fragment being written when power went are there
        assert d.last_index + 1 >= int(200 * fraction) - 2 * FPS, (fraction, d.last_index)


def test_still_bookmark_and_gnss(tmp_path):
    events = [{"t": 5, "action": "record"}, {"t": 8, "action": "bookmark", "text": "suspect fled north",
                                              "category_id": "3", "category_name": "Arrest", "tags": "Unit:12"},
              {"t": 9, "action": "still"}, {"t": 15, "action": "stop"}, {"t": 18, "action": "still"}]
    storage, config = camera(tmp_path / "cam", buffer_seconds=2)
    simulate(storage, "barcode", {"start": "2026-11-20T08:00:00Z", "duration": 20, "events": events,
                                  "gnss": {"points": [[55.70, 13.19], [55.71, 13.20]], "speed_mps": 50}}, config)
    recs = recordings(storage)
    stills = [r for r in recs if r.get("still")]
    video = [r for r in recs if not r.get("still")][0]
    assert len(stills) == 2
    for s in stills:
        d = decode(s["dir"] / s["clips"][0]["object"])
        assert d.frames == 1 and d.first_index in (90, 180)
    bm = (video["dir"] / [p.name for p in video["dir"].glob("bookmark_*")][0]).read_text()
    assert bm == "suspect fled north"
    trail = json.loads((video["dir"] / video["gnss"]).read_text())["CoordinateEntries"]
    assert len(trail) >= 10 and trail[0]["LocationWKT"].startswith("POINT(13.19")
    assert video["metadata"]["TriggerOnLocation"].startswith("+55.70")
    assert video["clips"][0]["metadata"]["StartLocation"]


def test_recover_closes_a_recording_left_open(tmp_path):
    """A recording whose state says 'recording' (power lost) is closed on the next start,
    with the clip that was being written hashed and signed."""
    storage, config, _ = run_scenario(tmp_path / "cam", [{"t": 1, "action": "record"}, {"t": 12, "action": "stop"}],
                                      duration=13, buffer_seconds=0)
    rec = only_recording(storage)
    # Turn it back into the state a power loss leaves: the last clip open, unsigned.
    clip = rec["clips"].pop()
    (rec["dir"] / clip["manifest"]).unlink()
    data = (rec["dir"] / clip["object"]).read_bytes()
    (rec["dir"] / clip["object"]).write_bytes(data[: len(data) * 2 // 3])
    state = {k: v for k, v in rec.items() if k != "dir"}
    state.update(state=RECORDING, open_clip={"object": clip["object"], "start": clip["metadata"]["StartTime"],
                                             "start_location": ""})
    for k in ("TriggerOff", "TriggerOffTime", "TriggerOffTimeISO", "StopTime", "StopTimeISO"):
        state["metadata"].pop(k)
    (rec["dir"] / "recording.json").write_text(json.dumps(state))

    assert recover(storage, config) == [rec["container"]]
    after = only_recording(storage)
    assert after["state"] == "closed" and after["metadata"]["TriggerOff"] == "PowerLoss"
    assert len(after["clips"]) == 1 and (rec["dir"] / clip["manifest"]).exists()
    d = decode(rec["dir"] / clip["object"])
    assert float(after["metadata"]["StopTime"]) == pytest.approx(
        float(clip["metadata"]["StartTime"]) + (d.last_index - d.first_index + 1) / FPS, abs=0.15)


def test_simulate_command_with_an_nmea_track(tmp_path):
    """The CLI end to end: settings, scenario with a device block, GNSS from an NMEA log."""
    import subprocess
    import sys

    def sentence(body):
        x = 0
        for ch in body:
            x ^= ord(ch)
        return f"${body}*{x:02X}"

    nmea = tmp_path / "track.nmea"
    nmea.write_text("\n".join(sentence(f"GPRMC,0800{s:02d}.00,A,5543.{1000 + s * 10},N,01313.2710,E,10.0,0.0,201126,,,A")
                              for s in range(0, 60, 5)))
    scenario = tmp_path / "shift.json"
    scenario.write_text(json.dumps({"start": "2026-11-20T08:00:00Z", "duration": 30,
                                    "device": {"serial": "BWC-99", "user_id": "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a01"},
                                    "events": [{"t": 10, "action": "record"}, {"t": 25, "action": "stop"}]}))
    cam = tmp_path / "cam"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    cmd = [sys.executable, "-m", "bodycam.cli", "camera", "simulate", "--storage", str(cam), "--source", "smptebars",
           "--scenario", str(scenario), "--gnss", str(nmea), "--resolution", "160x120", "--fps", "10", "--buffer", "4",
           "--container-type", "mkv"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["frames"] == 300
    (rec,) = recordings(DeviceStorage(cam))
    assert rec["metadata"]["BWCSerialNumber"] == "BWC-99" and rec["clips"][0]["object"].endswith(".mkv")
    assert float(rec["metadata"]["StartTime"]) == pytest.approx(START_EPOCH + 6, abs=0.01)
    trail = json.loads((rec["dir"] / rec["gnss"]).read_text())["CoordinateEntries"]
    assert trail[0]["LocationWKT"].startswith("POINT(13.221") and len(trail) == 19
    scenario.write_text(json.dumps({"device": {"user_id": "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a01"},
                                    "events": [{"t": 1, "action": "dance"}]}))
    bad = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "needs 'signal' or 'action'" in bad.stderr
