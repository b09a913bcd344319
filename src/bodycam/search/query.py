"""Search parameters: read and check a request's query string into a ``Query`` (a bad
value is a ``SearchError``, 400 with a reason), and the words of the search text."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from ..errors import BodycamError
from ..numbers import whole_number
from ..timefmt import day_bounds, parse_utc, zone

SORTS = {
    # Orders of SearchEntry, each matching one of its indexes. Ties end in the clip id so
    # pages never repeat or skip an item.
    "newest": ("-sort_time", "-object_name", "-clip_id"),
    "oldest": ("sort_time", "object_name", "clip_id"),
    "officer": ("officer_name", "-sort_time", "-clip_id"),
    "device": ("device_serial", "-sort_time", "-clip_id"),
    "longest": ("-duration_s", "-sort_time", "-clip_id"),
}
MAX_QUERY = 200
MAX_PER_PAGE = 100


class SearchError(BodycamError, ValueError):
    """A bad search parameter: 400 with this message."""

    status = 400


def terms(q: str) -> list[str]:
    return re.findall(r"[^\W_]+", q.lower())[:20]  # letters and digits: the tokenizers' words


@dataclass
class Query:
    q: str = ""
    officer: str = ""
    device: str = ""
    date_from: datetime | None = None
    date_to: datetime | None = None
    category: str = ""
    case: str = ""
    incident: str = ""
    tag: str = ""
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    has_transcript: bool | None = None
    restricted: bool | None = None
    titled: bool | None = None       # a person gave it a title (False: still the default one)
    bookmarked: bool | None = None   # the camera sent a bookmark (an officer flagged a moment)
    shared: str = ""                 # "mine": live shares the searching user made (filters.SHARED_BY)
    sort: str = "newest"
    page: int = 1
    per_page: int = 25
    raw: dict = field(default_factory=dict)


def _date(value: str, name: str, end: bool) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        # A day or a time without an offset is the agency's (BODYCAM_TIME_ZONE), as pages show them.
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return day_bounds(datetime.strptime(value, "%Y-%m-%d").date(), settings.AGENCY_TIME_ZONE)[end]
        try:
            return parse_utc(value, naive_as_utc=False)
        except ValueError as exc:
            if "no time zone" not in str(exc):
                raise
        naive = datetime.fromisoformat(value)
        return parse_utc(naive.replace(tzinfo=zone(settings.AGENCY_TIME_ZONE)).isoformat())
    except (ValueError, OverflowError):
        raise SearchError(f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time, "
                          "in years 1-9999 UTC") from None


def _float(value: str, name: str, lo: float, hi: float) -> float | None:
    if not value.strip():
        return None
    try:
        v = float(value)
    except ValueError:
        raise SearchError(f"{name} must be a number") from None
    if not (lo <= v <= hi) or math.isnan(v):
        raise SearchError(f"{name} must be between {lo:g} and {hi:g}")
    return v


def _bool(value: str, name: str) -> bool | None:
    value = value.strip().lower()
    if value in ("", "any"):
        return None
    if value in ("1", "yes", "true", "on"):
        return True
    if value in ("0", "no", "false", "off"):
        return False
    raise SearchError(f"{name} must be yes, no or any")


def _int(value: str, name: str, default: int, lo: int, hi: int) -> int:
    if not value.strip():
        return default
    number = whole_number(value)
    if number is None:
        raise SearchError(f"{name} must be a whole number")
    return max(lo, min(number, hi))


def parse_query(params) -> Query:
    """Read and check search parameters (a QueryDict or dict of strings)."""
    # NUL can be neither searched for nor stored (PostgreSQL refuses it in any string).
    g = lambda k: str(params.get(k, "") or "").replace("\x00", "")[:MAX_QUERY]  # noqa: E731
    if len(str(params.get("q", "") or "")) > MAX_QUERY:
        raise SearchError(f"the search text is longer than {MAX_QUERY} characters")
    sort = g("sort") or "newest"
    if sort not in SORTS:
        raise SearchError(f"sort must be one of: {', '.join(SORTS)}")
    qy = Query(q=g("q").strip(), officer=g("officer").strip(), device=g("device").strip(),
               date_from=_date(g("from"), "from", end=False), date_to=_date(g("to"), "to", end=True),
               category=g("category").strip(), case=g("case").strip(), incident=g("incident").strip(),
               tag=g("tag").strip(), lat=_float(g("lat"), "lat", -90, 90), lon=_float(g("lon"), "lon", -180, 180),
               radius_m=_float(g("radius"), "radius", 1, 100_000), has_transcript=_bool(g("transcript"), "transcript"),
               restricted=_bool(g("restricted"), "restricted"), titled=_bool(g("titled"), "titled"),
               bookmarked=_bool(g("bookmarked"), "bookmarked"), shared=g("shared").strip(), sort=sort,
               page=_int(g("page"), "page", 1, 1, 1_000_000), per_page=_int(g("per_page"), "per_page", 25, 1,
                                                                             MAX_PER_PAGE))
    if qy.q and not terms(qy.q):
        raise SearchError("the search text has no words to look for")
    if qy.date_from and qy.date_to and qy.date_from > qy.date_to:
        raise SearchError("from must not be after to")
    located = [qy.lat is not None, qy.lon is not None]
    if any(located) and not all(located):
        raise SearchError("a location search needs both lat and lon")
    if all(located) and qy.radius_m is None:
        qy.radius_m = 500.0
    if qy.shared not in ("", "mine"):
        raise SearchError("shared must be mine (the live shares you made) or empty")
    if qy.incident:
        from ..numbers import parse_uuid

        if parse_uuid(qy.incident) is None:
            raise SearchError("incident must be a recording id")
    qy.raw = {k: g(k) for k in ("q", "officer", "device", "from", "to", "category", "case", "incident", "tag", "lat",
                                "lon", "radius", "transcript", "restricted", "titled", "bookmarked", "shared", "sort",
                                "per_page") if g(k)}
    return qy
