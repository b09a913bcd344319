"""Verifying the audit hash chain, signed checkpoints, witness files and export.

Chain rule: entry N's ``entry_hash`` = SHA-256 of the canonical JSON of all its fields
including ``prev_hash`` (= entry N-1's ``entry_hash``; entry 1's is 64 zeros) and ``seq``.
So an edited row no longer hashes to its ``entry_hash``; a removed row leaves a gap in
``seq`` and a broken link; rows swapped or renumbered no longer hash (``seq`` is hashed).
Removing the newest rows keeps a valid prefix: that is what checkpoints catch. A checkpoint
says, signed with the server's Ed25519 key, "there were SIZE entries and entry SIZE's hash
was HEAD". Copies of checkpoints kept outside the database (the witness file) catch an
attacker who rewrites the chain *and* the checkpoint table.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from django.conf import settings

from ..provenance.keys import load_or_create, public_b64, public_from_b64
from ..timefmt import isoformat
from .models import AuditEntry, Checkpoint
from .services import GENESIS, entry_digest, hashed_fields, now_ms, record

CHECKPOINT_CONTEXT = "bodycam-audit-checkpoint-v1"


def server_key():
    return load_or_create(settings.KEYS_DIR / "server_ed25519.pem")


def checkpoint_message(size: int, head_hash: str, at: str) -> bytes:
    return f"{CHECKPOINT_CONTEXT}\n{size}\n{head_hash}\n{at}\n".encode()


def checkpoint_dict(cp: Checkpoint) -> dict:
    return {"size": cp.size, "head_hash": cp.head_hash, "at": _iso(cp.at),
            "public_key": cp.public_key, "signature": cp.signature}


def _iso(dt: datetime) -> str:
    return isoformat(dt)


def create_checkpoint(actor: str = "system", witness: str | Path | None = None) -> Checkpoint:
    """Sign the current head of the chain; append it to ``witness`` (JSON lines) if given,
    else to settings.AUDIT_WITNESS_FILE when that is set. The checkpoint itself is then
    recorded as the next audit entry."""
    head = AuditEntry.objects.order_by("-seq").only("seq", "entry_hash").first()
    size, head_hash = (head.seq, head.entry_hash) if head else (0, GENESIS)
    key = server_key()
    at = now_ms()
    sig = key.sign(checkpoint_message(size, head_hash, _iso(at)))
    cp = Checkpoint.objects.create(size=size, head_hash=head_hash, at=at, public_key=public_b64(key),
                                   signature=base64.b64encode(sig).decode())
    witness = witness or getattr(settings, "AUDIT_WITNESS_FILE", "")
    if witness:
        append_witness(cp, witness)
    record("audit.checkpoint", actor=actor, object_type="checkpoint", object_id=str(cp.id),
           detail={"size": size, "head_hash": head_hash, "witness": str(witness or "")})
    return cp


def append_witness(cp: Checkpoint, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(checkpoint_dict(cp), sort_keys=True) + "\n")
        f.flush()
        import os

        os.fsync(f.fileno())


def check_signature(cp: dict, trusted_keys: set[str]) -> str | None:
    """None when ``cp`` is signed by a trusted key, else the reason."""
    if cp.get("public_key") not in trusted_keys:
        return "signed by an unknown key"
    try:
        public_from_b64(cp["public_key"]).verify(base64.b64decode(cp["signature"]),
                                                 checkpoint_message(int(cp["size"]), cp["head_hash"], cp["at"]))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return "bad signature"
    return None


@dataclass
class Problem:
    seq: int | None
    kind: str          # altered | removed | reordered | truncated | checkpoint
    message: str


@dataclass
class VerifyResult:
    entries: int = 0
    checkpoints: int = 0
    witness_checkpoints: int = 0
    head_hash: str = GENESIS
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def as_dict(self) -> dict:
        return {"ok": self.ok, "entries": self.entries, "head_hash": self.head_hash,
                "checkpoints": self.checkpoints, "witness_checkpoints": self.witness_checkpoints,
                "first_problem": asdict(self.first) if self.first else None,
                "problems": [asdict(p) for p in self.problems[:100]]}


def _read_witness(path: str | Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    raise ValueError(f"witness file line {n} is not JSON") from None
    return rows


def verify_chain(witness: str | Path | None = None, trusted_keys: set[str] | None = None) -> VerifyResult:
    """Recompute every entry's hash and link, then check every checkpoint (stored and
    witnessed) against the chain. Problems are listed in chain order; the first names the
    first entry that was altered, removed or reordered."""
    res = VerifyResult()
    trusted = set(trusted_keys or ()) | {public_b64(server_key())}
    heads: dict[int, str] = {}
    prev_hash = GENESIS
    expected = 1
    qs = AuditEntry.objects.order_by("seq")
    for e in qs.iterator(chunk_size=2000):
        res.entries += 1
        if e.seq != expected:
            if e.seq > expected:
                missing = f"entry {expected}" if e.seq == expected + 1 else f"entries {expected}-{e.seq - 1}"
                res.problems.append(Problem(expected, "removed", f"{missing} missing (removed)"))
            else:
                res.problems.append(Problem(e.seq, "reordered", f"entry {e.seq} appears after entry {expected - 1}"))
        digest = entry_digest(hashed_fields(e))
        if digest != e.entry_hash:
            res.problems.append(Problem(e.seq, "altered",
                                        f"entry {e.seq} ({e.action}) does not match its hash: altered or reordered"))
        elif e.prev_hash != prev_hash and e.seq == expected:
            res.problems.append(Problem(e.seq, "reordered",
                                        f"entry {e.seq} does not link to entry {e.seq - 1}: an entry before it was "
                                        "removed, replaced or reordered"))
        heads[e.seq] = e.entry_hash
        prev_hash = e.entry_hash
        expected = e.seq + 1
    res.head_hash = prev_hash
    last_seq = expected - 1

    def check_cp(cp: dict, where: str):
        reason = check_signature(cp, trusted)
        if reason:
            res.problems.append(Problem(None, "checkpoint", f"{where} at size {cp.get('size')}: {reason}"))
            return
        size = int(cp["size"])
        if size == 0:
            return
        if size > last_seq:
            res.problems.append(Problem(last_seq + 1, "truncated",
                                        f"{where} covers {size} entries but the chain has {last_seq}: "
                                        f"entries {last_seq + 1}-{size} removed"))
        elif heads.get(size) != cp["head_hash"]:
            res.problems.append(Problem(size, "altered",
                                        f"{where} at size {size}: entry {size} hash differs from the signed head "
                                        "(the chain up to it was rewritten)"))

    for cp in Checkpoint.objects.order_by("size"):
        res.checkpoints += 1
        check_cp(checkpoint_dict(cp), "checkpoint")
    if witness:
        for cp in _read_witness(witness):
            res.witness_checkpoints += 1
            check_cp(cp, "witness checkpoint")
    res.problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return res


def entry_dict(e: AuditEntry) -> dict:
    d = hashed_fields(e)
    d["entry_hash"] = e.entry_hash
    return d


def export_chain(out) -> int:
    """Write the whole chain as JSON lines (one entry per line, then the checkpoints and
    the server public key) to the text stream ``out``. Returns the number of entries."""
    n = 0
    for e in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        out.write(json.dumps({"type": "entry", **entry_dict(e)}, sort_keys=True, ensure_ascii=False) + "\n")
        n += 1
    for cp in Checkpoint.objects.order_by("size"):
        out.write(json.dumps({"type": "checkpoint", **checkpoint_dict(cp)}, sort_keys=True) + "\n")
    out.write(json.dumps({"type": "server_key", "public_key": public_b64(server_key()),
                          "algorithm": "Ed25519"}) + "\n")
    return n
