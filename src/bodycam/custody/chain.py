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
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from django.conf import settings

from ..provenance.keys import load_or_create, public_b64, public_from_b64
from ..timefmt import isoformat
from . import witness as witness_file
from .models import AuditEntry, Checkpoint
from .services import GENESIS, entry_digest, hashed_fields, now_ms, record

CHECKPOINT_CONTEXT = "bodycam-audit-checkpoint-v1"


def server_key():
    return load_or_create(settings.KEYS_DIR / "server_ed25519.pem")


def checkpoint_message(size: int, head_hash: str, at: str) -> bytes:
    return f"{CHECKPOINT_CONTEXT}\n{size}\n{head_hash}\n{at}\n".encode()


def checkpoint_dict(cp: Checkpoint) -> dict:
    return {"size": cp.size, "head_hash": cp.head_hash, "at": isoformat(cp.at),
            "public_key": cp.public_key, "signature": cp.signature}


def create_checkpoint(actor: str = "system", witness: str | Path | None = None) -> Checkpoint:
    """Sign the current head of the chain and append it (fsynced) to ``witness`` if given,
    else to the configured witness (settings.AUDIT_WITNESS_FILE). The checkpoint itself is
    then recorded as the next audit entry.

    A witness that cannot be written does not lose the checkpoint: it is stored, its audit
    entry says ``witness_error``, an ``audit.witness`` alert is raised (one while it stays
    unacknowledged) and ``cp.witness_error`` is set for the caller to report."""
    head = AuditEntry.objects.order_by("-seq").only("seq", "entry_hash").first()
    size, head_hash = (head.seq, head.entry_hash) if head else (0, GENESIS)
    key = server_key()
    at = now_ms()
    sig = key.sign(checkpoint_message(size, head_hash, isoformat(at)))
    cp = Checkpoint.objects.create(size=size, head_hash=head_hash, at=at, public_key=public_b64(key),
                                   signature=base64.b64encode(sig).decode())
    target = Path(witness) if witness else witness_file.configured()
    cp.witness_error = ""
    if target is not None:
        try:
            append_witness(cp, target)
        except OSError as exc:
            cp.witness_error = f"cannot append to witness {target}: {exc.strerror or exc}"
            _witness_alert(cp.witness_error)
    detail = {"size": size, "head_hash": head_hash, "witness": str(target or "")}
    if cp.witness_error:
        detail["witness_error"] = cp.witness_error
    record("audit.checkpoint", actor=actor, object_type="checkpoint", object_id=str(cp.id),
           outcome="error" if cp.witness_error else "ok", detail=detail)
    return cp


def _witness_alert(message: str) -> None:
    from .models import Alert
    from .services import log, raise_alert

    if Alert.objects.filter(kind="audit.witness", acknowledged_at__isnull=True).exists():
        log.error("ALERT audit.witness (still open): %s", message)
        return
    raise_alert("audit.witness", message + " -- checkpoints are kept in the database only until it is fixed")


def checkpoint_if_grown(actor: str = "job:audit-checkpoint") -> Checkpoint | None:
    """The periodic job: a checkpoint when entries were added since the newest one (other than
    that checkpoint's own entry), else None -- so an idle chain is not signed every minute."""
    last = Checkpoint.objects.order_by("-size", "-at").first()
    head = AuditEntry.objects.order_by("-seq").only("seq", "action").first()
    if head is None:
        return None
    if last is not None and (head.seq == last.size or
                             (head.seq == last.size + 1 and head.action == "audit.checkpoint")):
        return None
    return create_checkpoint(actor=actor)


def append_witness(cp: Checkpoint, path: str | Path) -> None:
    witness_file.append_line(path, checkpoint_dict(cp), fsync=True)


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
    kind: str          # altered | removed | reordered | truncated | checkpoint | witness
    message: str


@dataclass
class VerifyResult:
    entries: int = 0
    checkpoints: int = 0
    witness_checkpoints: int = 0
    witness_heads: int = 0
    witness_files: list[str] = field(default_factory=list)
    head_hash: str = GENESIS
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unwitnessed: str = ""  # why nothing outside the database vouches for the chain ("" when something does)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def witnessed(self) -> bool:
        """A witness file was read and checked: something outside the database vouches for the chain."""
        return not self.unwitnessed

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def as_dict(self) -> dict:
        return {"ok": self.ok, "witnessed": self.witnessed, "unwitnessed": self.unwitnessed,
                "entries": self.entries, "head_hash": self.head_hash, "checkpoints": self.checkpoints, "witness_files": self.witness_files,
                "witness_checkpoints": self.witness_checkpoints, "witness_heads": self.witness_heads,
                "first_problem": asdict(self.first) if self.first else None,
                "problems": [asdict(p) for p in self.problems[:100]], "warnings": self.warnings}


NOT_WITNESSED = ("only the database vouches for itself, so a chain rewritten with recomputed hashes and its "
                 "checkpoints deleted, or its newest entries deleted, cannot be detected")


def verify_chain(witness: str | Path | list | tuple | None = None, trusted_keys: set[str] | None = None,
                 configured: bool = True, progress=None) -> VerifyResult:
    """Recompute every entry's hash and link, then check every checkpoint (stored and
    witnessed) and every witnessed head against the chain. Witness files: the configured one
    (unless ``configured=False``) plus ``witness`` (a path or a list: e.g. a copy kept on
    another host). Problems are listed in chain order; the first names the first entry that
    was altered, removed or reordered. ``progress(done, total)``, when given, is called every
    2000 entries (the audit page's progress bar)."""
    res = VerifyResult()
    trusted = set(trusted_keys or ()) | {public_b64(server_key())}
    paths: list[Path] = []
    own = witness_file.configured() if configured else None
    if own is not None:
        paths.append(own)
    if witness:
        for w in (witness if isinstance(witness, (list, tuple)) else [witness]):
            if Path(w) not in paths:
                paths.append(Path(w))
    # Witness files are read before the chain: every line in them was written after its
    # entry (or checkpoint) committed, so a chain read afterwards has it even while serving.
    witnessed: list[tuple[Path, list[dict], list[dict]]] = []
    own_cps: list[dict] = []
    for path in paths:
        if path == own and not path.exists():
            continue
        cps, heads = witness_file.read(path)  # OSError, ValueError: the caller says it cannot read it
        res.witness_files.append(str(path))
        witnessed.append((path, cps, heads))
        if path == own:
            own_cps = cps

    heads: dict[int, str] = {}
    prev_hash = GENESIS
    expected = 1
    qs = AuditEntry.objects.order_by("seq")
    total = AuditEntry.objects.count() if progress else 0
    for e in qs.iterator(chunk_size=2000):
        res.entries += 1
        if progress and res.entries % 2000 == 0:
            progress(res.entries, total)
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

    stored = list(Checkpoint.objects.order_by("size"))
    for cp in stored:
        res.checkpoints += 1
        check_cp(checkpoint_dict(cp), "checkpoint")
    for path, cps, witness_heads in witnessed:
        for cp in cps:
            res.witness_checkpoints += 1
            check_cp(cp, f"witness {path}: checkpoint")
        _check_heads(res, path, witness_heads, heads, last_seq)
    if own is not None:
        _own_witness_warnings(res, own, own_cps, stored)
    elif not res.witness_files:
        res.unwitnessed = ("no audit witness is configured (BODYCAM_AUDIT_WITNESS_FILE=none) and none was given "
                           "with --witness") if configured else "no witness file was given"
    res.problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return res


def _check_heads(res: VerifyResult, path: Path, rows: list[dict], heads: dict[int, str], last_seq: int) -> None:
    """Each witnessed head must still be in the chain, unchanged. One problem per kind and file
    (the lowest entry), so a removed tail of a million entries is one line, not a million."""
    beyond: list[int] = []
    changed: list[int] = []
    for row in rows:
        res.witness_heads += 1
        try:
            seq, h = int(row["seq"]), str(row["entry_hash"])
        except (KeyError, TypeError, ValueError):
            res.problems.append(Problem(None, "witness", f"witness {path}: a line is neither a head nor a checkpoint"))
            continue
        if seq > last_seq:
            beyond.append(seq)
        elif heads.get(seq) != h:
            changed.append(seq)
    if beyond:
        res.problems.append(Problem(last_seq + 1, "truncated",
                                    f"witness {path} saw entries up to {max(beyond)} but the chain ends at "
                                    f"{last_seq}: entries {last_seq + 1}-{max(beyond)} removed"))
    if changed:
        first = min(changed)
        what = f"entry {first} differs from its witnessed hash" if first in heads else f"entry {first} is missing"
        res.problems.append(Problem(first, "altered" if first in heads else "removed",
                                    f"witness {path}: {what} ({len(changed)} witnessed entries differ or are "
                                    "missing): the chain was rewritten or entries were removed"))


def _own_witness_warnings(res: VerifyResult, path: Path, cps: list[dict], stored: list[Checkpoint]) -> None:
    if witness_file.inside_data_dir(path):
        res.warnings.append(f"the witness {path} is inside the data directory: whoever can rewrite the database "
                            "can rewrite it too; keep it outside (BODYCAM_AUDIT_WITNESS_FILE)")
    seen = {cp.get("signature") for cp in cps}
    unwitnessed = [cp for cp in stored if cp.signature not in seen]
    if unwitnessed:
        res.warnings.append(f"{len(unwitnessed)} checkpoint(s) in the database are not in the witness {path} "
                            f"(newest at size {unwitnessed[-1].size}): it could not be written then (see "
                            "`bodycam alerts`), or they went to another witness file")
    if path.exists():
        return
    appended = (AuditEntry.objects.filter(action="audit.checkpoint", detail__witness=str(path))
                .exclude(detail__has_key="witness_error").count())
    if appended:
        res.problems.append(Problem(None, "witness",
                                    f"witness {path} is missing, but the chain records {appended} checkpoint(s) "
                                    "appended to it: it was deleted or moved (after a restore elsewhere, point "
                                    "BODYCAM_AUDIT_WITNESS_FILE at the original or a copy)"))
    elif res.entries and not res.witness_files:
        res.unwitnessed = (f"the witness {path} does not exist: it could not be written (see `bodycam alerts` and "
                           "the server log) or was removed")


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


def record_verify(res: VerifyResult, actor: str) -> None:
    """Note a chain verification in the chain itself (``audit.verify``), so its result and time
    are known later (the auditor's home page shows the last one)."""
    record("audit.verify", actor=actor, object_type="audit_log", outcome="ok" if res.ok else "error",
           detail={"ok": res.ok, "witnessed": res.witnessed, "entries": res.entries,
                   "first_problem": asdict(res.first) if res.first else None})


def chain_state() -> dict:
    """The chain's state for people: its head, the newest checkpoint, the last recorded
    verification, the witness file and open witness alerts. Times are datetimes (pages format them)."""
    from .models import Alert

    head = AuditEntry.objects.order_by("-seq").only("seq", "at").first()
    cp = Checkpoint.objects.order_by("-size", "-at").first()
    verify = AuditEntry.objects.filter(action="audit.verify").order_by("-seq").only("seq", "at", "actor", "outcome",
                                                                                   "detail").first()
    path = witness_file.configured()
    return {
        "entries": head.seq if head else 0, "head_at": head.at if head else None,
        "checkpoint": {"at": cp.at, "size": cp.size, "behind": (head.seq if head else 0) - cp.size} if cp else None,
        "verify": {"at": verify.at, "by": verify.actor, "ok": verify.outcome == "ok",
                   "witnessed": bool(verify.detail.get("witnessed")), "entries": verify.detail.get("entries")}
        if verify else None,
        "witness": {"path": str(path) if path else "", "exists": bool(path and path.exists())},
        "witness_alerts": list(Alert.objects.filter(kind="audit.witness", acknowledged_at__isnull=True)
                               .order_by("-created_at").values("created_at", "message")[:3]),
    }
