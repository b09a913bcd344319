"""Run a camera: in real time from a live or paced source (``bodycam camera run``) or a
scripted shift on a virtual clock (``bodycam camera simulate``). Both drive the same
``Recorder``; the simulation only replaces wall-clock pacing by frame counting, so it
produces exactly the files a real shift would, as fast as the encoder goes.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import signal
import threading
import time
from datetime import datetime, timezone
from fractions import Fraction

from ..errors import BodycamError
from . import gnss as gnss_mod
from .config import DeviceConfig
from .encoder import AUDIO_RATE
from .recorder import Recorder, recover
from .sources import Source
from .storage import DeviceStorage
from .triggers import ACTIONS, SIGNALS, ControlListener, Event, Policy, SignalListener


class ScenarioError(BodycamError, ValueError):
    pass


class Driver:
    """Feeds a recorder one video frame at a time, with the audio up to that frame's end."""

    def __init__(self, recorder: Recorder, source: Source):
        self.rec = recorder
        self.fps = recorder.config.fps
        self.video = source.video()
        self.audio = source.audio() if (source.has_audio and recorder.config.audio) else None
        self.index = 0
        self.samples = 0

    @property
    def next_t(self) -> Fraction:
        return Fraction(self.index, self.fps)

    def step(self) -> bool:
        end = Fraction(self.index + 1, self.fps)
        while self.audio is not None and self.samples < end * AUDIO_RATE:
            try:
                af = next(self.audio)
            except StopIteration:
                self.audio = None
                break
            self.rec.feed_audio(af, self.samples)
            self.samples += af.samples
        try:
            frame = next(self.video)
        except StopIteration:
            return False
        self.rec.feed_video(frame, self.index)
        self.index += 1
        return True


# ------------------------------------------------------------------ scenario (virtual clock)

def parse_time(value) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()
    except ValueError:
        raise ScenarioError(f"bad start time {value!r}") from None


def scenario_events(doc: dict, serial: str | None = None) -> list[tuple[Fraction, Event]]:
    """The scenario's events for one camera: signals go to every camera (each decides by its
    groups and policy); an event with ``"camera": SERIAL`` happens on that camera only."""
    out = []
    for i, e in enumerate(doc.get("events", [])):
        if not isinstance(e, dict) or "t" not in e:
            raise ScenarioError(f"event {i}: needs 't' (seconds from the start)")
        if serial is not None and e.get("camera") not in (None, serial):
            continue
        try:
            t = Fraction(str(e["t"]))
        except (ValueError, ZeroDivisionError):
            raise ScenarioError(f"event {i}: 't' must be a number") from None
        if t < 0:
            raise ScenarioError(f"event {i}: 't' must not be negative")
        if "signal" in e:
            if e["signal"] not in SIGNALS:
                raise ScenarioError(f"event {i}: unknown signal {e['signal']!r}")
            ev = Event("signal", signal=e["signal"], state=e.get("state", "on"), vehicle=e.get("vehicle", ""),
                       value=e.get("value"), source=f"scenario:vehicle:{e.get('vehicle', '')}")
        elif e.get("action") in ACTIONS:
            ev = Event(e["action"], text=e.get("text", ""), category_id=str(e.get("category_id", "")),
                       category_name=e.get("category_name", ""), tags=e.get("tags", ""), source="scenario:button")
        else:
            raise ScenarioError(f"event {i}: needs 'signal' or 'action' ({', '.join(ACTIONS)})")
        out.append((t, ev))
    return sorted(out, key=lambda x: x[0])


def load_scenario(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario: {exc.strerror}") from None
    except ValueError as exc:
        raise ScenarioError(f"scenario is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ScenarioError("scenario must be a JSON object")
    return doc


def scenario_track(doc: dict):
    g = doc.get("gnss")
    if g is None:
        return None
    if isinstance(g, str):
        return gnss_mod.load(g)
    if isinstance(g, dict) and g.get("file"):
        return gnss_mod.load(g["file"])
    if isinstance(g, dict):
        return gnss_mod.simulated(g.get("points", []), float(g.get("speed_mps", 10.0)))
    return gnss_mod.simulated(g)


def simulate(storage: DeviceStorage, source_spec: str, scenario: dict, config: DeviceConfig,
             policy: Policy | None = None, gnss=None, fsync: bool = False, heard=()) -> dict:
    """Run a scripted shift on a virtual clock; return a summary. ``heard``: more
    ``(t, Event)`` pairs for this camera, e.g. what ``signals.Verifier`` accepted from a
    BLE advertisement (its source names the emitter), acted on at ``t`` like scenario events."""
    duration = scenario.get("duration")
    events = sorted([*scenario_events(scenario, config.serial), *((Fraction(str(t)), e) for t, e in heard)],
                    key=lambda x: x[0])
    if duration is None:
        duration = float(events[-1][0]) + 1 if events else 10
    duration = Fraction(str(duration))
    if duration <= 0:
        raise ScenarioError("duration must be positive")
    start = parse_time(scenario["start"]) if "start" in scenario else \
        float(int(time.time() - float(duration) - 3600))
    if "policy" in scenario:
        policy = Policy.from_dict(scenario["policy"])
    gnss = gnss or scenario_track(scenario)
    recover(storage, config)
    source = Source(source_spec, config.width, config.height, config.fps, audio=config.audio)
    rec = Recorder(storage, config, policy, epoch0=start, gnss=gnss, fsync=fsync)
    driver = Driver(rec, source)
    pending = list(events)
    t0 = time.process_time()
    while driver.next_t < duration:
        while pending and pending[0][0] <= driver.next_t:
            t, ev = pending.pop(0)
            rec.handle(ev, driver.next_t)
        if not driver.step():
            break
    rec.shutdown("ShiftEnd")
    return {"frames": driver.index, "seconds": float(driver.next_t), "cpu_s": round(time.process_time() - t0, 3),
            "recordings": [p.name for p in rec.closed_recordings], "buffer_peak_bytes": rec.buffer.peak_bytes}


def simulate_incident(root, source_spec: str, scenario: dict, settings: dict | None = None,
                      heard: dict | None = None) -> list[dict]:
    """Several cameras through one incident (e.g. a patrol car and two body cameras): the
    scenario's ``"cameras"`` list gives each camera's settings (serial, user_id, groups, kind...,
    and optionally its own ``source``); each records into ``root/<serial>``. Signals reach every camera, which decides by its groups.
    ``heard``: serial -> ``(t, Event)`` pairs that camera heard (see ``simulate``)."""
    from pathlib import Path

    from .config import ConfigError, load_config

    cams = scenario.get("cameras")
    if not isinstance(cams, list) or not cams:
        raise ScenarioError("an incident scenario needs a non-empty 'cameras' list")
    if "start" not in scenario:
        scenario = {**scenario, "start": int(time.time() - 3600)}
    out = []
    for cam in cams:
        if not isinstance(cam, dict) or not cam.get("serial"):
            raise ScenarioError("each camera needs at least a 'serial'")
        storage = DeviceStorage(Path(root) / cam["serial"]).ensure()
        cam_settings = {k: v for k, v in cam.items() if k != "source"}
        try:
            config = load_config(storage, **{**(settings or {}), **cam_settings})
        except (ConfigError, TypeError) as exc:
            raise ScenarioError(f"camera {cam['serial']}: {exc}") from None
        summary = simulate(storage, cam.get("source", source_spec), scenario, config,
                           heard=(heard or {}).get(cam["serial"], ()))
        out.append({"serial": config.serial, "storage": str(storage.root), **summary})
    return out


# ------------------------------------------------------------------ real time

def start_ble(storage: DeviceStorage, rec: Recorder, transport: str, sink):
    """The BLE scanner as one more trigger source; each recording start advertises a group start."""
    from .ble import BleListener
    from .signals import CameraKeys, Verifier

    keys = CameraKeys.load(storage.keys_dir)
    # The units on the camera's roster count as its groups: their signals are for this camera.
    rec.config = dataclasses.replace(rec.config, groups=sorted({*rec.config.groups, *map(str, keys.units)}))
    verifier = Verifier(keys, rec.policy, storage.log_event, storage.root / "ble-counters.json")
    listener = BleListener(transport, keys, verifier, sink, name=rec.config.serial).start()

    def on_start(trigger, event):
        try:
            frame = listener.group_start(event)
        except Exception as exc:  # the radio is gone: the recording goes on without a group start
            rec.log("ble.group_start.failed", error=str(exc)[:200])
            return
        if frame is not None:
            rec.log("ble.group_start", unit=frame.unit, emitter=frame.emitter, counter=frame.counter, hops=frame.hops)

    rec.on_start = on_start
    rec.log("ble.on", transport=transport, units=sorted(keys.units), unit=keys.unit, emitter=keys.emitter)
    return listener


def run(storage: DeviceStorage, source_spec: str, config: DeviceConfig, policy: Policy | None = None,
        gnss=None, duration: float | None = None, signals: bool = True, record_now: bool = False,
        ready=None, ble: str | None = None) -> dict:
    """Run the camera until SIGTERM/SIGINT or ``duration`` seconds; buttons via the control
    socket, vehicle signals via multicast and, with ``ble`` (a bumble transport), Bluetooth LE."""
    recovered = recover(storage, config)
    source = Source(source_spec, config.width, config.height, config.fps, audio=config.audio)
    rec = Recorder(storage, config, policy, epoch0=time.time(), gnss=gnss, fsync=True)
    if config.live_url:
        from .live import LiveUplink

        # Live view: streams only while recording; a thread of its own does the network.
        rec.live = LiveUplink(config.live_url, config.serial, rec.key,
                              log=lambda event, **f: storage.log_event(event, **f))
    events: queue.Queue[Event] = queue.Queue()
    stop = threading.Event()
    listeners = [ControlListener(storage.root, events.put).start()]
    if signals:
        listeners.append(SignalListener(events.put).start())
    if ble:
        try:
            listeners.append(start_ble(storage, rec, ble, events.put))
        except BaseException:
            for listener in listeners:
                listener.stop()
            raise
    old = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    driver = Driver(rec, source)
    rec.log("camera.on", source=source_spec, recovered=recovered, serial=config.serial)
    if record_now:
        events.put(Event("record", source="button"))
    if ready:
        ready()
    wall0 = time.monotonic()
    try:
        while not stop.is_set():
            if duration is not None and driver.next_t >= duration:
                break
            if not source.live:
                delay = wall0 + float(driver.next_t) - time.monotonic()
                if delay > 0:
                    stop.wait(delay)
            while True:
                try:
                    ev = events.get_nowait()
                except queue.Empty:
                    break
                rec.handle(ev, driver.next_t)
            if not driver.step():
                break
    finally:
        for listener in listeners:
            listener.stop()
        rec.shutdown("PowerOff")
        if rec.live is not None:
            rec.live.close()  # the last status (stop) goes out if the server can be reached soon
        rec.log("camera.off", frames=driver.index)
        for s, h in old.items():
            signal.signal(s, h)
    return {"frames": driver.index, "seconds": float(driver.next_t),
            "recordings": [p.name for p in rec.closed_recordings]}
