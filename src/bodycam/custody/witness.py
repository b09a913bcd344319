"""The audit witness: an append-only JSON-lines file outside the database that vouches for
the chain.

Two kinds of line are appended to it:

* a **head** for every committed audit entry: ``{"seq": N, "entry_hash": H}``, written right
  after the entry's transaction commits (``services.record`` hooks it with ``on_commit``), so
  removing any entry from the database -- even the newest, written after the last checkpoint --
  leaves a witness line the chain no longer has;
* a **checkpoint**: the signed ``{"size", "head_hash", "at", "public_key", "signature"}`` of
  ``chain.create_checkpoint`` (every ``AUDIT_CHECKPOINT_INTERVAL`` seconds once the chain has
  grown), fsynced.

The file is ``settings.AUDIT_WITNESS_FILE`` (``BODYCAM_AUDIT_WITNESS_FILE``; default
``<data dir>-witness/audit-witness.jsonl``, beside the data dir, never inside it); ``none``
turns it off, and ``bodycam audit verify`` then says loudly that nothing vouches for the chain.
A witness that cannot be written never fails the request that wrote the entry: heads are
logged (once per process until a write succeeds again), checkpoints raise an ``audit.witness``
alert (``chain.create_checkpoint``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger("bodycam.custody.witness")

_head_failing: set[str] = set()  # witness paths whose last head write failed (log once)


def configured() -> Path | None:
    """The configured witness file, or None when it is turned off."""
    from django.conf import settings

    value = str(settings.AUDIT_WITNESS_FILE).strip()
    return Path(value) if value and value.lower() != "none" else None


def inside_data_dir(path: Path) -> bool:
    from django.conf import settings

    try:
        path.resolve().relative_to(Path(settings.DATA_DIR).resolve())
        return True
    except ValueError:
        return False


def append_line(path: str | Path, row: dict, fsync: bool = False) -> None:
    """Append one JSON line with a single ``write`` on an O_APPEND descriptor (lines from
    several processes never interleave within a line). Raises OSError."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(row, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def note_head(seq: int, entry_hash: str) -> None:
    """After commit: append entry ``seq``'s hash to the configured witness. Never raises."""
    path = configured()
    if path is None:
        return
    try:
        append_line(path, {"seq": seq, "entry_hash": entry_hash})
    except OSError as exc:
        if str(path) not in _head_failing:
            _head_failing.add(str(path))
            log.error("audit witness %s cannot be written (%s): audit entries from %s on are not witnessed",
                      path, exc, seq)
        return
    _head_failing.discard(str(path))


def read(path: str | Path) -> tuple[list[dict], list[dict]]:
    """(checkpoints, heads) in the witness file. Raises OSError, ValueError (not JSON).
    A torn last line (a crash mid-write) is ignored."""
    checkpoints, heads = [], []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    last = len(lines)
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if n == last:  # no newline after it: the write was cut short
                continue
            raise ValueError(f"witness file line {n} is not JSON") from None
        if not isinstance(row, dict):
            raise ValueError(f"witness file line {n} is not a JSON object")
        (checkpoints if "signature" in row else heads).append(row)
    return checkpoints, heads
