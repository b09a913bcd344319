"""Axis Body Worn Integration API details: metadata headers, names, timestamps.

Pure functions, no Django models: the spec's rules in one place.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

from ..timefmt import isoformat
from .errors import BadRequest

# Canonical spellings of every metadata key the spec names. WSGI upper-cases header
# names, so keys arrive as e.g. TRIGGERONTIME and are mapped back here.
KNOWN_KEYS = [
    "ContainerName", "BWCSerialNumber", "SCUSerialNumber", "FirmwareVersion", "UserID",
    "TriggerOn", "TriggerOff", "TriggerOnTime", "TriggerOnTimeISO", "TriggerOnLocation",
    "TriggerOffTime", "TriggerOffTimeISO", "TriggerOffLocation", "StartTime", "StartTimeISO",
    "StopTime", "StopTimeISO", "TimeZone", "BWCModel", "Status", "ContainerType",
    "StartLocation", "StopLocation", "FileType", "CategoryID", "CategoryName", "Tags", "EndTime",
    "Active", "Name", "Model", "ConnectionId", "SystemName",
    "RejectedContentOriginalContainer", "RejectedContentTime", "RejectedContentReason",
    "TriggerOnUnit",  # bodycam: the unit/vehicle whose signal started the recording (docs/device.md)
]
_CANONICAL = {k.lower().replace("-", ""): k for k in KNOWN_KEYS}

MAX_VALUE_BYTES = 256  # the spec's largest documented field is 64 bytes; allow slack, refuse abuse
MAX_META_KEYS = 90

CONTAINER_RE = re.compile(
    r"^(?P<user>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})_"
    r"(?P<serial>[A-Za-z0-9][A-Za-z0-9.\-_]{0,63})_(?P<time>\d{8}T\d{6}Z)$"
)
CLIP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,190}\.(mkv|mp4)$")
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,190}\.key$")
GNSS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,180}_gpstrail\.json$")
BOOKMARK_RE = re.compile(r"^bookmark_[A-Za-z0-9_.:\-]{1,180}$")
MANIFEST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,180}\.manifest\.json$")
SYSTEM_CONTAINERS = ("System", "Users", "Devices")

EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)


SERIAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_]{0,63}$")


def metadata_from_meta(meta: dict, kind: str) -> dict:
    """Extract ``X-<kind>-Meta-*`` headers from a WSGI environ as {CanonicalKey: value}."""
    prefix = f"HTTP_X_{kind.upper()}_META_"
    out: dict[str, str] = {}
    for name, raw in meta.items():
        if not name.startswith(prefix):
            continue
        key = name[len(prefix):].lower().replace("_", "")
        key = _CANONICAL.get(key, name[len(prefix):].replace("_", "-").title())
        value = unquote(raw)
        if len(value.encode()) > MAX_VALUE_BYTES:
            raise BadRequest(f"metadata {key} is longer than {MAX_VALUE_BYTES} bytes")
        if any(ord(c) < 32 for c in value):
            raise BadRequest(f"metadata {key} contains control characters")
        out[key] = value
    if len(out) > MAX_META_KEYS:
        raise BadRequest("too many metadata keys")
    return out


def ms(dt: datetime) -> datetime:
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def _in_bounds(dt: datetime, what: str) -> datetime:
    latest = datetime.now(timezone.utc) + timedelta(days=1)
    if not (EARLIEST <= dt <= latest):
        raise BadRequest(f"{what} {isoformat(dt)} is out of bounds")
    return ms(dt)


def parse_epoch(value: str, what: str) -> datetime:
    try:
        seconds = float(value)
    except ValueError:
        raise BadRequest(f"{what} is not an epoch time: {value!r}") from None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise BadRequest(f"{what} is not a finite number")
    if seconds > 1e11:  # milliseconds since epoch: accept, cameras differ
        seconds /= 1000.0
    try:
        dt = datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise BadRequest(f"{what} is out of bounds") from None
    return _in_bounds(dt, what)


def parse_iso(value: str, what: str) -> datetime:
    if not isinstance(value, str):
        raise BadRequest(f"{what} is not an RFC 3339 time (a string): {str(value)[:40]!r}")
    try:
        dt = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise BadRequest(f"{what} is not an RFC 3339 time: {value[:64]!r}") from None
    if dt.tzinfo is None:
        raise BadRequest(f"{what} has no UTC offset: {value[:64]!r}")
    try:  # year 1 at +01:00 or year 9999 at -01:00 falls outside what a datetime holds in UTC
        utc = dt.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise BadRequest(f"{what} is out of bounds: {value[:64]!r}") from None
    return _in_bounds(utc, what)


def parse_compact(value: str, what: str) -> datetime:
    try:
        dt = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise BadRequest(f"{what} is not YYYYMMDDTHHMMSSZ: {value!r}") from None
    return _in_bounds(dt, what)


def time_pair(meta: dict, key: str) -> datetime | None:
    """Read ``key`` (epoch) and ``keyISO``; when both are present they must agree."""
    epoch, iso = meta.get(key), meta.get(key + "ISO")
    a = parse_epoch(epoch, key) if epoch else None
    b = parse_iso(iso, key + "ISO") if iso else None
    if a and b and abs((a - b).total_seconds()) > 1.0:
        raise BadRequest(f"{key} ({isoformat(a)}) and {key}ISO ({isoformat(b)}) disagree")
    return a or b


def ordered(start: datetime | None, stop: datetime | None, what: str) -> None:
    if start and stop and stop < start:
        raise BadRequest(f"{what}: stop time is before start time")


def parse_container_name(name: str) -> tuple[uuid.UUID, str, datetime]:
    m = CONTAINER_RE.match(name)
    if not m:
        raise BadRequest("container name must be <UserID>_<BWCSerialNumber>_<YYYYMMDDTHHMMSSZ>")
    return uuid.UUID(m["user"]), m["serial"], parse_compact(m["time"], "TriggerOnTime in container name")


def object_kind(name: str) -> str:
    if CLIP_RE.match(name):
        return "clip"
    if KEY_RE.match(name):
        return "key"
    if GNSS_RE.match(name):
        return "gnss"
    if BOOKMARK_RE.match(name):
        return "bookmark"
    if MANIFEST_RE.match(name):
        return "manifest"
    raise BadRequest(f"object name {name[:80]!r} is not a clip, key, bookmark, GNSS track or manifest")


def parse_tags(value: str) -> dict:
    """'TriggerOn:Button;SomeTag:SomeValue' -> dict; unknown keys kept, bare tags map to ''."""
    tags = {}
    for part in value.split(";"):
        part = part.strip()
        if not part:
            continue
        k, _, v = part.partition(":")
        tags[k.strip()] = v.strip()
    return tags


def parse_wkt_point(value: str) -> tuple[float, float]:
    """'POINT(lon lat)' -> (lat, lon)."""
    m = re.match(r"^\s*POINT\s*\(\s*(-?[\d.]+)\s+(-?[\d.]+)\s*\)\s*$", value, re.IGNORECASE)
    if not m:
        raise BadRequest(f"bad LocationWKT {value[:64]!r}")
    try:
        lon, lat = float(m[1]), float(m[2])
    except ValueError:  # "1.2.3" matches the pattern
        raise BadRequest(f"bad LocationWKT {value[:64]!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadRequest(f"LocationWKT out of range {value[:64]!r}")
    return lat, lon


def meta_headers(kind: str, metadata: dict) -> dict:
    from urllib.parse import quote

    return {f"X-{kind}-Meta-{k}": quote(str(v), safe=" :;,./@-_") for k, v in metadata.items()}


def epoch_now() -> float:
    return time.time()
