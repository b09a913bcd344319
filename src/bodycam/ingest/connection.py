"""The Axis connection file a Body Worn Manager imports to use this server, and the
server's public address it names.

The address: ``--url`` when given, else ``BODYCAM_PUBLIC_URL`` (the address docks reach,
e.g. behind a TLS proxy), else the address ``bodycam serve`` (or ``bodycam demo``) last
served from this data directory (``SERVED_FILE``, written when it starts), else
``DEFAULT_URL`` with a warning."""

from __future__ import annotations

import socket
import sys
from urllib.parse import urlsplit

from django.conf import settings

from .. import __version__
from ..errors import BodycamError
from .services import ensure_account

DEFAULT_URL = "http://127.0.0.1:8000"
SERVED_FILE = "served-url"  # in the data directory: one line, the base URL last served


class BadUrl(BodycamError, ValueError):
    """A public URL that is not an http(s) base URL (CLI: one line, exit status 2)."""

    status = 400
    exit_code = 2
    cli_type_prefix = False


def check_url(url: str, what: str) -> str:
    """An http(s) base URL with a host, without a trailing slash; BadUrl otherwise."""
    url = (url or "").strip().rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise BadUrl(f"{what} is not a URL: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise BadUrl(f"{what} must be an http:// or https:// base URL with a host, e.g. https://evidence.example.org")
    return url


def served_url(host: str, port: int) -> str:
    """The URL a server bound to host:port answers at. A wildcard bind (0.0.0.0, ::) is
    reached through this machine's name."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = socket.getfqdn() or "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


def remember_served(host: str, port: int) -> str:
    """Note the address now served (for connection files made later); return the public base URL."""
    url = served_url(host, port)
    try:
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        (settings.DATA_DIR / SERVED_FILE).write_text(url + "\n")
    except OSError as exc:  # a read-only data dir: connection-file then needs --url
        print(f"warning: could not note the served address in {settings.DATA_DIR}: {exc}", file=sys.stderr)
    return public_base_url(fallback=url)


def public_base_url(explicit: str | None = None, fallback: str | None = None) -> str:
    """The base URL docks and browsers should use (see the module docstring)."""
    if explicit:
        return check_url(explicit, "--url")
    if settings.PUBLIC_URL:
        return check_url(settings.PUBLIC_URL, "BODYCAM_PUBLIC_URL")
    if fallback:
        return fallback
    try:
        served = (settings.DATA_DIR / SERVED_FILE).read_text().strip()
    except OSError:
        served = ""
    if served:
        return check_url(served, str(settings.DATA_DIR / SERVED_FILE))
    print(f"warning: no --url, no BODYCAM_PUBLIC_URL and no server has run from {settings.DATA_DIR}; "
          f"using {DEFAULT_URL}", file=sys.stderr)
    return DEFAULT_URL


def connection_file(site: str, base_url: str | None = None, container_type: str = "mp4") -> dict:
    base = public_base_url(base_url)
    account, key = ensure_account(site)
    return {
        "ConnectionFileVersion": "1.0",
        "SiteName": site[:64],
        "ApplicationName": "bodycam",
        "ApplicationVersion": __version__,
        "ContentDestinationAsNTPServer": False,
        "AuthenticationTokenURI": [f"{base}/auth/v1.0"],
        "HTTPSCertificate": [],
        "BlobAPIKey": key,
        "BlobAPIUserName": account.username,
        "ContainerType": container_type,
        "FullStoreAndReadSupport": False,
        "WantEncryption": False,
    }
