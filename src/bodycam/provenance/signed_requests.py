"""HTTP requests signed with a camera's Ed25519 device key (live view: status and publish).

The camera signs the same key it signs clip manifests with (``provenance.manifest``); the
server verifies with the public key registered for the device (``bodycam device set-key``).
What is signed is one canonical text::

    bodycam-device-request/1
    <METHOD>
    <path, with the query string if any>
    <device serial>
    <timestamp: integer seconds since the epoch>
    <nonce: 16-64 hex digits, new for each request>
    <SHA-256 hex of the body>

sent in four headers: ``X-Bodycam-Device``, ``X-Bodycam-Timestamp``, ``X-Bodycam-Nonce`` and
``X-Bodycam-Signature`` (base64 of the 64-byte signature). The server refuses a request
whose timestamp is more than ``MAX_SKEW_S`` away from its clock or whose nonce it has seen
(replay). No Django here: the camera signs with this module and the server verifies with it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..errors import BodycamError
from .keys import public_from_b64

FORMAT = "bodycam-device-request/1"
MAX_SKEW_S = 120
HEADERS = {"device": "X-Bodycam-Device", "timestamp": "X-Bodycam-Timestamp", "nonce": "X-Bodycam-Nonce",
           "signature": "X-Bodycam-Signature"}
_NONCE = re.compile(r"^[0-9a-f]{16,64}$")
_TS = re.compile(r"^[0-9]{1,12}$")


def canonical(method: str, path: str, serial: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    return "\n".join([FORMAT, method.upper(), path, serial, str(int(timestamp)), nonce,
                      hashlib.sha256(body).hexdigest()]).encode("utf-8")


def sign(key: Ed25519PrivateKey, method: str, path: str, serial: str, body: bytes = b"",
         now: float | None = None) -> dict[str, str]:
    """The headers that sign this request."""
    ts = int(time.time() if now is None else now)
    nonce = secrets.token_hex(16)
    sig = key.sign(canonical(method, path, serial, ts, nonce, body))
    return {HEADERS["device"]: serial, HEADERS["timestamp"]: str(ts), HEADERS["nonce"]: nonce,
            HEADERS["signature"]: base64.b64encode(sig).decode()}


@dataclass
class Claim:
    """What a request says about itself, before the signature is checked."""
    serial: str
    timestamp: int
    nonce: str
    signature: bytes


class SignatureError(BodycamError, ValueError):
    """Why a request's signature is refused (the server answers 401 with this text)."""

    status = 401


def read_claim(get_header) -> Claim:
    """The signing headers of a request (``get_header(name) -> str | None``)."""
    values = {k: (get_header(h) or "").strip() for k, h in HEADERS.items()}
    missing = [HEADERS[k] for k, v in values.items() if not v]
    if missing:
        raise SignatureError(f"not signed: missing {', '.join(missing)}")
    if not _TS.match(values["timestamp"]):
        raise SignatureError(f"{HEADERS['timestamp']} must be whole seconds since the epoch")
    if not _NONCE.match(values["nonce"]):
        raise SignatureError(f"{HEADERS['nonce']} must be 16-64 lower-case hex digits")
    try:
        sig = base64.b64decode(values["signature"], validate=True)
    except ValueError:
        raise SignatureError(f"{HEADERS['signature']} is not base64") from None
    if len(sig) != 64:
        raise SignatureError(f"{HEADERS['signature']} is not an Ed25519 signature")
    return Claim(values["device"][:64], int(values["timestamp"]), values["nonce"], sig)


def verify(claim: Claim, public_key_b64: str, method: str, path: str, body: bytes, now: float | None = None) -> None:
    """Raise ``SignatureError`` unless ``claim`` signs exactly this request with the device's
    registered key, within ``MAX_SKEW_S`` of ``now``. (Replay of a nonce is the caller's check:
    it keeps the nonces it has seen.)"""
    now = time.time() if now is None else now
    if abs(now - claim.timestamp) > MAX_SKEW_S:
        raise SignatureError(f"the request's time is more than {MAX_SKEW_S} s from the server's clock")
    if not public_key_b64:
        raise SignatureError(f"device {claim.serial} has no registered public key")
    try:
        key = public_from_b64(public_key_b64)
    except (ValueError, TypeError):
        raise SignatureError(f"device {claim.serial}'s registered key is not an Ed25519 key") from None
    try:
        key.verify(claim.signature, canonical(method, path, claim.serial, claim.timestamp, claim.nonce, body))
    except InvalidSignature:
        raise SignatureError("the signature does not verify with the device's registered key") from None
