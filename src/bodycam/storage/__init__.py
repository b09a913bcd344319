"""Blob stores: content-addressed by SHA-256, write-once."""

from .base import BlobStore, IncomingBlob, IncompleteUpload, InsufficientStorage, StoreUnavailable
from .factory import get_store, reset_store
from .put import put_file
from .refs import BlobRef, catalogue_hashes, is_named, leaving_hashes, register_blob_refs, register_leaving_blobs

__all__ = ["BlobStore", "BlobRef", "IncompleteUpload", "IncomingBlob", "InsufficientStorage", "catalogue_hashes",
           "get_store", "is_named", "leaving_hashes", "put_file", "register_blob_refs", "register_leaving_blobs", "reset_store",
           "StoreUnavailable"]
