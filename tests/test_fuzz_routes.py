"""Every route in the URLconf against a fixed corpus of hostile input (issue 20, item 9).

Each route of ``bodycam.urls`` (the walk fails when a route has no sample values, so a new
route joins the corpus) is sent, as the roles that reach it (found by a first pass) and as
others: hostile query parameters, bodies, headers and path values — huge and deeply nested
JSON, NUL, lone surrogates, digits that are not ASCII, times outside the calendar, 20-digit
numbers, wrong and malformed content types. Every answer must be below 500, and no table
may gain a row (audit entries, sessions, sign-in attempts and the other allowed ones below
excepted) and no blob appear. A second test sends a chunked body with chunk size ``zz`` to
every route of a real ``bodycam serve``.

Deterministic: the corpus is fixed and roles are picked with ``random.Random(SEED)``.
"""

from __future__ import annotations

import json
import random
import re
import socket
import uuid
from importlib import import_module
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from .access_helpers import World, client_for, make_user
from .test_headers import drain

SEED = 20
# Most capable first: the corpus goes to the first role that reaches a route, and in turn to the others.
ROLES = ["custodian", "admin", "auditor", "supervisor", "detective", "prosecutor", "officer", "link", "ingest",
         "anon"]

# Tables that may gain rows from a hostile request, and why. Any other table growing fails.
MAY_GROW = {
    "custody_auditentry": "refusals and reads are audited",
    "django_session": "sign-in steps and the cloned sessions the walk signs in with",
    "access_loginattempt": "failed sign-ins are counted (lockout)",
    "access_throttle": "sign-in rate limits",
    "custody_alert": "security alerts on repeated failures",
}

# POSTs that act and read no body (any body is ignored, as a form's extra fields are): they
# get only the bodies refused before any view (the first five), so the row check stays strict.
ACTS_WITHOUT_BODY = {
    "api/audit/checkpoint": "signs a checkpoint of the audit chain",
    "records/clip/<clip_id>/redact/": "the page's form starts a redaction; its one field (step) has a default",
}

# -------------------------------------------------------------------------------- corpus
DEEP = "[" * 100_000 + "]" * 100_000
QUERIES = [
    "from=0001-01-01T00:00:00%2B01:00", "to=0001-01-01T00:00:00%2B01:00", "from=9999-12-31T23:59:59-01:00",
    "to=9999-12-31T23:59:59-01:00&from=0001-01-01", "from=2026-02-30&to=0001-01-02",
    "offset=99999999999999999999&limit=99999999999999999999&after=99999999999999999999",
    "page=99999999999999999999&per_page=-1", "page=%C2%B2&per_page=%D9%A1&offset=-1&limit=0",
    "q=north%00bound", "q=%ED%A0%80&sort=%00&restricted=maybe&transcript=%ED%A0%80", "q=" + "a" * 5000,
    "lat=nan&lon=inf&radius=-1", "lat=1e999&lon=-1e999&radius=1e999&case=%00&incident=not-a-uuid",
    "category=%ED%A0%80&tag=" + "x" * 3000 + "&seed=99999999999999999999999999&price=nan",
    "price=1e999&days=%D9%A1%D9%A2&download=1&format=json&next=//evil.example/",
    "action=%ED%A0%80&actor=" + "a" * 500 + "&squad=%00&badge=%ED%A0%80&fmt=pdf&language=zz",
]
_FORM = ("username=off.x%ED%A0%80&password=x&acknowledge=yes&code=%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5%D9%A6"
         "&role=%ED%A0%80&from=0001-01-01T00:00:00%2B01:00&days=99999999999999999999&recipient=%ED%A0%80"
         "&category=%ED%A0%80&clip=not-a-uuid&action=%ED%A0%80&text=%ED%A0%80&status=%ED%A0%80")
BODIES: list[tuple[str, str, bytes]] = [  # (name, content type, body)
    ("deep-json", "application/json", DEEP.encode()),
    ("deep-json-nul", "application/json", ('{"a": "\\u0000", "b": ' + DEEP + "}").encode()),
    ("huge-json", "application/json", json.dumps({"note": "x" * (3 << 20)}).encode()),
    ("surrogates", "application/json", b'{"recipient": "\\ud800", "note": "\\udfff", "text": "a\\ud800", '
                                       b'"role": "\\ud800", "reason": "\\ud800", "tags": ["\\udc00"]}'),
    ("nul-json", "application/json", b'{"recipient": "ada\\u0000", "note": "\\u0000", "role": "\\u0000"}'),
    ("huge-numbers", "application/json", b'{"days": 1e999, "limit": 99999999999999999999, "in": -1e308, '
                                         b'"out": 1e308, "seconds": 99999999999999999999, "step": 1e999}'),
    ("long-int", "application/json", b'{"days": ' + b"9" * 5000 + b"}"),
    ("odd-digits", "application/json", '{"days": "١٢", "code": "¹²³⁴⁵⁶", "in": "٣", "out": "²"}'.encode()),
    ("bad-dates", "application/json", b'{"received_on": "0001-01-01", "from": "0001-01-01T00:00:00+01:00", '
                                      b'"to": "9999-12-31T23:59:59-01:00", "expires_at": "9999-12-31T23:59:59-01:00",'
                                      b' "days": 3650}'),
    ("wrong-types", "application/json", b'{"recipient": ["x"], "days": {"a": 1}, "categories": "x", "tags": 5, '
                                        b'"note": null, "allow_download": "yes", "boxes": "x", "segments": 7}'),
    ("json-list", "application/json", b"[1, 2, 3]"),
    ("json-scalar", "application/json", b'"just a string"'),
    ("bad-utf8-json", "application/json", b'{"note": "\xed\xa0\x80\xff"}'),
    ("json-as-text", "text/plain", b'{"note": "x"}'),
    ("xml", "application/xml", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'a'>]><x>&a;</x>"),
    ("form", "application/x-www-form-urlencoded", _FORM.encode()),
    ("form-nul", "application/x-www-form-urlencoded", b"username=%00&q=%00"),
    ("form-bad-utf8", "application/x-www-form-urlencoded", b"q=\xff\xfe&text=\xed\xa0\x80&note=\xc0\xaf"),
    ("form-bad-charset", "application/x-www-form-urlencoded; charset=no-such-charset", b"q=x&note=y"),
    ("form-many-fields", "application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(3000)).encode()),
    ("multipart-no-boundary", "multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--"),
    ("multipart-broken", "multipart/form-data; boundary=zzz",
     b"--zzz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../e\xed\xa0\x80.mp4\"\r\n"
     b"Content-Type: video/mp4\r\n\r\nnot a complete part"),
    ("multipart-nul-name", "multipart/form-data; boundary=zzz",
     b"--zzz\r\nContent-Disposition: form-data; name=\"a\x00b\"\r\n\r\nv\r\n--zzz--\r\n"),
]
HOSTILE_TRACK = json.dumps({"CoordinateEntries": [  # a GNSS track: NaN, a number and null as times, year 1
    {"LocationWKT": "POINT(13.2 55.7)", "SecondsFromStart": float("nan"), "Timestamp": "2026-01-01T00:00:00Z"},
    {"LocationWKT": "POINT(13.2 55.7)", "SecondsFromStart": 1, "Timestamp": 1767225600},
    {"LocationWKT": "POINT(13.2 55.7)", "SecondsFromStart": 2, "Timestamp": None},
    {"LocationWKT": "POINT(13.2 55.7)", "SecondsFromStart": 3, "Timestamp": "0001-01-01T00:00:00+01:00"},
]}).encode()
HEADERS: list[dict] = [  # extra request headers (WSGI environ keys)
    {"HTTP_RANGE": "bytes=99999999999999999999-", "HTTP_IF_MODIFIED_SINCE": "Mon, 01 Jan 0001 00:00:00 GMT"},
    {"HTTP_RANGE": "bytes=-99999999999999999999", "HTTP_IF_NONE_MATCH": "\x00"},
    {"HTTP_RANGE": "bytes=5-1", "HTTP_ACCEPT": "application/json;q=nan"}, {"HTTP_RANGE": "items=٣-,0-0,1-1"},
    {"HTTP_AUTHORIZATION": "Bearer \u00ff\u00fe" + "a" * 4000, "HTTP_X_FORWARDED_FOR": "\u00ff, ::1, 999.1.1.1"},
    {"HTTP_AUTHORIZATION": "Basic %%%%", "HTTP_ACCEPT_LANGUAGE": "x" * 5000},
    {"HTTP_X_AUTH_TOKEN": "bc_" + "\u00ff" * 100}, {"HTTP_COOKIE": "sessionid=\u00ff\u00fe; csrftoken=\x01"},
    {"HTTP_HOST": "bad host\u00ff"},
    {"HTTP_X_CONTAINER_META_TRIGGERONTIMEISO": "0001-01-01T00:00:00+01:00",
     "HTTP_X_CONTAINER_META_STARTTIMEISO": "9999-12-31T23:59:59-01:00"},
    {"HTTP_X_OBJECT_META_STARTTIME": "99999999999999999999", "HTTP_X_OBJECT_META_STARTTIMEISO": "0001-01-01T00:00:00+01:00",
     "HTTP_X_OBJECT_META_STOPTIMEISO": "9999-12-31T23:59:59-01:00"},
    {"HTTP_X_OBJECT_META_NAME": "\u00ed\u00a0\u0080", "HTTP_X_OBJECT_META_SHA256": "zz", "HTTP_ETAG": "\u00ff",
     "HTTP_X_OBJECT_META_CONTAINERTYPE": "\u00ff" * 300},
]  # (bad chunked encoding needs a real server: the second test)
HOSTILE_SEGMENTS = ["%00", "%ED%A0%80", "..%2F..%2Fsettings.py", "9" * 300, "%D9%A1%D9%A2", "00000000-0000-0000-0000-000000000000",
                    "' OR 1=1 --", "AUTH_%00"]


# ---------------------------------------------------------------------- the URLconf walk
def routes(patterns=None, prefix="") -> list[str]:
    """Every route as a template with <name> placeholders, regex routes included."""
    out = []
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            out += routes(p.url_patterns, prefix + _template(p.pattern))
        elif isinstance(p, URLPattern):
            out.append(prefix + _template(p.pattern))
    return out


def _template(pattern) -> str:
    text = str(pattern)
    if hasattr(pattern, "regex") and text.startswith("^"):  # re_path
        text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", text).lstrip("^").rstrip("$")
        text = text.replace("/?", "/").replace("\\.", ".")
    return re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", text)


class Setting:
    """The world the walk runs in: users of every role signed in, a clip with a case, share,
    link and job, the site's ingest account, and real values for every route parameter."""

    def __init__(self, tmp_path):
        from bodycam.ingest import services as ingest
        from bodycam.jobs.models import Job
        from bodycam.release.models import Share

        self.w = w = World(tmp_path)
        self.signed_in = {role: client_for(getattr(w, role)) for role in ROLES if hasattr(w, role)}
        # The clip's playback copy exists, as it does once the worker has run: without it the
        # stream routes answer a deliberate 503 "preview not ready" for people who may not download.
        from bodycam.jobs.services import submit

        submit("media.playback", params={"clip_id": str(w.clip.id)}, inline=True)
        # Sign-in routes count failed codes toward a lockout that ends the user's sessions: there
        # the walk uses a session of its own user, so the role sessions above stay signed in.
        self.sign_in_session = client_for(make_user("fuzz.signin", "officer"))
        cust = self.signed_in["custodian"]
        r = cust.post(f"/api/evidence/{w.clip.id}/links", {"days": 7}, content_type="application/json")
        assert r.status_code == 201, r.content
        self.link_id, link_url = r.json()["id"], r.json()["url"]
        self.signed_in["link"] = Client()
        assert self.signed_in["link"].get(link_url.split("testserver", 1)[1]).status_code in (200, 302)
        account, key = ingest.ensure_account("Fuzz PD")
        r = Client().get("/auth/v1.0", HTTP_X_AUTH_USER=account.username, HTTP_X_AUTH_KEY=key)
        assert r.status_code == 200
        self.ingest_headers = {"HTTP_X_AUTH_TOKEN": r["X-Auth-Token"]}
        self.account = f"AUTH_{account.username}"
        job = Job.objects.first()
        share = Share.objects.first()
        rec = w.clip.recording
        self.values = {
            "clip_id": str(w.clip.id), "recording_id": str(rec.id), "case_key": "C-1", "token": "not-a-token",
            "link_id": self.link_id, "fmt": "json", "derivative_id": str(uuid.uuid4()),
            "job_id": str(job.id) if job else str(uuid.uuid4()), "username": w.officer.username,
            "kind": "item", "share_id": str(share.id), "number": "R-1", "redaction_id": str(uuid.uuid4()),
            "file_id": str(uuid.uuid4()), "token_id": str(uuid.uuid4()), "request_id": str(uuid.uuid4()),
            "path": "web/base.css", "account": self.account,
            "container": rec.container_name, "obj": "20260101_000000_9.mp4",
            "serial": rec.device.serial, "squad_id": str(w.squad_a.id), "key": str(rec.id),
            "export_id": str(uuid.uuid4()), "entry_id": str(uuid.uuid4()),
            "stream_id": str(uuid.uuid4()), "session_id": str(uuid.uuid4()), "viewer_id": uuid.uuid4().hex,
        }

    def client(self, role: str, path: str, throwaway: bool = False) -> tuple[Client, dict]:
        """A client for ``role`` (and extra environ). Sign-in and sign-out routes get a clone of
        a session of their own, so the walk's sessions survive them; ``throwaway`` (a request
        that sends its own Cookie header: the answer may delete the cookie) a clone of the role's."""
        if role in ("anon", "ingest"):
            return Client(raise_request_exception=False), (self.ingest_headers if role == "ingest" else {})
        if path.startswith(("/login/", "/mfa/", "/logout/")):
            return _clone(self.sign_in_session), {}
        base = self.signed_in[role]
        if throwaway:
            return _clone(base), {}
        base.raise_request_exception = False
        return base, {}


def _clone(client: Client) -> Client:
    engine = import_module(settings.SESSION_ENGINE)
    s = engine.SessionStore()
    s.update(dict(client.session.items()))
    s.create()
    c = Client(raise_request_exception=False)
    c.cookies[settings.SESSION_COOKIE_NAME] = s.session_key
    for name, morsel in client.cookies.items():
        if name != settings.SESSION_COOKIE_NAME:
            c.cookies[name] = morsel.value
    return c


def fill(template: str, values: dict, override: str | None = None, only: str | None = None) -> str:
    def one(m):
        name = m.group(1)
        if override is not None and (only is None or only == name):
            return override
        assert name in values, f"route {template!r}: no sample value for <{name}> (add it to Setting.values)"
        return quote(values[name], safe="")
    return "/" + re.sub(r"<(\w+)>", one, template)


def table_counts() -> dict[str, int]:
    with connection.cursor() as cur:
        out = {}
        for t in connection.introspection.table_names(cur):
            cur.execute(f'SELECT COUNT(*) FROM "{t}"')
            out[t] = cur.fetchone()[0]
        return out


def blobs() -> set[str]:
    root = settings.OBJECTS_DIR
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@pytest.fixture
def quiet_logs():
    """Thousands of refusals: Django logs each 4xx/5xx; the test reports the 5xx itself."""
    import logging

    loggers = [logging.getLogger(n) for n in ("django.request", "django.security", "bodycam")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    yield
    for lg, level in zip(loggers, levels):
        lg.setLevel(level)


@pytest.mark.django_db
def test_every_route_answers_hostile_input_without_a_5xx_or_a_new_row(tmp_path, quiet_logs):
    st = Setting(tmp_path)
    templates = routes()
    assert len(templates) > 60 and any(t.startswith("v1/") for t in templates)
    rng = random.Random(SEED)
    failures: list[str] = []
    kinds: dict[tuple, str] = {}  # (route, kind of input, exception): the first such failure
    sent = 0
    counts: dict[str, int] = {}
    route = ""

    def send(method, role, path, body=None, ctype=None, extra=None, what=""):
        nonlocal sent
        client, env = st.client(role, path, throwaway="HTTP_COOKIE" in (extra or {}))
        kw = dict(env, **(extra or {}))
        if body is not None:
            kw.update(data=body, content_type=ctype)
        r = client.generic(method, path, **kw)
        sent += 1
        counts[what.split(" ")[0]] = counts.get(what.split(" ")[0], 0) + 1
        if r.status_code >= 500:
            exc = getattr(r, "exc_info", None)
            reason = f"{exc[0].__name__}: {str(exc[1])[:100]}" if exc and exc[0] else repr(r.content[:100])
            failures.append(f"{r.status_code} {method} {path[:140]} as {role} [{what}]: {reason}")
            kinds.setdefault((route, what.split(" ")[0] + " " + what.split(" ")[-1], reason.split(":")[0]),
                             failures[-1])
        drain(r)
        return r.status_code

    # Pass 1: which methods each route takes (not 405) and which roles reach it (anything but
    # 401/403/405 and the sign-in redirect).
    reach: dict[str, list[str]] = {}
    takes: dict[str, list[str]] = {}
    for t in templates:
        route = t
        path = fill(t, st.values)
        reach[t], methods = [], set()
        for role in ROLES:
            others = ("PUT", "PATCH", "DELETE") if role in ("custodian", "ingest") else ()
            codes = {m: send(m, role, path, what="probe") for m in ("GET", "POST", *others)}
            methods |= {m for m, c in codes.items() if c != 405}
            if any(c not in (401, 403, 405, 302) for c in codes.values()):
                reach[t].append(role)
        takes[t] = sorted(methods)

    # Plain requests may act (start a transcript, revoke a share: no body needed); hostile
    # ones may not. Counted from here.
    rows_before, blobs_before = table_counts(), blobs()

    # Pass 2: the corpus, as the roles that reach the route (rotating), now and then as any role.
    for i, t in enumerate(templates):
        route = t
        real = fill(t, st.values)
        relevant = reach[t] or ROLES

        def pick(k):
            """The most capable role that reaches the route; every third input another that
            does, every fifth any role at all (seeded)."""
            if k % 5 == 4:
                return rng.choice(ROLES)
            return relevant[0] if k % 3 else relevant[(i + k // 3) % len(relevant)]

        sep = "&" if "?" in real else "?"
        for k, q in enumerate(QUERIES if "GET" in takes[t] else QUERIES[:3]):
            send("GET" if k % 4 else "HEAD", pick(k), real + sep + q, what="query")
        # Every body with each method the route takes; a GET-only route gets the few that
        # middleware reads before any view (size, depth, NUL, surrogates).
        body_methods = [m for m in takes[t] if m != "GET"]
        for k, (name, ctype, body) in enumerate(BODIES if body_methods and t not in ACTS_WITHOUT_BODY
                                                else BODIES[:5]):
            for j, method in enumerate(body_methods or ["POST"]):
                if j == 0 or (k + j) % 3 == 0:  # the first method gets every body, the others a third
                    send(method, pick(k + j), real, body, ctype, what=f"body {name}")
        # Headers: read by every route (GET, HEAD); ingest also takes its metadata from them (PUT, POST).
        methods = ("PUT", "POST", "GET") if t.startswith("v1/") else ("GET", "HEAD")
        for k, extra in enumerate(HEADERS):
            send(methods[k % len(methods)], pick(k), real, extra=extra, what=f"headers {sorted(extra)}")
        if "<obj>" in t:  # a GNSS track: the ingest object whose body is parsed (JSON)
            gnss = fill(t, dict(st.values, obj="20260101_000000_9_gpstrail.json"))
            for k, (name, ctype, body) in enumerate(BODIES):
                send("PUT", "ingest", gnss, body, ctype, what=f"gnss body {name}")
            # As a dock sends it (no JSON content type): the middleware does not read it, ingest parses it.
            for name, body in (("deep-json", DEEP.encode()), ("hostile-track", HOSTILE_TRACK)):
                send("PUT", "ingest", gnss, body, "application/octet-stream", what=f"gnss octet-stream {name}")
        for k, seg in enumerate(HOSTILE_SEGMENTS if "<" in t else []):
            path = fill(t, st.values, override=seg)
            send(("GET", "POST", "PUT", "DELETE", "PATCH")[k % 5], pick(k), path, b"{}", "application/json",
                 what="path")
            one = re.findall(r"<(\w+)>", t)[k % len(re.findall(r"<(\w+)>", t))]
            send("GET", pick(k + 1), fill(t, st.values, override=seg, only=one), what=f"path <{one}>")

    # The walk kept its sessions (a lockout or sign-out would have left later routes unreached).
    for role, client in st.signed_in.items():
        if role != "link":
            if client.get("/api/search").status_code != 200:
                from bodycam.custody.models import AuditEntry

                user = getattr(st.w, role)
                why = list(AuditEntry.objects.filter(actor=user.username).exclude(outcome="ok")
                           .order_by("-seq").values_list("action", "detail")[:5])
                pytest.fail(f"the {role} session ended during the walk: {why}")
    grown = {t: (rows_before.get(t, 0), n) for t, n in table_counts().items()
             if n > rows_before.get(t, 0) and t not in MAY_GROW}
    new_blobs = blobs() - blobs_before
    print("requests by kind:", counts)
    report = "\n".join(kinds.values())
    assert not failures, (f"{len(failures)} of {sent} hostile requests answered 5xx; the first of each "
                          f"(route, input, exception):\n{report}")
    assert not grown, f"tables gained rows from hostile requests: {grown}"
    assert not new_blobs, f"hostile requests stored blobs: {sorted(new_blobs)[:20]}"


# --------------------------------------------------------------- the server layer (gunicorn)
def _raw(live, request: bytes) -> int:
    """Send raw bytes; the status of the answer (0 when the server closed without one)."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)  # all sent: a body that stops short ends here
        buf = b""
        while b"\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                return 0
            buf += chunk
    return int(buf.split(b" ", 2)[1])


@pytest.mark.catalogue
def test_bad_chunked_bodies_are_a_4xx_on_every_route_of_the_real_server(live):
    """Transfer-Encoding: chunked with a chunk size ``zz``, a chunk shorter than its size and a
    20-digit size, to every route (ingest: into a real open recording, as a clip and as a
    GNSS track, where the body is read): a 4xx, never a 5xx or a dropped connection."""
    from . import axis

    conn = live.swift()
    user_id, serial = axis.register(conn)
    t0 = axis.now()
    container, cmeta = axis.recording(user_id, serial, t0, seconds=5)
    conn.put_container(container, headers=cmeta)
    url, auth = conn.get_auth()
    # The body is refused before any view reads an id, so every placeholder may be "x".
    values = {name: "x" for t in routes() for name in re.findall(r"<(\w+)>", t)}
    values.update(path="web/base.css", account=url.rsplit("/", 1)[1], container=container)
    bad = []
    for t in routes():
        objs = [axis.clip_name(t0, 7), f"{t0:%Y%m%d_%H%M%S}_7_gpstrail.json"] if "<obj>" in t else ["-"]
        for obj in objs:
            path = fill(t, dict(values, obj=obj))
            for ctype, chunks in (("application/json", b"zz\r\n{}\r\n0\r\n\r\n"),
                                  ("video/mp4", b"5\r\nabc\r\n0\r\n\r\n"),  # shorter than it says
                                  ("application/x-www-form-urlencoded", b"99999999999999999999\r\na=1\r\n0\r\n\r\n")):
                method = "PUT" if t.startswith("v1/") else "POST"
                status = _raw(live, (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: {auth}\r\n"
                                     f"Content-Type: {ctype}\r\nTransfer-Encoding: chunked\r\n"
                                     "Connection: close\r\n\r\n").encode() + chunks)
                if status >= 500 or status == 0:
                    bad.append(f"{status} {method} {path} chunked {chunks[:12]!r}")
    assert not bad, "\n".join(bad)
