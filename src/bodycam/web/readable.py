"""What a person reads about a recording, for a page of them at once (search results, the
item page's header): evidence number, title, officer name and badge, device, categories,
cases and flags. The recordings given were already access-checked by the page; what a role
may not see here (case numbers, shares) is left out for it, as on the item page.

A few queries per page, never one per row."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q
from django.utils import timezone

from ..access.models import CriticalIncidentLock, Restriction
from ..access.policy import allowed
from ..cases.models import Case
from ..evidence.identity import display_title, is_still, labels
from ..evidence.identity import recording_rows as identity_rows
from ..evidence.models import Recording
from ..release.models import CaseShare, Share, ShareLink
from ..retention.models import LegalHold
from ..search.models import SearchDocument

# (key, label, what it means) in the order shown
FLAGS = (
    ("restricted", "Restricted", "visible only to named people"),
    ("locked", "Locked", "critical-incident lock: those involved may not view it"),
    ("hold", "Hold", "a legal hold keeps it"),
    ("transcript", "Transcript", "has a transcript"),
    ("shared", "Shared", "shared with a prosecutor or by a link"),
)


def facts(user, recordings) -> dict:
    """{recording id: {number, title, officer, badge, device, categories, cases, flags, still,
    started}}: ``evidence.identity.labels`` and what depends on the role (cases, flags)."""
    recs = {r.id: r for r in recordings}
    ids = list(recs)
    if not ids:
        return {}
    out = labels(recs.values())
    case_rows = list(Case.recordings.through.objects.filter(recording_id__in=ids)
                     .values_list("recording_id", "case_id", "case__number"))
    cases: dict = defaultdict(list)
    for rid, _, number in case_rows:
        cases[rid].append(number)
    case_ids = {cid for _, cid, _ in case_rows}
    now = timezone.now()
    flags: dict = defaultdict(set)
    for rid in Restriction.objects.filter(recording_id__in=ids).values_list("recording_id", flat=True):
        flags[rid].add("restricted")
    for rid in (CriticalIncidentLock.objects.filter(recording_id__in=ids, released_at__isnull=True)
                .values_list("recording_id", flat=True)):
        flags[rid].add("locked")
    open_holds = LegalHold.objects.filter(released_at__isnull=True)
    for rid in (LegalHold.recordings.through.objects.filter(recording_id__in=ids, legalhold__released_at__isnull=True)
                .values_list("recording_id", flat=True)):
        flags[rid].add("hold")
    held_cases = set(open_holds.filter(case_id__in=case_ids).values_list("case_id", flat=True))
    for rid, cid, _ in case_rows:
        if cid in held_cases:
            flags[rid].add("hold")
    for rid in (SearchDocument.objects.filter(recording_id__in=ids, source="transcript")
                .values_list("recording_id", flat=True)):
        flags[rid].add("transcript")
    sees_shares = allowed(user, "evidence.share")  # as the item page: shares only to the roles that share
    if sees_shares:
        live = Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        shared = set(Share.objects.filter(live, recording_id__in=ids).values_list("recording_id", flat=True))
        shared |= set(ShareLink.objects.filter(live, recording_id__in=ids).values_list("recording_id", flat=True))
        shared_cases = set(CaseShare.objects.filter(live, case_id__in=case_ids).values_list("case_id", flat=True))
        shared_cases |= set(ShareLink.objects.filter(live, case_id__in=case_ids).values_list("case_id", flat=True))
        shared |= {rid for rid, cid, _ in case_rows if cid in shared_cases}
        for rid in shared:
            flags[rid].add("shared")
    show_cases = allowed(user, "evidence.case_numbers")
    for rid, row in out.items():
        row["cases"] = sorted(cases[rid]) if show_cases else []
        row["flags"] = [(key, label, why) for key, label, why in FLAGS if key in flags[rid]]
    return out


def recording_rows(user, clips) -> list[dict]:
    """One row per recording of ``clips`` (already access-checked, in the order to show):
    ``evidence.identity.recording_rows`` with ``facts`` for ``user``."""
    return identity_rows(clips, lambda recs: facts(user, recs))


# ---------------------------------------------------------------- stills inside recordings
def span(rec) -> tuple:
    """(start, stop) of a recording on the wall clock (stop: the camera's, else its clips' length)."""
    from datetime import timedelta

    start = rec.start_time or rec.trigger_on_time
    stop = rec.stop_time or rec.trigger_off_time
    if stop is None:
        stop = start + timedelta(seconds=sum(rec.clips.values_list("duration_s", flat=True)))
    return start, max(start, stop)


def photos_during(user, rec) -> list:
    """The still photos the same officer took during ``rec`` that ``user`` may see (the one
    access check, ``visible_clips``), oldest first: [{id, number, at}]."""
    from ..access.services import visible_clips

    if is_still(rec):
        return []
    start, stop = span(rec)
    stills = (Recording.objects.in_catalogue().filter(officer_id=rec.officer_id, trigger_on="Still",
                                                      trigger_on_time__gte=start, trigger_on_time__lte=stop)
              .values("id"))
    clips = visible_clips(user).filter(recording__in=stills).select_related("recording")
    return [{"id": str(c.id), "number": c.recording.evidence_number or "", "at": c.recording.trigger_on_time}
            for c in sorted(clips, key=lambda c: (c.recording.trigger_on_time, c.object_name))]


def taken_during(user, still) -> dict | None:
    """For a still photo: the recording of the same officer (the same camera's first) running when it was taken, if
    ``user`` may see it: {id (its first clip), number, title}."""
    from datetime import timedelta

    from ..access.services import visible_clips

    if not is_still(still):
        return None
    at = still.trigger_on_time
    began = Q(start_time__lte=at) | Q(start_time__isnull=True, trigger_on_time__lte=at)  # pre-event buffer too
    near = (Recording.objects.in_catalogue().filter(began, officer_id=still.officer_id,
                                                    trigger_on_time__gte=at - timedelta(days=1))
            .exclude(trigger_on="Still").order_by("-trigger_on_time"))
    # the same camera's recording first (an officer's car camera may run at the same time)
    for rec in sorted(near[:20], key=lambda r: r.device_id != still.device_id):
        start, stop = span(rec)
        if not start <= at <= stop:
            continue
        clip = visible_clips(user).filter(recording=rec).order_by("start_time", "object_name").first()
        if clip is not None:
            return {"id": str(clip.id), "number": rec.evidence_number or "", "title": display_title(rec)}
    return None
