"""A small OpenStack Swift client (standard library only) for the Axis Body Worn
Integration API, as the dock uses it: auth with the connection file's credentials,
container PUT/HEAD/POST, streamed object PUT with ETag (MD5) and HEAD.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from ..errors import BodycamError


class SwiftError(BodycamError):
    def __init__(self, status: int, reason: str):
        super().__init__(f"HTTP {status}: {reason}" if status else reason)
        self.status = status
        self.reason = reason


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes


def meta_headers(kind: str, metadata: dict) -> dict:
    return {f"X-{kind}-Meta-{k}": quote(str(v), safe=" :;,./@-_+") for k, v in metadata.items()}


def load_connection(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            data = f.read(64 * 1024 + 1)
    except OSError as exc:
        raise SwiftError(0, f"cannot read connection file: {exc.strerror}") from None
    if len(data) > 64 * 1024:
        raise SwiftError(0, "connection file is larger than 64 kB")
    try:
        conn = json.loads(data)
        uris = conn["AuthenticationTokenURI"]
        if isinstance(uris, str):
            uris = [uris]
        conn["AuthenticationTokenURI"] = [u for u in uris if u]
        conn["BlobAPIUserName"], conn["BlobAPIKey"]  # noqa: B018 - presence check
    except (ValueError, KeyError, TypeError) as exc:
        raise SwiftError(0, f"not an Axis connection file: {exc}") from None
    if not conn["AuthenticationTokenURI"]:
        raise SwiftError(0, "connection file names no AuthenticationTokenURI")
    return conn


class SwiftClient:
    def __init__(self, connection: dict, timeout: float = 60.0, rate_limit: int | None = None):
        self.conn = connection
        self.timeout = timeout
        self.rate_limit = rate_limit
        self.token: str | None = None
        self.storage_url: str | None = None
        certs = [c for c in connection.get("HTTPSCertificate") or [] if c]
        self.ssl_context = None
        if certs:
            self.ssl_context = ssl.create_default_context()
            for c in certs:
                c = c.strip()
                if c.startswith("-----BEGIN"):
                    self.ssl_context.load_verify_locations(cadata=c)
                else:
                    self.ssl_context.load_verify_locations(cadata=base64.b64decode(c))

    # -- plumbing
    def _http(self, url: str):
        parts = urlsplit(url)
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=self.timeout,
                                               context=self.ssl_context or ssl.create_default_context())
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)

    def authenticate(self) -> None:
        last = None
        for uri in self.conn["AuthenticationTokenURI"]:
            try:
                c = self._http(uri)
                path = urlsplit(uri).path or "/auth/v1.0"
                c.request("GET", path, headers={"X-Auth-User": self.conn["BlobAPIUserName"],
                                                "X-Auth-Key": self.conn["BlobAPIKey"]})
                r = c.getresponse()
                r.read()
                c.close()
            except OSError as exc:
                last = SwiftError(0, f"auth endpoint {uri} unreachable: {exc}")
                continue
            if r.status != 200:
                last = SwiftError(r.status, "authentication refused")
                continue
            self.token = r.getheader("X-Auth-Token")
            self.storage_url = r.getheader("X-Storage-Url")
            if not self.token or not self.storage_url:
                last = SwiftError(r.status, "auth response lacks X-Auth-Token/X-Storage-Url")
                continue
            return
        raise last or SwiftError(0, "authentication failed")

    def request(self, method: str, container: str, obj: str | None = None, headers: dict | None = None,
                body_path: str | None = None, retries: int = 5) -> Response:
        for attempt in range(retries + 1):
            if self.token is None:
                self.authenticate()
            path = urlsplit(self.storage_url).path.rstrip("/") + "/" + quote(container, safe="")
            if obj is not None:
                path += "/" + quote(obj, safe="")
            hdrs = {"X-Auth-Token": self.token, **(headers or {})}
            try:
                c = self._http(self.storage_url)
                if body_path is None:
                    if method in ("PUT", "POST"):
                        hdrs.setdefault("Content-Length", "0")
                    c.request(method, path, headers=hdrs)
                else:
                    self._send_file(c, method, path, hdrs, body_path)
                r = c.getresponse()
                body = r.read() if method != "HEAD" else b""
                resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, body)
                c.close()
            except OSError as exc:
                if attempt >= retries:
                    raise SwiftError(0, f"{method} {container}/{obj or ''}: {exc}") from None
                time.sleep(min(2 ** attempt * 0.2, 5))
                continue
            if resp.status == 401 and attempt < retries:
                self.token = None
                continue
            if resp.status == 503 and attempt < retries:
                try:
                    delay = float(resp.headers.get("retry-after", "1"))
                except ValueError:
                    delay = 1.0
                time.sleep(min(delay, 10))
                continue
            return resp
        raise SwiftError(0, "retries exhausted")

    def _send_file(self, c, method, path, headers, body_path):
        import os

        size = os.path.getsize(body_path)
        c.putrequest(method, path)
        for k, v in {**headers, "Content-Length": str(size)}.items():
            c.putheader(k, v)
        c.endheaders()
        sent, t0 = 0, time.monotonic()
        with open(body_path, "rb") as f:
            while chunk := f.read(64 * 1024):
                c.send(chunk)
                sent += len(chunk)
                if self.rate_limit:
                    ahead = sent / self.rate_limit - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
