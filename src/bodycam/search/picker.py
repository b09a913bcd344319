"""The evidence picker: find an item by evidence number, title, officer or date, through the
one access check (``audited_search``: the search page's own path, audited as a search), and
describe it readably. Forms take the picked item's id from the picker's hidden field; a person
never types or pastes one.

Without JavaScript the picker is a text field (``NAME_q``); ``chosen`` then searches for what
was typed: one match is that item, several are offered as choices on the same form
(``Choose``), none is a 400."""

from __future__ import annotations

import re

from django.conf import settings

from ..errors import BadInput, BodycamError
from ..evidence.identity import display_title, start_of
from ..timefmt import isoformat, readable
from .services import SearchError, audited_search

LIMIT = 10
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HINT = "evidence number, title, officer or date (YYYY-MM-DD)"


class Choose(BodycamError):
    """Several items match what was typed: the form is shown again with them to choose from."""

    def __init__(self, name: str, rows: list[dict]):
        super().__init__(f"{len(rows)} items match: choose one")
        self.name, self.rows = name, rows


def row(clip) -> dict:
    """What a person reads about one item in a picker (JSON and the no-script choices)."""
    rec = clip.recording
    officer = rec.officer
    account = officer.account if officer.account_id else None
    at = clip.start_time or start_of(rec)  # the clip's own start: two clips of one recording differ
    name = officer.name or (account.username if account else "") or str(officer.axis_user_id)[:8]
    badge = (getattr(account, "badge", "") if account else "") or officer.user_key
    local = readable(at, settings.AGENCY_TIME_ZONE, "full") if at else ""
    number, title = rec.evidence_number or "", display_title(rec)
    return {"id": str(clip.id), "recording": str(rec.id), "number": number, "title": title, "officer": name,
            "badge": badge, "at": local, "at_utc": isoformat(at, timespec="seconds") if at else None,
            "label": " · ".join(x for x in (number, title, f"{name} #{badge}" if badge else name, local) if x)}


def _params(text: str) -> list[dict]:
    """The searches to try in turn: a day; else the words (number, title, notes, transcript), then an officer."""
    if DAY.match(text):
        return [{"from": text, "to": text, "per_page": str(LIMIT)}]
    return [{"q": text, "per_page": str(LIMIT)}, {"officer": text, "per_page": str(LIMIT)}]


def pick(request, text: str) -> list[dict]:
    """Up to ``LIMIT`` items the user may see that match ``text`` (each search audited)."""
    text = (text or "").strip()[:200]
    if not text:
        return []
    for params in _params(text):
        try:
            _, page = audited_search(request, params)
        except SearchError as exc:
            raise BadInput(str(exc)) from None
        if page.results:
            return [row(c) for c in page.results]
    return []


def chosen(request, data, name: str, multiple: bool = False) -> list[str]:
    """The item ids picked in the form field ``name``: the picker's hidden value(s), else what
    was typed in ``name_q`` looked up (no script). The ids are checked again by the service that
    acts on them; this only turns a typed number or words into an id."""
    ids = [v.strip() for v in data.getlist(name) if v.strip()][:200]  # checked by the service (404 if not visible)
    if ids:
        return ids if multiple else ids[:1]
    typed = data.get(f"{name}_q", "").strip()
    if not typed:
        raise BadInput("choose an item: type its evidence number, title, officer or date")
    rows = pick(request, typed)
    if not rows:
        raise BadInput(f"no item you may see matches {typed!r}")
    if len(rows) > 1:
        raise Choose(name, rows)
    return [rows[0]["id"]]
