"""Search over evidence: filters, full text, sorting and pages, on top of the one access
check (``visible_clips``): a search can only ever narrow what the user may see.

The app's interface. ``audited_search`` is the one path of the search page and
``/api/search``; ``search`` one page for a user. The parts: ``query`` (parameters),
``index`` (documents and entries, kept in step with the catalogue; other packages add their
text with ``index_text``), ``filters`` (the access check and the filters), ``plans`` (the
text's SQL on SQLite and PostgreSQL).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db import connection

from ..access.services import audit_denied, reach
from ..custody.services import record_request
from ..evidence.models import Clip, Recording
from . import plans
from .filters import apply_filters, first_clips, recording_length, visible_entries
from .index import METADATA, NOTES, TAGS, TRANSCRIPT, forget, index_text, reindex, reindex_all
from .query import MAX_PER_PAGE, SORTS, Query, SearchError, parse_query

__all__ = ["METADATA", "NOTES", "TAGS", "TRANSCRIPT", "MAX_PER_PAGE", "SORTS", "Page", "Query", "SearchError",
           "audited_search", "forget", "index_text", "parse_query", "reindex", "reindex_all", "search"]


def audited_search(request, params, *, recordings: bool = False) -> tuple[Query, Page]:
    """Read the parameters, search as the request's user and write one audit entry:
    ``evidence.search`` with the query, the page and the clips shown; or, for a bad parameter,
    a denied one (400 and the reason) and the ``SearchError`` raised again for the caller to show.
    ``recordings``: one result per recording (its first clip), as ``search``."""
    try:
        qy = parse_query(params)
        page = search(request.user, qy, recordings=recordings)
    except SearchError as exc:
        audit_denied(request, "evidence.search", str(exc), status=400)
        raise
    record_request(request, "evidence.search", detail={"query": qy.raw, "page": page.page, "total": page.total,
                                                       "shown": [str(c.id) for c in page.results],
                                                       **({"per": "recording"} if recordings else {})})
    return qy, page


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


def search(user, qy: Query, *, recordings: bool = False) -> Page:
    """One page of the clips the user may see that match, in the chosen order.
    ``recordings``: one result per recording, its first clip (``filters.first_clips``; the
    search page lists recordings), counted as recordings; "longest" is then the recording's length.

    Each query one plan the database can stop early: the page's clip ids (the access check,
    filters, text and sort, on SearchEntry's indexes) and a count that stops at COUNT_CAP + 1
    (PostgreSQL, common text: both from one walk); then the page's clips by id. Those ids come
    only out of ``visible_entries`` (the one access check), so nothing outside it can be shown."""
    r = reach(user)  # once: where the search starts and the access check inside it
    entries = apply_filters(visible_entries(user, r), qy, user)
    order = SORTS[qy.sort]
    if recordings:
        entries = first_clips(entries)
        if qy.sort == "longest":
            entries = entries.annotate(recording_length=recording_length())
            order = ("-recording_length", *order[1:])
    text = qy.q
    numbered = Recording.objects.filter(evidence_number=text).values_list("id", flat=True)[:1] if text else []
    if numbered:  # an evidence number, exactly: that recording (unique index), not a text search
        entries, text = entries.filter(recording_id=numbered[0]), ""
    counted, common, partial, total = entries, False, False, None
    start = (qy.page - 1) * qy.per_page
    postgres = connection.vendor != "sqlite"
    if text:
        expr = plans.match_expression(text)
        few, fraction = plans.few_matches(expr)
        common = few is None
        in_set = common and not postgres and plans.sqlite_walk_in_set(fraction, start + qy.per_page)
        entries = entries.filter(plans.text_match(expr, few, in_set=in_set))
        # Only the text narrows, for a user who sees nearly everything: count from the matches.
        from_matches = bool(getattr(r, "everything", False)) and set(qy.raw) <= {"q", "sort", "per_page"}
        counted = plans.counted_text(counted, expr, few, from_matches=from_matches)
    # One set of planner settings for every query of the page (each change is a round trip).
    with plans.planned(walk=common):
        page = entries.order_by(*order)
        if common and postgres:
            ids, total, partial = plans.walk_page(page, start, qy.per_page, plans.COUNT_BUDGET_S)
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
            if recordings and not text:  # one per recording: walk a sort index here too (the NOT
                order = SORTS["newest" if qy.sort == "longest" else qy.sort]  # EXISTS defeats a covering one)
            total = counted.order_by(*order).values("id")[:plans.COUNT_CAP + 1].count()
    capped = total > plans.COUNT_CAP or partial
    return Page(results=results, total=min(total, plans.COUNT_CAP), page=qy.page, per_page=qy.per_page, capped=capped)
