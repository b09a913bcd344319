"""Live view endpoints: cameras (device-signed, /live/v1/...) and people (the on-air page,
the player and its JSON). Thin: the work and every audit entry are in ``services``."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from ..access.policy import refusals_audited, require
from ..errors import BadInput
from ..http import CONTENT_SECURITY_POLICY
from . import services as live


def _body(request, content_type: str) -> bytes:
    """A camera's raw body, of the one content type the endpoint takes (read before anything
    parses it: a multipart body would be consumed by the form parser)."""
    if request.method != "DELETE" and request.content_type != content_type:
        raise BadInput(f"send the body as {content_type}")
    return request.body


# None of these is part of the REST API's schema (/api/): a camera's protocol and the pages' own calls.


@extend_schema(exclude=True)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def device_status(request):
    """A camera's status: start, position (every 10 s), watchme, stop."""
    body = _body(request, "application/json")
    live.require_enabled()
    device = live.authenticate_device(request, body)
    with live.device_refusals_audited(request, device):
        return Response(live.device_status(request, device, live.parse_status(body)))


@extend_schema(exclude=True)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def device_publish(request):
    """WHIP-style: the camera's SDP offer in, the answer out (201, Location to end it)."""
    body = _body(request, "application/sdp")
    live.require_enabled()
    device = live.authenticate_device(request, body)
    with live.device_refusals_audited(request, device):
        session, answer = live.device_publish(request, device, request.GET.get("container", ""), body)
    resp = HttpResponse(answer, status=201, content_type="application/sdp")
    resp["Location"] = reverse("live-publish-end", args=[session.id])
    return resp


@extend_schema(exclude=True)
@api_view(["DELETE"])
@authentication_classes([])
@permission_classes([AllowAny])
def device_unpublish(request, stream_id):
    body = _body(request, "")
    live.require_enabled()
    device = live.authenticate_device(request, body)
    with live.device_refusals_audited(request, device):
        live.device_unpublish(request, device, stream_id)
    return Response(status=204)


def _onair_csp() -> str:
    """The page's policy: map tiles from the agency's tile server, if it set one."""
    origin = live.tile_origin()
    if not origin:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("img-src 'self'", f"img-src 'self' {origin}")


@login_required
@require_GET
def onair_page(request):
    if live.enabled():
        rows = live.onair(request)
    else:
        require(request, "live.onair", action="live.onair.view")
        rows = []
    resp = render(request, "live/onair.html", {
        "rows": rows, "enabled": live.enabled(), "tile_url": settings.LIVE_TILE_URL, "zone": settings.AGENCY_TIME_ZONE,
        "initial": json.dumps({"sessions": [live.row_json(r) for r in rows]})})
    resp["Content-Security-Policy"] = _onair_csp()
    return resp


@extend_schema(exclude=True)
@api_view(["GET"])
def onair_json(request):
    live.require_enabled()
    return Response({"sessions": [live.row_json(r) for r in live.onair(request)]})


@login_required
@require_GET
def player_page(request, session_id):
    live.require_enabled()
    session = live.session_for(request, session_id)
    return render(request, "live/player.html", {
        "session": session, "trigger_label": live.trigger_label(session.trigger), "ice_servers": json.dumps(live.ice_servers(request.user.username)),
        "watch_url": reverse("live-watch", args=[session.id])})


@extend_schema(exclude=True)
@api_view(["POST"])
def watch(request, session_id):
    """The player's offer in, the answer out: the relay starts sending to this browser."""
    live.require_enabled()
    session = live.session_for(request, session_id)
    with refusals_audited(request, "live.watch", object_type="live_session", object_id=str(session.id)):
        if not isinstance(request.data, dict):
            raise BadInput("send a JSON object {sdp, type}")
        viewer, answer = live.watch(request, session, request.data.get("sdp"))
    return Response({"viewer": viewer, "sdp": answer, "type": "answer"}, status=201)


@extend_schema(exclude=True)
@api_view(["POST"])
def watch_end(request, session_id, viewer_id):
    live.require_enabled()
    session = live.session_for(request, session_id)
    live.end_watch(request, session, viewer_id)
    return Response(status=204)
