"""Pages and API for shares, links and court exports (sharing a case included). Thin: release.services and
release.export authorize and audit.

Link pages need no account: the token is the credential. The shared URL /s/TOKEN/ puts the
token in an HttpOnly cookie scoped to /s/l/LINK_ID/ and redirects there, so the token is in
one request line only. They are served with ``Referrer-Policy: no-referrer`` and
``Cache-Control: no-store`` so nothing leaks into other sites' logs or shared caches.
"""

from __future__ import annotations

import os
from functools import wraps

from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.decorators import decorator_from_middleware
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from ..access.policy import allowed
from ..access.services import Denied, NotVisible, visible_clips
from ..custody.services import record_request
from ..evidence.identity import display_title, recording_rows
from ..evidence_ops import services as ev
from ..http import ErrorPageMiddleware, playback_start, range_asked, range_response
from ..media import services as media
from ..media.models import Derivative
from . import api_schema as doc
from . import export as exp
from . import services as rel


class _TempFile:
    """A file object that removes its path when the response closes it."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "rb")

    def read(self, *a):
        return self.f.read(*a)

    def close(self):
        self.f.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _zip_response(path: str, name: str):
    return FileResponse(_TempFile(path), as_attachment=True, filename=name, content_type="application/zip")


# ---------------------------------------------------------------- links (no account)
def _link_headers(resp):
    resp["Referrer-Policy"] = "no-referrer"
    resp["Cache-Control"] = "no-store"
    resp["X-Robots-Tag"] = "noindex"
    return resp


def _link_view(view):
    """A link page: every answer carries the link headers, the error page included (the
    pages' one mapper, ``ErrorPageMiddleware``, answers errors inside the headers)."""
    view = decorator_from_middleware(ErrorPageMiddleware)(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return _link_headers(view(request, *args, **kwargs))
    return wrapped


LINK_COOKIE = "bc_link"


@_link_view
def link_enter(request, token):
    """The URL that was shared: check the token, keep it in an HttpOnly cookie scoped to the
    link's pages, and move to a URL without it, so the token appears in no further request
    line, server log or audit entry."""
    link, claim = rel.open_link(request, token, request.COOKIES)
    resp = redirect("link-page", link_id=link.id)
    age = rel.link_seconds_left(link)
    resp.set_cookie(LINK_COOKIE, token, max_age=age, httponly=True, samesite="Lax", path=f"/s/l/{link.id}/",
                    secure=request.is_secure())
    if claim:
        resp.set_cookie(rel.claim_cookie(link), claim, max_age=age, httponly=True, samesite="Lax", path="/s/",
                        secure=request.is_secure())
    return resp


def _open(request, link_id):
    """The live link whose pages these are (token from the cookie)."""
    link, _ = rel.open_link(request, request.COOKIES.get(LINK_COOKIE, ""), request.COOKIES)
    if str(link.id) != str(link_id):
        raise NotVisible("no such link")
    return link


@_link_view
def link_page(request, link_id):
    link = _open(request, link_id)
    clips = list(rel.link_clips(link).select_related("recording")
                 .order_by("recording__trigger_on_time", "recording_id", "start_time", "object_name"))
    record_request(request, "release.link.open", actor=rel.link_actor(link), object_type="link",
                   object_id=str(link.id), detail={"clips": [str(c.id) for c in clips]})
    rows = recording_rows(clips)  # one section per recording; its clips play inside it
    for r in rows:
        r["parts"] = [ev.clip_summary(c) for c in r["clips"]]
    return render(request, "release/link.html", {"link": link, "rows": rows})


@_link_view
def link_media(request, link_id, clip_id):
    """Playback through a link (proxy when there is one), HTTP Range; audited at its start."""
    link = _open(request, link_id)
    clip = rel.link_clip(request, link, clip_id, "play")
    from ..storage import get_store

    proxy = media.latest(clip, Derivative.Kind.PROXY)
    if proxy is None and not link.allow_download:  # a view-only link never gets the original's bytes
        try:
            proxy = media.playback_proxy(clip)
        except media.PreviewNotReady as exc:
            record_request(request, "evidence.play", actor=rel.link_actor(link), object_type="clip",
                           object_id=str(clip.id), object_sha256=clip.sha256, outcome="failed",
                           detail={"link": str(link.id), "reason": exc.message, "status": exc.status})
            raise
    sha, size = (proxy.sha256, proxy.size) if proxy else (clip.sha256, clip.size)
    if playback_start(request, f"link:{link.id}:{clip.id}"):
        record_request(request, "evidence.play", actor=rel.link_actor(link), object_type="clip",
                       object_id=str(clip.id), object_sha256=clip.sha256,
                       detail={"link": str(link.id), "rendition": "proxy" if proxy else "original",
                               "range": range_asked(request)})
    ctype = "video/mp4" if proxy or clip.container_type == "mp4" else "video/x-matroska"
    return range_response(request, get_store().open(sha), size, ctype)


@_link_view
def link_download(request, link_id, clip_id):
    link = _open(request, link_id)
    clip = rel.link_clip(request, link, clip_id, "download")
    from ..storage import get_store

    record_request(request, "evidence.download", actor=rel.link_actor(link), object_type="clip",
                   object_id=str(clip.id), object_sha256=clip.sha256,
                   detail={"link": str(link.id)})
    resp = FileResponse(get_store().open(clip.sha256), as_attachment=True, filename=clip.object_name,
                        content_type="video/mp4" if clip.container_type == "mp4" else "video/x-matroska")
    return resp


@_link_view
def link_export(request, link_id):
    link = _open(request, link_id)
    if not link.allow_download:
        record_request(request, "release.export", actor=rel.link_actor(link), outcome="denied", object_type="link",
                       object_id=str(link.id), detail={"reason": "the link does not allow download", "status": 403})
        raise Denied("this link allows viewing only")
    clips = list(rel.link_clips(link).order_by("start_time", "object_name"))
    terms = "DO NOT RE-SHARE: released for the named recipient only." if link.no_reshare else ""
    path = exp.build_export(request, clips, "link", str(link.id), link.label or "shared evidence",
                            actor=rel.link_actor(link), terms=terms)
    return _zip_response(path, f"evidence-export-{str(link.id)[:8]}.zip")


# ---------------------------------------------------------------- exports (signed in)
@extend_schema(summary="Court export of the item's recording (zip)", parameters=[doc.CLIP_ID], responses=doc.ZIP)
@api_view(["GET"])
def item_export(request, clip_id):
    """Court export of the item's whole recording (every clip of it the user may see)."""
    clips, rid = exp.clips_of_recording(request, clip_id)
    rows = exp.exportable_clips(request, clips, "recording", rid)
    terms = "DO NOT RE-SHARE: released for the named recipient only." \
        if rel.no_reshare_terms(request.user, rid) else ""
    rec = rows[0].recording
    number = rec.evidence_number or rec.container_name[:60]
    path = exp.build_export(request, rows, "recording", rid, f"Recording {number} · {display_title(rec)}",
                            terms=terms)
    return _zip_response(path, exp.zip_name("evidence-export-", number))


@extend_schema(summary="Court export of a case (zip)", parameters=[doc.CASE_KEY], responses=doc.ZIP)
@api_view(["GET"])
def case_export(request, case_key):
    case = rel.get_case(request, case_key, "release.export")
    rows = exp.exportable_clips(request, visible_clips(request.user).filter(recording__cases=case), "case",
                                str(case.id))
    terms = "DO NOT RE-SHARE: released for the named recipient only." \
        if allowed(request.user, "case.no_reshare", case) else ""
    path = exp.build_export(request, rows, "case", str(case.id), f"Case {case.number}", terms=terms, case=case)
    return _zip_response(path, f"case-{case.number}-export.zip")


# ---------------------------------------------------------------- sharing API
@extend_schema(summary="Share the item's recording with a prosecutor", parameters=[doc.CLIP_ID],
               request=doc.ShareIn, responses={201: doc.ItemShareOut})
@api_view(["POST"])
def api_item_share(request, clip_id):
    return Response(rel.share_item(request, clip_id, request.data), status=status.HTTP_201_CREATED)


@extend_schema(summary="Share a case with a prosecutor", parameters=[doc.CASE_KEY], request=doc.ShareIn,
               responses={201: doc.CaseShareOut})
@api_view(["POST"])
def api_case_share(request, case_key):
    return Response(rel.share_case(request, case_key, request.data), status=status.HTTP_201_CREATED)


def _link_created(request, data):
    link, token = rel.create_link(request, data)
    return Response(rel.link_dict(link) | {"url": request.build_absolute_uri(f"/s/{token}/")},
                    status=status.HTTP_201_CREATED)


@extend_schema(summary="A share link to the item's recording", parameters=[doc.CLIP_ID], request=doc.LinkIn,
               responses={201: doc.LinkOut})
@api_view(["POST"])
def api_item_link(request, clip_id):
    data = dict(request.data) if isinstance(request.data, dict) else request.data
    if isinstance(data, dict):
        data["clip"] = clip_id
    return _link_created(request, data)


@extend_schema(summary="A share link to a case", parameters=[doc.CASE_KEY], request=doc.LinkIn,
               responses={201: doc.LinkOut})
@api_view(["POST"])
def api_case_link(request, case_key):
    data = dict(request.data) if isinstance(request.data, dict) else request.data
    if isinstance(data, dict):
        data["case"] = case_key
    return _link_created(request, data)


@extend_schema(summary="Revoke a share or link (custodians, its creator)", request=None, responses=doc.RevokeOut,
               parameters=[OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["item", "case", "link"])])
@api_view(["POST"])
def api_revoke(request, kind, share_id):
    return Response(rel.revoke(request, kind, share_id))
