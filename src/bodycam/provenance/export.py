"""Court export format and its offline verifier (no Django, no database, no network).

An export is a ZIP::

    VERIFY.txt                      how to check everything with standard tools
    export.json                     what is inside: items, hashes, devices, who exported it
    SHA256SUMS                      `sha256sum -c` list of every other file
    SHA256SUMS.sig                  Ed25519 signature (64 raw bytes) of SHA256SUMS by the server key
    keys/server-ed25519.pem         the server's public key (also in export.json)
    keys/devices/SERIAL.pem         each camera's registered public key
    originals/CONTAINER/OBJECT      the original files, bit-for-bit
    manifests/CONTAINER/OBJECT.manifest.json   the camera-signed manifest of each clip, when it has one
    custody/CONTAINER/OBJECT.pdf|.json         chain-of-custody report of each clip
    case-files/, transcripts/, redacted/, excerpts/, notes/   a case export's other files, each
                                    named in export.json "files" with its SHA-256

``verify_export`` checks the ZIP's integrity, every hash, the signature over the hash list,
each clip's device signature, and every other file export.json names ("files": case files,
transcripts and captions, redacted copies, excerpts, notes); any difference fails with the
file it concerns.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import manifest as mf
from .keys import public_b64

FORMAT = "bodycam-court-export/1"
SUMS, SIG, INFO, README = "SHA256SUMS", "SHA256SUMS.sig", "export.json", "VERIFY.txt"
SERVER_KEY = "keys/server-ed25519.pem"
UNSIGNED = {SUMS, SIG}


def public_pem(key_b64: str) -> bytes:
    pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(key_b64))
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def sums_text(hashes: dict[str, str]) -> bytes:
    """`sha256sum` format: '<hex>  <path>' per line, sorted by path."""
    return "".join(f"{h}  {p}\n" for p, h in sorted(hashes.items())).encode()


@dataclass
class Verification:
    ok: bool = True
    checked_files: int = 0
    items: int = 0
    signed_items: int = 0
    other_files: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, msg: str) -> None:
        self.ok = False
        self.problems.append(msg)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "checked_files": self.checked_files, "items": self.items,
                "signed_items": self.signed_items, "other_files": self.other_files, "problems": self.problems, "notes": self.notes}


def _load_pem_public(data: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def _read_members(z: zipfile.ZipFile, v: Verification) -> dict[str, bytes] | None:
    files: dict[str, bytes] = {}
    for info in z.infolist():
        if info.is_dir():
            continue
        name = info.filename
        if name.startswith("/") or ".." in name.split("/"):
            v.fail(f"{name}: unsafe path in archive")
            continue
        if name in files:
            v.fail(f"{name}: appears twice in the archive")
            continue
        try:
            files[name] = z.read(info)  # checks the member's CRC-32
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            v.fail(f"{name}: damaged in the archive ({exc})")
        except Exception as exc:  # zlib errors on a corrupted deflate stream
            v.fail(f"{name}: damaged in the archive ({type(exc).__name__}: {exc})")
    return files


def verify_export(path: str, trusted_server_key: str | None = None) -> Verification:
    """Check an export offline. ``trusted_server_key`` (base64 Ed25519, or PEM text) pins
    the key the hash list must be signed with; without it the key inside the export is
    used and reported, so compare it with the one the agency publishes."""
    v = Verification()
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        v.fail(f"not a readable ZIP archive: {exc}")
        return v
    with z:
        files = _read_members(z, v)
    for required in (SUMS, SIG, INFO, SERVER_KEY):
        if required not in files:
            v.fail(f"{required}: missing from the export")
    if not v.ok and not all(r in files for r in (SUMS, SIG, INFO, SERVER_KEY)):
        return v

    # 1. every file is listed in SHA256SUMS with its hash, and nothing listed is missing
    listed: dict[str, str] = {}
    for n, line in enumerate(files[SUMS].decode("utf-8", "replace").splitlines(), 1):
        parts = line.split("  ", 1)
        if len(parts) != 2 or len(parts[0]) != 64:
            v.fail(f"{SUMS} line {n}: not '<sha256>  <file>'")
            continue
        listed[parts[1]] = parts[0].lower()
    for name, data in sorted(files.items()):
        if name in UNSIGNED:
            continue
        want = listed.get(name)
        if want is None:
            v.fail(f"{name}: not listed in {SUMS} (added after export)")
            continue
        v.checked_files += 1
        got = hashlib.sha256(data).hexdigest()
        if got != want:
            v.fail(f"{name}: SHA-256 {got} differs from {SUMS} ({want})")
    for name in sorted(set(listed) - set(files)):
        v.fail(f"{name}: listed in {SUMS} but missing from the export")

    # 2. the hash list is signed by the server key
    try:
        server_key = _load_pem_public(files[SERVER_KEY])
        server_b64 = public_b64(server_key)
        if trusted_server_key:
            pinned = trusted_server_key.strip()
            if pinned.startswith("-----BEGIN"):
                pinned = public_b64(_load_pem_public(pinned.encode()))
            if pinned != server_b64:
                v.fail(f"{SERVER_KEY}: key {server_b64} is not the trusted server key {pinned}")
        server_key.verify(files[SIG], files[SUMS])
        v.notes.append(f"{SUMS} signature valid (server key {server_b64})")
    except InvalidSignature:
        v.fail(f"{SIG}: signature over {SUMS} does not verify with {SERVER_KEY}")
    except ValueError as exc:
        v.fail(f"{SERVER_KEY}: unusable key ({exc})")

    # 3. each original's camera signature, against the device key in the export
    try:
        info = json.loads(files[INFO])
        if info.get("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT}")
        items = info["items"]
    except (ValueError, KeyError, TypeError) as exc:
        v.fail(f"{INFO}: unreadable ({exc})")
        return v
    for item in items:
        v.items += 1
        orig = item.get("original", "")
        data = files.get(orig)
        if data is None:
            v.fail(f"{orig}: named in {INFO} but missing")
            continue
        sha = hashlib.sha256(data).hexdigest()
        if sha != item.get("sha256"):
            v.fail(f"{orig}: SHA-256 {sha} differs from the ingest hash in {INFO} ({item.get('sha256')})")
        man = item.get("manifest")
        if not man:
            v.notes.append(f"{orig}: no camera-signed manifest (camera does not sign)")
            continue
        key_file = files.get(item.get("device_key", ""))
        if man not in files or key_file is None:
            v.fail(f"{orig}: manifest or device key missing from the export")
            continue
        try:
            device_b64 = public_b64(_load_pem_public(key_file))
        except ValueError as exc:
            v.fail(f"{item.get('device_key')}: unusable device key ({exc})")
            continue
        verdict = mf.verify(files[man], device_b64, clip_sha256=sha, clip_object=item.get("object"),
                            clip_size=len(data), device_serial=item.get("device"), container=item.get("container"))
        if verdict.valid:
            v.signed_items += 1
        else:
            v.fail(f"{orig}: camera signature invalid: {verdict.reason}")

    # 4. the other files of a case export, each as export.json names it
    others = info.get("files") or []
    if not isinstance(others, list):
        v.fail(f"{INFO}: 'files' is not a list")
        return v
    for entry in others:
        path = entry.get("path", "") if isinstance(entry, dict) else ""
        data = files.get(path)
        if data is None:
            v.fail(f"{path or '?'}: named in {INFO} but missing")
            continue
        v.other_files += 1
        sha = hashlib.sha256(data).hexdigest()
        if sha != entry.get("sha256"):
            v.fail(f"{path}: SHA-256 {sha} differs from {INFO} ({entry.get('sha256')})")
    return v


def cli_verify(args) -> int:
    """``bodycam verify EXPORT.zip [--key KEY] [--json]``: 0 when everything checks, 1 otherwise."""
    key = None
    if args.key:
        try:
            with open(args.key, encoding="utf-8") as f:
                key = f.read().strip()
        except OSError:
            key = args.key  # given inline as base64
    v = verify_export(args.export, trusted_server_key=key)
    if args.json:
        print(json.dumps(v.as_dict(), indent=2))
    else:
        for note in v.notes:
            print(f"  ok   {note}")
        for p in v.problems:
            print(f"  FAIL {p}")
        print(f"{'VERIFIED' if v.ok else 'NOT VERIFIED'}: {v.checked_files} files hashed, {v.items} originals, "
              f"{v.signed_items} with a valid camera signature, {v.other_files} other file(s), "
              f"{len(v.problems)} problem(s)")
    return 0 if v.ok else 1
