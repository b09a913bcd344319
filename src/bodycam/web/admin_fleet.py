"""The cameras pages (/admin/cameras/...): fleet status, registering a camera with its public
key (a file upload), assigning it to an officer or a vehicle, retiring it (a confirm page).

Thin: ``ingest.devices`` changes cameras (each change audited with its reason) and
``ingest.fleet`` says what docks and ingest know. Admins manage ("devices.manage");
custodians read the status ("devices.view"). Every view and every refusal is audited."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from ..access.policy import allowed, refusals_audited, require
from ..custody.services import record_request, request_source
from ..errors import BadInput
from ..evidence.models import Officer
from ..ingest import devices, fleet

VIEW, MANAGE = "devices.view", "devices.manage"


def _require(request, perm: str, action: str, serial: str = ""):
    require(request, perm, action=action, object_type="device", object_id=serial,
            reason=f"role {request.user.role} may not {'manage' if perm == MANAGE else 'view'} cameras",
            message="your role may not " + ("manage cameras" if perm == MANAGE else "see the cameras"))


def _officers():
    return Officer.objects.filter(active=True).select_related("account").order_by("name", "user_key")


def _key_upload(request) -> bytes:
    f = request.FILES.get("public_key")
    if f is None:
        raise BadInput("choose the camera's public key file (device.pub, PEM or base64)")
    return f.read(devices.MAX_KEY_FILE + 1)


@login_required
@require_http_methods(["GET", "POST"])
def camera_list(request):
    if request.method == "POST":
        _require(request, MANAGE, "device.create")
        p = request.POST
        with refusals_audited(request, "device.create", object_type="device"):
            device = devices.add_device(
                p.get("serial", "").strip(), model=p.get("model", "").strip(), kind=p.get("kind", ""),
                name=p.get("name", "").strip(), actor=request.user, public_key=_key_upload(request),
                officer=p.get("officer", ""), vehicle=p.get("vehicle", ""), reason=p.get("reason", ""),
                source=request_source(request))
        return HttpResponseRedirect(f"/admin/cameras/{device.serial}/")
    _require(request, VIEW, "device.list")
    status = fleet.fleet_status()
    record_request(request, "device.list", object_type="device", detail={"count": len(status)})
    return render(request, "web/cameras.html", {
        "cameras": [s for s in status if not s.device.retired_at],
        "retired": [s for s in status if s.device.retired_at],
        "stale": [s for s in status if s.stale], "stale_days": settings.CAMERA_STALE_DAYS,
        "alerts": fleet.open_alerts()[:50], "can_manage": allowed(request.user, MANAGE),
        "officers": _officers(), "days": status[0].per_day if status else []})


@login_required
@require_http_methods(["GET", "POST"])
def camera_page(request, serial):
    if request.method == "POST":
        _require(request, MANAGE, "device.assign", serial)
        p = request.POST
        with refusals_audited(request, "device.assign", object_type="device", object_id=serial[:64]):
            devices.assign(serial, officer=p.get("officer", ""), vehicle=p.get("vehicle", ""),
                           reason=p.get("reason", ""), actor=request.user, source=request_source(request))
        return HttpResponseRedirect(request.path)
    _require(request, VIEW, "device.view", serial)
    with refusals_audited(request, "device.view", object_type="device", object_id=serial[:64]):
        device = devices.get_device(serial)
    st, = fleet.fleet_status(serial=device.serial)
    record_request(request, "device.view", object_type="device", object_id=str(device.id))
    return render(request, "web/camera.html", {"st": st, "device": device, "officers": _officers(),
                                               "can_manage": allowed(request.user, MANAGE)})


@login_required
@require_http_methods(["GET", "POST"])
def camera_retire(request, serial):
    """The confirm step: the page says what retiring keeps and changes; the POST retires."""
    _require(request, MANAGE, "device.retire", serial)
    with refusals_audited(request, "device.retire", object_type="device", object_id=serial[:64]):
        device = devices.get_device(serial)
        if request.method == "POST":
            if request.POST.get("confirm") != "yes":
                raise BadInput("tick the box to confirm that the camera is retired")
            devices.retire(serial, reason=request.POST.get("reason", ""), actor=request.user,
                           source=request_source(request))
            return HttpResponseRedirect(f"/admin/cameras/{serial}/")
        if device.retired_at:
            raise BadInput(f"camera {serial} is already retired")
    record_request(request, "device.view", object_type="device", object_id=str(device.id), detail={"page": "retire"})
    return render(request, "web/camera_retire.html", {"device": device,
                                                      "recordings": device.recordings.count()})
