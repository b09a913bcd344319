"""The Bluetooth LE signal format (``docs/device.md``, "BLE signals"): one legacy
advertisement carrying an event, the unit and emitter that sent it, a counter that only
goes up, and a truncated HMAC-SHA256 under a key derived from the agency key.

This module is the format and the camera's decision about each advertisement; it has no
radio in it (``device/ble.py`` moves the bytes with bumble), so a microcontroller's
output can be checked against it byte for byte.

Byte layout of the AD structure (31 bytes, the whole legacy advertising payload)::

    0   1  length = 30            9   4  unit id, uint32 little-endian
    1   1  0xFF (manufacturer)    13  2  emitter id, uint16 little-endian
    2   2  company id, LE         15  8  counter, uint64 little-endian
    4   1  0xB1 (format 1)        23  8  tag = HMAC-SHA256(K, bytes 2..22)[:8]
    5   1  key id                 K = HMAC-SHA256(agency key, b"bodycam-ble-v1" || unit u32 LE || emitter u16 LE)
    6   1  event code
    7   1  hops (group-start relays)
    8   1  value (speed km/h)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import BodycamError
from ..files import write_private
from .storage import read_json, write_json_atomic
from .triggers import Event, Policy

FORMAT = 0xB1                 # "bodycam signal", format version 1
AD_TYPE_MANUFACTURER = 0xFF
TEST_COMPANY_ID = 0xFFFF      # Bluetooth SIG: for tests and development only; set the vendor's own ID
AD_LENGTH = 31
TAG_LENGTH = 8
KEY_LABEL = b"bodycam-ble-v1"
_BODY = struct.Struct("<HBBBBBIHQ")  # company, format, key id, event, hops, value, unit, emitter, counter

EVENT_CODES = {"lightbar": 1, "siren": 2, "door": 3, "holster": 4, "weapon": 5, "crash": 6, "speed": 7, "group": 8}
EVENT_NAMES = {v: k for k, v in EVENT_CODES.items()}

COPY_WINDOW_S = 10.0          # copies of an accepted signal heard this long after it are replays
MAX_UNIT = 2**32 - 1
MAX_EMITTER = 2**16 - 1


class SignalKeyError(BodycamError, ValueError):
    pass


class Malformed(BodycamError, ValueError):
    """An advertisement in our format (company id and format byte) that is not a valid signal."""


@dataclass(frozen=True)
class Frame:
    event: str
    unit: int
    emitter: int
    counter: int
    key_id: int = 1
    hops: int = 0
    value: int = 0
    company_id: int = TEST_COMPANY_ID
    tag: bytes = b""

    def body(self) -> bytes:
        return _BODY.pack(self.company_id, FORMAT, self.key_id, EVENT_CODES[self.event], self.hops, self.value,
                          self.unit, self.emitter, self.counter)

    @property
    def origin(self) -> tuple[int, int]:
        return self.unit, self.emitter


def derive_key(agency_key: bytes, unit: int, emitter: int) -> bytes:
    """The emitter key of (unit, emitter): all an emitter holds; cameras derive it from the agency key."""
    return hmac.new(agency_key, KEY_LABEL + struct.pack("<IH", unit, emitter), hashlib.sha256).digest()


def compute_tag(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()[:TAG_LENGTH]


def encode(frame: Frame, key: bytes) -> bytes:
    """The 31 advertising-data bytes of a signal, tagged with the emitter key."""
    if frame.event not in EVENT_CODES:
        raise ValueError(f"unknown BLE event {frame.event!r}; one of {', '.join(EVENT_CODES)}")
    if not (0 <= frame.unit <= MAX_UNIT and 0 <= frame.emitter <= MAX_EMITTER and 0 <= frame.counter < 2**64
            and 0 <= frame.hops <= 255 and 0 <= frame.value <= 255 and 0 <= frame.key_id <= 255):
        raise ValueError("unit, emitter, counter, hops, value or key id out of range")
    body = frame.body()
    return bytes([AD_LENGTH - 1, AD_TYPE_MANUFACTURER]) + body + compute_tag(key, body)


def find(data: bytes, company_id: int = TEST_COMPANY_ID) -> bytes | None:
    """Our AD structure inside an advertisement's data (other AD structures may come first)."""
    i = 0
    while i < len(data):
        n = data[i]
        if n == 0:
            break
        ad = data[i:i + 1 + n]
        if len(ad) >= 5 and ad[1] == AD_TYPE_MANUFACTURER and ad[2] | ad[3] << 8 == company_id and ad[4] == FORMAT:
            return ad
        i += 1 + n
    return None


def decode(ad: bytes) -> Frame:
    """Parse one AD structure found by ``find`` (tag not checked here)."""
    if len(ad) != AD_LENGTH or ad[0] != AD_LENGTH - 1:
        raise Malformed(f"length {len(ad)}, not {AD_LENGTH}")
    company, fmt, key_id, code, hops, value, unit, emitter, counter = _BODY.unpack(ad[2:2 + _BODY.size])
    if code not in EVENT_NAMES:
        raise Malformed(f"unknown event code {code}")
    return Frame(EVENT_NAMES[code], unit, emitter, counter, key_id, hops, value, company, ad[2 + _BODY.size:])


# ------------------------------------------------------------------ key files (provisioning)

def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _write_secret(path: Path, doc: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, json.dumps(doc, indent=1, sort_keys=True) + "\n")


def _read(path, fmt: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as exc:
        raise SignalKeyError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise SignalKeyError(f"{path} is not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise SignalKeyError(f"{path} is not a {fmt} file")
    return doc


def _key(doc: dict, name: str, path) -> bytes:
    try:
        raw = base64.b64decode(doc[name], validate=True)
    except (KeyError, TypeError, ValueError):
        raise SignalKeyError(f"{path}: '{name}' must be base64") from None
    if len(raw) < 16:
        raise SignalKeyError(f"{path}: '{name}' must be at least 16 bytes")
    return raw


def _int(doc: dict, name: str, hi: int, path, default=None) -> int:
    v = doc.get(name, default)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= hi:
        raise SignalKeyError(f"{path}: '{name}' must be a whole number 0-{hi}")
    return v


@dataclass(frozen=True)
class AgencyKey:
    key: bytes
    key_id: int = 1
    company_id: int = TEST_COMPANY_ID

    @classmethod
    def generate(cls, key_id: int = 1, company_id: int = TEST_COMPANY_ID) -> "AgencyKey":
        return cls(os.urandom(32), key_id, company_id)

    def save(self, path) -> None:
        _write_secret(path, {"format": "bodycam-ble-agency-key/1", "key": _b64(self.key), "key_id": self.key_id,
                             "company_id": self.company_id})

    @classmethod
    def load(cls, path) -> "AgencyKey":
        doc = _read(path, "bodycam-ble-agency-key/1")
        return cls(_key(doc, "key", path), _int(doc, "key_id", 255, path, 1),
                   _int(doc, "company_id", 0xFFFF, path, TEST_COMPANY_ID))


@dataclass(frozen=True)
class EmitterKey:
    """What a vehicle computer, holster sensor or other emitter holds: its own derived key only."""
    unit: int
    emitter: int
    key: bytes
    key_id: int = 1
    company_id: int = TEST_COMPANY_ID

    @classmethod
    def provision(cls, agency: AgencyKey, unit: int, emitter: int) -> "EmitterKey":
        if not (0 <= unit <= MAX_UNIT and 0 <= emitter <= MAX_EMITTER):
            raise SignalKeyError(f"unit must be 0-{MAX_UNIT}, emitter 0-{MAX_EMITTER}")
        return cls(unit, emitter, derive_key(agency.key, unit, emitter), agency.key_id, agency.company_id)

    def save(self, path) -> None:
        _write_secret(path, {"format": "bodycam-ble-emitter-key/1", "key": _b64(self.key), "key_id": self.key_id,
                             "company_id": self.company_id, "unit": self.unit, "emitter": self.emitter})

    @classmethod
    def load(cls, path) -> "EmitterKey":
        doc = _read(path, "bodycam-ble-emitter-key/1")
        return cls(_int(doc, "unit", MAX_UNIT, path), _int(doc, "emitter", MAX_EMITTER, path),
                   _key(doc, "key", path), _int(doc, "key_id", 255, path, 1),
                   _int(doc, "company_id", 0xFFFF, path, TEST_COMPANY_ID))


@dataclass(frozen=True)
class CameraKeys:
    """A camera's BLE provisioning (``DIR/keys/ble.json``): the agency key, the roster of units
    whose signals it accepts, and its own unit and emitter id for group starts (0 = none)."""
    agency: AgencyKey
    units: frozenset[int]
    unit: int = 0
    emitter: int = 0

    FILE = "ble.json"

    def save(self, keys_dir) -> Path:
        path = Path(keys_dir) / self.FILE
        _write_secret(path, {"format": "bodycam-ble-camera/1", "agency_key": _b64(self.agency.key),
                             "key_id": self.agency.key_id, "company_id": self.agency.company_id,
                             "units": sorted(self.units), "unit": self.unit, "emitter": self.emitter})
        return path

    @classmethod
    def load(cls, keys_dir) -> "CameraKeys":
        path = Path(keys_dir) / cls.FILE
        if not path.exists():
            raise SignalKeyError(f"no BLE keys in {keys_dir}: run `bodycam camera ble-keys` first")
        doc = _read(path, "bodycam-ble-camera/1")
        units = doc.get("units")
        if not isinstance(units, list) or not all(isinstance(u, int) and 0 <= u <= MAX_UNIT for u in units):
            raise SignalKeyError(f"{path}: 'units' must be a list of unit ids")
        agency = AgencyKey(_key(doc, "agency_key", path), _int(doc, "key_id", 255, path, 1),
                           _int(doc, "company_id", 0xFFFF, path, TEST_COMPANY_ID))
        return cls(agency, frozenset(units), _int(doc, "unit", MAX_UNIT, path, 0),
                   _int(doc, "emitter", MAX_EMITTER, path, 0))

    def emitter_key(self, unit: int, emitter: int) -> bytes:
        return derive_key(self.agency.key, unit, emitter)


def next_counter(path) -> int:
    """An emitter's next counter: one more than the last one sent, and at least the Unix time in
    milliseconds (so a lost counter file on a box with a clock still never goes back). Written
    (atomically) before the signal is sent."""
    path = Path(path)
    last = 0
    try:
        last = int(path.read_text().strip() or 0)
    except FileNotFoundError:
        pass
    except ValueError:
        raise SignalKeyError(f"counter file {path} is damaged; restore it or remove it (the clock then restarts it)") \
            from None
    counter = max(last + 1, int(time.time() * 1000))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{counter}\n")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return counter


# ------------------------------------------------------------------ the camera's decision

def signal_event(frame: Frame, address: str, rssi: int) -> Event:
    return Event("signal", signal=frame.event, vehicle=str(frame.unit),
                 value=float(frame.value) if frame.event == "speed" else None,
                 id=f"ble-{frame.unit}-{frame.emitter}-{frame.counter}",
                 source=f"ble:{address}:unit:{frame.unit}:emitter:{frame.emitter}:rssi:{rssi}"
                        + (f":hops:{frame.hops}" if frame.hops else ""))


class Verifier:
    """Decides, advertisement by advertisement, what reaches the camera's trigger pipeline.

    Refused (logged as ``signal.refused``, never acted on): a malformed signal, a key id or
    unit the camera was not provisioned for, a bad tag, a counter lower than the last one
    accepted from that (unit, emitter), or the same counter heard again more than
    COPY_WINDOW_S after it was accepted (or after a restart). Ignored (``signal.ignored``): weaker than the policy's
    minimum RSSI, or within the debounce time of the same event from the same unit. Copies of
    a signal within COPY_WINDOW_S of its acceptance and the camera's own group starts
    coming back are dropped silently. High-water counters are kept in ``state_path`` across restarts.
    """

    def __init__(self, keys: CameraKeys, policy: Policy, log: Callable[..., object], state_path=None,
                 clock: Callable[[], float] = time.monotonic):
        self.keys = keys
        self.policy = policy
        self.log = log
        self.state_path = Path(state_path) if state_path else None
        self.clock = clock
        doc = read_json(self.state_path, {}) if self.state_path else {}
        self.high: dict[str, int] = {k: v for k, v in (doc or {}).get("high", {}).items() if isinstance(v, int)}
        self.own_counter = int((doc or {}).get("own", 0))
        self._last_acted: dict[tuple[str, int], float] = {}
        self._accepted_at: dict[str, float] = {}
        self._logged: dict[tuple, None] = {}
        self.accepted = 0
        self.refused = 0

    def _once(self, key: tuple, event: str, **fields) -> None:
        if key in self._logged:
            return
        self._logged[key] = None
        if len(self._logged) > 4096:
            self._logged.pop(next(iter(self._logged)))
        self.log(event, **fields)

    def _refuse(self, reason: str, key: tuple, **fields) -> None:
        self.refused += 1
        self._once(("refused", reason, *key), "signal.refused", reason=reason, **fields)

    def _save(self) -> None:
        if self.state_path:
            write_json_atomic(self.state_path, {"high": self.high, "own": self.own_counter})

    def next_own_counter(self) -> int:
        self.own_counter = max(self.own_counter + 1, int(time.time() * 1000))
        self._save()
        return self.own_counter

    def check(self, data: bytes, rssi: int, address: str) -> tuple[Frame, Event] | None:
        ad = find(data, self.keys.agency.company_id)
        if ad is None:
            return None  # not a bodycam signal: someone else's advertisement
        try:
            frame = decode(ad)
        except Malformed as exc:
            self._refuse("malformed", (address, ad), detail=str(exc), address=address)
            return None
        where = {"unit": frame.unit, "emitter": frame.emitter, "counter": frame.counter, "signal": frame.event,
                 "address": address, "rssi": rssi}
        ident = (frame.unit, frame.emitter, frame.counter)
        if frame.key_id != self.keys.agency.key_id:
            self._refuse("unknown key id", ident, key_id=frame.key_id, **where)
            return None
        if frame.unit not in self.keys.units:
            self._refuse("unknown unit", ident, **where)
            return None
        if not hmac.compare_digest(frame.tag, compute_tag(self.keys.emitter_key(frame.unit, frame.emitter),
                                                          frame.body())):
            self._refuse("bad tag", ident + (frame.tag,), **where)
            return None
        if (frame.unit, frame.emitter) == (self.keys.unit, self.keys.emitter) and self.keys.emitter:
            return None  # our own group start, relayed back: loop suppression
        slot = f"{frame.unit}:{frame.emitter}"
        high = self.high.get(slot, -1)
        if frame.counter < high:
            self._refuse("replayed counter", ident, last_counter=high, **where)
            return None
        if frame.counter == high:
            first = self._accepted_at.get(slot)
            if first is None or self.clock() - first > COPY_WINDOW_S:
                self._refuse("replayed counter", ident, last_counter=high, **where)
            return None  # otherwise another copy of the signal just accepted (or a relay of it)
        min_rssi = self.policy.min_rssi(frame.event)
        if rssi < min_rssi:
            self._once(("weak", *ident), "signal.ignored", reason=f"out of range: RSSI {rssi} dBm < {min_rssi} dBm",
                       **where)
            return None
        self.high[slot] = frame.counter
        self._accepted_at[slot] = self.clock()
        self._save()
        self.accepted += 1
        now = self.clock()
        last = self._last_acted.get((frame.event, frame.unit))
        if last is not None and now - last < self.policy.debounce_s:
            self.log("signal.ignored", reason=f"debounce: {frame.event} from unit {frame.unit} "
                                              f"{now - last:.1f} s after the last one", **where)
            return None
        self._last_acted[(frame.event, frame.unit)] = now
        return frame, signal_event(frame, address, rssi)
