"""The Axis connection file a Body Worn Manager imports to use this server."""

from __future__ import annotations

from .. import __version__
from .services import ensure_account


def connection_file(site: str, base_url: str | None = None, container_type: str = "mp4") -> dict:
    account, key = ensure_account(site)
    base = (base_url or "http://127.0.0.1:8000").rstrip("/")
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
