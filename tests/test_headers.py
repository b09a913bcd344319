"""Response headers (issue 20, items 8 and 17): a Content-Security-Policy that allows no
inline script (and templates that need none), HSTS over TLS only, ``Cache-Control: no-store``
on evidence pages, API JSON, ``/stream`` and ``/download``; and HEAD answers with the headers
only, checked on a real ``bodycam serve`` (gunicorn sends whatever body the app returns)."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest
import requests
from django.test import Client

import bodycam

from .access_helpers import World, client_for

SRC = Path(bodycam.__file__).resolve().parent  # the package under test
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
HANDLER_ATTR = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


def inline_scripts(html: str) -> list[str]:
    """Inline script code in ``html``: <script> blocks without src (JSON data blocks are not
    run, so they are allowed) and on*= handler attributes."""
    found = [m.group(0)[:120] for m in SCRIPT_TAG.finditer(html)
             if "src=" not in m.group(1) and "application/json" not in m.group(1)]
    return found + [m.group(0)[:120] for m in HANDLER_ATTR.finditer(html)]


def drain(response) -> None:
    """Read a streamed answer to its end: the test client then closes it (and its file) as a
    WSGI server would. Calling close() directly sends request_finished, which closes the
    test's database connection (PostgreSQL)."""
    if getattr(response, "streaming", False):
        for _ in response.streaming_content:
            pass


def test_no_template_holds_inline_script():
    offenders = {}
    for path in sorted(SRC.rglob("templates/**/*.html")):
        bad = inline_scripts(path.read_text(encoding="utf-8"))
        if bad:
            offenders[str(path.relative_to(SRC))] = bad
    assert not offenders, offenders
    assert inline_scripts('<input onclick="x()">') and inline_scripts("<script>go()</script>")
    assert not inline_scripts('<script src="/static/a.js" data-x="1"></script>')


@pytest.mark.django_db
def test_csp_and_no_store_on_pages_api_and_media(tmp_path):
    w = World(tmp_path)
    cust = client_for(w.custodian)
    clip = w.clip.id
    for path in ("/", f"/evidence/{clip}/", "/timeline/?case=C-1", "/cases/C-1/", f"/api/evidence/{clip}/",
                 "/api/search?q=x", "/api/evidence/", f"/api/evidence/{clip}/stream",
                 f"/api/evidence/{clip}/download", "/login/"):
        r = cust.get(path)
        assert r.status_code in (200, 302), (path, r.status_code)
        csp = r["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]*)", csp).group(1)
        assert script_src.strip() == "'self'", csp  # no 'unsafe-inline', no 'unsafe-eval'
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "no-store" in r["Cache-Control"], (path, r.get("Cache-Control"))
        if r.status_code == 200 and r["Content-Type"].startswith("text/html"):
            assert not inline_scripts(r.content.decode()), path
        drain(r)
    # The public static files (scripts, styles) may be cached; they are never evidence.
    r = Client().get("/static/web/search-page.js")
    assert r.status_code == 200 and "no-store" not in r.get("Cache-Control", "")
    drain(r)


@pytest.mark.django_db
def test_hsts_only_over_tls(settings):
    plain = Client().get("/login/")
    assert "Strict-Transport-Security" not in plain
    tls = Client().get("/login/", secure=True)
    assert re.fullmatch(r"max-age=(\d+)", tls["Strict-Transport-Security"])
    assert int(tls["Strict-Transport-Security"].split("=")[1]) >= 180 * 24 * 3600
    # Behind a TLS proxy that says so (BODYCAM_TRUST_X_FORWARDED_PROTO=1): HSTS too.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert "Strict-Transport-Security" in Client().get("/login/", HTTP_X_FORWARDED_PROTO="https")


# ------------------------------------------------------------------ HEAD on a real server
def _read_response(sock, buf: bytes, with_body: bool) -> tuple[bytes, dict, bytes]:
    """One response from ``buf`` + the socket: (status line, headers, what follows it). With
    ``with_body`` the Content-Length bytes after the headers are taken as its body."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-headers: {buf[:200]!r}"
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    if with_body:
        n = int(headers["content-length"])
        while len(rest) < n:
            chunk = sock.recv(65536)
            assert chunk, "connection closed mid-body"
            rest += chunk
        rest = rest[n:]
    return lines[0].encode(), headers, rest


def head_then_get(base: str, path: str, headers: dict) -> tuple[int, dict, dict, bytes]:
    """HEAD then GET ``path`` on one kept-alive connection: (HEAD status, HEAD headers, GET
    headers, the bytes that came between HEAD's headers and GET's status line)."""
    host, port = base.removeprefix("http://").split(":")
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode())
        status, head, rest = _read_response(sock, b"", with_body=False)
        assert head.get("connection", "keep-alive").lower() == "keep-alive", (path, head)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode())
        # If HEAD had a body, it comes first: GET's status line is not where it should be.
        while len(rest) < 9:
            chunk = sock.recv(65536)
            assert chunk
            rest += chunk
        between = b"" if rest.startswith(b"HTTP/1.1 ") else rest[:64]
        if between:
            return int(status.split()[1]), head, {}, between
        _, get, _ = _read_response(sock, rest, with_body=True)
        return int(status.split()[1]), head, get, b""


@pytest.mark.catalogue
def test_head_answers_carry_no_body_on_the_real_server(live, tmp_path):
    from bodycam.media.synth import make_clip

    from . import axis

    pw = tmp_path / "pw"
    pw.write_text("long-enough-passphrase-7")
    live.cli("user", "add", "cust", "--role", "custodian", "--password-file", str(pw))
    token = __import__("json").loads(live.cli("token", "create", "cust", "--name", "t").stdout)["token"]
    conn = live.swift()
    user_id, serial = axis.register(conn)
    t0 = axis.now()
    name, cmeta = axis.recording(user_id, serial, t0, seconds=1)
    conn.put_container(name, headers=cmeta)
    path = make_clip(str(tmp_path / "c.mp4"), seconds=1)
    with open(path, "rb") as f:
        conn.put_object(name, axis.clip_name(t0, 1), f, headers=axis.clip_headers(t0, 1))
    auth = {"Authorization": f"Bearer {token}"}
    clip = requests.get(live.url + "/api/evidence/", headers=auth, timeout=30).json()["results"][0]["id"]
    size, heads = os.path.getsize(path), {}
    for p in ("/healthz", "/static/web/base.css", "/api/evidence/", f"/api/evidence/{clip}/",
              f"/api/evidence/{clip}/stream", f"/api/evidence/{clip}/download", "/api/search?q=x"):
        status, head, get, between = head_then_get(live.url, p, auth)
        assert between == b"", f"HEAD {p} ({status}) sent a body: {between!r}"
        heads[p] = status
        if status == 200:  # the headers GET would send, its Content-Length included
            assert head["content-length"] == get["content-length"], p
            assert head.get("cache-control") == get.get("cache-control"), p
        if p.endswith(("/stream", "/download")):
            assert int(get["content-length"]) == size and get["cache-control"] == "no-store"
    assert heads["/healthz"] == heads["/static/web/base.css"] == 200, heads
    # A HEAD a page refuses (405: the API and the sign-in page answer GET only) has no body
    # either; the connection stays usable.
    status, head, get, between = head_then_get(live.url, "/login/", {})
    assert between == b"" and get["content-type"].startswith("text/html")
