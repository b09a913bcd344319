"""A recording's readable identity: its **evidence number** (given once, when the recording is
created, from the agency's pattern) and its **title** (a person's, or a default made from its
category, dispatch incident and local start time).

Evidence numbers: ``settings.EVIDENCE_NUMBER_PATTERN``, default ``{year}-{seq:06}``
(``2026-004211``). Fields: ``{year}`` ``{yy}`` ``{month}`` (of the recording's start in the
agency's zone) and ``{seq}`` (required, once; a format spec such as ``:06`` pads it). Each
value of the other fields has its own sequence (a new one each year with ``{year}``), kept in
``EvidenceSequence`` and advanced by one UPDATE in the creating transaction: two recordings
created at once get different numbers on both engines (the row lock / SQLite's single
writer), and a number is never given twice — a rolled-back creation rolls its number back
with it, so it was never given.
"""

from __future__ import annotations

import re
import string
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from ..errors import BodycamError
from ..timefmt import local, readable

FIELDS = ("year", "yy", "month", "seq")
TITLE_MAX = 200
SEPARATOR = " · "


class PatternError(BodycamError, ValueError):
    """A bad BODYCAM_EVIDENCE_NUMBER pattern."""


def parse_pattern(pattern: str) -> list[tuple[str, str | None, str]]:
    """The pattern as (literal text, field or None, format spec); PatternError if it is not one."""
    try:
        parts = [(lit, name, spec or "") for lit, name, spec, conv in string.Formatter().parse(pattern)
                 if not conv]
    except ValueError as exc:
        raise PatternError(f"evidence number pattern {pattern!r}: {exc}") from None
    names = [n for _, n, _ in parts if n is not None]
    unknown = sorted(set(names) - set(FIELDS))
    if unknown or names.count("seq") != 1:
        raise PatternError(f"evidence number pattern {pattern!r}: use {{seq}} once and only "
                           f"{', '.join('{' + f + '}' for f in FIELDS)}")
    if not re.fullmatch(r"(0?[1-9]\d?)?", next(s for _, n, s in parts if n == "seq")):
        raise PatternError(f"evidence number pattern {pattern!r}: {{seq}} takes a width, such as {{seq:06}}")
    return parts


def _values(at: datetime) -> dict:
    t = local(at, settings.AGENCY_TIME_ZONE)
    return {"year": str(t.year), "yy": f"{t.year % 100:02d}", "month": f"{t.month:02d}"}


def format_number(pattern: str, at: datetime, seq: int) -> str:
    values = _values(at)
    return "".join(lit + ("" if name is None else format(seq, spec) if name == "seq" else values[name])
                   for lit, name, spec in parse_pattern(pattern))


def sequence_key(pattern: str, at: datetime) -> str:
    """Which sequence a number comes from: the pattern with every field but {seq} filled in."""
    values = _values(at)
    return "".join(lit + ("" if name is None else "{seq}" if name == "seq" else values[name])
                   for lit, name, _ in parse_pattern(pattern))[:100]


def next_evidence_number(at: datetime, pattern: str | None = None) -> str:
    """Take the next number of ``at``'s sequence. Call inside the transaction that stores it."""
    from .models import EvidenceSequence

    pattern = pattern or settings.EVIDENCE_NUMBER_PATTERN
    key = sequence_key(pattern, at)
    with transaction.atomic():
        if not EvidenceSequence.objects.filter(key=key).update(last=F("last") + 1):
            try:
                with transaction.atomic():
                    EvidenceSequence.objects.create(key=key, last=1)
            except IntegrityError:  # another creation started this sequence first: it is committed now
                EvidenceSequence.objects.filter(key=key).update(last=F("last") + 1)
        seq = EvidenceSequence.objects.get(key=key).last
    return format_number(pattern, at, seq)


# ---------------------------------------------------------------- titles
# Dispatch incidents live above this app (retention/): it registers a function
# ``fn(recording_ids) -> {recording_id: {"number", "call_type", "location"}}``.
_INCIDENT_SOURCES: list = []


def register_incident_source(fn) -> None:
    if fn not in _INCIDENT_SOURCES:
        _INCIDENT_SOURCES.append(fn)


def incidents_of(recording_ids) -> dict:
    out: dict = {}
    ids = list(recording_ids)
    for fn in _INCIDENT_SOURCES:
        for rid, inc in fn(ids).items():
            out.setdefault(rid, inc)
    return out


# And the other way: ``fn(number, place) -> sub-select of recording ids`` linked to an incident
# whose number is ``number`` (exactly, any case) and/or whose location contains ``place``.
_INCIDENT_FINDERS: list = []


def register_incident_finder(fn) -> None:
    if fn not in _INCIDENT_FINDERS:
        _INCIDENT_FINDERS.append(fn)


def recordings_of_incident(number: str = "", place: str = "") -> list:
    """Sub-selects of the ids of the recordings linked to such incidents (none registered: [])."""
    return [fn(number, place) for fn in _INCIDENT_FINDERS]


def is_still(rec) -> bool:
    """A still photo: the camera sends it as a recording of its own, ``TriggerOn: Still``,
    holding one single-frame clip (docs/device.md)."""
    return rec.trigger_on == "Still"


def start_of(rec) -> datetime:
    return rec.start_time or rec.trigger_on_time


def default_title(rec, categories: list[str] | None = None, incident: dict | None = None) -> str:
    """"Traffic stop · Main St · Sat 5 Dec 07:23": what (its first category other than
    Uncategorized, else the dispatch incident's call type, else Photo / Recording), where (the
    incident's location, else its number) and when (local start, minutes)."""
    from .services import UNCATEGORIZED

    if categories is None:
        categories = sorted(rec.categories.values_list("name", flat=True))
    if incident is None:
        incident = incidents_of([rec.id]).get(rec.id)
    named = [c for c in categories if c != UNCATEGORIZED]
    what = named[0] if named else (incident or {}).get("call_type") or ("Photo" if is_still(rec) else "Recording")
    where = ""
    if incident:
        where = incident.get("location") or f"CAD {incident.get('number', '')}".strip()
    when = readable(start_of(rec), settings.AGENCY_TIME_ZONE, "short")
    return SEPARATOR.join(p for p in (what, where, when) if p)[:TITLE_MAX]


def display_title(rec, categories: list[str] | None = None, incident: dict | None = None) -> str:
    return rec.title or default_title(rec, categories, incident)


def clean_title(value) -> str:
    """A title a person typed: 0-200 printable characters ("" = back to the default)."""
    if not isinstance(value, str):
        raise ValueError("title must be text")
    value = " ".join(value.split())
    if len(value) > TITLE_MAX:
        raise ValueError(f"title must be at most {TITLE_MAX} characters")
    if not value.isprintable():
        raise ValueError("title must be printable text")
    return value


# ---------------------------------------------------------------- a page of recordings, readable
def labels(recordings) -> dict:
    """{recording id: {number, title, officer, badge, device, device_name, categories, still,
    started}}: what a page shows of each of ``recordings`` (already access-checked by the
    caller; nothing here decides who sees what). A few queries, never one per recording.
    ``web.readable.facts`` adds the role-dependent columns (cases, flags)."""
    from .models import Recording

    recs = {r.id: r for r in recordings}
    if not recs:
        return {}
    cats: dict = {rid: [] for rid in recs}
    for rid, name in (Recording.categories.through.objects.filter(recording_id__in=list(recs))
                      .values_list("recording_id", "category__name")):
        cats[rid].append(name)
    incidents = incidents_of(list(recs))
    joined = Recording.objects.select_related("officer__account", "device").in_bulk(list(recs))
    out = {}
    for rid, rec in recs.items():
        names = sorted(cats[rid])
        rec = joined.get(rid, rec)
        officer = rec.officer
        account = officer.account if officer.account_id else None
        device = rec.device
        out[rid] = {
            "number": rec.evidence_number or "",
            "title": display_title(rec, names, incidents.get(rid)),
            "officer": officer.name or (account.username if account else "") or str(officer.axis_user_id)[:8],
            "badge": (getattr(account, "badge", "") if account else "") or officer.user_key,
            "device": device.serial,
            "device_name": device.name if device.name not in ("", device.serial, f"Camera {device.serial}") else "",
            "categories": names,
            "still": is_still(rec),
            "started": start_of(rec),
        }
    return out


def lengths(recording_ids) -> dict:
    """{recording id: {"seconds": its clips' lengths added, "clips": how many}} in one query
    (a row is a recording: its length is all of its clips')."""
    from django.db.models import Count, Sum

    from .models import Clip

    out = {rid: {"seconds": 0.0, "clips": 0} for rid in recording_ids}
    for row in (Clip.objects.filter(recording_id__in=list(out)).order_by().values("recording_id")
                .annotate(seconds=Sum("duration_s"), clips=Count("id"))):
        out[row["recording_id"]] = {"seconds": row["seconds"] or 0.0, "clips": row["clips"]}
    return out


def recording_rows(clips, describe=labels) -> list[dict]:
    """One row per recording of ``clips`` (already access-checked, in the order to show):
    {"id": its first clip's id (the recording's page), "recording": its id, "f": ``describe``
    (``labels``, or ``web.readable.facts`` for a signed-in user), "length": ``lengths``,
    "clips": its clips among ``clips``, in order}."""
    first: dict = {}
    parts: dict = {}
    for c in clips:
        first.setdefault(c.recording_id, c)
        parts.setdefault(c.recording_id, []).append(c)
    about = describe([c.recording for c in first.values()])
    size = lengths(list(first))
    return [{"id": str(c.id), "recording": str(rid), "f": about[rid], "length": size[rid], "clips": parts[rid]}
            for rid, c in first.items()]
