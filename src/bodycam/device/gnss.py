"""Positions for recordings: from an NMEA log, a GPX track, or a simulated track.

A track maps seconds since the camera started (its timeline) to (lat, lon, accuracy).
NMEA and GPX files are replayed from their first fix: a fix's offset is its time minus the
first fix's time. Between fixes the position is interpolated; past the end it holds.
"""

from __future__ import annotations

import bisect
import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone

from ..errors import BodycamError


class GnssError(BodycamError, ValueError):
    pass


@dataclass
class Fix:
    offset: float   # seconds on the camera timeline
    lat: float
    lon: float
    accuracy: float = 5.0


class Track:
    def __init__(self, fixes: list[Fix]):
        if not fixes:
            raise GnssError("a track needs at least one fix")
        self.fixes = sorted(fixes, key=lambda f: f.offset)
        self._offsets = [f.offset for f in self.fixes]

    def at(self, t: float) -> Fix:
        i = bisect.bisect_right(self._offsets, t)
        if i == 0:
            return self.fixes[0]
        if i >= len(self.fixes):
            return self.fixes[-1]
        a, b = self.fixes[i - 1], self.fixes[i]
        w = (t - a.offset) / (b.offset - a.offset) if b.offset > a.offset else 0.0
        return Fix(t, a.lat + (b.lat - a.lat) * w, a.lon + (b.lon - a.lon) * w, max(a.accuracy, b.accuracy))


def location_string(fix: Fix, epoch: float) -> str:
    """Axis ``<lat><long><accuracy><epoch>``, e.g. ``+55.718409+013.221184+5.0+1700000000``."""
    return f"{fix.lat:+010.6f}{fix.lon:+011.6f}{fix.accuracy:+.1f}+{int(epoch)}"


def _nmea_coord(value: str, hemi: str) -> float:
    if not value:
        raise ValueError("empty coordinate")
    dot = value.index(".")
    deg, minutes = float(value[: dot - 2]), float(value[dot - 2:])
    v = deg + minutes / 60.0
    return -v if hemi in ("S", "W") else v


def parse_nmea(text: str) -> Track:
    """$GxRMC (date+time) and $GxGGA (time, HDOP) sentences; checksums verified when present."""
    fixes: list[Fix] = []
    first = None
    day = None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("$"):
            continue
        body, _, checksum = line[1:].partition("*")
        if checksum:
            calc = 0
            for ch in body:
                calc ^= ord(ch)
            if f"{calc:02X}" != checksum[:2].upper():
                continue
        parts = body.split(",")
        kind = parts[0][2:]
        try:
            if kind == "RMC" and len(parts) > 9 and parts[2] == "A":
                day = parts[9]
                hhmmss, lat, lon, acc = parts[1], _nmea_coord(parts[3], parts[4]), _nmea_coord(parts[5], parts[6]), 5.0
            elif kind == "GGA" and len(parts) > 8 and parts[6] not in ("", "0"):
                hhmmss, lat, lon = parts[1], _nmea_coord(parts[2], parts[3]), _nmea_coord(parts[4], parts[5])
                acc = float(parts[8]) * 5.0 if parts[8] else 5.0
            else:
                continue
            secs = int(hhmmss[0:2]) * 3600 + int(hhmmss[2:4]) * 60 + float(hhmmss[4:])
            if day:
                d = datetime.strptime(day, "%d%m%y").replace(tzinfo=timezone.utc)
                secs += d.timestamp()
        except (ValueError, IndexError):
            continue
        if first is None:
            first = secs
        fixes.append(Fix(secs - first, lat, lon, acc))
    if not fixes:
        raise GnssError("no valid RMC/GGA fixes in NMEA data")
    return Track(fixes)


def parse_gpx(text: str) -> Track:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise GnssError(f"not GPX: {exc}") from None
    fixes = []
    first = None
    for i, el in enumerate(root.iter()):
        if not el.tag.endswith("trkpt") and not el.tag.endswith("wpt"):
            continue
        lat, lon = float(el.get("lat")), float(el.get("lon"))
        when = next((c.text for c in el if c.tag.endswith("time")), None)
        if when:
            secs = datetime.fromisoformat(when.strip().replace("Z", "+00:00")).timestamp()
        else:
            secs = float(len(fixes))
        if first is None:
            first = secs
        fixes.append(Fix(secs - first, lat, lon, 5.0))
    if not fixes:
        raise GnssError("no track points in GPX data")
    return Track(fixes)


def simulated(points: list, speed_mps: float = 10.0, start_offset: float = 0.0) -> Track:
    """A track along ``points`` ([[lat, lon], ...] or [[t, lat, lon], ...]) at ``speed_mps``."""
    fixes = []
    if points and len(points[0]) == 3:
        return Track([Fix(float(t), float(la), float(lo)) for t, la, lo in points])
    t = start_offset
    prev = None
    for lat, lon in points:
        if prev is not None:
            dy = (lat - prev[0]) * 111_320
            dx = (lon - prev[1]) * 111_320 * math.cos(math.radians(lat))
            t += math.hypot(dx, dy) / max(speed_mps, 0.1)
        fixes.append(Fix(t, float(lat), float(lon)))
        prev = (lat, lon)
    return Track(fixes)


def load(path: str) -> Track:
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read(16 * 1024 * 1024)
    stripped = text.lstrip()
    if stripped.startswith("<"):
        return parse_gpx(text)
    if stripped.startswith("{") or stripped.startswith("["):
        doc = json.loads(text)
        return simulated(doc.get("points", []) if isinstance(doc, dict) else doc,
                         doc.get("speed_mps", 10.0) if isinstance(doc, dict) else 10.0)
    return parse_nmea(text)
