"""One lock per blob hash: "name this blob" and "remove this blob" never overlap.

Naming a blob is two steps: ``store.commit`` (which finds the bytes already there when
they are deduplicated) and the commit of the catalogue row that names them. Removing one is
two steps too: "does any live row still name it?" and ``store.purge`` / ``store.quarantine``.
Without a lock the removal's check and delete can land between the upload's two steps: the
upload answers 201 for bytes that are gone. So both sides hold ``blob_lock(sha256)`` across
their two steps:

* uploads (ingest; case files, release packages and derivatives through ``storage.put_file``):
  from before ``store.commit`` until the row has committed;
* removals (the retention purge and its retries, the orphan sweep): around their last
  "still needed?" check and the removal.

Whichever comes second sees the other's result: the removal sees the committed row and keeps
the blob, or the upload finds the blob gone and stores it again from its own copy.

PostgreSQL: a session advisory lock keyed by the hash (cluster-wide: every node and worker).
SQLite (one machine): an ``flock`` on a file under ``DATA_DIR/locks/blobs`` (every process
and thread of the machine; each acquisition opens the file anew, so threads exclude each
other too). Either is held outside long transactions and never while waiting for the
audit chain's lock in the same transaction, so it cannot deadlock with it.
"""

from __future__ import annotations

import fcntl
import logging
import os
from contextlib import ExitStack, contextmanager
from typing import Iterable, Iterator

log = logging.getLogger("bodycam.storage")

# Tests force interleavings through this: called as race_hook("blob_lock.wait", sha256) when
# the lock is held by someone else and this caller is about to wait for it. None in production.
race_hook = None

_PG_NAMESPACE = 0x62636C62  # "bclb": first key of the two-key advisory lock form (the audit chain uses one bigint)
_STRIPES = 3  # hex digits of the hash naming the SQLite lock file: 4096 files at most


def _pg_key(sha256: str) -> int:
    return int(sha256[:8], 16) - (1 << 31)  # a signed int4


def _stripe(sha256: str) -> str:
    return sha256[:_STRIPES].lower()


def _waiting(sha256: str) -> None:
    if race_hook is not None:
        race_hook("blob_lock.wait", sha256)


@contextmanager
def _pg_lock(sha256: str) -> Iterator[None]:
    from django.db import DatabaseError, connection

    key = _pg_key(sha256)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [_PG_NAMESPACE, key])
        if not cur.fetchone()[0]:
            _waiting(sha256)
            cur.execute("SELECT pg_advisory_lock(%s, %s)", [_PG_NAMESPACE, key])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s, %s)", [_PG_NAMESPACE, key])
        except DatabaseError as exc:
            # The connection went (PostgreSQL dropped the lock with it) or its transaction
            # failed: close it outside a transaction, so the lock cannot outlive this step.
            log.warning("blob lock %s not released explicitly: %s", sha256, exc)
            if not connection.in_atomic_block:
                connection.close()


def _lock_dir():
    from django.conf import settings

    d = settings.DATA_DIR / "locks" / "blobs"
    d.mkdir(parents=True, exist_ok=True)
    return d


@contextmanager
def _file_lock(stripe: str, sha256: str) -> Iterator[None]:
    fd = os.open(_lock_dir() / f"{stripe}.lock", os.O_RDWR | os.O_CREAT, 0o644)  # empty: nothing secret
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _waiting(sha256)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the flock


def _postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@contextmanager
def blob_lock(sha256: str) -> Iterator[None]:
    """Hold the lock of one blob hash (see the module's docstring)."""
    if _postgres():
        with _pg_lock(sha256):
            yield
    else:
        with _file_lock(_stripe(sha256), sha256):
            yield


@contextmanager
def blob_locks(hashes: Iterable[str]) -> Iterator[None]:
    """Hold the locks of several hashes at once, taken in one order (the hash's), so two
    holders of several never deadlock, and holders of one cannot deadlock with them."""
    with ExitStack() as stack:
        if _postgres():
            # Session advisory locks are re-entrant: two hashes on one key just count twice.
            for sha in sorted(set(hashes)):
                stack.enter_context(_pg_lock(sha))
        else:
            # One flock per stripe: two of our hashes in the same file must not wait for each other.
            stripes: dict[str, str] = {}
            for sha in sorted(set(hashes)):
                stripes.setdefault(_stripe(sha), sha)
            for stripe, sha in sorted(stripes.items()):
                stack.enter_context(_file_lock(stripe, sha))
        yield
