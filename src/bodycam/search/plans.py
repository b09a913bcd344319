"""SQL plans for the search text, each one the database can stop early: the match expression
in each engine's syntax (SQLite FTS5, PostgreSQL tsquery), rare or common text, the text
condition on SearchEntry, the capped count, and PostgreSQL planner settings around a search.
SQLite and PostgreSQL paths sit side by side in each function (``connection.vendor``)."""

from __future__ import annotations

import contextlib
import time as clock
import unicodedata

from django.db import connection, transaction
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from .query import SearchError, terms

COUNT_CAP = 1_000  # beyond this the page says "1000+": counting a million rows costs more than it tells
# Up to this many raw text matches a search is "rare": its matches are collected first and
# sorted; past it, the page is found by walking the sort index and testing each row's
# words, which stops after a page (at 1 % of the rows matching: after ~2,500 rows).
FEW_MATCHES = 10_000
SAMPLE_ROWS, SAMPLE_COMMON = 2_000, 2  # PostgreSQL: 2 matches among the newest 2,000 (0.1 %) = common
COUNT_BUDGET_S = 0.015  # PostgreSQL, common text: the count walks for at most this long
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
    words = terms(q)
    if not words:
        raise SearchError("the search text has no words to look for")
    if connection.vendor != "sqlite":
        return " & ".join(f"{t}:*" for t in words)
    parts = []
    with connection.cursor() as cur:
        for t in (_fold(t) for t in words):
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
