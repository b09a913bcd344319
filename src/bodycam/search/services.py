"""Search over evidence: filters, full text, sorting and pages, on top of the one access
check (``visible_clips``): a search can only ever narrow what the user may see.

Full text: each recording has documents by *source*; ``index_text`` replaces one. Sources
made here: ``metadata`` (container, officer, device, trigger, categories, bookmarks, cases),
``notes``, ``tags``. Other packages add theirs (e.g. ``transcript``) with ``index_text`` and
``has_source`` filters work for any of them.
"""

from __future__ import annotations

import contextlib
import functools
import math
import operator
import re
import time as clock
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from ..errors import BodycamError
from ..evidence.defaults import UNCATEGORIZED
from ..evidence.models import Category, Clip, Device, GnssPoint, Officer, Recording
from ..evidence.services import TAG_MAX
from ..numbers import whole_number
from ..timefmt import day_bounds, parse_utc, zone
from .models import SearchDocument, SearchEntry

METADATA, NOTES, TAGS, TRANSCRIPT = "metadata", "notes", "tags", "transcript"
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


# ---------------------------------------------------------------- indexing
SOURCE_ORDER = (METADATA, NOTES, TAGS, TRANSCRIPT)  # others follow, by name


def index_text(recording_id, source: str, text: str) -> None:
    """Set the ``source`` document of a recording (empty text removes it), then bring the
    recording's search entries up to date."""
    _set_document(recording_id, source, text)
    refresh_entries(recording_id)


def _set_document(recording_id, source: str, text: str) -> None:
    text = (text or "").strip()
    if not text:
        SearchDocument.objects.filter(recording_id=recording_id, source=source).delete()
        return
    updated = SearchDocument.objects.filter(recording_id=recording_id, source=source).update(text=text)
    if not updated:
        SearchDocument.objects.create(recording_id=recording_id, source=source, text=text)


def joined_text(recording_id) -> str:
    docs = dict(SearchDocument.objects.filter(recording_id=recording_id).values_list("source", "text"))
    order = [s for s in SOURCE_ORDER if s in docs] + sorted(set(docs) - set(SOURCE_ORDER))
    return "\n".join(docs[s] for s in order)


def refresh_entries(recording_id) -> None:
    """Make the recording's SearchEntry rows (one per clip) match the catalogue: sort keys
    from the clip, recording, officer and device; text from its documents. Rows that are
    already right are not written (each write also rewrites the full-text index)."""
    rec = Recording.objects.select_related("officer", "device").filter(pk=recording_id).first()
    if rec is None:
        return
    if rec.purged_at:  # purged by retention: never findable again
        SearchEntry.objects.filter(recording_id=recording_id).delete()
        return
    text = joined_text(rec.id)
    have = {e.clip_id: e for e in SearchEntry.objects.filter(recording_id=rec.id)}
    for clip in Clip.objects.filter(recording_id=rec.id).only("id", "object_name", "start_time", "duration_s"):
        want = {"recording_id": rec.id, "officer_id": rec.officer_id, "device_id": rec.device_id,
                "sort_time": clip.start_time or rec.trigger_on_time, "object_name": clip.object_name,
                "duration_s": clip.duration_s, "officer_name": rec.officer.name[:100],
                "device_serial": rec.device.serial, "text": text}
        entry = have.pop(clip.id, None)
        if entry is None:
            SearchEntry.objects.create(clip_id=clip.id, **want)
            continue
        changed = [k for k, v in want.items() if getattr(entry, k) != v]
        if changed:
            SearchEntry.objects.filter(pk=entry.pk).update(**{k: want[k] for k in changed})
    if have:  # clips gone (never in practice: clips are protected)
        SearchEntry.objects.filter(pk__in=[e.pk for e in have.values()]).delete()


def forget(recording_id) -> None:
    """Retention purged the recording: remove every trace of its text from search."""
    SearchDocument.objects.filter(recording_id=recording_id).delete()
    SearchEntry.objects.filter(recording_id=recording_id).delete()


def metadata_text(rec: Recording) -> str:
    from ..evidence.identity import display_title, incidents_of

    # The evidence number also as its bare sequence ("2026-004211" is found by "4211" too), the
    # title (a person's or the default) and the dispatch incident it is linked to.
    number = rec.evidence_number or ""
    incident = incidents_of([rec.id]).get(rec.id)
    # (its words apart too: PostgreSQL's parser reads "2026-004211" as "2026" and "-004211")
    parts = [number, " ".join(_terms(number)), " ".join(w.lstrip("0") for w in re.findall(r"\d+", number)
                                                          if w.lstrip("0")),
             display_title(rec, incident=incident), *(incident or {}).values(),
             rec.container_name, rec.trigger_on, rec.trigger_off, rec.bwc_model]
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
        _set_document(rec.id, METADATA, metadata_text(rec))
    if NOTES in sources:
        _set_document(rec.id, NOTES, "\n".join(Note.objects.filter(recording=rec).values_list("text", flat=True)))
    if TAGS in sources:
        _set_document(rec.id, TAGS, " ".join(Tag.objects.filter(recording=rec).values_list("name", flat=True)))
    refresh_entries(rec.id)


def reindex_all() -> int:
    n = 0
    for rid in Recording.objects.values_list("id", flat=True).iterator():
        reindex(rid)
        n += 1
    return n


# ---------------------------------------------------------------- querying
def _terms(q: str) -> list[str]:
    return re.findall(r"[^\W_]+", q.lower())[:20]  # letters and digits: the tokenizers' words


# Up to this many raw text matches a search is "rare": its matches are collected first and
# sorted; past it, the page is found by walking the sort index and testing each row's
# words, which stops after a page (at 1 % of the rows matching: after ~2,500 rows).
FEW_MATCHES = 10_000
SAMPLE_ROWS, SAMPLE_COMMON = 2_000, 2  # PostgreSQL: 2 matches among the newest 2,000 (0.1 %) = common
COUNT_BUDGET_S = 0.015  # PostgreSQL, common text: the count walks for at most this long
# The same for a category's or a tag's recordings.
COMMON_MATCHES = 2_000
ENTRY = '"search_searchentry"."id"'


MAX_EXPANSION = 64  # a longer prefix matching more words than this is matched as a prefix


def match_expression(q: str) -> str:
    """Every word of ``q`` as a prefix ('plat' finds 'Plate'), in the database's own syntax.
    Words are letter/digit runs only, so user text can never inject query operators.

    SQLite: FTS5 merges every doclist of a prefix into memory before it can answer (seconds
    for a common word at 1M clips), so prefixes are turned into words it streams: 2-3
    letters use the prefix indexes; a longer one becomes ``("word" OR "words" ...)``, its
    longer forms looked up in the vocabulary (the word itself is not: counting its
    documents there would read its whole doclist). One letter matches that word alone."""
    terms = _terms(q)
    if not terms:
        raise SearchError("the search text has no words to look for")
    if connection.vendor != "sqlite":
        return " & ".join(f"{t}:*" for t in terms)
    parts = []
    with connection.cursor() as cur:
        for t in (_fold(t) for t in terms):
            if len(t) == 1:
                parts.append(f'"{t}"')
            elif len(t) <= 3:
                parts.append(f'"{t}"*')
            else:
                cur.execute("SELECT term FROM search_entry_vocab WHERE term > %s AND term < %s LIMIT %s",
                            [t, t + "\uffff", MAX_EXPANSION])
                longer = [r[0] for r in cur.fetchall()]
                if len(longer) >= MAX_EXPANSION:
                    parts.append(f'"{t}"*')
                else:
                    parts.append("(" + " OR ".join(f'"{w}"' for w in [t, *longer]) + ")")
    return " AND ".join(parts)


def _fold(word: str) -> str:
    """The FTS5 tokenizer's view of a word (unicode61 remove_diacritics 2): lower case, no accents."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(ch))


def few_matches(expr: str) -> tuple[list | None, float]:
    """(the ids of the entries whose text matches when there are at most FEW_MATCHES, else
    None: a common search; the fraction of entries matching, estimated).

    SQLite: FTS5 gives matches in rowid order, so the FEW_MATCHES-th match's rowid tells
    what fraction of the entries match. (The rare plan asks FTS5 again as a sub-select: no
    ids are returned.) PostgreSQL first tests the newest SAMPLE_ROWS entries: a common word
    shows up there (and asking the GIN index for all its matches would take seconds at 10M
    clips: a bitmap of millions); only otherwise is the GIN index asked, and only the index
    (the planner's guess of a prefix's frequency is a constant, wrong both ways)."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute("SELECT count(*), max(rowid) FROM (SELECT rowid FROM search_entry_fts "
                        "WHERE search_entry_fts MATCH %s LIMIT %s)", [expr, FEW_MATCHES + 1])
            found, last = cur.fetchone()
        if found <= FEW_MATCHES:
            return [], 0.0
        return None, found / max(1, last or 1)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM (SELECT tsv FROM search_searchentry ORDER BY sort_time DESC LIMIT %s) s "
                    "WHERE tsv @@ to_tsquery('simple', %s)", [SAMPLE_ROWS, expr])
        sampled = cur.fetchone()[0]
    if sampled >= SAMPLE_COMMON:
        return None, sampled / SAMPLE_ROWS
    with pg_settings(enable_seqscan="off", enable_indexscan="off"), connection.cursor() as cur:
        cur.execute("SELECT id FROM search_searchentry WHERE tsv @@ to_tsquery('simple', %s) LIMIT %s",
                    [expr, FEW_MATCHES + 1])
        ids = [r[0] for r in cur.fetchall()]
    return (ids if len(ids) <= FEW_MATCHES else None), 0.0


WALK_CHUNK = 250  # rows per fetch of a walk: the time budget is checked before each fetch


def walk_page(qs: QuerySet, start: int, per_page: int, budget_s: float) -> tuple[list, int, bool]:
    """PostgreSQL, common text: one walk of the sort index (a server-side cursor) gives both
    the page (rows ``start`` to ``start + per_page``) and the capped count, instead of a walk
    for each. Once the page is full the count fetches more rows for at most ``budget_s`` (a
    common word that is rare among the user's footage would otherwise walk millions of rows):
    (the page's clip ids, rows seen, whether it stopped for time)."""
    n, ids, page_full_at = 0, [], None
    end = start + per_page
    for clip_id in qs.values_list("clip_id", flat=True)[:max(COUNT_CAP + 1, end)].iterator(chunk_size=WALK_CHUNK):
        if start <= n < end:
            ids.append(clip_id)
        n += 1
        if n == end:
            page_full_at = clock.monotonic()
        if n > COUNT_CAP and n >= end:
            return ids, n, False
        # Rows already fetched cost nothing; only ask for the next chunk within the budget.
        if page_full_at is not None and n % WALK_CHUNK == 0 and clock.monotonic() - page_full_at > budget_s:
            return ids, n, True
    return ids, n, False


def text_match(expr: str, few: list | None, *, in_set: bool = False):
    """A condition on SearchEntry: its recording's text holds every word of the match
    expression (the words may come from different documents: notes, tags, transcript).
    Rare (``few`` ids): those rows, by primary key. Common: each row's words tested as the
    sort index is walked — PostgreSQL: the tsvector column; SQLite: FTS5 asked by rowid, or
    (``in_set``) the matches collected once and looked up, which is cheaper when a page needs
    many rows walked (a later page, a rarer word)."""
    sqlite = connection.vendor == "sqlite"
    if few is not None and not sqlite:
        return RawSQL(f"{ENTRY} = ANY(%s)", [few], output_field=BooleanField())
    if not sqlite:
        return RawSQL("\"search_searchentry\".\"tsv\" @@ to_tsquery('simple', %s)", [expr],
                      output_field=BooleanField())
    if few is not None:
        return RawSQL(f"{ENTRY} IN (SELECT rowid FROM search_entry_fts WHERE search_entry_fts MATCH %s)",
                      [expr], output_field=BooleanField())
    if in_set:  # unary +: the set is not used to drive the query, the sort index is
        return RawSQL(f"+{ENTRY} IN (SELECT rowid FROM search_entry_fts WHERE search_entry_fts MATCH %s)",
                      [expr], output_field=BooleanField())
    return RawSQL(f"EXISTS (SELECT 1 FROM search_entry_fts WHERE search_entry_fts MATCH %s "
                  f"AND search_entry_fts.rowid = {ENTRY})", [expr], output_field=BooleanField())


def counted_text(entries: QuerySet, expr: str, few: list | None, *, from_matches: bool) -> QuerySet:
    """The text condition for the capped count. SQLite, common word, only the text narrowing
    what the user sees: FTS5 as the driving table, joined to the entries by rowid, so the count
    streams and stops at the cap; otherwise the user's (filtered) rows, each looked up in the
    matches collected once.
    PostgreSQL, common text: counted by the page's own walk of the sort index (``walk_page``)."""
    if few is not None or connection.vendor != "sqlite":
        return entries.filter(text_match(expr, few))
    if not from_matches:
        return entries.filter(text_match(expr, few, in_set=True))
    return entries.extra(tables=["search_entry_fts"], where=[f"search_entry_fts.rowid = {ENTRY}",
                                                             "search_entry_fts MATCH %s"], params=[expr])


def sqlite_walk_in_set(fraction: float, rows_needed: int) -> bool:
    """SQLite, common word: is collecting the matches once cheaper than asking FTS5 row by
    row while walking? About 0.7 µs per match to collect, 50 µs per row asked, and
    rows_needed / fraction rows to walk."""
    with connection.cursor() as cur:
        cur.execute("SELECT max(id) FROM search_searchentry")
        n = max(1, cur.fetchone()[0] or 1)
    fraction = max(fraction, 1 / n)
    return fraction * n * 0.7 < rows_needed / fraction * 50


@contextlib.contextmanager
def pg_settings(**values):
    """PostgreSQL planner settings for the queries inside, put back afterwards — also inside
    a caller's transaction, where SET LOCAL would last until its end. No-op on SQLite."""
    if connection.vendor == "sqlite":
        yield
        return
    names = list(values)
    # One statement to set them all and one to put them back (a round trip each, not one per
    # setting); a SELECT list is evaluated left to right, so each current_setting reads the
    # value before its set_config.
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT " + ", ".join(["current_setting(%s), set_config(%s, %s, true)"] * len(names)),
                    [x for name in names for x in (name, name, values[name])])
        before = cur.fetchone()[0::2]
        yield
        cur.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(names)),
                    [x for name, value in zip(names, before) for x in (name, value)])


def planned(*, walk: bool = False):
    """PostgreSQL, around a search's queries: no parallel workers and no JIT (starting the
    one or compiling the other costs more than a page takes), and for a common text search,
    ``walk`` the sort index testing each row's words instead of building a GIN bitmap of
    every match."""
    values = {"max_parallel_workers_per_gather": "0", "jit": "off"}
    if walk:
        values["enable_bitmapscan"] = "off"
    return pg_settings(**values)


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


def _member_of(rows: QuerySet):
    """A condition on SearchEntry: its recording is among ``rows`` (a category's or a tag's
    rows, with a recording_id). A large set is tested per row while the sort index is walked
    (stops after a page); a small one is collected first."""
    if rows.order_by()[COMMON_MATCHES - 1:COMMON_MATCHES].exists():
        return Exists(rows.filter(recording_id=OuterRef("recording_id")))
    return Q(recording_id__in=rows.values("recording_id"))


def apply_filters(entries: QuerySet, qy: Query) -> QuerySet:
    """Narrow a SearchEntry queryset (already restricted to what the user may see) by every
    parameter but the text (``text_match``)."""
    from ..access.models import Restriction

    # Officers and devices as values (a small lookup first), not sub-selects: the planner then
    # walks the officer + date or device + date index and stops after a page.
    if qy.officer:
        entries = entries.filter(officer_id__in=list(Officer.objects.filter(
            Q(name__icontains=qy.officer) | Q(account__username=qy.officer) | Q(user_key=qy.officer))
            .values_list("id", flat=True)))
    if qy.device:
        entries = entries.filter(device_id__in=list(Device.objects.filter(serial__iexact=qy.device)
                                                    .values_list("id", flat=True)))
    if qy.date_from:
        entries = entries.filter(sort_time__gte=qy.date_from)
    if qy.date_to:
        entries = entries.filter(sort_time__lte=qy.date_to)
    if qy.category == UNCATEGORIZED:
        # Retention's meaning: no category (or only "Uncategorized" itself). Tested per row
        # (an anti-join on the categories' (recording, category) index) as the sort index is walked.
        named = Recording.categories.through.objects.exclude(
            category_id__in=list(Category.objects.filter(name=UNCATEGORIZED).values_list("id", flat=True)))
        entries = entries.filter(~Exists(named.filter(recording_id=OuterRef("recording_id"))))
    elif qy.category:
        category = Category.objects.filter(name=qy.category).values_list("id", flat=True)[:1]
        entries = entries.filter(_member_of(Recording.categories.through.objects.filter(category_id__in=list(category))))
    if qy.case:
        from ..cases.models import Case

        entries = entries.filter(recording_id__in=Case.recordings.through.objects.filter(
            case__number=qy.case).values("recording_id"))
    if qy.incident:
        from ..access.services import parse_uuid
        from ..evidence.incidents import incident_recording_ids

        if not entries.filter(recording_id=parse_uuid(qy.incident)).exists():
            return entries.none()  # the incident's anchor must itself be visible (no probing)
        entries = entries.filter(recording_id__in=incident_recording_ids(qy.incident))
    if qy.tag:
        from ..evidence.models import Tag

        # One tag concept: a person's tags and a camera bookmark's ("Plate:ABC123") are Tag rows.
        entries = entries.filter(_member_of(Tag.objects.filter(name=qy.tag[:TAG_MAX])))
    if qy.lat is not None:
        entries = entries.filter(recording_id__in=_near(qy.lat, qy.lon, qy.radius_m))
    if qy.has_transcript is not None:
        sub = SearchDocument.objects.filter(source=TRANSCRIPT).values("recording_id")
        entries = entries.filter(recording_id__in=sub) if qy.has_transcript else entries.exclude(recording_id__in=sub)
    if qy.restricted is not None:
        sub = Restriction.objects.values("recording_id")
        entries = entries.filter(recording_id__in=sub) if qy.restricted else entries.exclude(recording_id__in=sub)
    return entries


def visible_entries(user) -> QuerySet:
    """The search entries of what the user may see: the one access check
    (``visible_recording_ids``, the rule inside ``visible_clips``) tested per row, so a search
    can only narrow it. Users whose reach is bounded (own footage, a squad, cases, shares)
    first narrow by that reach on SearchEntry's own indexes (officer + date, recording +
    date): a superset of what they may see, so it changes no answer, only the plan."""
    from ..access.services import reach, visible_recording_ids

    r = reach(user)
    if r is None:
        return SearchEntry.objects.none()
    entries = SearchEntry.objects.all()
    if not r.everything:
        # As few IN (sub-select) as there are kinds in use: an OR of two sub-selects defeats the
        # officer + date index on PostgreSQL, and most users have no grants or named items.
        sets = [sub for sub in r.recordings if sub.exists()]  # small tables: grants, cases, shares
        # The officers as values, not a sub-select: one officer is then an equality the planner
        # can walk the officer + date index backwards with, stopping after a page.
        officers = [row["id"] for row in r.officers] if r.officers is not None else []
        start = [Q(officer_id__in=officers)] if officers else []
        start += [Q(recording_id__in=sub) for sub in sets]
        if not start:
            return SearchEntry.objects.none()
        entries = entries.filter(functools.reduce(operator.or_, start))
    return entries.filter(Exists(visible_recording_ids(user).filter(pk=OuterRef("recording_id"))))


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

    Each query one plan the database can stop early: the page's clip ids (the access check,
    filters, text and sort, on SearchEntry's indexes) and a count that stops at COUNT_CAP + 1
    (PostgreSQL, common text: both from one walk); then the page's clips by id. Those ids come
    only out of ``visible_entries`` (the one access check), so nothing outside it can be shown."""
    from ..access.services import reach

    entries = apply_filters(visible_entries(user), qy)
    text = qy.q
    numbered = Recording.objects.filter(evidence_number=text).values_list("id", flat=True)[:1] if text else []
    if numbered:  # an evidence number, exactly: that recording (unique index), not a text search
        entries, text = entries.filter(recording_id=numbered[0]), ""
    counted, common, partial, total = entries, False, False, None
    start = (qy.page - 1) * qy.per_page
    postgres = connection.vendor != "sqlite"
    if text:
        expr = match_expression(text)
        few, fraction = few_matches(expr)
        common = few is None
        in_set = common and not postgres and sqlite_walk_in_set(fraction, start + qy.per_page)
        entries = entries.filter(text_match(expr, few, in_set=in_set))
        # Only the text narrows, for a user who sees nearly everything: count from the matches.
        from_matches = bool(getattr(reach(user), "everything", False)) and set(qy.raw) <= {"q", "sort", "per_page"}
        counted = counted_text(counted, expr, few, from_matches=from_matches)
    # One set of planner settings for every query of the page (each change is a round trip).
    with planned(walk=common):
        page = entries.order_by(*SORTS[qy.sort])
        if common and postgres:
            ids, total, partial = walk_page(page, start, qy.per_page, COUNT_BUDGET_S)
        else:
            ids = list(page.values_list("clip_id", flat=True)[start:start + qy.per_page])
        rows = Clip.objects.select_related("recording__officer__account", "recording__device").in_bulk(ids)
        results = [rows[i] for i in ids if i in rows]
        if total is None and qy.page == 1 and len(results) < qy.per_page:
            total = len(results)  # the whole answer is on this page: no count needed
        elif total is None:  # (a common-word walk on PostgreSQL has counted already)
            # No text (PostgreSQL): in the page's order, the same index walk as the page, stopping
            # at the cap. Text, or SQLite: in no order, from the matches (a sort would read them all).
            order = SORTS[qy.sort] if postgres and not text else ()
            total = counted.order_by(*order).values("id")[:COUNT_CAP + 1].count()
    capped = total > COUNT_CAP or partial
    return Page(results=results, total=min(total, COUNT_CAP), page=qy.page, per_page=qy.per_page, capped=capped)
