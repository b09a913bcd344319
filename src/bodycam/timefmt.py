"""The one ISO 8601 time formatter (pure Python: device/ and provenance/ may use it too).

Each format below is part of something stored or signed (audit chain entries, custody
reports, clip manifests, API fields), so every caller names its format and gets the same
bytes every time:

  isoformat(dt)                                  2026-12-04T20:31:21.123Z   (API, custody, audit chain)
  iso_as_given(dt) = isoformat(dt, to_utc=False)  as given, +00:00 -> Z    (catalogue fields, shares)
  iso_seconds(dt) = isoformat(dt, timespec="seconds", z=False)
                                                 2026-12-04T20:31:21+00:00  (retention reports, holds, CAD)
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


def iso_as_given(dt: datetime | None) -> str | None:
    """Catalogue fields and shares: ``dt`` in its own zone, milliseconds, ``Z`` for +00:00 (None stays None)."""
    return isoformat(dt, to_utc=False)


def iso_seconds(dt: datetime | None) -> str | None:
    """Retention reports, holds and CAD: ``dt`` in UTC to the second, ``+00:00`` (None stays None)."""
    return isoformat(dt, timespec="seconds", z=False)


def iso_from_epoch(epoch: float, ms: bool = True) -> str:
    """A UNIX time as UTC ISO 8601 with ``Z``; milliseconds rounded (not truncated) when ``ms``."""
    dt = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{int(round(epoch * 1000)) % 1000:03d}" if ms else "") + "Z"


def parse_utc(text: str, naive_as_utc: bool = True) -> datetime:
    """An ISO 8601 time typed by a person (``Z`` or an offset; none = UTC unless
    ``naive_as_utc=False``) as an aware UTC datetime. ValueError for anything else, including
    a time whose UTC falls outside years 1-9999 (``0001-01-01T00:00:00+01:00``), which
    ``datetime`` cannot hold (OverflowError in every comparison or query it would reach)."""
    if not isinstance(text, str):
        raise ValueError("not a time")
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        if not naive_as_utc:
            raise ValueError("no time zone")
        return dt.replace(tzinfo=timezone.utc)
    try:
        return dt.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("outside years 1-9999 in UTC") from None


__all__ = ["isoformat", "iso_as_given", "iso_seconds", "iso_from_epoch", "parse_utc"]
