"""Blob-reference registry: which catalogue rows name which blobs.

The store knows hashes, not meaning. Each app that keeps blobs registers, in its
``AppConfig.ready()``, a provider yielding ``(sha256, item)`` for every live row of its
that names a blob (originals, derivatives, case files, release packages...). Fixity
(``custody.fixity``), the orphan sweep and backups ask ``catalogue_hashes()`` and so need
no import of the apps that own those rows.

``item`` is a small dict ``{"kind", "id", "container", "object"}`` that goes into audit
details and alerts as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

BlobRefProvider = Callable[[], Iterable[tuple[str, dict]]]


@dataclass(frozen=True)
class BlobRef:
    name: str
    provider: BlobRefProvider
    order: int


_registry: dict[str, BlobRef] = {}


def register_blob_refs(name: str, provider: BlobRefProvider, *, order: int = 100) -> None:
    """Register (or replace, by ``name``) a provider. ``order`` fixes the order in which the
    providers are asked (and so the order of items listed for one hash)."""
    _registry[name] = BlobRef(name, provider, order)


def registered() -> list[BlobRef]:
    return sorted(_registry.values(), key=lambda r: (r.order, r.name))


def catalogue_hashes() -> dict[str, list[dict]]:
    """sha256 -> the catalogue items that name it, from every registered provider."""
    by_hash: dict[str, list[dict]] = {}
    for ref in registered():
        for sha, item in ref.provider():
            by_hash.setdefault(sha, []).append(item)
    return by_hash
