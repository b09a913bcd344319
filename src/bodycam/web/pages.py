"""Evidence pages: search, item (player, bookmarks, map, clips, sharing), multi-camera
timeline, bulk actions. Thin: each page calls services (evidence_ops, search, media,
release) that authorize and audit."""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from ..access.policy import allowed
from ..access.services import NotVisible, audit_denied, visible_clips
from ..cases.models import Case
from ..custody.services import record_request
from ..errors import BadInput
from ..evidence.identity import default_title, lengths
from ..evidence.incidents import incident_recording_ids
from ..evidence.models import Category, GnssPoint
from ..evidence.services import camera_tag_names, pre_event_buffer, recording_bookmarks, recording_timeline, timeline_at
from ..evidence_ops import services as ev
from ..http import confirmed
from ..media import captions as hooks
from ..media import services as media
from ..media import transcripts
from ..media.models import Derivative, Transcript
from ..media.redactions import plate_reads_in_recordings
from ..numbers import parse_uuid
from ..release import services as rel
from ..search import picker
from ..search import services as search
from . import bulk, incidents, readable
from .cases import _confirm_revoke


@login_required
def search_page(request):
    try:
        qy, page = search.audited_search(request, request.GET, recordings=True)  # one row per recording
    except search.SearchError as exc:
        return render(request, "web/search.html", _search_ctx(request, None, None, str(exc)), status=400)
    return render(request, "web/search.html", _search_ctx(request, qy, page, ""))


def _search_ctx(request, qy, page, error):
    rows = []
    if page:
        thumbs = media.derivatives_of([c.id for c in page.results], Derivative.Kind.THUMBNAIL)
        about = readable.facts(request.user, list({c.recording_id: c.recording for c in page.results}.values()))
        size = lengths([c.recording_id for c in page.results])
        plates = plate_reads_in_recordings([c.recording_id for c in page.results], qy.q)  # machine findings
        for c in page.results:
            rows.append(ev.clip_summary(c) | {"thumb": str(c.id) in thumbs, "recording_id": str(c.recording_id),
                                              "f": about[c.recording_id], "length": size[c.recording_id],
                                              "plates": plates.get(str(c.recording_id), [])})
    base = dict(qy.raw) if qy else {}
    base.pop("page", None)

    def link(**kw):
        return "?" + urlencode({**base, **kw})

    user = request.user
    return {
        "rows": rows, "page": page, "q": qy, "raw": base, "error": error, "zone": settings.AGENCY_TIME_ZONE,
        "sorts": [(s, link(sort=s), bool(qy and qy.sort == s)) for s in search.SORTS],
        "prev_url": link(page=page.page - 1) if page and page.page > 1 else "",
        "next_url": link(page=page.page + 1) if page and page.page < page.pages else "",
        "categories": list(Category.objects.filter(active=True).values_list("name", flat=True)),
        "bulk_actions": bulk.offered(user),
    }


@login_required
@require_POST
def bulk_action(request):
    """The chosen items: a confirmation page, then the action item by item and its summary (web/bulk.py)."""
    return bulk.bulk_page(request)


@login_required
@require_http_methods(["GET"])
def pick_evidence(request):
    """The evidence picker's answers (JSON): items the user may see matching ``q`` (evidence
    number, title words, officer, or a date YYYY-MM-DD), through the search's access check; audited
    as a search."""
    rows = picker.pick(request, request.GET.get("q", ""))  # BadInput: 400 {"error": ...} (http.error_page)
    resp = JsonResponse({"results": rows, "limit": picker.LIMIT})
    resp["Cache-Control"] = "no-store"
    return resp


def _offset(t, origin) -> float | None:
    if t is None or origin is None:
        return None
    return round((t - origin).total_seconds(), 3)


@login_required
@require_http_methods(["GET", "POST"])
def item_page(request, clip_id):
    error, new_link = "", ""
    status = 200
    if request.method == "POST":
        try:
            new_link = _item_post(request, clip_id)
            if isinstance(new_link, HttpResponse):  # a confirmation page
                return new_link
            if new_link is None:
                return HttpResponseRedirect(request.path)
        except (BadInput, search.SearchError) as exc:  # shown on the item page, beside its form
            error, status = str(exc), 400
    item = ev.view_clip(request, clip_id)
    return render(request, "web/item.html", _item_ctx(request, item, error, new_link), status=status)


def _item_post(request, clip_id):
    """One form action; returns None (redirect back) or a new link URL to show once."""
    action = request.POST.get("action", "edit")
    p = request.POST
    if action == "share":
        days = p.get("days", "").strip()
        rel.share_item(request, clip_id, {"recipient": p.get("recipient", ""),
                                          "allow_download": p.get("allow_download") == "yes",
                                          "no_reshare": p.get("no_reshare") == "yes",
                                          "days": days or None})
        return None
    if action == "link":
        link, token = rel.create_link(request, {"clip": clip_id, "days": p.get("days", "").strip(),
                                                "label": p.get("label", ""),
                                                "allow_download": p.get("allow_download") == "yes",
                                                "no_reshare": p.get("no_reshare") == "yes"})
        return request.build_absolute_uri(f"/s/{token}/")
    if action == "revoke":
        if not confirmed(request):
            return _confirm_revoke(request)
        rel.revoke(request, p.get("kind", ""), p.get("share", ""))
        return None
    if action == "excerpt":
        target, cut = _excerpt_on_clip(request, clip_id, p.get("in"), p.get("out"))
        media.request_excerpt(request, target, cut)
        return None
    if action == "title":  # "" = back to the default title; audited as an edit
        ev.edit_metadata(request, clip_id, {"title": p.get("title", "")})
        return None
    if action in ("add_category", "remove_category"):
        # Anyone who may edit adds a category; removing one needs the role and a reason.
        ev.set_category(request, clip_id, p.get("category", ""), present=action == "add_category",
                        reason=p.get("reason", ""))
        return None
    change = {}
    if p.get("note", "").strip():
        change["note"] = p["note"]
    if "tags" in p:
        change["tags"] = [t.strip() for t in p["tags"].split(",") if t.strip()]
    ev.edit_metadata(request, clip_id, change)
    return None


def _player(request, rec, clip, can: dict) -> dict:
    """The recording's clips back to back on one timeline (``evidence.services.recording_timeline``):
    each clip plays from its own playback proxy (``/api/evidence/<clip>/proxy``: its own access
    check and playback audit, as before); item.js switches between them on one seek bar. The
    clips come from the one access check (all of a recording's clips are visible, or none)."""
    segments = recording_timeline(rec, list(visible_clips(request.user).filter(recording=rec)))
    rows, lines = [], []
    for n, seg in enumerate(segments, 1):
        c = seg["clip"]
        proxy = media.latest(c, Derivative.Kind.PROXY)
        rows.append({"n": n, "id": str(c.id), "object": c.object_name, "offset": seg["offset"],
                     "duration": seg["duration"], "end": round(seg["offset"] + seg["duration"], 3),
                     "start": seg["start"], "sha256": c.sha256, "signature": c.signature,
                     "selected": c.pk == clip.pk, "has_proxy": bool(proxy),
                     # /stream plays the original only to those who may download it (others: the
                     # proxy, made or queued on demand), so "Play the original" is offered only to them.
                     "src": f"/api/evidence/{c.id}/proxy" if proxy else f"/api/evidence/{c.id}/stream",
                     "original": f"/api/evidence/{c.id}/stream" if can["download"] else "",
                     "tracks": hooks.caption_tracks(c)})
        if Transcript.objects.filter(clip=c).exists():  # read (and audited) only where there is one
            _, t = transcripts.view(request, c.id)
            lines += [{"at": round(seg["offset"] + float(x.get("start", 0)), 2), "text": x.get("text", "")}
                      for x in (t.segments or [])]
    me = next((r for r in rows if r["selected"]), rows[0] if rows else None)
    total = rows[-1]["end"] if rows else 0.0
    # GNSS track on the timeline (the track runs in seconds from the recording's start).
    origin = rec.start_time or rec.trigger_on_time
    track = []
    for lat, lon, sec in GnssPoint.objects.filter(recording=rec).values_list("latitude", "longitude",
                                                                           "seconds_from_start"):
        placed = timeline_at(segments, origin + timedelta(seconds=sec))
        if placed is not None:
            track.append([lat, lon, placed[0]])
    timeline = {"segments": [{k: r[k] for k in ("id", "offset", "duration", "src", "original", "tracks")}
                             | {"proxy": r["src"] if r["has_proxy"] else ""} for r in rows],
                "start": me["n"] - 1 if me else 0, "duration": total}
    return {"segments": rows, "me": me, "total": total, "lines": lines,
            "pre_event": pre_event_buffer(rec, segments),
            "bookmarks": recording_bookmarks(rec, segments),
            "track_json": json.dumps(track), "has_track": len(track) > 1, "timeline_json": json.dumps(timeline),
            "excerpts": [(r, d) for r in rows for d in Derivative.objects.filter(clip_id=r["id"],
                                                                                 kind=Derivative.Kind.CLIP)
                         .order_by("-created_at")]}


def _excerpt_on_clip(request, clip_id, start, end) -> tuple[str, dict]:
    """In and out on the recording's timeline (the player's seconds) as (the clip, in and out
    in seconds of that clip): an excerpt is cut from one clip's original, so both must lie in
    the same clip (400 with the clips' spans otherwise). ``request_excerpt`` checks the rest."""
    try:
        start, end = float(start), float(end)
    except (TypeError, ValueError):
        raise BadInput("in and out must be numbers of seconds from the start of the recording") from None
    cid = parse_uuid(clip_id)
    clip = visible_clips(request.user).filter(id=cid).first() if cid else None
    if clip is None:  # request_excerpt refuses it (and audits the refusal)
        return clip_id, {"in": start, "out": end}
    segments = recording_timeline(clip.recording, list(visible_clips(request.user).filter(recording=clip.recording_id)))
    for seg in segments:
        if seg["offset"] <= start < seg["offset"] + seg["duration"]:
            if end > seg["offset"] + seg["duration"] + 0.5:
                spans = "; ".join(f"clip {n}: {s['offset']:.1f}–{s['offset'] + s['duration']:.1f} s"
                                  for n, s in enumerate(segments, 1))
                raise BadInput(f"an excerpt is cut from one clip: in and out must lie in the same clip ({spans})")
            return str(seg["clip"].id), {"in": round(start - seg["offset"], 3), "out": round(end - seg["offset"], 3)}
    return str(clip.id), {"in": start, "out": end}  # outside every clip: request_excerpt says what is allowed


def _item_ctx(request, item: dict, error: str, new_link: str) -> dict:
    from ..evidence.models import Clip

    user = request.user
    clip = Clip.objects.select_related("recording__device", "recording__officer").get(pk=item["id"])
    rec = clip.recording
    thumb = media.latest(clip, Derivative.Kind.THUMBNAIL)
    camera_tags = camera_tag_names(rec)
    cases = list(rec.cases.values_list("number", flat=True)) if allowed(user, "evidence.case_numbers") else []
    facts = readable.facts(user, [rec])[rec.id]
    still = facts["still"]
    image = media.latest(clip, Derivative.Kind.IMAGE) if still else None
    tab = "history" if request.GET.get("tab") == "history" and item["can"]["audit"] else "item"
    player = _player(request, rec, clip, item["can"]) if not still and tab == "item" else {}
    from ..jobs.models import Job

    pending = Job.objects.filter(kind="media.excerpt", object_id__in=[r["id"] for r in player.get("segments", [])],
                                 created_by=user, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]) \
        .order_by("-created_at") if player else []
    return player | {
        "tab": tab, "history": ev.item_history(request, clip.id) if tab == "history" else [],
        "act": [(k, label) for k, label in bulk.offered(user) if k != "categorize"],
        "prosecutors": rel.prosecutors() if item["can"]["share"] else [],
        "f": facts, "own_title": rec.title, "default_title": default_title(rec, facts["categories"]),
        "still": still, "image_src": (f"/api/evidence/{clip.id}/image.jpg" if image else
                                      f"/api/evidence/{clip.id}/thumbnail.jpg" if thumb else ""),
        "photos": readable.photos_during(user, rec), "taken_during": readable.taken_during(user, rec),
        "c": item, "error": error, "new_link": new_link, "has_thumb": bool(thumb),
        "tags": [{"name": t, "camera": t in camera_tags} for t in item["tags"]],
        "person_tags": [t for t in item["tags"] if t not in camera_tags],
        "pending_jobs": [str(j.id) for j in pending],
        "shares": rel.shares_seen_by(user, rec),
        "no_reshare": rel.no_reshare_terms(user, rec.id),
        "incident_url": f"/timeline/?incident={rec.id}", "cases": cases,
        "started_by": rec.started_by,
        "export_url": f"/api/evidence/{clip.id}/export" if item["can"]["download"] else "",
        "category_choices": [n for n in Category.objects.filter(active=True).values_list("name", flat=True)
                             if n not in item["categories"]] if item["can"]["edit"] else [],
    }


@login_required
def timeline_page(request):
    """All recordings of one case (?case=NUMBER) or one incident (?incident=RECORDING_ID)."""
    case_key, incident = request.GET.get("case", "").strip(), request.GET.get("incident", "").strip()
    if bool(case_key) == bool(incident):
        raise BadInput("give a case number (?case=) or a recording id (?incident=)")
    if case_key:
        case = rel.get_case(request, case_key, "evidence.timeline")
        ids = Case.recordings.through.objects.filter(case=case).values("recording_id")
        title, subject = f"Case {case.number}", ("case", str(case.id))
    else:
        if parse_uuid(incident) is None:
            raise BadInput("incident must be a recording id")
        if not visible_clips(request.user).filter(recording_id=parse_uuid(incident)).exists():
            # the anchor must be visible too: no probing which recordings exist at a time
            audit_denied(request, "evidence.timeline", "no such recording, or not visible to this user",
                         object_type="recording", object_id=incident[:64], status=404)
            raise NotVisible("no such recording, or not visible to this user")
        ids, title, subject = incident_recording_ids(incident), "Incident", ("recording", incident)
    data = incidents.timeline(request.user, ids)
    if not data["lanes"]:
        exc = NotVisible("nothing you may see on this timeline")
        audit_denied(request, "evidence.timeline", exc.reason, object_type=subject[0], object_id=subject[1],
                     status=404)
        raise exc
    record_request(request, "evidence.timeline", object_type=subject[0], object_id=subject[1],
                   detail={"clips": data["clips"]})
    clips = visible_clips(request.user).filter(id__in=data["clips"]).order_by("start_time", "object_name")
    about = {r["recording"]: r for r in readable.recording_rows(request.user, clips)}  # each lane, readable
    return render(request, "web/timeline.html", {"title": title, "data": data, "data_json": json.dumps(data),
                                                 "lanes": [(lane, about[lane["recording"]]) for lane in data["lanes"]],
                                                 "origin": data["origin"], "zone": settings.AGENCY_TIME_ZONE})
