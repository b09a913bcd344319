"""Blob stores: content-addressed by SHA-256, write-once."""

from .base import BlobStore, IncomingBlob, InsufficientStorage, get_store

__all__ = ["BlobStore", "IncomingBlob", "InsufficientStorage", "get_store"]
