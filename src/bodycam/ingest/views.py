"""HTTP face of the Axis Body Worn Integration API (an OpenStack Swift subset).

Thin: parse the request, call ingest.services, map IngestError to its status code.
Request bodies are streamed from the socket to the store, never held in memory.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ..custody.services import raise_alert_throttled, record
from ..evidence.models import Device, Officer
from ..numbers import parse_uuid
from ..storage import get_store
from . import services, swift
from .bodystream import direct_body
from .errors import BadRequest, IngestError, NotFound, OutOfSpace, Unavailable
from .models import SystemObject

log = logging.getLogger("bodycam.ingest")


def _source(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _error(exc: IngestError) -> HttpResponse:
    resp = HttpResponse(exc.reason + "\n", status=exc.status, content_type="text/plain; charset=utf-8")
    if exc.status == 503:
        resp["Retry-After"] = "5"
    return resp


# Swift's answer to a write, by what it did: 201 for a new object; an update or a harmless
# repeat answers by method and kind of object.
REGISTRY_WRITE = {"PUT": 201, "POST": 202}  # System/, Users/ and Devices/ objects
CONTAINER_WRITE = {"PUT": 202, "POST": 204}  # a recording's container
OBJECT_WRITE = {"PUT": 201, "POST": 202}  # a clip or attachment: bytes (PUT), metadata (POST)


def _written(outcome: services.Outcome, method: str, by_method: dict) -> HttpResponse:
    """Any method but PUT writes as POST does (merges metadata), and answers like it."""
    created = outcome is services.Outcome.CREATED
    return HttpResponse(status=201 if created else by_method["PUT" if method == "PUT" else "POST"])


def _body_stream(request):
    """(stream, length). Chunked uploads have no Content-Length: read the server's
    de-chunked input directly (Django would otherwise see an empty body)."""
    length = request.META.get("CONTENT_LENGTH")
    if length not in (None, ""):
        if not length.isascii() or not length.isdigit() or len(length) > 20:
            raise BadRequest("bad Content-Length")
        n = int(length)
        return request, n
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        return request.META["wsgi.input"], None
    return request, 0


def _catalogue_error(exc: DatabaseError):
    """A catalogue read or write failed. When the store is below its reserve the disk is (very
    likely) the database's too: 507 and the storage.full alert, like any refusal for space.
    When the database cannot be reached (down, restarting, refusing connections, SQLite
    busy): 503 with Retry-After, never a 500 page. Anything else is a defect and stays one."""
    try:
        low = get_store().below_reserve()
    except Exception:
        low = False
    if low:
        log.error("catalogue write failed while storage is below its reserve: %s", exc)
        raise_alert_throttled("storage.full", f"ingest refused a request: the catalogue cannot be written "
                                              f"while storage is below its reserve ({str(exc)[:200]})",
                              settings.STORAGE_ALERT_INTERVAL)
        return _error(OutOfSpace("insufficient storage: the catalogue cannot be written"))
    if isinstance(exc, (OperationalError, InterfaceError)):
        log.error("catalogue unavailable, ingest answers 503: %s", exc)
        return _error(Unavailable("the catalogue database is unavailable, nothing was stored; retry later"))
    raise exc


@csrf_exempt
def auth(request):
    try:
        return _auth(request)
    except DatabaseError as exc:
        return _catalogue_error(exc)


def _auth(request):
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    user = request.META.get("HTTP_X_AUTH_USER") or request.META.get("HTTP_X_STORAGE_USER", "")
    key = (request.META.get("HTTP_X_AUTH_KEY") or request.META.get("HTTP_AUTH_KEY")
           or request.META.get("HTTP_X_STORAGE_PASS", ""))
    try:
        account, token = services.authenticate(user, key, _source(request))
    except IngestError as exc:
        return _error(exc)
    resp = HttpResponse(status=200)
    resp["X-Auth-Token"] = token
    resp["X-Storage-Token"] = token
    resp["X-Storage-Url"] = request.build_absolute_uri(f"/v1/AUTH_{account.username}")
    return resp


def _object_response(request, body: bytes, meta: dict | None = None, content_type="application/json"):
    resp = HttpResponse(b"" if request.method == "HEAD" else body, content_type=content_type)
    resp["ETag"] = hashlib.md5(body, usedforsecurity=False).hexdigest()
    resp["Content-Length"] = str(len(body))
    for k, v in swift.meta_headers("Object", meta or {}).items():
        resp[k] = v
    return resp


@csrf_exempt
def swift_api(request, account, container=None, obj=None):
    try:
        return _swift_api(request, account, container, obj)
    except DatabaseError as exc:
        return _catalogue_error(exc)


def _swift_api(request, account, container, obj):
    actor = "ingest"
    try:
        acct = services.account_for_token(request.META.get("HTTP_X_AUTH_TOKEN"), account)
        actor = f"ingest:{acct.username}"
        if request.method == "DELETE":
            raise services.Forbidden("deletion is not possible through ingest; footage is immutable")
        if container is None:
            return _account(request, acct)
        if obj is None:
            return _container(request, acct, container, actor)
        return _object(request, acct, container, obj, actor)
    except IngestError as exc:
        if exc.status in (403, 409):
            record("ingest.denied", actor=actor, source=_source(request), outcome="denied",
                   detail={"method": request.method, "path": request.path[:200], "reason": exc.reason})
        elif exc.status == 400:
            log.info("ingest 400 %s %s: %s", request.method, request.path[:200], exc.reason)
        return _error(exc)


def _account(request, acct):
    if request.method not in ("GET", "HEAD"):
        raise services.Forbidden("account-level writes are not supported")
    # Only what this account may resume: never the names of every recording in the vault.
    names = ["Devices", "System", "Users"] + services.own_unfinished_containers(acct)
    if request.GET.get("format") == "json":
        return JsonResponse([{"name": n, "count": 0, "bytes": 0} for n in names], safe=False)
    return HttpResponse("\n".join(names) + "\n", content_type="text/plain")


def _container(request, acct, container, actor):
    src = _source(request)
    meta = swift.metadata_from_meta(request.META, "Container")
    if container in swift.SYSTEM_CONTAINERS:
        if request.method in ("PUT", "POST"):
            return HttpResponse(status=202 if request.method == "PUT" else 204)
        if container == "Users":
            names = [str(u) for u in Officer.objects.order_by("axis_user_id").values_list("axis_user_id", flat=True)]
        elif container == "Devices":
            names = list(Device.objects.order_by("serial").values_list("serial", flat=True))
        else:
            names = ["Capabilities.json", "Categories.json"] + list(SystemObject.objects.values_list("name", flat=True))
        return _listing(request, names)
    if request.method in ("PUT", "POST"):
        outcome = services.put_recording(container, meta, actor, src, replace=request.method == "PUT")
        return _written(outcome, request.method, CONTAINER_WRITE)
    if request.method in ("GET", "HEAD"):
        rec = services.readable_recording(acct, container, listing=request.method == "GET")
        names = sorted(list(rec.clips.values_list("object_name", flat=True)) +
                       list(rec.attachments.values_list("object_name", flat=True)))
        resp = _listing(request, names)
        for k, v in swift.meta_headers("Container", rec.metadata).items():
            resp[k] = v
        resp["X-Container-Object-Count"] = str(len(names))
        return resp
    return HttpResponse(status=405)


def _listing(request, names):
    if request.method == "HEAD":
        return HttpResponse(status=204)
    if request.GET.get("format") == "json":
        return JsonResponse([{"name": n} for n in names], safe=False)
    return HttpResponse("".join(n + "\n" for n in names), content_type="text/plain")


def _object(request, acct, container, obj, actor):
    src = _source(request)
    method = request.method
    if container == "System":
        if method in ("GET", "HEAD"):
            if obj == "Capabilities.json":
                return _object_response(request, services.capabilities_json())
            if obj == "Categories.json":
                return _object_response(request, services.categories_json())
            so = SystemObject.objects.filter(name=obj).first()
            if so is None:
                raise NotFound(f"System/{obj}")
            return _object_response(request, b"", so.metadata, "application/octet-stream")
        meta = swift.metadata_from_meta(request.META, "Object")
        return _written(services.put_system_object(obj, meta, actor, replace=method == "PUT"), method, REGISTRY_WRITE)
    if container in ("Users", "Devices"):
        if method in ("GET", "HEAD"):
            return _registry_object(request, container, obj)
        if method not in ("PUT", "POST"):
            return HttpResponse(status=405)
        meta = swift.metadata_from_meta(request.META, "Object")
        handler = services.put_user if container == "Users" else services.put_device
        return _written(handler(obj, meta, actor, create=method == "PUT"), method, REGISTRY_WRITE)

    if method == "PUT":
        meta = swift.metadata_from_meta(request.META, "Object")
        stream, length = _body_stream(request)
        direct = direct_body(request.META) if length else None
        try:
            result = services.put_object(container, obj, direct or stream, length, request.META.get("HTTP_ETAG"),
                                         meta, actor, src)
        finally:
            if direct:
                direct.close()
        resp = _written(result.outcome, method, OBJECT_WRITE)
        resp["ETag"] = result.md5
        resp["X-Object-Sha256"] = result.sha256
        return resp
    if method == "POST":
        meta = swift.metadata_from_meta(request.META, "Object")
        return _written(services.post_object_metadata(container, obj, meta, actor, src), method, OBJECT_WRITE)
    if method == "GET":
        # Ingest credentials are in every dock's connection file: they never read evidence.
        raise services.Forbidden("ingest credentials cannot read stored objects; evidence is read by a person "
                                 "through the web app (HEAD gives the hashes to verify an upload)")
    if method == "HEAD":
        rec, item = services.find_object(acct, container, obj)
        resp = HttpResponse(status=200, content_type="application/octet-stream")
        resp["Content-Length"] = str(item.size)
        resp["ETag"] = item.md5
        resp["X-Object-Sha256"] = item.sha256
        for k, v in swift.meta_headers("Object", item.metadata).items():
            resp[k] = v
        return resp
    return HttpResponse(status=405)


def _registry_object(request, container, name):
    if container == "Users":
        o = Officer.objects.filter(axis_user_id=_uuid_or_404(name)).first()
        meta = o and {"Name": o.name, "Active": str(o.active), "UserID": o.user_key}
    else:
        o = Device.objects.filter(serial=name).first()
        meta = o and {"Name": o.name, "Active": str(o.active), "Model": o.model}
    if not meta:
        raise NotFound(f"{container}/{name}")
    return _object_response(request, b"", meta, "application/octet-stream")


def _uuid_or_404(value):
    uid = parse_uuid(value)
    if uid is None:
        raise NotFound(value)
    return uid
