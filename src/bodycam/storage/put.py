"""Store a file and name it with a catalogue row, in one step for the caller."""

from __future__ import annotations

from typing import BinaryIO, Callable, TypeVar

from django.db import transaction

from .base import IncomingBlob
from .factory import get_store
from .locks import blob_lock

T = TypeVar("T")


def put_file(fileobj: BinaryIO, size: int | None, name_row: Callable[[IncomingBlob], T]) -> T:
    """Receive ``fileobj`` (hashed into the store's temp area), then, holding
    ``blob_lock(sha256)``, commit it and call ``name_row(incoming)`` in a transaction that
    commits before the lock is let go: a retention purge or the orphan sweep of the same
    bytes waits and sees the row (``storage.locks``). The temp copy is discarded whatever
    happens. Returns what ``name_row`` returns.

    Blob first, row second: a failure in between leaves an unnamed blob for the orphan
    sweep, never a row without its bytes. ``InsufficientStorage`` (no room: from receive or
    commit; nothing was deleted to make room) and the errors of ``name_row`` (an
    ``IntegrityError`` when another run named its row first) reach the caller."""
    store = get_store()
    incoming = store.receive(fileobj, size)
    try:
        with blob_lock(incoming.sha256):
            store.commit(incoming)
            with transaction.atomic():
                return name_row(incoming)
    finally:
        incoming.discard()
