"""Where a search starts and how it narrows: the search entries of what the user may see
(the one access check, from the user's reach), then every filter but the text (officer,
device, dates, category, case, incident, tag, place, transcript, restriction, own title,
bookmarks, shares made) as conditions the database can test while it walks a sort index."""

from __future__ import annotations

import functools
import math
import operator

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Sum

from ..access.models import Restriction
from ..access.services import Reach, reached_recording_ids
from ..cases.models import Case
from ..evidence.defaults import UNCATEGORIZED
from ..evidence.incidents import incident_recording_ids
from ..evidence.models import Bookmark, Category, Device, GnssPoint, Officer, Recording, Tag
from ..evidence.services import TAG_MAX
from ..numbers import parse_uuid
from .index import TRANSCRIPT
from .models import SearchDocument, SearchEntry
from .query import Query

# "shared=mine": fn(user) -> sub-select of the recording ids the user's live shares reach.
# Shares belong to release (above search), which registers it in ReleaseConfig.ready(); with
# none registered the filter matches nothing (deny by default).
SHARED_BY = []


def register_shared_by(fn) -> None:
    SHARED_BY[:] = [fn]


COMMON_MATCHES = 2_000  # a category's or a tag's recordings past this many: tested per row (``_member_of``)


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


def apply_filters(entries: QuerySet, qy: Query, user=None) -> QuerySet:
    """Narrow a SearchEntry queryset (already restricted to what the user may see) by every
    parameter but the text (``text_match``); ``user``: the searching user (``shared=mine``)."""
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
        entries = entries.filter(recording_id__in=Case.recordings.through.objects.filter(
            case__number=qy.case).values("recording_id"))
    if qy.incident:
        if not entries.filter(recording_id=parse_uuid(qy.incident)).exists():
            return entries.none()  # the incident's anchor must itself be visible (no probing)
        entries = entries.filter(recording_id__in=incident_recording_ids(qy.incident))
    if qy.tag:
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
    if qy.titled is not None:
        titled = Recording.objects.exclude(title="").values("id")
        entries = entries.filter(recording_id__in=titled) if qy.titled else entries.exclude(recording_id__in=titled)
    if qy.bookmarked is not None:
        marked = Exists(Bookmark.objects.filter(recording_id=OuterRef("recording_id")))
        entries = entries.filter(marked if qy.bookmarked else ~marked)
    if qy.shared:
        if user is None or not SHARED_BY:
            return entries.none()
        entries = entries.filter(recording_id__in=SHARED_BY[0](user))
    return entries


def visible_entries(user, r: Reach | None) -> QuerySet:
    """The search entries of what the user may see: the one access check
    (``reached_recording_ids``, the rule inside ``visible_clips``, from the user's ``reach``
    computed once for the search) tested per row, so a search can only narrow it. Users whose
    reach is bounded (own footage, a squad, cases, shares) first narrow by that reach on
    SearchEntry's own indexes (officer + date, recording + date): a superset of what they may
    see, so it changes no answer, only the plan."""
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
    return entries.filter(Exists(reached_recording_ids(user, r).filter(pk=OuterRef("recording_id"))))


def first_clips(entries: QuerySet) -> QuerySet:
    """One entry per recording: its first clip's (no entry of the same recording sorts before
    it, by time then file name — the order of ``evidence.services.clip_spans``). A correlated
    NOT EXISTS on the (recording, time) index, tested per row as a sort index is walked. The
    filters and the text are the recording's on every one of its entries (the text is the
    recording's documents), so nothing matching is lost; a date filter dates a recording by
    its first clip's start."""
    earlier = SearchEntry.objects.filter(recording_id=OuterRef("recording_id")).filter(
        Q(sort_time__lt=OuterRef("sort_time")) | Q(sort_time=OuterRef("sort_time"), object_name__lt=OuterRef("object_name")))
    return entries.filter(~Exists(earlier))


def recording_length() -> Subquery:
    """The length of an entry's recording (its clips' lengths added): the "longest" sort of
    recordings."""
    return Subquery(SearchEntry.objects.filter(recording_id=OuterRef("recording_id")).order_by()
                    .values("recording_id").annotate(total=Sum("duration_s")).values("total")[:1])
