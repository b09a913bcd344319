"""Blobs the evidence catalogue names (registered with ``storage.refs`` in apps.py)."""

from __future__ import annotations

from .models import Attachment, Clip, not_purged_q


def original_refs():
    """Originals (clips, then attachments) of recordings not purged. Purged recordings
    (retention/) keep their rows as tombstones; their bytes are gone on purpose."""
    for model, kind in ((Clip, "clip"), (Attachment, "attachment")):
        rows = model.objects.filter(not_purged_q("recording__")).values_list(
            "id", "sha256", "object_name", "recording__container_name")
        for id_, sha, name, container in rows.iterator():
            yield sha, {"kind": kind, "id": str(id_), "container": container, "object": name}


def names_original(sha256: str, besides_recording) -> bool:
    """A clip or attachment of a recording not purged (other than ``besides_recording``) is these bytes."""
    for model in (Clip, Attachment):
        rows = model.objects.filter(not_purged_q("recording__"), sha256=sha256)
        if besides_recording is not None:
            rows = rows.exclude(recording_id=besides_recording)
        if rows.exists():
            return True
    return False
