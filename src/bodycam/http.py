"""HTTP helpers shared by every app's views: byte-range responses and error pages.

Feature apps import these from here (not from ``web``), so web stays on top of the layers.
"""

from __future__ import annotations

import json
import re
import time

from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render

from .errors import BodycamError, page_context

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


PLAYBACK_REMEMBERED_S = 6 * 3600


def playback_start(request, key: str) -> bool:
    """Is this media request the start of a playback, to be audited? Playback is audited once
    per start, not per seek: a request with no Range header, or a Range from byte 0, is a
    start. So is any other range when this session has not started ``key`` (e.g. "play:CLIP")
    within PLAYBACK_REMEMBERED_S. A client that never asks for byte 0 (``bytes=1-``,
    ``bytes=-N``: nearly the whole file) therefore still leaves an entry. Call it only once
    the request is authorised: it remembers the start in the session."""
    rng = request.META.get("HTTP_RANGE", "").strip()
    m = RANGE_RE.match(rng) if rng else None
    from_zero = m is None or (m.group(1) != "" and int(m.group(1)) == 0)
    session = getattr(request, "session", None)
    now = time.time()
    started = dict(session.get("playback_started", {})) if session is not None else {}
    if not from_zero and now - started.get(key, 0) < PLAYBACK_REMEMBERED_S:
        return False
    if session is not None:  # forget old starts: the session stays small
        started = {k: t for k, t in started.items() if now - t < PLAYBACK_REMEMBERED_S}
        started[key] = now
        session["playback_started"] = started
    return True


def range_asked(request) -> str:
    """The Range header as sent (for audit details), cut short."""
    return request.META.get("HTTP_RANGE", "")[:64]


def range_response(request, f, size: int, ctype: str):
    """Serve an open file whole (200) or the one byte range asked for (206); 416 when the
    range lies outside the file. Closes ``f`` when done."""
    rng = request.META.get("HTTP_RANGE", "")
    m = RANGE_RE.match(rng.strip()) if rng else None
    if m is None:
        resp = FileResponse(f, content_type=ctype)
        resp["Accept-Ranges"] = "bytes"
        return resp
    a, b = m.group(1), m.group(2)
    if a == "":
        n = int(b or 0)
        first, last = max(0, size - n), size - 1
    else:
        first, last = int(a), min(int(b), size - 1) if b else size - 1
    if first >= size or last < first:
        f.close()
        resp = HttpResponse(status=416)
        resp["Content-Range"] = f"bytes */{size}"
        return resp
    f.seek(first)
    length = last - first + 1

    def chunks(remaining=length):
        try:
            while remaining > 0:
                data = f.read(min(1 << 16, remaining))
                if not data:
                    break
                remaining -= len(data)
                yield data
        finally:
            f.close()

    resp = StreamingHttpResponse(chunks(), status=206, content_type=ctype)
    resp["Content-Range"] = f"bytes {first}-{last}/{size}"
    resp["Content-Length"] = str(length)
    resp["Accept-Ranges"] = "bytes"
    return resp


def error_page(request, exc):
    """The error page for ``exc`` (a ``BodycamError``: its status and reason)."""
    ctx = page_context(exc) if isinstance(exc, BodycamError) else {"status": exc.status, "message": exc.reason}
    return render(request, "web/error.html", ctx, status=ctx["status"])


def bad_request_page(request, message: str):
    return render(request, "web/error.html", {"status": 400, "message": message}, status=400)


class ErrorPageMiddleware:
    """Pages: a ``BodycamError`` no view caught answers its status with the error page
    (never a 500 for a client's mistake). The REST API maps errors in its DRF exception
    handler instead (``bodycam.web.api.exception_handler``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        if isinstance(exc, BodycamError):
            return error_page(request, exc)
        return None


class NulCharactersMiddleware:
    """A request whose path, query, form fields or small JSON body holds a NUL character is
    refused with 400 before any view runs. No text field anywhere may hold NUL: PostgreSQL
    refuses it in every string (a 500 from deep inside a lookup, the sign-in form included),
    and a name with NUL in it is never a real one. File contents and uploads are not looked
    at (they are bytes, not text)."""

    JSON_LIMIT = 1 << 20  # larger JSON bodies are not read here (no such request is valid)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            message = "NUL characters are not accepted in names, fields or paths"
            if request.path.startswith("/api/") or request.content_type == "application/json":
                return JsonResponse({"error": message}, status=400)
            return HttpResponse(message + "\n", status=400, content_type="text/plain")
        return self.get_response(request)

    def _has_nul(self, request) -> bool:
        if "\x00" in request.path or "\x00" in request.META.get("QUERY_STRING", "") or \
                "%00" in request.META.get("QUERY_STRING", ""):
            return True
        if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                                  "multipart/form-data"):
            return any("\x00" in k or any("\x00" in v for v in vs) for k, vs in request.POST.lists())
        if request.content_type == "application/json":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return False
            if 0 < length <= self.JSON_LIMIT and (b"\x00" in request.body or b"\\u0000" in request.body):
                try:
                    return _holds_nul(json.loads(request.body))
                except ValueError:
                    return False  # not JSON: the view says so
        return False


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False
