"""HTTP helpers shared by every app's views: byte-range responses and error pages.

Feature apps import these from here (not from ``web``), so web stays on top of the layers.
"""

from __future__ import annotations

import json
import re
import time

from django.conf import settings
from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template import loader

from .errors import BodycamError, NotFound, ServerError, page_context

ERROR_TEMPLATE = "error.html"  # project-level (src/bodycam/templates/), extends base.html
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


def _wants_json(request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_page(request, exc: BodycamError):
    """The error page for ``exc``: its status and message (``Retry-After`` when it has one).
    Views do not call this: they let the error go, and ``ErrorPageMiddleware`` answers."""
    ctx = page_context(exc)
    if _wants_json(request):  # a page's own script asking for data (e.g. the evidence picker)
        resp = JsonResponse({"error": ctx["message"]}, status=ctx["status"])
    else:
        resp = render(request, ERROR_TEMPLATE, ctx, status=ctx["status"])
    if getattr(exc, "retry_after", None):
        resp["Retry-After"] = str(exc.retry_after)
    return resp


def not_found_page(request, exception=None):
    """``handler404``: an address no route answers (or a view's ``Http404``) gets the styled
    error page, with the navigation for a signed-in person; JSON for a script asking for it."""
    return error_page(request, NotFound())


def server_error_page(request):
    """``handler500``: the styled error page. It shows the navigation when the session can
    still be read; when the failure is in the catalogue itself it renders without the
    request (no session or user lookup), so the error page cannot fail the same way."""
    exc = ServerError()
    try:
        return error_page(request, exc)
    except Exception:  # noqa: BLE001 (the first failure is what counts: it is already logged)
        html = loader.get_template(ERROR_TEMPLATE).render(page_context(exc))
        return HttpResponse(html, status=exc.status)


class ErrorPageMiddleware:
    """Pages: a ``BodycamError`` a view raises answers its status with the error page
    (never a 500 for a client's mistake); views do not catch errors to show this page. The
    REST API maps errors in its DRF exception handler instead
    (``bodycam.web.api.exception_handler``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        if isinstance(exc, BodycamError):
            return error_page(request, exc)
        return None


def _refuse(request, status: int, message: str):
    """A refusal before any view: JSON for the API and JSON bodies, plain text otherwise."""
    if request.path.startswith("/api/") or request.content_type == "application/json":
        return JsonResponse({"error": message}, status=status)
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def _is_ingest(request) -> bool:
    """The Swift/Axis ingest routes: their bodies are uploads, streamed (never bounded here)."""
    return request.path.startswith(("/v1/", "/auth/"))


def _json_body(request) -> bool:
    ctype = request.content_type or ""
    return ctype == "application/json" or ctype.endswith("+json")


def _content_length(request) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def json_depth(value) -> int:
    """How deeply ``value`` (parsed JSON) nests lists and objects; iterative (no recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            deepest = max(deepest, depth)
            stack.extend((x, depth + 1) for x in v if isinstance(x, (dict, list)))
    return deepest


class BodyLimitsMiddleware:
    """JSON request bodies are bounded before anything parses them (a view, DRF, or the NUL
    check below): larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` answers 413, nested deeper than
    ``MAX_JSON_DEPTH`` lists/objects answers 400. Python's JSON parser recurses, so a body of
    100 000 ``[`` raised RecursionError (a 500 on every route, the sign-in page included,
    before authentication). Ingest uploads (``/v1/``, ``/auth/``) are streamed and may be
    large: only their small JSON bodies are looked at. Comes before every other middleware."""

    MAX_JSON_DEPTH = 32

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = self.problem(request)
        if problem:
            return _refuse(request, *problem)
        return self.get_response(request)

    def problem(self, request) -> tuple[int, str] | None:
        if not _json_body(request):
            return None
        length, limit = _content_length(request), settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            if _is_ingest(request):
                return None
            return 413, f"the JSON body is larger than {limit} bytes"
        if length == 0:
            return None
        body = request.body
        # A body with fewer brackets than the limit cannot nest deeper: not parsed here.
        if body.count(b"[") + body.count(b"{") <= self.MAX_JSON_DEPTH:
            return None
        try:
            deep = json_depth(json.loads(body)) > self.MAX_JSON_DEPTH
        except RecursionError:
            deep = True
        except ValueError:
            return None  # not JSON: the view says so
        if deep:
            return 400, f"the JSON body nests lists/objects deeper than {self.MAX_JSON_DEPTH} levels"
        return None


class NulCharactersMiddleware:
    """A request whose path, query, form fields or small JSON body holds a NUL character, or
    whose JSON holds a lone surrogate (``"\\ud800"``: not a character, it cannot be stored or
    even encoded as UTF-8), is refused with 400 before any view runs. No text field anywhere
    may hold NUL: PostgreSQL refuses it in every string (a 500 from deep inside a lookup, the
    sign-in form included), and a name with NUL in it is never a real one. File contents and
    uploads are not looked at (they are bytes, not text). Runs after ``BodyLimitsMiddleware``
    (JSON bodies here are bounded in size and depth)."""

    JSON_LIMIT = 1 << 20  # larger JSON bodies are not read here (no such request is valid)
    _SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = self._problem(request)
        if problem:
            return _refuse(request, 400, problem)
        return self.get_response(request)

    def _problem(self, request) -> str:
        nul = "NUL characters are not accepted in names, fields or paths"
        if "\x00" in request.path or "\x00" in request.META.get("QUERY_STRING", "") or \
                "%00" in request.META.get("QUERY_STRING", ""):
            return nul
        if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                                  "multipart/form-data"):
            if any("\x00" in k or any("\x00" in v for v in vs) for k, vs in request.POST.lists()):
                return nul
            return ""
        if _json_body(request) and 0 < _content_length(request) <= self.JSON_LIMIT:
            body = request.body
            nul_like = b"\x00" in body or b"\\u0000" in body
            surrogate_like = self._SURROGATE_ESCAPE.search(body) is not None
            if nul_like or surrogate_like:
                try:
                    found = _bad_text(json.loads(body))
                except (ValueError, RecursionError):
                    return ""  # not JSON: the view says so
                if found == "nul":
                    return nul
                if found == "surrogate":
                    return "text must be valid Unicode: a lone surrogate (\\ud800-\\udfff) is not a character"
        return ""


_SURROGATE = re.compile("[\ud800-\udfff]")


def _bad_text(value) -> str:
    """"nul" or "surrogate" when a string (key or value) anywhere in ``value`` holds one, else ""
    (iterative: no recursion)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if "\x00" in v:
                return "nul"
            if _SURROGATE.search(v):
                return "surrogate"
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return ""


# The pages load scripts and styles only from /static/ (no inline <script>, no on*= handlers:
# data reaches scripts in data-* attributes). Inline style attributes stay allowed (bars and
# markers are positioned with them); scripts may not be.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self'; media-src 'self'; connect-src 'self'; object-src 'none'; "
                           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class ResponseHeadersMiddleware:
    """Outermost: every response carries the Content-Security-Policy; everything but the
    public static files is ``Cache-Control: no-store`` unless the view chose its own caching
    (evidence pages, API JSON, ``/stream``, ``/download``, share links: nothing kept in a
    browser's or a proxy's cache). HSTS on HTTPS comes from Django's SecurityMiddleware
    (``SECURE_HSTS_SECONDS``). A HEAD response carries the headers GET would (its
    Content-Length included) and no body: gunicorn sends whatever body the application
    returns, and a HEAD answer with a body breaks the next response on a kept-alive
    connection."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if not request.path.startswith(settings.STATIC_URL):
            response.setdefault("Cache-Control", "no-store")
        if request.method == "HEAD":
            strip_body(response)
        return response


def strip_body(response) -> None:
    """Drop ``response``'s body, keeping its headers (Content-Length included)."""
    if response.streaming:
        # The file behind a FileResponse stays on the response's closers: the server's
        # close() of the response closes it, as after a GET.
        response.streaming_content = iter(())
    else:
        length = response.get("Content-Length", str(len(response.content)))
        response.content = b""
        response["Content-Length"] = length


# ---------------------------------------------------------------- confirmation step
CONFIRM_TEMPLATE = "confirm.html"


def confirmed(request) -> bool:
    """True when this POST came from the confirmation page (``confirm=yes``)."""
    return request.method == "POST" and request.POST.get("confirm") == "yes"


def confirm_step(request, title: str, question: str, consequences=(), button: str = "Yes, do it",
                 back: str = "", danger: bool = True):
    """The page that asks first, for an action that cannot be undone (close a case, revoke a
    share, release records, approve a purge). It posts the same fields back to the same URL
    with ``confirm=yes``; the view acts only then (``confirmed``). Without JavaScript too:
    this is a page, not a ``confirm()`` box. Nothing is changed by showing it."""
    fields = [(k, v) for k in request.POST for v in request.POST.getlist(k)
              if k not in ("csrfmiddlewaretoken", "confirm")]
    referer = request.META.get("HTTP_REFERER", "")
    host = request.get_host()
    if not back and referer:
        for prefix in (f"http://{host}/", f"https://{host}/"):
            if referer.startswith(prefix):
                back = "/" + referer[len(prefix):]
    return render(request, CONFIRM_TEMPLATE, {"title": title, "question": question, "consequences": list(consequences),
                                              "button": button, "back": back or request.path, "fields": fields,
                                              "action_url": request.path, "danger": danger})
