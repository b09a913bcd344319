"""Activation triggers: the policy that says which signals start a recording, the UDP
multicast signal bus that vehicles and sensors broadcast on, and the local control
socket through which the officer's buttons (``bodycam camera ctl``) reach the camera.

Signal sources are pluggable: anything that calls ``sink(Event)`` from a thread can drive
a camera (``device/ble.py``, the Bluetooth LE scanner, is one more source).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..config import env_value
from ..errors import BodycamError

# Signal kinds and the Axis TriggerOn/TriggerOff names they are recorded under.
SIGNALS = {
    "lightbar": "SignalLightBar",
    "siren": "SignalSiren",
    "holster": "SignalHolster",
    "weapon": "SignalWeapon",
    "crash": "SignalCrash",
    "speed": "SignalSpeed",
    "cad": "SignalCAD",
    "door": "SignalDoor",
    "group": "SignalGroupStart",   # a camera of the unit started recording, or a manual group start
}
ACTIONS = ("record", "stop", "bookmark", "still", "flag", "watchme")

DEFAULT_GROUP = env_value("BODYCAM_SIGNAL_GROUP")
DEFAULT_PORT = env_value("BODYCAM_SIGNAL_PORT")
DEFAULT_IFACE = env_value("BODYCAM_SIGNAL_IFACE")
MAX_DATAGRAM = 2048


class TriggerPolicyError(BodycamError, ValueError):
    """A camera's trigger policy (which signals start a recording) that cannot be used."""


@dataclass
class Event:
    """Something that happened to the camera: an officer action or a heard signal."""
    kind: str                          # an ACTION or "signal"
    signal: str = ""                   # SIGNALS key when kind == "signal"
    state: str = "on"                  # on | off
    vehicle: str = ""
    value: float | None = None         # speed in km/h for "speed"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    text: str = ""                     # bookmark text
    category_id: str = ""
    category_name: str = ""
    tags: str = ""
    source: str = "local"

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}

    @classmethod
    def from_dict(cls, d: dict) -> "Event":
        allowed = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in allowed})


# ------------------------------------------------------------------------ policy

DEFAULT_POLICY = {
    "signals": {k: {"activate": True, "officer_may_cancel": k not in ("holster", "weapon", "crash"),
                    "stop_on_off": False} for k in SIGNALS},
    "speed_threshold_kmh": 120.0,
    "min_rssi_dbm": -80,      # BLE: weaker signals are out of range (about 10 m / 30 ft)
    "debounce_s": 2.0,        # BLE: the same event from the same unit acts once in this time
    "group_hops": 1,          # BLE: how many times a group start is relayed camera to camera
}
RULE_KEYS = ("activate", "officer_may_cancel", "stop_on_off", "min_rssi_dbm")


@dataclass
class Policy:
    rules: dict
    speed_threshold_kmh: float
    min_rssi_dbm: float = DEFAULT_POLICY["min_rssi_dbm"]
    debounce_s: float = DEFAULT_POLICY["debounce_s"]
    group_hops: int = DEFAULT_POLICY["group_hops"]

    @classmethod
    def default(cls) -> "Policy":
        return cls.from_dict({})

    @classmethod
    def from_dict(cls, doc: dict) -> "Policy":
        if not isinstance(doc, dict):
            raise TriggerPolicyError("policy must be a JSON object")
        unknown = set(doc) - {"signals", "speed_threshold_kmh", "min_rssi_dbm", "debounce_s", "group_hops"}
        if unknown:
            raise TriggerPolicyError(f"unknown policy keys: {', '.join(sorted(unknown))}")
        rules = {k: dict(v) for k, v in DEFAULT_POLICY["signals"].items()}
        for kind, rule in (doc.get("signals") or {}).items():
            if kind not in SIGNALS:
                raise TriggerPolicyError(f"unknown signal {kind!r}; one of {', '.join(SIGNALS)}")
            if not isinstance(rule, dict) or set(rule) - set(RULE_KEYS):
                raise TriggerPolicyError(f"signal {kind}: keys are {', '.join(RULE_KEYS)}")
            for k, v in rule.items():
                if k == "min_rssi_dbm":
                    _rssi(v, f"signal {kind}: min_rssi_dbm")
                elif not isinstance(v, bool):
                    raise TriggerPolicyError(f"signal {kind}: {k} must be true or false")
            rules[kind].update(rule)
        threshold = doc.get("speed_threshold_kmh", DEFAULT_POLICY["speed_threshold_kmh"])
        if not isinstance(threshold, (int, float)) or threshold <= 0:
            raise TriggerPolicyError("speed_threshold_kmh must be a positive number")
        debounce = doc.get("debounce_s", DEFAULT_POLICY["debounce_s"])
        if not _number(debounce) or not 0 <= debounce <= 3600:
            raise TriggerPolicyError("debounce_s must be 0-3600 seconds")
        hops = doc.get("group_hops", DEFAULT_POLICY["group_hops"])
        if not isinstance(hops, int) or isinstance(hops, bool) or not 0 <= hops <= 8:
            raise TriggerPolicyError("group_hops must be a whole number 0-8")
        return cls(rules, float(threshold), _rssi(doc.get("min_rssi_dbm", DEFAULT_POLICY["min_rssi_dbm"]), "min_rssi_dbm"),
                   float(debounce), hops)

    @classmethod
    def load(cls, path: str | None) -> "Policy":
        if not path:
            return cls.default()
        try:
            with open(path, encoding="utf-8") as f:
                return cls.from_dict(json.load(f))
        except OSError as exc:
            raise TriggerPolicyError(f"cannot read policy file: {exc.strerror}") from None
        except ValueError as exc:
            if isinstance(exc, TriggerPolicyError):
                raise
            raise TriggerPolicyError(f"policy file is not JSON: {exc}") from None

    def activates(self, event: Event) -> tuple[bool, str]:
        rule = self.rules.get(event.signal)
        if rule is None:
            return False, f"unknown signal {event.signal!r}"
        if event.state != "on":
            return False, "signal off"
        if not rule["activate"]:
            return False, f"policy: {event.signal} does not activate"
        if event.signal == "speed":
            if event.value is None or event.value <= self.speed_threshold_kmh:
                return False, f"speed {event.value} km/h is not over {self.speed_threshold_kmh} km/h"
        return True, "policy: activates"

    def stops(self, event: Event) -> bool:
        rule = self.rules.get(event.signal)
        return bool(rule and event.state == "off" and rule["stop_on_off"])

    def min_rssi(self, signal: str) -> float:
        """BLE range: the weakest signal strength (dBm) at which ``signal`` is heard."""
        rule = self.rules.get(signal) or {}
        return rule.get("min_rssi_dbm", self.min_rssi_dbm)

    def officer_may_cancel(self, signal: str) -> bool:
        rule = self.rules.get(signal)
        return True if rule is None else rule["officer_may_cancel"]


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _rssi(v, what: str) -> float:
    if not _number(v) or not -127 <= v <= 20:
        raise TriggerPolicyError(f"{what} must be a number of dBm, -127 to 20")
    return float(v)


def hears(groups: list[str], event: Event) -> bool:
    """Group activation: a signal from vehicle V reaches the cameras paired with V; a signal
    with no vehicle reaches every camera in range."""
    return not event.vehicle or event.vehicle in groups


# ------------------------------------------------------------------------ the signal bus

def signal_key() -> bytes | None:
    """The fleet's shared signal key (``BODYCAM_SIGNAL_KEY_FILE``), if the fleet uses one.
    With a key, senders add an HMAC-SHA256 and cameras ignore signals that lack a valid one
    or are more than MAX_SIGNAL_AGE seconds old (replays)."""
    path = env_value("BODYCAM_SIGNAL_KEY_FILE")
    if not path:
        return None
    with open(path, "rb") as f:
        key = f.read().strip()
    if len(key) < 16:
        raise ValueError("signal key must be at least 16 bytes")
    return key


MAX_SIGNAL_AGE = 30.0


def _mac(key: bytes, doc: dict) -> str:
    import hashlib
    import hmac

    body = json.dumps({k: v for k, v in doc.items() if k != "mac"}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def _authentic(key: bytes, doc: dict) -> bool:
    import hmac

    mac = doc.get("mac")
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(key, doc)):
        return False
    sent = doc.get("sent_at")
    return isinstance(sent, (int, float)) and abs(time.time() - sent) <= MAX_SIGNAL_AGE


def send_signal(kind: str, vehicle: str = "", state: str = "on", value: float | None = None,
                group: str = DEFAULT_GROUP, port: int = DEFAULT_PORT, iface: str = DEFAULT_IFACE,
                ttl: int = 1, repeat: int = 3) -> Event:
    """Broadcast one signal. UDP may drop datagrams, so it is sent ``repeat`` times with the
    same id; receivers act on the first copy."""
    if kind not in SIGNALS:
        raise ValueError(f"unknown signal {kind!r}; one of {', '.join(SIGNALS)}")
    if state not in ("on", "off"):
        raise ValueError("state must be on or off")
    event = Event("signal", signal=kind, state=state, vehicle=vehicle, value=value, source=f"vehicle:{vehicle}")
    doc = {"bodycam_signal": 1, "sent_at": round(time.time(), 3), **event.to_dict()}
    key = signal_key()
    if key:
        doc["mac"] = _mac(key, doc)
    payload = json.dumps(doc).encode()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        for i in range(max(1, repeat)):
            s.sendto(payload, (group, port))
            if i + 1 < repeat:
                time.sleep(0.02)
    finally:
        s.close()
    return event


class SignalListener:
    """Joins the multicast group and passes each new signal to ``sink``."""

    def __init__(self, sink: Callable[[Event], None], group: str = DEFAULT_GROUP, port: int = DEFAULT_PORT,
                 iface: str = DEFAULT_IFACE):
        self.sink = sink
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self.sock.bind(("", port))
        mreq = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton(iface))
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        self.sock.settimeout(0.2)
        self.key = signal_key()
        self.rejected = 0
        self._seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="signal-listener", daemon=True)

    def start(self) -> "SignalListener":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(MAX_DATAGRAM)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                doc = json.loads(data)
                if not isinstance(doc, dict) or doc.get("bodycam_signal") != 1 or doc.get("kind") != "signal":
                    continue
                if self.key and not _authentic(self.key, doc):
                    self.rejected += 1
                    continue
                event = Event.from_dict(doc)
            except (ValueError, TypeError):
                continue
            now = time.monotonic()
            self._seen = {k: v for k, v in self._seen.items() if now - v < 60}
            if event.id in self._seen:
                continue
            self._seen[event.id] = now
            event.source = f"multicast:{addr[0]}" + (f":vehicle:{event.vehicle}" if event.vehicle else "")
            self.sink(event)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


# ------------------------------------------------------------------------ local control socket

def control_path(storage_root: str | Path) -> Path:
    return Path(storage_root) / "control.sock"


class ControlListener:
    """A UNIX datagram socket in the storage directory: the camera's buttons."""

    def __init__(self, storage_root: str | Path, sink: Callable[[Event], None]):
        self.path = control_path(storage_root)
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.2)
        self.sink = sink
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="control-listener", daemon=True)

    def start(self) -> "ControlListener":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(MAX_DATAGRAM)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                doc = json.loads(data)
                if doc.get("kind") not in ACTIONS:
                    continue
                event = Event.from_dict(doc)
            except (ValueError, TypeError, AttributeError):
                continue
            event.source = "button"
            self.sink(event)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def send_control(storage_root: str | Path, event: Event) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(json.dumps(event.to_dict()).encode(), str(control_path(storage_root)))
    except (FileNotFoundError, ConnectionRefusedError):
        raise ConnectionError(f"no camera is running on {storage_root}") from None
    finally:
        s.close()
