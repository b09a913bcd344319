"""The one ISO 8601 time formatter (pure Python: device/ and provenance/ may use it too).

Each format below is part of something stored or signed (audit chain entries, custody
reports, clip manifests, API fields), so every caller names its format and gets the same
bytes as before:

  isoformat(dt)                                  2026-12-04T20:31:21.123Z   (API, custody, audit chain)
  isoformat(dt, to_utc=False)                    as given, +00:00 -> Z      (catalogue fields)
  isoformat(dt, timespec="seconds", z=False)     2026-12-04T20:31:21+00:00  (retention reports)
  iso_from_epoch(t) / iso_from_epoch(t, ms=False) 2026-12-04T20:31:21.123Z / ...21Z (camera manifests)
"""

from __future__ import annotations

from datetime import datetime, timezone


def isoformat(dt: datetime | None, *, timespec: str = "milliseconds", to_utc: bool = True,
              z: bool = True) -> str | None:
    """``dt`` as ISO 8601 (None stays None): in UTC unless ``to_utc=False``, ``Z`` for +00:00 unless ``z=False``."""
    if dt is None:
        return None
    if to_utc:
        dt = dt.astimezone(timezone.utc)
    text = dt.isoformat(timespec=timespec)
    return text.replace("+00:00", "Z") if z else text


def iso_from_epoch(epoch: float, ms: bool = True) -> str:
    """A UNIX time as UTC ISO 8601 with ``Z``; milliseconds rounded (not truncated) when ``ms``."""
    dt = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{int(round(epoch * 1000)) % 1000:03d}" if ms else "") + "Z"


__all__ = ["isoformat", "iso_from_epoch"]
