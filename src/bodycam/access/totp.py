"""RFC 6238 time-based one-time passwords (HMAC-SHA1, 30 s steps, 6 digits) on the
standard library only. Compatible with every common authenticator app."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

STEP = 30
DIGITS = 6


def new_secret() -> str:
    """160 random bits, base32 without padding (RFC 4226 recommends >= 128 bits)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret_b32: str) -> bytes:
    s = secret_b32.strip().replace(" ", "").upper()
    return base64.b32decode(s + "=" * (-len(s) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    """RFC 4226 HOTP value for ``counter``."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % (10 ** digits)
    return str(code).zfill(digits)


def step_at(t: float | None = None) -> int:
    return int((time.time() if t is None else t) // STEP)


def code_at(secret_b32: str, t: float | None = None) -> str:
    return hotp(_key(secret_b32), step_at(t))


def match_step(secret_b32: str, code: str, t: float | None = None, window: int = 1) -> int | None:
    """The time step ``code`` belongs to (within +-``window`` steps for clock drift), or None.
    A code is DIGITS ASCII digits: "١٢٣٤٥٦" and "¹²³⁴⁵⁶" pass ``str.isdigit()`` but are no code
    (and ``hmac.compare_digest`` refuses non-ASCII text)."""
    code = (code or "").strip().replace(" ", "") if isinstance(code, str) else ""
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    key = _key(secret_b32)
    now = step_at(t)
    found = None
    for step in range(now - window, now + window + 1):
        if hmac.compare_digest(hotp(key, step), code):
            found = step
    return found


def otpauth_uri(secret_b32: str, account: str, issuer: str = "bodycam") -> str:
    label = quote(f"{issuer}:{account}")
    return f"otpauth://totp/{label}?" + urlencode({"secret": secret_b32, "issuer": issuer, "algorithm": "SHA1",
                                                   "digits": DIGITS, "period": STEP})
