"""Blob-reference registry: which catalogue rows name which blobs.

The store knows hashes, not meaning. Each app that keeps blobs registers, in its
``AppConfig.ready()``, a provider yielding ``(sha256, item)`` for every live row of its
that names a blob (originals, derivatives, case files, release packages...). Fixity
(``custody.fixity``), the orphan sweep and backups ask ``catalogue_hashes()`` and so need
no import of the apps that own those rows.

``item`` is a small dict ``{"kind", "id", "container", "object"}`` that goes into audit
details and alerts as it is.

A provider also answers the per-hash question asked before a blob is removed for good
(``is_named``, the retention purge and its retries): ``names(sha256, besides_recording)`` is
true when a live row of its names the blob, not counting the rows of the recording
``besides_recording`` (the id of the recording being purged: its clips, attachments and their
derivatives) when that is given. One indexed lookup per model; no listing.

Blobs on their way out (retention let go of them, the store has not removed them yet: an
Object Lock still running) are registered apart, with ``register_leaving_blobs``: no live
row names them, so fixity does not check them and backups do not copy them, but the orphan
sweep must leave them alone (``leaving_hashes``) — they are not lost, they are waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

BlobRefProvider = Callable[[], Iterable[tuple[str, dict]]]
BlobNames = Callable[[str, object], bool]  # (sha256, besides_recording id or None) -> named?


@dataclass(frozen=True)
class BlobRef:
    name: str
    provider: BlobRefProvider
    order: int
    names: BlobNames | None = None


_registry: dict[str, BlobRef] = {}
_leaving: dict[str, Callable[[], Iterable[str]]] = {}


def register_blob_refs(name: str, provider: BlobRefProvider, *, order: int = 100,
                       names: BlobNames | None = None) -> None:
    """Register (or replace, by ``name``) a provider. ``order`` fixes the order in which the
    providers are asked (and so the order of items listed for one hash). ``names`` answers
    ``is_named`` for one hash (see the module's docstring); without it ``is_named`` lists the
    whole provider and counts every row (safe, slow: for tests and small providers)."""
    _registry[name] = BlobRef(name, provider, order, names)


def registered() -> list[BlobRef]:
    return sorted(_registry.values(), key=lambda r: (r.order, r.name))


def catalogue_hashes() -> dict[str, list[dict]]:
    """sha256 -> the catalogue items that name it, from every registered provider."""
    by_hash: dict[str, list[dict]] = {}
    for ref in registered():
        for sha, item in ref.provider():
            by_hash.setdefault(sha, []).append(item)
    return by_hash


def is_named(sha256: str, *, besides_recording=None) -> bool:
    """Does a live row name this blob, other than the rows of recording ``besides_recording``
    (and its derivatives)? Every registered provider is asked: the last check before a blob
    is removed for good."""
    for ref in registered():
        if ref.names is not None:
            if ref.names(sha256, besides_recording):
                return True
        elif any(sha == sha256 for sha, _item in ref.provider()):
            return True
    return False


def register_leaving_blobs(name: str, provider: Callable[[], Iterable[str]]) -> None:
    """Register (or replace, by ``name``) a provider of hashes waiting to be removed."""
    _leaving[name] = provider


def leaving_hashes() -> set[str]:
    """Hashes no live row names that are waiting for the store to remove them."""
    return {sha for name in sorted(_leaving) for sha in _leaving[name]()}
