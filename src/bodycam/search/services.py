"""Search over evidence: filters, full text, sorting and pages, on top of the one access
check (``visible_clips``): a search can only ever narrow what the user may see.

Full text: each recording has documents by *source*; ``index_text`` replaces one. Sources
made here: ``metadata`` (container, officer, device, trigger, categories, bookmarks, cases),
``notes``, ``tags``. Other packages add theirs (e.g. ``transcript``) with ``index_text`` and
``has_source`` filters work for any of them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timezone

from django.db import connection
from django.db.models import BooleanField, F, Q, QuerySet
from django.db.models.expressions import RawSQL

from ..errors import BodycamError
from ..evidence.models import GnssPoint, Recording
from .models import SearchDocument

METADATA, NOTES, TAGS, TRANSCRIPT = "metadata", "notes", "tags", "transcript"
SORTS = {
    # Ties end in the id so pages never repeat or skip an item.
    "newest": ("-start_time", "-object_name", "-id"),
    "oldest": ("start_time", "object_name", "id"),
    "officer": ("recording__officer__name", "-start_time", "-id"),
    "device": ("recording__device__serial", "-start_time", "-id"),
    "longest": ("-duration_s", "-start_time", "-id"),
}
MAX_QUERY = 200
MAX_PER_PAGE = 100


class SearchError(BodycamError, ValueError):
    """A bad search parameter: 400 with this message."""

    status = 400


# ---------------------------------------------------------------- indexing
def index_text(recording_id, source: str, text: str) -> None:
    """Set the ``source`` document of a recording (empty text removes it)."""
    text = (text or "").strip()
    if not text:
        SearchDocument.objects.filter(recording_id=recording_id, source=source).delete()
        return
    updated = SearchDocument.objects.filter(recording_id=recording_id, source=source).update(text=text)
    if not updated:
        SearchDocument.objects.create(recording_id=recording_id, source=source, text=text)


def metadata_text(rec: Recording) -> str:
    parts = [rec.container_name, rec.trigger_on, rec.trigger_off, rec.bwc_model]
    o, d = rec.officer, rec.device
    parts += [o.name, o.user_key, getattr(o.account, "username", "") if o.account_id else "",
              getattr(o.account, "badge", "") if o.account_id else ""]
    parts += [d.serial, d.name, d.model, d.kind]
    parts += list(rec.categories.values_list("name", flat=True))
    for b in rec.bookmarks.all():
        parts += [b.text, b.category_name] + [f"{k} {v}".strip() for k, v in (b.tags or {}).items()]
    for number, title in rec.cases.values_list("number", "title"):
        parts += [number, title]
    return " ".join(p for p in parts if p)


def reindex(recording_id, sources=(METADATA, NOTES, TAGS)) -> None:
    from ..evidence.models import Note, Tag

    rec = Recording.objects.select_related("officer__account", "device").filter(pk=recording_id).first()
    if rec is None or rec.purged_at:  # purged by retention: never findable again
        return
    if METADATA in sources:
        index_text(rec.id, METADATA, metadata_text(rec))
    if NOTES in sources:
        index_text(rec.id, NOTES, "\n".join(Note.objects.filter(recording=rec).values_list("text", flat=True)))
    if TAGS in sources:
        index_text(rec.id, TAGS, " ".join(Tag.objects.filter(recording=rec).values_list("name", flat=True)))


def reindex_all() -> int:
    n = 0
    for rid in Recording.objects.values_list("id", flat=True).iterator():
        reindex(rid)
        n += 1
    return n


# ---------------------------------------------------------------- querying
def _terms(q: str) -> list[str]:
    return re.findall(r"\w+", q.lower())[:20]


def matching_recordings(q: str) -> list[QuerySet]:
    """One sub-select of recording ids per word of ``q``; a recording matches when it is in
    all of them (its words may sit in different documents: notes, tags, transcript).
    Prefixes match ('plat' finds 'Plate'). Index-backed on both databases."""
    terms = _terms(q)
    if not terms:
        raise SearchError("the search text has no words to look for")
    docs = SearchDocument.objects.all()
    if connection.vendor == "sqlite":
        return [docs.filter(id__in=RawSQL("SELECT rowid FROM search_fts WHERE search_fts MATCH %s", [f'"{t}"*']))
                .values("recording_id") for t in terms]
    # PostgreSQL: the GIN index is on exactly this expression (migration 0002).
    return [docs.filter(RawSQL("to_tsvector('simple', text) @@ to_tsquery('simple', %s)", [f"{t}:*"],
                               output_field=BooleanField())).values("recording_id") for t in terms]


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
    sort: str = "newest"
    page: int = 1
    per_page: int = 25
    raw: dict = field(default_factory=dict)


def _date(value: str, name: str, end: bool) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            d = datetime.strptime(value, "%Y-%m-%d").date()
            return datetime.combine(d, time.max if end else time.min, tzinfo=timezone.utc)
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SearchError(f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


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
    if not value.strip().isdigit():
        raise SearchError(f"{name} must be a whole number")
    return max(lo, min(int(value), hi))


def parse_query(params) -> Query:
    """Read and check search parameters (a QueryDict or dict of strings)."""
    g = lambda k: str(params.get(k, "") or "")[:MAX_QUERY]  # noqa: E731
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
               restricted=_bool(g("restricted"), "restricted"), sort=sort,
               page=_int(g("page"), "page", 1, 1, 1_000_000), per_page=_int(g("per_page"), "per_page", 25, 1,
                                                                             MAX_PER_PAGE))
    if qy.q and not _terms(qy.q):
        raise SearchError("the search text has no words to look for")
    if qy.date_from and qy.date_to and qy.date_from > qy.date_to:
        raise SearchError("from must not be after to")
    located = [qy.lat is not None, qy.lon is not None]
    if any(located) and not all(located):
        raise SearchError("a location search needs both lat and lon")
    if all(located) and qy.radius_m is None:
        qy.radius_m = 500.0
    if qy.incident:
        from ..access.services import parse_uuid

        if parse_uuid(qy.incident) is None:
            raise SearchError("incident must be a recording id")
    qy.raw = {k: g(k) for k in ("q", "officer", "device", "from", "to", "category", "case", "incident", "tag", "lat",
                                "lon", "radius", "transcript", "restricted", "sort", "per_page") if g(k)}
    return qy


def _near(lat: float, lon: float, radius_m: float) -> QuerySet:
    """Recordings with a GNSS fix within radius_m: a bounding box (index-friendly) then an
    equirectangular distance, accurate to well under 1 % at these ranges."""
    dlat = radius_m / 111_320.0
    coslat = max(0.01, math.cos(math.radians(lat)))
    dlon = dlat / coslat
    pts = GnssPoint.objects.filter(latitude__range=(lat - dlat, lat + dlat), longitude__range=(lon - dlon, lon + dlon))
    pts = pts.annotate(dy=F("latitude") - lat, dx=(F("longitude") - lon) * coslat)
    pts = pts.annotate(d2=F("dy") * F("dy") + F("dx") * F("dx")).filter(d2__lte=dlat * dlat)
    return pts.values("recording_id")


def apply_filters(qs: QuerySet, qy: Query) -> QuerySet:
    """Narrow a clip queryset (already restricted to what the user may see)."""
    from ..access.models import Restriction

    if qy.q:
        for sub in matching_recordings(qy.q):
            qs = qs.filter(recording_id__in=sub)
    # Recording-level filters as IN (sub-select) on an indexed column: the database can
    # start from the few matching recordings instead of joining every clip.
    recs = Recording.objects.all()
    if qy.officer:
        recs = recs.filter(Q(officer__name__icontains=qy.officer) | Q(officer__account__username=qy.officer)
                           | Q(officer__user_key=qy.officer))
    if qy.device:
        recs = recs.filter(device__serial__iexact=qy.device)
    if qy.officer or qy.device:
        qs = qs.filter(recording_id__in=recs.values("id"))
    # Clips without their own times (some cameras do not send them) count at the recording's trigger time.
    if qy.date_from:
        qs = qs.filter(Q(start_time__gte=qy.date_from)
                       | Q(start_time__isnull=True, recording__trigger_on_time__gte=qy.date_from))
    if qy.date_to:
        qs = qs.filter(Q(start_time__lte=qy.date_to)
                       | Q(start_time__isnull=True, recording__trigger_on_time__lte=qy.date_to))
    if qy.category:
        qs = qs.filter(recording_id__in=Recording.categories.through.objects.filter(
            category__name=qy.category).values("recording_id"))
    if qy.case:
        from ..cases.models import Case

        qs = qs.filter(recording_id__in=Case.recordings.through.objects.filter(
            case__number=qy.case).values("recording_id"))
    if qy.incident:
        from ..access.services import parse_uuid
        from ..evidence.incidents import incident_recording_ids

        if not qs.filter(recording_id=parse_uuid(qy.incident)).exists():
            return qs.none()  # the incident's anchor must itself be visible (no probing)
        qs = qs.filter(recording_id__in=incident_recording_ids(qy.incident))
    if qy.tag:
        from ..evidence.models import Tag

        qs = qs.filter(recording_id__in=Tag.objects.filter(name=qy.tag).values("recording_id"))
    if qy.lat is not None:
        qs = qs.filter(recording_id__in=_near(qy.lat, qy.lon, qy.radius_m))
    if qy.has_transcript is not None:
        sub = SearchDocument.objects.filter(source=TRANSCRIPT).values("recording_id")
        qs = qs.filter(recording_id__in=sub) if qy.has_transcript else qs.exclude(recording_id__in=sub)
    if qy.restricted is not None:
        sub = Restriction.objects.values("recording_id")
        qs = qs.filter(recording_id__in=sub) if qy.restricted else qs.exclude(recording_id__in=sub)
    return qs


COUNT_CAP = 1_000  # beyond this the page says "1000+": counting a million rows costs more than it tells


@dataclass
class Page:
    results: list
    total: int
    page: int
    per_page: int
    capped: bool = False

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def search(user, qy: Query) -> Page:
    """One page of the clips the user may see that match, in the chosen order.

    Short queries, each able to use its index: the page's ids, those rows with their
    officer/device, and a count capped at COUNT_CAP. Custodians see (nearly) everything, so
    their visibility test runs per row while the sort index is walked (stops after a page);
    everyone else sees a bounded set that is collected first and then sorted."""
    from ..access.policy import ALL, evidence_scope
    from ..access.services import visible_clips

    broad = evidence_scope(user) == ALL
    visible = apply_filters(visible_clips(user, in_order=broad), qy)
    start = (qy.page - 1) * qy.per_page
    ids = list(visible.order_by(*SORTS[qy.sort]).values_list("id", flat=True)[start:start + qy.per_page])
    rows = {c.id: c for c in visible_clips(user, in_order=True).filter(id__in=ids)}  # 25 rows: check each
    results = [rows[i] for i in ids if i in rows]
    if qy.page == 1 and len(results) < qy.per_page:
        total = len(results)  # the whole answer is on this page: no count needed
    else:
        total = visible.order_by().values("id")[:COUNT_CAP + 1].count()
    capped = total > COUNT_CAP
    return Page(results=results, total=min(total, COUNT_CAP), page=qy.page, per_page=qy.per_page, capped=capped)
