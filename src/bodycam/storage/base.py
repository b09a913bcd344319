"""The blob store contract every backend (local directory, S3) fulfils.

A blob enters in two steps so a crash never leaves a half item:
  1. ``receive(stream)`` writes the bytes to a private temp area while hashing them;
  2. ``commit(incoming)`` moves them, whole, to their content address (write-once).
Nothing in the store is rewritten; ``delete`` exists only for audited retention purges.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

from ..errors import BodycamError


class InsufficientStorage(BodycamError):
    """Not enough space to take this upload; nothing was deleted to make room."""

    status = 507


class StoreUnavailable(BodycamError):
    """The blob store cannot be reached or written just now (S3 down, a local disk failing,
    a mount gone): nothing was stored, and the same request may be tried again later."""

    status = 503


class IncompleteUpload(BodycamError):
    """The client sent fewer bytes than it announced (disconnect, timeout)."""

    status = 400


@dataclass
class IncomingBlob:
    """Bytes received and hashed but not yet part of the store."""

    temp_path: str
    sha256: str
    md5: str
    size: int
    _committed: bool = field(default=False, repr=False)

    def discard(self) -> None:
        if not self._committed:
            try:
                os.unlink(self.temp_path)
            except FileNotFoundError:
                pass


class _HashThread(threading.Thread):
    """Feeds chunks to one hash on its own thread (hashlib releases the GIL), so SHA-256,
    MD5 and the disk write of one upload proceed on different cores."""

    def __init__(self, name: str):
        super().__init__(daemon=True)
        self.hash = hashlib.new(name) if name != "md5" else hashlib.md5(usedforsecurity=False)
        self.queue: queue.Queue = queue.Queue(maxsize=8)  # bounds memory: 8 chunks in flight

    def run(self):
        while (chunk := self.queue.get()) is not None:
            self.hash.update(chunk)


def copy_hashing(stream: BinaryIO, out: BinaryIO, expected_length: int | None, chunk: int = 1024 * 1024,
                 guard=None):
    """Copy ``stream`` to ``out`` computing SHA-256 and MD5; return (sha256, md5, size).

    Raises IncompleteUpload when the stream ends before ``expected_length`` bytes, or when
    reading it fails (a malformed chunked body, a reset connection): the body is the
    client's fault, never a server error. ``guard(size_so_far)`` runs after every chunk
    written and may raise to stop the copy (the free-space reserve while streaming).
    """
    hashers = [_HashThread("sha256"), _HashThread("md5")]
    for h in hashers:
        h.start()
    size = 0
    remaining = expected_length
    try:
        while True:
            want = chunk if remaining is None else min(chunk, remaining)
            if want == 0:
                break
            try:
                data = stream.read(want)
            except OSError as exc:  # gunicorn's InvalidChunkSize, NoMoreData, ... are OSErrors
                raise IncompleteUpload(f"request body could not be read after {size} bytes: "
                                       f"{type(exc).__name__} {str(exc)[:100]}") from None
            if not data:
                break
            for h in hashers:
                h.queue.put(data)
            out.write(data)
            size += len(data)
            if remaining is not None:
                remaining -= len(data)
            if guard is not None:
                guard(size)
    finally:
        for h in hashers:
            h.queue.put(None)
        for h in hashers:
            h.join()
    if expected_length is not None and size != expected_length:
        raise IncompleteUpload(f"received {size} of {expected_length} bytes")
    return hashers[0].hash.hexdigest(), hashers[1].hash.hexdigest(), size


def files_in(directory) -> list[tuple[str, int, float]]:
    """(name, size, mtime) of each file in ``directory``; one removed meanwhile is skipped."""
    out = []
    for p in directory.iterdir():
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        out.append((p.name, st.st_size, st.st_mtime))
    return out


class BlobStore:
    """Interface; see LocalBlobStore for the reference implementation."""

    def receive(self, stream: BinaryIO, expected_length: int | None) -> IncomingBlob:
        raise NotImplementedError

    def commit(self, incoming: IncomingBlob) -> bool:
        """Make the blob durable at its address. Returns False when it was already there."""
        raise NotImplementedError

    def exists(self, sha256: str) -> bool:
        raise NotImplementedError

    def size(self, sha256: str) -> int:
        raise NotImplementedError

    def open(self, sha256: str) -> BinaryIO:
        raise NotImplementedError

    def local_path(self, sha256: str) -> str | None:
        """A filesystem path for tools that need one (PyAV), or None."""
        return None

    def iter_hashes(self) -> Iterator[str]:
        raise NotImplementedError

    def rehash(self, sha256: str) -> str:
        h = hashlib.sha256()
        with self.open(sha256) as f:
            while data := f.read(1024 * 1024):
                h.update(data)
        return h.hexdigest()

    def quarantine(self, sha256: str) -> None:
        """Move an orphan blob aside (never delete it)."""
        raise NotImplementedError

    def purge(self, sha256: str) -> bool:
        """Remove a blob for good. Only the retention purge calls this, after it has checked that
        no catalogue row still needs the blob and the audit entry is written. Returns False when
        the blob was already gone."""
        raise NotImplementedError

    def mtime(self, sha256: str) -> float | None:
        """When the blob was committed (seconds since the epoch), or None when absent."""
        raise NotImplementedError

    def remove_stale_incoming(self, older_than_seconds: float) -> list[str]:
        """Drop partial uploads untouched for this long; returns their names."""
        return []

    def ping(self) -> None:
        """Raise when the store cannot be reached (readiness probe)."""

    min_free_bytes: int = 0

    def free_bytes(self) -> int | None:
        return None

    def capacity_bytes(self) -> int | None:
        """The size of the whole store when it has one (a local filesystem), else None."""
        return None

    def below_reserve(self) -> bool:
        """True when free space is already under the reserve: ingest cannot take anything."""
        free = self.free_bytes()
        return free is not None and free < self.min_free_bytes

    def check_space(self, needed: int) -> None:
        pass

    # -- quarantined orphans (moved aside by the orphan sweep, never deleted by it)
    def iter_orphans(self) -> Iterator[tuple[str, int, float]]:
        """(sha256, size, when it was set aside) of every quarantined orphan."""
        return iter(())

    def remove_orphan(self, sha256: str) -> bool:
        """Remove one quarantined orphan for good (``bodycam orphans purge`` only, audited).
        Returns False when it was already gone."""
        raise NotImplementedError

    def incoming_files(self) -> list[tuple[str, int, float]]:
        """(name, size, mtime) of temp files of uploads in flight or stopped."""
        return []
