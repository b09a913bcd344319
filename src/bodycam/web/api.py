"""REST API (DRF). Thin: every view calls one function of bodycam.evidence_ops.services / auth.

  GET    /api/evidence/                       list (visible clips only)
  GET    /api/evidence/<id>/                  detail
  PATCH  /api/evidence/<id>/                  edit metadata {note, tags, categories}
  DELETE /api/evidence/<id>/                  always 403 (retention only), audited
  GET    /api/evidence/<id>/stream            playback, HTTP Range: the original if you may download it, else the proxy
  GET    /api/evidence/<id>/download          original file as attachment
  POST   /api/evidence/<id>/shares            share with a prosecutor {recipient, allow_download, days}
  GET    /api/evidence/<id>/audit             the item's audit trail
  GET    /api/evidence/<id>/custody.json|pdf  chain-of-custody report
  GET    /api/evidence/<id>/proxy             playback proxy (H.264 faststart MP4), HTTP Range
  GET    /api/evidence/<id>/thumbnail.jpg     still image
  GET    /api/evidence/<id>/image.jpg         a still photo's picture, full size
  POST   /api/evidence/<id>/excerpts          make an in/out clip {in, out} (a job; 202)
  GET    /api/evidence/<id>/derivatives/<d>   a derivative (excerpt) by id, HTTP Range; ?download=1
  GET    /api/search?q=&...                   search (filters as on the search page)
  GET    /api/jobs/<id>                       progress of a job you started
  GET    /api/audit/                          whole log (auditors)
  POST   /api/audit/checkpoint                signed checkpoint now (auditors, admins)
  POST   /api/users/<username>/unlock         admins; never their own
  POST   /api/users/<username>/role           admins {role, reason}; never their own
"""

from __future__ import annotations

from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from ..access import auth
from ..access.policy import require
from ..access.services import authorize
from ..custody.services import record_request, request_source
from ..errors import BadInput, BodycamError, api_error
from ..evidence_ops import services as ev
from ..http import range_response
from ..media import services as media
from ..media.redactions import plate_reads_for
from ..numbers import whole_number
from ..release import services as rel
from ..search.services import audited_search
from . import api_schema as doc

_Q = OpenApiParameter.QUERY


def _csrf_failure(exc) -> bool:
    """DRF's session authentication refuses a write without a valid CSRF token with this."""
    return isinstance(exc, PermissionDenied) and str(exc.detail).startswith("CSRF Failed")


def _session_actor(request) -> str | None:
    """The signed-in user of the request's session. DRF sets ``request.user`` to anonymous when
    its session authentication fails (a CSRF refusal), but the session still names who sent it."""
    from django.contrib.auth import get_user

    user = get_user(request)
    return user.username if user.is_authenticated else None


def exception_handler(exc, context):
    if isinstance(exc, BodycamError):  # Denied 403/404, BadInput 400, RuleDenied 403...: status on the class
        body, status_code = api_error(exc)
        resp = Response(body, status=status_code)
        if getattr(exc, "retry_after", None):
            resp["Retry-After"] = str(exc.retry_after)
        return resp
    resp = drf_handler(exc, context)
    if resp is not None and isinstance(exc, APIException):
        request = context.get("request")
        if resp.status_code in (401, 403) and request is not None:
            if _csrf_failure(exc):  # audited as the page forms' CSRF refusals are, under the session's user
                record_request(request._request, "security.csrf_rejected", actor=_session_actor(request._request),
                               outcome="denied", detail={"status": resp.status_code, "reason": str(exc.detail)[:200]})
            else:
                record_request(request._request, "api.denied", outcome="denied",
                               detail={"status": resp.status_code, "reason": str(exc.detail)[:200]})
        resp.data = {"error": exc.detail if isinstance(exc.detail, str) else exc.detail}
    return resp


def _int(value, default, name):
    if value in (None, ""):
        return default
    number = whole_number(value)  # 1-18 ASCII digits: 99999999999999999999 overflowed the query (500)
    if number is None:
        raise BadInput(f"{name} must be a whole number (up to 18 digits)")
    return number


@extend_schema(operation_id="evidence_list", summary="Items you may see", responses=doc.ClipList, parameters=[
    OpenApiParameter("limit", OpenApiTypes.INT, _Q, description="1-500 (default 100)"),
    OpenApiParameter("offset", OpenApiTypes.INT, _Q, description="default 0")])
@api_view(["GET"])
def evidence_list(request):
    return Response(ev.list_clips(request, _int(request.GET.get("limit"), 100, "limit"),
                                  _int(request.GET.get("offset"), 0, "offset")))


@extend_schema(methods=["GET"], summary="One item", parameters=[doc.CLIP_ID], responses=doc.ClipDetail)
@extend_schema(methods=["PATCH"], summary="Edit metadata (note, tags, categories)", parameters=[doc.CLIP_ID],
               request=doc.MetadataEdit, responses=doc.Clip)
@extend_schema(methods=["DELETE"], summary="Always refused: only retention deletes (audited)",
               parameters=[doc.CLIP_ID], responses={403: OpenApiResponse(description="always (audited)")})
@api_view(["GET", "PATCH", "DELETE"])
def evidence_detail(request, clip_id):
    if request.method == "DELETE":
        authorize(request, clip_id, "delete")
    if request.method == "PATCH":
        return Response(ev.edit_metadata(request, clip_id, request.data))
    item = ev.view_clip(request, clip_id)
    item["shares"] = rel.shares_seen_by(request.user, item["recording_id"])
    return Response(item)


def _original_type(clip) -> str:
    return "video/mp4" if clip.container_type == "mp4" else "video/x-matroska"


@extend_schema(summary="Play: the original if you may download it, else the proxy", parameters=[doc.CLIP_ID, doc.RANGE_HEADER],
               responses=doc.binary("the original or the playback proxy", partial=True, content_types=doc.ORIGINAL_TYPES))
@api_view(["GET"])
def evidence_stream(request, clip_id):
    """Playback with HTTP Range: the original for those who may download it, else the proxy."""
    clip, d, f = media.open_stream(request, clip_id)
    if d is None:
        return range_response(request, f, clip.size, _original_type(clip))
    return range_response(request, f, d.size, d.content_type)


@extend_schema(summary="Download the original (attachment)", parameters=[doc.CLIP_ID],
               responses=doc.binary("the original file as the camera wrote it", content_types=doc.ORIGINAL_TYPES))
@api_view(["GET"])
def evidence_download(request, clip_id):
    clip, f = ev.open_media(request, clip_id, ev.DOWNLOAD)
    return FileResponse(f, as_attachment=True, filename=clip.object_name, content_type=_original_type(clip))


@extend_schema(summary="Share with a prosecutor", parameters=[doc.CLIP_ID], request=doc.ShareIn,
               responses={201: doc.ShareCreated})
@api_view(["POST"])
def evidence_share(request, clip_id):
    return Response(rel.share_item(request, clip_id, request.data), status=status.HTTP_201_CREATED)


@extend_schema(summary="The item's audit trail", parameters=[doc.CLIP_ID], responses=doc.ClipAudit)
@api_view(["GET"])
def evidence_audit(request, clip_id):
    return Response(ev.clip_audit(request, clip_id))


@extend_schema(summary="Chain-of-custody report (custody.json or custody.pdf)", parameters=[
    doc.CLIP_ID, OpenApiParameter("fmt", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["json", "pdf"])],
    responses={(200, "application/json"): doc.CustodyReport, (200, "application/pdf"): OpenApiTypes.BINARY})
@api_view(["GET"])
def custody_report(request, clip_id, fmt):
    clip, body = ev.custody_report(request, clip_id, fmt)
    if fmt == "json":
        return Response(body)
    resp = HttpResponse(body, content_type="application/pdf")
    resp["Content-Disposition"] = f'attachment; filename="custody-{clip.id}.pdf"'
    return resp


@extend_schema(summary="The whole audit log (auditors)", responses=doc.AuditLog, parameters=[
    OpenApiParameter("after", OpenApiTypes.INT, _Q, description="entries after this sequence number"),
    OpenApiParameter("limit", OpenApiTypes.INT, _Q, description="1-1000 (default 200)"),
    OpenApiParameter("action", OpenApiTypes.STR, _Q, description="actions starting with this"),
    OpenApiParameter("actor", OpenApiTypes.STR, _Q, description="one actor")])
@api_view(["GET"])
def audit_log(request):
    return Response(ev.read_audit_log(request, after=_int(request.GET.get("after"), 0, "after"),
                                      limit=_int(request.GET.get("limit"), 200, "limit"),
                                      action=request.GET.get("action", ""), actor=request.GET.get("actor", "")))


@extend_schema(summary="Sign a checkpoint of the audit chain now (auditors, admins)", request=None,
               responses={201: doc.CheckpointOut})
@api_view(["POST"])
def audit_checkpoint(request):
    from ..custody.chain import checkpoint_dict, create_checkpoint

    require(request, "audit.checkpoint", object_type="checkpoint", reason="auditor or admin role required",
            message="auditor or admin role required")
    return Response(checkpoint_dict(create_checkpoint(actor=request.user.username)), status=201)


@extend_schema(summary="Unlock an account (admins; never their own)", request=None, responses=doc.UnlockOut)
@api_view(["POST"])
def user_unlock(request, username):
    auth.require_admin(request.user, "account.unlock", username[:64], request_source(request))
    target = auth.get_user(username)
    auth.unlock(target, actor=request.user, source=request_source(request))
    return Response({"username": target.username, "locked": False})


@extend_schema(summary="Change an account's role (admins; never their own)", request=doc.RoleIn,
               responses=doc.RoleOut)
@api_view(["POST"])
def user_role(request, username):
    auth.require_admin(request.user, "account.role_change", username[:64], request_source(request))
    target = auth.get_user(username)
    body = request.data if isinstance(request.data, dict) else {}
    role = body.get("role")
    auth.set_role(target, role if isinstance(role, str) else "", actor=request.user, source=request_source(request),
                  reason=body.get("reason"))
    return Response({"username": target.username, "role": target.role})


@extend_schema(summary="Release the critical-incident lock(s) on a recording (custodians)", request=None,
               responses=doc.ReleaseOut)
@api_view(["POST"])
def recording_release(request, recording_id):
    """A custodian releases the critical-incident lock(s) on a recording."""
    from ..access import rules

    n = rules.release_incident(recording_id, actor=request.user, source=request_source(request))  # RuleError 400/403
    return Response({"recording": recording_id, "released": n})


def _derivative_response(request, clip_id, kind, derivative_id=None):
    download = request.GET.get("download") == "1"
    clip, d, f = media.open_rendition(request, clip_id, kind, derivative_id=derivative_id, download=download)
    if download:
        return FileResponse(f, as_attachment=True, filename=f"{clip.object_name}.{d.kind}-{str(d.id)[:8]}."
                            f"{'jpg' if d.content_type == 'image/jpeg' else 'mp4'}",
                            content_type=d.content_type)
    if kind in ("thumbnail", "image"):
        resp = FileResponse(f, content_type=d.content_type)
        resp["Cache-Control"] = "private, max-age=3600"
        return resp
    return range_response(request, f, d.size, d.content_type)


@extend_schema(summary="The playback proxy (H.264 MP4)", parameters=[doc.CLIP_ID, doc.RANGE_HEADER,
    OpenApiParameter("download", OpenApiTypes.STR, _Q, enum=["1"], description="1: as an attachment")],
    responses=doc.binary("the playback proxy", partial=True))
@api_view(["GET"])
def evidence_proxy(request, clip_id):
    return _derivative_response(request, clip_id, "proxy")


@extend_schema(summary="A still image", parameters=[doc.CLIP_ID],
               responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
@api_view(["GET"])
def evidence_thumbnail(request, clip_id):
    return _derivative_response(request, clip_id, "thumbnail")


@extend_schema(summary="A still photo's picture (full-size JPEG)", parameters=[doc.CLIP_ID],
               responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
@api_view(["GET"])
def evidence_image(request, clip_id):
    """A still photo's picture (full size JPEG), audited like a thumbnail fetch."""
    return _derivative_response(request, clip_id, "image")


@extend_schema(summary="An excerpt made from the item", parameters=[doc.CLIP_ID, doc.RANGE_HEADER,
    OpenApiParameter("download", OpenApiTypes.STR, _Q, enum=["1"], description="1: as an attachment")],
    responses=doc.binary("the excerpt", partial=True))
@api_view(["GET"])
def evidence_derivative(request, clip_id, derivative_id):
    return _derivative_response(request, clip_id, "clip", derivative_id=derivative_id)


@extend_schema(summary="Make an excerpt (in/out seconds): a job", parameters=[doc.CLIP_ID], request=doc.ExcerptIn,
               responses={202: doc.JobOut})
@api_view(["POST"])
def evidence_excerpt(request, clip_id):
    job = media.request_excerpt(request, clip_id, request.data)
    return Response(media.job_status(request, job.id), status=status.HTTP_202_ACCEPTED)


@extend_schema(summary="Progress of a job you started", responses=doc.JobOut)
@api_view(["GET"])
def job_detail(request, job_id):
    return Response(media.job_status(request, job_id))


@extend_schema(summary="Search (the search page's filters)", responses=doc.SearchPage, parameters=[
    OpenApiParameter("q", OpenApiTypes.STR, _Q, description="words to look for"),
    *[OpenApiParameter(name, OpenApiTypes.STR, _Q, description=text) for name, text in (
        ("officer", "officer name or username"), ("device", "camera serial"), ("from", "date or ISO time"),
        ("to", "date or ISO time"), ("category", "category name"), ("case", "case number"),
        ("incident", "a recording id: its incident"), ("tag", "tag"), ("lat", "latitude (with lon)"),
        ("lon", "longitude (with lat)"), ("radius", "metres around lat/lon, 1-100000 (default 500)"),
        ("transcript", "yes | no | any"), ("restricted", "yes | no | any"),
        ("titled", "yes | no | any: a person gave it a title"), ("bookmarked", "yes | no | any: a camera bookmark"),
        ("shared", "mine: the live shares and links you made"),
        ("sort", "newest (default) | oldest | officer | device | longest"),
        ("page", "1-1000000"), ("per_page", "1-100 (default 25)"))]])
@api_view(["GET"])
def search(request):
    qy, page = audited_search(request, request.GET)  # a SearchError answers 400 with its reason
    plates = plate_reads_for([c.id for c in page.results], qy.q)  # machine findings, labelled as such
    return Response({"total": page.total, "total_capped": page.capped, "page": page.page, "pages": page.pages, "per_page": page.per_page,
                     "results": [ev.clip_summary(c) | {"recording_id": str(c.recording_id),
                                                       "plate_reads": plates.get(str(c.id), [])}
                                 for c in page.results]})
