"""Signed clip manifests: what a camera asserts about each clip at capture time.

A manifest is a small JSON document, uploaded next to its clip as
``<clip object name>.manifest.json``::

    {"format": "bodycam-clip-manifest/1",
     "payload": {...what is signed...},
     "alg": "Ed25519",
     "signature": "<base64 of the Ed25519 signature over canonical(payload)>"}

``payload`` holds the clip's SHA-256 and size, its object name and container, its times
and locations, the recording it belongs to (container name, officer, trigger), the device
(serial, model, firmware, public key) and the SHA-256 of the previous clip of the same
recording (so a removed or re-ordered clip is noticed). Signed bytes are the canonical
JSON of ``payload`` (sorted keys, no spaces, UTF-8); values are strings or integers only,
so canonicalisation is unambiguous.

No Django here: the camera signs with this module and the server verifies with it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..errors import BodycamError
from .hashing import is_sha256_hex
from .keys import public_b64, public_from_b64

FORMAT = "bodycam-clip-manifest/1"
SUFFIX = ".manifest.json"
MAX_BYTES = 64 * 1024


class ManifestError(BodycamError, ValueError):
    """The document is not a well-formed manifest."""

    status = 400


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def manifest_name(clip_object: str) -> str:
    return clip_object + SUFFIX


def clip_name_for(manifest_object: str) -> str | None:
    return manifest_object[: -len(SUFFIX)] if manifest_object.endswith(SUFFIX) else None


def _check_values(obj, path="payload"):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise ManifestError(f"{path}: keys must be strings")
            _check_values(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _check_values(v, f"{path}[{i}]")
    elif isinstance(obj, float) or not (obj is None or isinstance(obj, (str, int, bool))):
        raise ManifestError(f"{path}: only strings, integers, booleans, lists and objects may be signed")


def sign(payload: dict, key: Ed25519PrivateKey) -> bytes:
    """Return the manifest document (bytes) for ``payload`` signed by ``key``."""
    _check_values(payload)
    if not is_sha256_hex(str(payload.get("clip", {}).get("sha256", ""))):
        raise ManifestError("payload.clip.sha256 must be a lower-case SHA-256 hex digest")
    payload = {**payload, "device": {**payload.get("device", {}), "public_key": public_b64(key)}}
    doc = {
        "format": FORMAT,
        "payload": payload,
        "alg": "Ed25519",
        "signature": base64.b64encode(key.sign(canonical(payload))).decode(),
    }
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def parse(data: bytes) -> dict:
    """Parse a manifest document; raise ManifestError if it is not one."""
    if len(data) > MAX_BYTES:
        raise ManifestError("manifest is larger than 64 KiB")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestError(f"manifest is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ManifestError(f"not a {FORMAT} document")
    if doc.get("alg") != "Ed25519":
        raise ManifestError("unsupported signature algorithm")
    payload = doc.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("clip"), dict):
        raise ManifestError("manifest has no payload.clip")
    if not isinstance(doc.get("signature"), str):
        raise ManifestError("manifest has no signature")
    return doc


@dataclass
class Verdict:
    valid: bool
    reason: str
    payload: dict | None = None


def verify(data: bytes, public_key_b64: str, *, clip_sha256: str | None = None, clip_object: str | None = None,
           clip_size: int | None = None, device_serial: str | None = None, container: str | None = None) -> Verdict:
    """Check a manifest's signature against a device's registered public key and, when given,
    that it speaks about exactly this clip (hash, size, object name), device and recording."""
    try:
        doc = parse(data)
    except ManifestError as exc:
        return Verdict(False, str(exc))
    payload = doc["payload"]
    if not public_key_b64:
        return Verdict(False, "device has no registered public key", payload)
    try:
        key = public_from_b64(public_key_b64)
    except (ValueError, TypeError):
        return Verdict(False, "registered public key is not a base64 Ed25519 key", payload)
    try:
        sig = base64.b64decode(doc["signature"], validate=True)
        key.verify(sig, canonical(payload))
    except (InvalidSignature, ValueError):
        return Verdict(False, "signature does not verify with the device's registered key", payload)
    clip = payload["clip"]
    device = payload.get("device") or {}
    recording = payload.get("recording") or {}
    checks = [
        (clip_sha256, clip.get("sha256"), "clip SHA-256"),
        (clip_object, clip.get("object"), "clip object name"),
        (clip_size, clip.get("size"), "clip size"),
        (device_serial, device.get("serial"), "device serial"),
        (container, recording.get("container"), "recording container"),
    ]
    for expected, claimed, what in checks:
        if expected is not None and expected != claimed:
            return Verdict(False, f"{what} differs from the signed manifest ({claimed!r} signed, {expected!r} received)",
                           payload)
    return Verdict(True, "signature valid", payload)
