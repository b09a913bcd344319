"""The one ISO 8601 time formatter (pure Python: device/ and provenance/ may use it too).

Each format below is part of something stored or signed (audit chain entries, custody
reports, clip manifests, API fields), so every caller names its format and gets the same
bytes every time:

  isoformat(dt)                                  2026-12-04T20:31:21.123Z   (API, custody, audit chain)
  iso_as_given(dt) = isoformat(dt, to_utc=False)  as given, +00:00 -> Z    (catalogue fields, shares)
  iso_seconds(dt) = isoformat(dt, timespec="seconds", z=False)
                                                 2026-12-04T20:31:21+00:00  (retention reports, holds, CAD)
  iso_from_epoch(t) / iso_from_epoch(t, ms=False) 2026-12-04T20:31:21.123Z / ...21Z (camera manifests)

For people (pages only; never stored, signed or sent by the API), in the agency's zone:

  readable(dt, zone)                             Sat 5 Dec 2026, 07:23:58 PST
  readable(dt, zone, "minute") / "short" / "date" Sat 5 Dec 2026, 07:23 PST / Sat 5 Dec 07:23 / Sat 5 Dec 2026
  utc_text(dt)                                   2026-12-05 15:23:58 UTC   (the hover text)
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from datetime import time as wall
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


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


def zone(name: str) -> ZoneInfo | timezone:
    """The IANA time zone ``name`` ("America/Los_Angeles"; "" or "UTC" is UTC). ValueError if unknown."""
    if not name or name.upper() == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as America/Los_Angeles)") from None


def local(dt: datetime, zone_name: str) -> datetime:
    """An aware time (naive = UTC) as wall-clock time in ``zone_name``, whole seconds."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(zone(zone_name)).replace(microsecond=0)


def readable(dt: datetime, zone_name: str, style: str = "full") -> str:
    """A time for people, in the agency's zone, never with fractions of a second:
    ``full`` "Sat 5 Dec 2026, 07:23:58 PST", ``minute`` "Sat 5 Dec 2026, 07:23 PST",
    ``short`` "Sat 5 Dec 07:23" (titles), ``date`` "Sat 5 Dec 2026"."""
    t = local(dt, zone_name)
    day = f"{t:%a} {t.day} {t:%b}"
    if style == "short":
        return f"{day} {t:%H:%M}"
    if style == "date":
        return f"{day} {t.year}"
    return f"{day} {t.year}, {t:%H:%M}{'' if style == 'minute' else f':{t:%S}'} {t.tzname()}"


def utc_text(dt: datetime) -> str:
    """The same moment in UTC for the hover text: "2026-12-05 15:23:58 UTC"."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return f"{dt.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"


def day_bounds(d: date, zone_name: str) -> tuple[datetime, datetime]:
    """The first and last instant (UTC) of the calendar day ``d`` in ``zone_name`` (a day
    may be 23 or 25 hours long where the clocks change)."""
    tz = zone(zone_name)

    def utc(t: datetime, edge: datetime) -> datetime:
        try:
            return t.astimezone(timezone.utc)
        except OverflowError:  # the first or last day of the calendar: its edge
            return edge

    # wall.max (23:59:59.999999) is the day's last instant, whatever its length
    return (utc(datetime.combine(d, wall.min, tzinfo=tz), datetime.min.replace(tzinfo=timezone.utc)),
            utc(datetime.combine(d, wall.max, tzinfo=tz), datetime.max.replace(tzinfo=timezone.utc)))


__all__ = ["isoformat", "iso_as_given", "iso_seconds", "iso_from_epoch", "parse_utc", "zone", "local", "readable",
           "utc_text", "day_bounds"]
