"""Which blob store this process uses (settings.STORAGE_URL), made once and cached.

Kept apart from ``base`` so the contract (base) never imports its backends (local, s3):
base <- local, s3 <- factory."""

from __future__ import annotations

from .base import BlobStore

_store: BlobStore | None = None


def get_store() -> BlobStore:
    global _store
    if _store is None:
        from django.conf import settings

        url = settings.STORAGE_URL
        if url.startswith("s3://"):
            from .s3 import S3BlobStore

            _store = S3BlobStore.from_url(url, **settings.S3_OPTIONS, spool_dir=settings.DATA_DIR / "spool",
                                          min_free_bytes=settings.MIN_FREE_BYTES)
        elif url and not url.startswith("file://"):
            raise ValueError("BODYCAM_STORAGE_URL must be s3://bucket/prefix or file:///path")
        else:
            from .local import LocalBlobStore

            root = url[len("file://"):] if url.startswith("file://") else settings.OBJECTS_DIR
            _store = LocalBlobStore(root, min_free_bytes=settings.MIN_FREE_BYTES)
    return _store


def reset_store() -> None:
    """Forget the cached store (tests change settings between runs)."""
    global _store
    _store = None
