"""S3-compatible blob store (AWS S3, MinIO, Ceph RGW, nanio...), same contract as the local one.

Layout under ``s3://bucket/prefix/``:
  sha256/ab/cd/<hash>   committed blobs (content address; never rewritten)
  incoming/<uuid>       uploads received but not yet committed (staging)
  orphans/<hash>        blobs no catalogue row named (moved aside, never deleted)

``receive`` streams the body to S3 as a multipart upload *while* hashing it (bounded memory:
a few parts in flight) and keeps a local spool copy so the ingest validators (probe, GNSS
parser) can read the bytes before anything is committed. ``commit`` copies the staged object
to its content address server-side, with Object Lock compliance retention (and optionally a
legal hold) when the bucket has Object Lock enabled, then drops the staging object.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import queue
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO, Iterator
from urllib.parse import urlparse

from ..errors import BodycamError
from ..provenance.hashing import is_sha256_hex
from ..timefmt import isoformat
from .base import BlobStore, IncomingBlob, InsufficientStorage, StoreUnavailable, copy_hashing, files_in

MIN_PART = 5 * 1024 * 1024          # S3's smallest non-final multipart part
SINGLE_COPY_LIMIT = 5 * 1024 ** 3   # CopyObject's limit; above it a multipart copy is used


class RetentionLocked(BodycamError, PermissionError):
    """The object store refuses to remove a blob: Object Lock retention or a legal hold is in
    force. ``until``: when the retention ends, where the store said (None: a legal hold, or
    unknown)."""

    status = 409

    def __init__(self, message: str, until: datetime | None = None):
        super().__init__(message)
        self.until = until


def _is_missing(exc) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound", "NoSuchVersion")


def _unavailable(exc: BaseException) -> bool:
    """Whether an SDK error means the store cannot be reached or refuses service just now
    (connection refused or reset, timeouts, 5xx, throttling, credentials or bucket gone)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, BotoCoreError):
        return True
    if isinstance(exc, ClientError):
        return not _is_missing(exc)
    return False


def _sdk_checksum_header(request, **_):
    algo = request.headers.get("x-amz-checksum-algorithm")
    if algo and "x-amz-sdk-checksum-algorithm" not in request.headers:
        request.headers["x-amz-sdk-checksum-algorithm"] = algo


@dataclass
class S3IncomingBlob(IncomingBlob):
    staging_key: str = ""
    store: "S3BlobStore | None" = field(default=None, repr=False)

    def discard(self) -> None:
        if not self._committed and self.store is not None and self.staging_key:
            self.store._delete_quietly(self.staging_key)
            self.staging_key = ""
        super().discard()


class _MultipartWriter:
    """A write-only sink that uploads what it is given as S3 parts on a background thread.

    Small bodies (under one part) become a single PutObject at close; memory is bounded by
    ``part_size`` times the queue depth (2) plus the part being filled.
    """

    def __init__(self, client, bucket: str, key: str, part_size: int, spool: BinaryIO):
        self.client, self.bucket, self.key, self.part_size = client, bucket, key, part_size
        self.spool = spool
        self.buf = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict] = []
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.part_number = 0

    def _worker(self):
        while (item := self.queue.get()) is not None:
            number, data = item
            if self.error is not None:
                continue
            try:
                r = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                            PartNumber=number, Body=data)
                self.parts.append({"PartNumber": number, "ETag": r["ETag"]})
            except BaseException as exc:  # surfaced on the writer's next call
                self.error = exc

    def _send(self, data: bytes):
        if self.upload_id is None:
            self.upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key)["UploadId"]
            self.thread = threading.Thread(target=self._worker, daemon=True)
            self.thread.start()
        if self.error is not None:
            raise self.error
        self.part_number += 1
        self.queue.put((self.part_number, data))

    def write(self, data: bytes) -> int:
        self.spool.write(data)
        self.buf += data
        while len(self.buf) >= self.part_size:
            self._send(bytes(self.buf[: self.part_size]))
            del self.buf[: self.part_size]
        return len(data)

    def close(self) -> None:
        if self.upload_id is None:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self.buf))
            self.buf = bytearray()
            return
        if self.buf:
            self._send(bytes(self.buf))
            self.buf = bytearray()
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        parts = sorted(self.parts, key=lambda p: p["PartNumber"])
        self.client.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                              MultipartUpload={"Parts": parts})

    def abort(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            self.error = self.error or RuntimeError("aborted")
            self.queue.put(None)
            self.thread.join()
        if self.upload_id is not None:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
            except Exception:
                pass  # the orphan sweep aborts stale multipart uploads later


class _S3Reader(io.RawIOBase):
    """A seekable read-only view of one object. Sequential reads share one streaming GET;
    a seek starts a new ranged GET from there (what playback's Range requests need)."""

    def __init__(self, client, bucket: str, key: str, size: int):
        super().__init__()
        self.client, self.bucket, self.key, self._size = client, bucket, key, size
        self.pos = 0
        self.body = None
        self.body_pos = -1

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self._size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def _drop_body(self):
        if self.body is not None:
            self.body.close()
            self.body = None

    def readinto(self, b) -> int:
        if self.pos >= self._size or len(b) == 0:
            return 0
        if self.body is None or self.body_pos != self.pos:
            self._drop_body()
            r = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={self.pos}-")
            self.body, self.body_pos = r["Body"], self.pos
        data = self.body.read(len(b))
        if not data:
            return 0
        n = len(data)
        b[:n] = data
        self.pos += n
        self.body_pos += n
        return n

    def close(self):
        self._drop_body()
        super().close()


class S3BlobStore(BlobStore):
    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None, region: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None, spool_dir: str | Path | None = None,
                 part_size: int = 8 * 1024 * 1024, retention_days: int = 365, legal_hold: bool = False,
                 object_lock: bool | None = None, client=None, min_free_bytes: int = 0):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = (prefix.strip("/") + "/") if prefix.strip("/") else ""
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or "us-east-1",
            aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None,
            config=Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"},
                          max_pool_connections=64, s3={"addressing_style": "path"}))
        # Locked writes must carry an integrity checksum; some servers look for the SDK's header.
        self.client.meta.events.register("before-sign.s3.CopyObject", _sdk_checksum_header)
        self.part_size = max(MIN_PART, int(part_size))
        self.retention_days = int(retention_days)
        self.legal_hold = legal_hold
        self._object_lock = object_lock
        self.spool = Path(spool_dir or tempfile.gettempdir()) / "s3-spool"
        self.spool.mkdir(parents=True, exist_ok=True)
        # Every upload passes through the spool whole (validators read it before the commit):
        # ingest keeps this much free there and answers 507 (storage.full) instead.
        self.min_free_bytes = int(min_free_bytes)

    @classmethod
    def from_url(cls, url: str, **kw) -> "S3BlobStore":
        p = urlparse(url)
        if p.scheme != "s3" or not p.netloc:
            raise ValueError("BODYCAM_STORAGE_URL must look like s3://bucket/prefix")
        return cls(p.netloc, p.path, **kw)

    # -- keys
    def key_for(self, sha256: str) -> str:
        if not is_sha256_hex(sha256):
            raise ValueError("not a sha256 hex digest")
        return f"{self.prefix}sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def _orphan_key(self, sha256: str) -> str:
        return f"{self.prefix}orphans/{sha256}"

    @property
    def object_lock(self) -> bool:
        """Whether the bucket has Object Lock enabled (asked once; servers without it say no)."""
        if self._object_lock is None:
            try:
                conf = self.client.get_object_lock_configuration(Bucket=self.bucket)
                self._object_lock = conf.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
            except Exception:
                self._object_lock = False
        return self._object_lock

    def _head(self, key: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _is_missing(exc):
                return None
            raise

    def _delete_quietly(self, key: str) -> None:
        """Drop a staging object. Object Lock buckets are versioned, where a plain delete only
        hides the bytes behind a delete marker: remove every version instead."""
        try:
            if self.object_lock:
                self._remove_all_versions(key)
            else:
                self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception:
            pass  # a leftover staging object is removed by the orphan sweep

    # -- the contract
    def ping(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    # -- the local spool's free space (the bucket's is not ours to measure)
    def free_bytes(self) -> int:
        st = os.statvfs(self.spool)
        return st.f_bavail * st.f_frsize

    def check_space(self, needed: int) -> None:
        free = self.free_bytes()
        if free - needed < self.min_free_bytes:
            raise InsufficientStorage(
                f"the local spool {self.spool} has {free} bytes free, upload needs {needed} more and "
                f"{self.min_free_bytes} must stay free")

    def receive(self, stream: BinaryIO, expected_length: int | None) -> IncomingBlob:
        self.check_space(expected_length or 0)

        def guard(received: int) -> None:  # as the local store: chunked bodies, concurrent uploads
            self.check_space(expected_length - received if expected_length is not None else 0)

        staging = f"{self.prefix}incoming/{uuid.uuid4().hex}"
        try:
            fd, tmp = tempfile.mkstemp(dir=self.spool, prefix="upload-")
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InsufficientStorage(f"the local spool is full: {exc}") from exc
            raise StoreUnavailable(f"the local spool {self.spool} cannot be written: {exc}") from exc
        writer = None
        try:
            with os.fdopen(fd, "wb") as spool:
                # S3 allows 10,000 parts: grow the part for very large announced bodies.
                part = max(self.part_size, -(-(expected_length or 0) // 9000))
                writer = _MultipartWriter(self.client, self.bucket, staging, part, spool)
                sha, md5, size = copy_hashing(stream, writer, expected_length, guard=guard)
                writer.close()
        except BaseException as exc:
            if writer is not None:
                writer.abort()
            self._delete_quietly(staging)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InsufficientStorage(f"the local spool is full: {exc}") from exc
            if _unavailable(exc):
                raise StoreUnavailable(f"the object store cannot take the upload: {exc}") from exc
            if isinstance(exc, OSError):
                raise StoreUnavailable(f"the local spool {self.spool} cannot be written: {exc}") from exc
            raise
        return S3IncomingBlob(temp_path=tmp, sha256=sha, md5=md5, size=size, staging_key=staging, store=self)

    def _lock_args(self) -> dict:
        if not self.object_lock:
            return {}
        args = {}
        if self.retention_days > 0:
            args["ObjectLockMode"] = "COMPLIANCE"
            args["ObjectLockRetainUntilDate"] = datetime.now(timezone.utc) + timedelta(days=self.retention_days)
        if self.legal_hold:
            args["ObjectLockLegalHoldStatus"] = "ON"
        if args:
            args["ChecksumAlgorithm"] = "SHA256"  # S3 wants an integrity checksum on locked writes
        return args

    def commit(self, incoming: IncomingBlob) -> bool:
        try:
            return self._commit(incoming)
        except Exception as exc:
            if _unavailable(exc):
                raise StoreUnavailable(f"the object store cannot commit {incoming.sha256}: {exc}") from exc
            raise

    def _commit(self, incoming: IncomingBlob) -> bool:
        assert isinstance(incoming, S3IncomingBlob), "commit takes what this store's receive returned"
        dest = self.key_for(incoming.sha256)
        if self._head(dest) is not None:
            incoming.discard()
            incoming._committed = True
            return False
        source = {"Bucket": self.bucket, "Key": incoming.staging_key}
        extra = {"Metadata": {"sha256": incoming.sha256}, "MetadataDirective": "REPLACE", **self._lock_args()}
        if incoming.size <= SINGLE_COPY_LIMIT:
            self.client.copy_object(Bucket=self.bucket, Key=dest, CopySource=source, **extra)
        else:
            from boto3.s3.transfer import TransferConfig

            extra.pop("MetadataDirective")
            self.client.copy(source, self.bucket, dest, ExtraArgs=extra,
                             Config=TransferConfig(multipart_threshold=SINGLE_COPY_LIMIT, multipart_chunksize=512 << 20))
        head = self._head(dest)
        if head is None or head["ContentLength"] != incoming.size:
            raise OSError(f"object store did not keep {dest} whole")
        self._delete_quietly(incoming.staging_key)
        incoming.staging_key = ""
        try:
            os.unlink(incoming.temp_path)
        except FileNotFoundError:
            pass
        incoming._committed = True
        return True

    def exists(self, sha256: str) -> bool:
        return self._head(self.key_for(sha256)) is not None

    def size(self, sha256: str) -> int:
        head = self._head(self.key_for(sha256))
        if head is None:
            raise FileNotFoundError(sha256)
        return head["ContentLength"]

    def mtime(self, sha256: str) -> float | None:
        head = self._head(self.key_for(sha256))
        return head["LastModified"].timestamp() if head else None

    def open(self, sha256: str) -> BinaryIO:
        key = self.key_for(sha256)
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(sha256)
        return io.BufferedReader(_S3Reader(self.client, self.bucket, key, head["ContentLength"]),
                                 buffer_size=1024 * 1024)

    def presigned_url(self, sha256: str, expires: int = 300) -> str:
        return self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket,
                                                  "Key": self.key_for(sha256)}, ExpiresIn=expires)

    def _list(self, prefix: str) -> Iterator[dict]:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def iter_hashes(self) -> Iterator[str]:
        # A quarantined blob that Object Lock would not let us remove stays at its address;
        # its copy under orphans/ marks it as set aside.
        set_aside = {o["Key"].rsplit("/", 1)[-1] for o in self._list(f"{self.prefix}orphans/")}
        for o in self._list(f"{self.prefix}sha256/"):
            name = o["Key"].rsplit("/", 1)[-1]
            if is_sha256_hex(name) and name not in set_aside:
                yield name

    def quarantine(self, sha256: str) -> None:
        key = self.key_for(sha256)
        self.client.copy_object(Bucket=self.bucket, Key=self._orphan_key(sha256),
                                CopySource={"Bucket": self.bucket, "Key": key})
        try:
            self._remove_all_versions(key)
        except RetentionLocked:
            pass  # still under retention: the orphans/ copy marks it, the sweep skips it

    def iter_orphans(self) -> Iterator[tuple[str, int, float]]:
        for o in self._list(f"{self.prefix}orphans/"):
            name = o["Key"].rsplit("/", 1)[-1]
            if is_sha256_hex(name):
                yield name, o["Size"], o["LastModified"].timestamp()

    def remove_orphan(self, sha256: str) -> bool:
        """Raises RetentionLocked when Object Lock still keeps the copy."""
        if not is_sha256_hex(sha256):
            raise ValueError("not a sha256 hex digest")
        key = self._orphan_key(sha256)
        if self._head(key) is None:
            return False
        return self._remove_all_versions(key)

    def incoming_files(self) -> list[tuple[str, int, float]]:
        return files_in(self.spool)

    def _remove_all_versions(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        removed = False
        try:
            if self.object_lock:
                pages = self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=key)
                for page in pages:
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                        if v["Key"] == key:
                            self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=v["VersionId"])
                            removed = True
            else:
                self.client.delete_object(Bucket=self.bucket, Key=key)
                removed = True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("AccessDenied", "InvalidRequest"):
                raise RetentionLocked(f"object store refuses to remove {key}: {exc}") from exc
            raise
        return removed

    def purge(self, sha256: str) -> bool:
        key = self.key_for(sha256)
        head = self._head(key)
        if head is None:
            return False
        until = head.get("ObjectLockRetainUntilDate")
        if until is not None and until > datetime.now(timezone.utc):
            raise RetentionLocked(f"blob {sha256} is under Object Lock {head.get('ObjectLockMode', '')} retention "
                                  f"until {isoformat(until)}; the object store will not delete it before then",
                                  until=until)
        if head.get("ObjectLockLegalHoldStatus") == "ON":
            raise RetentionLocked(f"blob {sha256} has an Object Lock legal hold; lift it before purging")
        return self._remove_all_versions(key)

    def set_legal_hold(self, sha256: str, on: bool) -> None:
        self.client.put_object_legal_hold(Bucket=self.bucket, Key=self.key_for(sha256),
                                          LegalHold={"Status": "ON" if on else "OFF"})

    def remove_stale_incoming(self, older_than_seconds: float) -> list[str]:
        """Drop spool files, staging objects and multipart uploads of uploads that never
        committed (never acknowledged, so the camera still holds those bytes).

        The spool is this node's own disk: it is cleaned first, and even when the bucket
        cannot be reached (a crash during an S3 outage must not keep its copy for ever)."""
        cutoff = time.time() - older_than_seconds
        removed = []
        for p in self.spool.iterdir():
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink(missing_ok=True)
                    removed.append(p.name)
            except FileNotFoundError:  # finished (committed or discarded) while listing
                continue
        try:
            for o in self._list(f"{self.prefix}incoming/"):
                if o["LastModified"].timestamp() < cutoff:
                    self._delete_quietly(o["Key"])
                    removed.append(o["Key"].rsplit("/", 1)[-1])
            try:
                pages = self.client.get_paginator("list_multipart_uploads").paginate(
                    Bucket=self.bucket, Prefix=f"{self.prefix}incoming/")
                for page in pages:
                    for u in page.get("Uploads", []):
                        if u["Initiated"].timestamp() < cutoff:
                            self.client.abort_multipart_upload(Bucket=self.bucket, Key=u["Key"],
                                                               UploadId=u["UploadId"])
                            removed.append(u["Key"].rsplit("/", 1)[-1] + " (multipart)")
            except Exception as exc:
                if "NotImplemented" not in str(exc):
                    raise
        except Exception as exc:
            if not removed or not _unavailable(exc):
                raise
            # The spool was cleaned (and is reported); the bucket's leftovers wait for the next run.
            logging.getLogger("bodycam.storage").warning("stale staging objects not removed: %s", exc)
        return removed
