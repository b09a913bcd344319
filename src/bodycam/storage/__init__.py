"""Blob stores: content-addressed by SHA-256, write-once."""

from .base import BlobStore, IncomingBlob, IncompleteUpload, InsufficientStorage
from .factory import get_store, reset_store
from .refs import BlobRef, catalogue_hashes, register_blob_refs

__all__ = ["BlobStore", "BlobRef", "IncompleteUpload", "IncomingBlob", "InsufficientStorage", "catalogue_hashes",
           "get_store", "register_blob_refs", "reset_store"]
