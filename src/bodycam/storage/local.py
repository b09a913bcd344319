"""Local-directory blob store: temp file, fsync, rename, fsync dir, read-only."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from ..files import fsync_dir
from ..provenance.hashing import is_sha256_hex
from .base import BlobStore, IncomingBlob, InsufficientStorage, StoreUnavailable, copy_hashing, files_in


class LocalBlobStore(BlobStore):
    """Blobs live at ``root/sha256/ab/cd/<hash>``; uploads land in ``root/incoming`` first."""

    def __init__(self, root: str | Path, min_free_bytes: int = 0):
        self.root = Path(root)
        self.blobs = self.root / "sha256"
        self.incoming = self.root / "incoming"
        self.orphans = self.root / "orphans"
        self.min_free_bytes = min_free_bytes
        for d in (self.blobs, self.incoming, self.orphans):
            d.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        if not is_sha256_hex(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.blobs / sha256[:2] / sha256[2:4] / sha256

    def free_bytes(self) -> int:
        st = os.statvfs(self.root)
        return st.f_bavail * st.f_frsize

    def capacity_bytes(self) -> int:
        st = os.statvfs(self.root)
        return st.f_blocks * st.f_frsize

    def check_space(self, needed: int) -> None:
        free = self.free_bytes()
        if free - needed < self.min_free_bytes:
            raise InsufficientStorage(
                f"{free} bytes free, upload needs {needed} more and {self.min_free_bytes} must stay free"
            )

    def receive(self, stream: BinaryIO, expected_length: int | None) -> IncomingBlob:
        self.check_space(expected_length or 0)

        def guard(received: int) -> None:
            # Checked again as the bytes arrive: a chunked body announces no size, and
            # concurrent uploads each passed the check above against the same free space.
            self.check_space(expected_length - received if expected_length is not None else 0)

        try:
            fd, tmp = tempfile.mkstemp(dir=self.incoming, prefix="upload-")
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InsufficientStorage(str(exc)) from exc
            raise StoreUnavailable(f"the object store {self.root} cannot be written: {exc}") from exc
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                sha, md5, size = copy_hashing(stream, out, expected_length, guard=guard)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InsufficientStorage(str(exc)) from exc
            raise StoreUnavailable(f"the object store {self.root} cannot be written: {exc}") from exc
        except BaseException:
            os.unlink(tmp)
            raise
        return IncomingBlob(temp_path=tmp, sha256=sha, md5=md5, size=size)

    def commit(self, incoming: IncomingBlob) -> bool:
        try:
            return self._commit(incoming)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InsufficientStorage(str(exc)) from exc
            raise StoreUnavailable(f"the object store {self.root} cannot be written: {exc}") from exc

    def _commit(self, incoming: IncomingBlob) -> bool:
        dest = self.path_for(incoming.sha256)
        if dest.exists():
            incoming.discard()
            incoming._committed = True
            # The stored copy is now as fresh as a new upload: an orphan left by a crash that
            # this upload reuses is inside the orphan sweep's grace period again.
            try:
                os.utime(dest)
            except OSError:
                pass
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(incoming.temp_path, 0o444)
        # link() refuses to replace an existing file, so two racing uploads of the same
        # bytes cannot clobber each other; the loser just drops its temp copy.
        try:
            os.link(incoming.temp_path, dest)
            created = True
        except FileExistsError:
            created = False
        os.unlink(incoming.temp_path)
        incoming._committed = True
        fsync_dir(dest.parent)
        fsync_dir(self.incoming)
        return created

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def size(self, sha256: str) -> int:
        return self.path_for(sha256).stat().st_size

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path_for(sha256), "rb")

    def local_path(self, sha256: str) -> str:
        return str(self.path_for(sha256))

    def iter_hashes(self) -> Iterator[str]:
        for p in self.blobs.glob("*/*/*"):
            if is_sha256_hex(p.name):
                yield p.name

    def quarantine(self, sha256: str) -> None:
        src = self.path_for(sha256)
        dest = self.orphans / sha256
        shutil.move(src, dest)
        os.utime(dest)  # its time is now when it was set aside: the purge grace counts from here
        fsync_dir(self.orphans)
        fsync_dir(src.parent)

    def iter_orphans(self) -> Iterator[tuple[str, int, float]]:
        for p in self.orphans.iterdir():
            if is_sha256_hex(p.name):
                try:
                    st = p.stat()
                except FileNotFoundError:
                    continue
                yield p.name, st.st_size, st.st_mtime

    def remove_orphan(self, sha256: str) -> bool:
        if not is_sha256_hex(sha256):
            raise ValueError("not a sha256 hex digest")
        try:
            (self.orphans / sha256).unlink()
        except FileNotFoundError:
            return False
        fsync_dir(self.orphans)
        return True

    def incoming_files(self) -> list[tuple[str, int, float]]:
        return files_in(self.incoming)

    def purge(self, sha256: str) -> bool:
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        fsync_dir(path.parent)
        return True

    def mtime(self, sha256: str) -> float | None:
        try:
            return self.path_for(sha256).stat().st_mtime
        except FileNotFoundError:
            return None

    def ping(self) -> None:
        if not os.access(self.blobs, os.W_OK) or not os.access(self.incoming, os.W_OK):
            raise OSError(f"object store {self.root} is not writable")

    def remove_stale_incoming(self, older_than_seconds: float) -> list[str]:
        removed = []
        for p in self.stale_incoming(older_than_seconds):
            p.unlink(missing_ok=True)
            removed.append(p.name)
        return removed

    def stale_incoming(self, older_than_seconds: float) -> list[Path]:
        import time

        cutoff = time.time() - older_than_seconds
        out = []
        for p in self.incoming.iterdir():
            try:
                if p.stat().st_mtime < cutoff:
                    out.append(p)
            except FileNotFoundError:  # finished (committed or discarded) while listing
                continue
        return out
