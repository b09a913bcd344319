"""Pages and API for transcripts, the redaction editor and public-records requests.
Thin: media.transcripts, media.redactions and records.services authorize and audit."""

from __future__ import annotations

from datetime import date, datetime, timezone
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from ..access.services import NotVisible, capabilities
from ..errors import BadInput
from ..http import ErrorPageMiddleware
from ..media import redact, redactions, transcripts
from ..media.models import Derivative, Redaction
from ..numbers import whole_number
from ..search import picker
from ..timefmt import isoformat
from . import api_schema as doc
from . import services as rs


# ---------------------------------------------------------------- API: transcripts
@extend_schema(summary="Captions (WebVTT) of the transcript", parameters=[doc.CLIP_ID], responses=doc.VTT)
@api_view(["GET"])
def api_captions(request, clip_id):
    vtt = transcripts.captions(request, clip_id)
    resp = HttpResponse(vtt, content_type="text/vtt; charset=utf-8")
    resp["Cache-Control"] = "private, no-store"
    return resp


@extend_schema(summary="Captions (WebVTT) of the English translation", parameters=[doc.CLIP_ID], responses=doc.VTT)
@api_view(["GET"])
def api_translation_captions(request, clip_id):
    vtt = transcripts.captions(request, clip_id, kind="translation")
    resp = HttpResponse(vtt, content_type="text/vtt; charset=utf-8")
    resp["Cache-Control"] = "private, no-store"
    return resp


@extend_schema(methods=["GET"], summary="The transcript", parameters=[doc.CLIP_ID], responses=doc.TranscriptOut)
@extend_schema(methods=["POST"], summary="Transcribe (a job)", parameters=[doc.CLIP_ID], request=doc.TranscriptRequest,
               responses={202: doc.JobQueued})
@extend_schema(methods=["PUT"], summary="Correct the transcript (a new revision)", parameters=[doc.CLIP_ID],
               request=doc.TranscriptEdit, responses=doc.TranscriptEdited)
@api_view(["GET", "POST", "PUT"])
def api_transcript(request, clip_id):
    if request.method == "POST":
        body = request.data if request.data else None
        unknown = sorted(set(body) - {"language", "translate"}) if isinstance(body, dict) else []
        if unknown:  # a POST reads its body or refuses it (docs/web.md): no transcript with defaults
            raise transcripts.TranscriptError(f"unknown field(s): {', '.join(unknown)}; allowed: language, translate")
        job = transcripts.request_transcript(request, clip_id, body)
        return Response({"job": str(job.id), "status": job.status}, status=status.HTTP_202_ACCEPTED)
    if request.method == "PUT":
        data = request.data if isinstance(request.data, dict) else {}
        t = transcripts.edit(request, clip_id, data.get("segments"), data.get("note", ""))
        return Response({"version": t.version, "segments": t.segments})
    clip, t = transcripts.view(request, clip_id)
    if t is None:
        return Response({"error": "no transcript for this item yet"}, status=404)
    tr = transcripts.translation_of(t)
    return Response({"clip": str(clip.id), "model": t.model, "version": t.version, "segments": t.segments,
                     "machine": t.machine, "language": t.language, "language_probability": t.language_probability,
                     "language_source": t.language_source, "languages": t.languages,
                     "translation": {"machine_translation": True, "language": tr.language,
                                     "source_languages": tr.source_languages, "model": tr.model,
                                     "segments": tr.segments,
                                     "captions": f"/api/evidence/{clip.id}/translation.vtt"} if tr else None,
                     "revisions": [{"version": r.version, "author": r.author.username, "note": r.note,
                                    "at": isoformat(r.created_at)} for r in t.revisions.select_related("author")]})


# ---------------------------------------------------------------- API: redactions
@extend_schema(summary="Start a redaction (analysis job)", parameters=[doc.CLIP_ID], request=doc.RedactionStart,
               responses={202: doc.RedactionOut})
@api_view(["POST"])
def api_redaction_start(request, clip_id):
    r = redactions.start(request, clip_id, request.data)
    return Response(redactions.as_dict(r), status=status.HTTP_202_ACCEPTED)


@extend_schema(methods=["GET"], summary="A redaction and its plan", parameters=[doc.REDACTION_ID], responses=doc.RedactionOut)
@extend_schema(methods=["PATCH"], summary="Edit a redaction's plan (in review)", parameters=[doc.REDACTION_ID],
               request=doc.RedactionEdit, responses=doc.RedactionOut)
@api_view(["GET", "PATCH"])
def api_redaction(request, redaction_id):
    if request.method == "PATCH":
        r = redactions.update(request, redaction_id, request.data)
    else:
        r = redactions.get(request, redaction_id, "view")
    return Response(redactions.as_dict(r))


@extend_schema(summary="Render a reviewed redaction (a job)", parameters=[doc.REDACTION_ID], request=None,
               responses={202: doc.RedactionOut})
@api_view(["POST"])
def api_redaction_render(request, redaction_id):
    r = redactions.render(request, redaction_id)
    return Response(redactions.as_dict(r), status=status.HTTP_202_ACCEPTED)


# ---------------------------------------------------------------- pages: transcript, redaction editor
@login_required
@require_http_methods(["GET", "POST"])
def transcript_page(request, clip_id):
    error, st = "", 200
    if request.method == "POST":
        try:
            if request.POST.get("action") in ("transcribe", "translate"):
                opts = {k: request.POST[k] for k in ("language", "translate") if request.POST.get(k)}
                if request.POST.get("action") == "translate":
                    opts = {"translate": "1"}
                elif "translate" not in opts and "language" in opts:
                    opts["translate"] = "0"  # the form's box was left unticked
                transcripts.request_transcript(request, clip_id, opts)
            else:  # a save: audited as the edit it is, not also as a view
                segments = {whole_number(k[4:]): v for k, v in request.POST.items() if k.startswith("seg-")}
                texts = {i: v for i, v in segments.items() if i is not None}
                transcripts.edit_texts(request, clip_id, texts, request.POST.get("note", ""))
            return HttpResponseRedirect(request.path)
        except BadInput as exc:  # shown on the transcript page, beside its form
            error, st = str(exc), 400
    clip, t = transcripts.view(request, clip_id)
    from ..jobs.models import Job
    from ..media.transcribe import LANGUAGES, language_name

    pending = Job.objects.filter(kind__in=["media.transcribe", "media.translate"], object_id=str(clip.id),
                                 status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).first()
    tr = transcripts.translation_of(t)
    return render(request, "records/transcript.html", {
        "clip": clip, "t": t, "error": error, "pending": pending, "tr": tr,
        "defaults": transcripts.default_options(),
        "language_choices": sorted(LANGUAGES.items(), key=lambda kv: kv[1]),
        "language": language_name(t.language) if t else "",
        "heard": ", ".join(language_name(x) for x in (t.languages or [t.language])) if t else "",
        "source_names": ", ".join(language_name(x) for x in tr.source_languages) if tr else "",
        "may_translate": bool(t) and tr is None and transcripts.needs_translation(t),
        "can_edit": capabilities(request.user, clip)["transcript_edit"],
        "revisions": list(t.revisions.select_related("author")) if t else [],
        "machine_text": " ".join(s["text"] for s in t.machine) if t else ""}, status=st)


@login_required
@require_http_methods(["GET", "POST"])
def redact_page(request, clip_id):
    """The clip's redactions; POST starts a new one and opens the editor."""
    clip = redactions.authorize_clip(request, clip_id, "list")
    if request.method == "POST":
        r = redactions.start(request, clip_id, {"step": request.POST.get("step", redact.DEFAULT_STEP)})
        return redirect("records-redaction", redaction_id=r.id)
    from ..custody.services import record_request

    rows = list(Redaction.objects.filter(clip=clip).select_related("created_by", "output"))
    record_request(request, "evidence.redaction.list", object_type="clip", object_id=str(clip.id),
                   object_sha256=clip.sha256, detail={"count": len(rows)})
    return render(request, "records/redactions.html", {"clip": clip, "rows": rows, "step": redact.DEFAULT_STEP})


@login_required
def redaction_editor(request, redaction_id):
    r = redactions.get(request, redaction_id, "view")
    from ..media.models import Transcript

    t = Transcript.objects.filter(clip_id=r.clip_id).first()
    words = [w for s in (t.segments if t else []) for w in s.get("words", [])]
    has_proxy = Derivative.objects.filter(clip_id=r.clip_id, kind=Derivative.Kind.PROXY).exists()
    src = f"/api/evidence/{r.clip_id}/proxy" if has_proxy else f"/api/evidence/{r.clip_id}/stream"
    return render(request, "records/editor.html", {"r": r, "clip": r.clip, "words": words, "src": src,
                                                   "job": r.render_job_id or r.analyze_job_id})


# ---------------------------------------------------------------- pages: records requests
@login_required
@require_http_methods(["GET", "POST"])
def request_list(request):
    error, st = "", 200
    if request.method == "POST":
        try:
            r = rs.create(request, request.POST)
            return redirect("records-request", number=r.number)
        except BadInput as exc:  # shown on the list page, beside its form
            error, st = str(exc), 400
    rows = rs.list_requests(request)
    return render(request, "records/requests.html", {"rows": [(r, rs.days_left(r)) for r in rows], "error": error},
                  status=st)


# Steps that cannot be undone ask first: the form posts without "confirm", the page asks.
CONFIRM = {"approve": "Approve the release of this request?",
           "deny": "Deny this request? The requester is told the reason in the note.",
           "release": "Make the release package? The approved items are released to the requester.",
           "revoke_link": "Revoke this delivery link? The requester can no longer download through it."}


def _act(request, number, p):
    """One POSTed step of the request page. Returns a new delivery link's URL (shown once) or None."""
    action = p.get("action", "")
    if action == "extend":
        rs.extend(request, number, p.get("reason", ""))
    elif action == "add_item":
        for clip_id in picker.chosen(request, p, "clip"):  # the picker's item; several typed matches: choose
            rs.add_item(request, number, clip_id)
    elif action == "remove_item":
        rs.remove_item(request, number, p.get("item", ""), p.get("reason", ""))
    elif action == "as_is":
        rs.release_as_is(request, number, p.get("item", ""), p.get("reason", ""))
    elif action == "attach":
        rs.attach_redaction(request, number, p.get("item", ""), p.get("redaction", ""))
    elif action == "submit":
        rs.submit(request, number)
    elif action in ("approve", "deny"):
        rs.decide(request, number, action == "approve", p.get("note", ""))
    elif action == "release":
        rs.release(request, number)
    elif action == "delivery_link":
        _, token = rs.create_delivery_link(request, number, p.get("days", ""), p.get("label", ""))
        return request.build_absolute_uri(f"/r/{token}/")
    elif action == "revoke_link":
        rs.revoke_delivery_link(request, number, p.get("link", ""))
    elif action == "correspondence":
        rs.add_correspondence(request, number, p, request.FILES.get("file"))
    else:
        raise BadInput("unknown action")
    return None


@login_required
@require_http_methods(["GET", "POST"])
def request_page(request, number):
    error, st, new_link, pick_choices = "", 200, "", []
    if request.method == "POST":
        p = request.POST
        if p.get("action") in CONFIRM and p.get("confirm") != "yes":
            r = rs.get(request, number)
            return render(request, "records/confirm.html", {
                "r": r, "question": CONFIRM[p["action"]],
                "fields": [(k, v) for k, v in p.items() if k not in ("csrfmiddlewaretoken", "confirm")]})
        try:
            new_link = _act(request, number, p)
            if not new_link:
                return HttpResponseRedirect(request.path)
        except BadInput as exc:  # shown on the request page, beside its forms
            error, st = str(exc), 400
        except picker.Choose as many:
            pick_choices = many.rows
    r = rs.get(request, number)
    items, removed = [], []
    for it in r.items.select_related("clip__recording", "redaction", "removed_by"):
        if it.removed_at:
            removed.append(it)
        else:
            items.append({"it": it, "choices": list(Redaction.objects.filter(clip=it.clip).order_by("-created_at"))})
    from ..jobs.models import Job

    packing = Job.objects.filter(kind="records.package", object_id=r.number,
                                 status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).first()
    return render(request, "records/request.html", {
        "r": r, "items": items, "removed": removed, "error": error, "packing": packing,
        "days_left": rs.days_left(r), "pick_choices": pick_choices, "extensions": list(r.extensions.select_related("by")),
        "links": list(r.delivery_links.select_related("created_by", "revoked_by")), "new_link": new_link,
        "now": datetime.now(timezone.utc), "delivery_days": settings.RECORDS_DELIVERY_DAYS,
        "correspondence": list(r.correspondence.select_related("by")), "today": date.today().isoformat(),
        "single_person_allowed": settings.RECORDS_SINGLE_PERSON_APPROVAL,
        "may_approve": r.submitted_by_id != request.user.pk or settings.RECORDS_SINGLE_PERSON_APPROVAL},
        status=st)


@login_required
def request_package(request, number):
    r, f = rs.open_package(request, number)
    return FileResponse(f, as_attachment=True, filename=f"{r.number}-release.zip", content_type="application/zip")


@login_required
def correspondence_file(request, number, entry_id):
    entry, f = rs.open_correspondence_file(request, number, entry_id)
    return FileResponse(f, as_attachment=True, filename=entry.file_name,
                        content_type=entry.content_type or "application/octet-stream")


# ---------------------------------------------------------------- delivery links (the requester, no account)
DELIVERY_COOKIE = "bc_delivery"


def _delivery_view(view):
    """A delivery page: no account; link headers on every answer, the error page included."""
    view = decorator_from_middleware(ErrorPageMiddleware)(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        resp = view(request, *args, **kwargs)
        resp["Referrer-Policy"] = "no-referrer"
        resp["Cache-Control"] = "no-store"
        resp["X-Robots-Tag"] = "noindex"
        return resp
    return wrapped


@_delivery_view
def delivery_enter(request, token):
    """The URL given to the requester: check the token, keep it in an HttpOnly cookie scoped
    to the link's pages and move to a URL without it (as share links do)."""
    link = rs.open_delivery(request, token)
    resp = redirect("records-delivery", link_id=link.id)
    resp.set_cookie(DELIVERY_COOKIE, token, max_age=rs.delivery_seconds_left(link), httponly=True, samesite="Lax",
                    path=f"/r/l/{link.id}/", secure=request.is_secure())
    return resp


def _delivery(request, link_id):
    link = rs.open_delivery(request, request.COOKIES.get(DELIVERY_COOKIE, ""))
    if str(link.id) != str(link_id):
        raise NotVisible("no such delivery link")
    return link


@_delivery_view
def delivery_page(request, link_id):
    link = _delivery(request, link_id)
    rs.delivery_opened(request, link)
    return render(request, "records/delivery.html", {"link": link, "r": link.request})


@_delivery_view
def delivery_download(request, link_id):
    link = _delivery(request, link_id)
    r, f = rs.delivery_package(request, link)
    return FileResponse(f, as_attachment=True, filename=f"{r.number}-release.zip", content_type="application/zip")
