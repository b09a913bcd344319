"""Playback derivatives on behalf of the rest of the system: schedule them after ingest,
find them for the player, make in/out excerpts for a user (authorized and audited)."""

from __future__ import annotations

import logging

from django.conf import settings

from ..evidence.models import Clip
from .models import Derivative

log = logging.getLogger("bodycam.media")


def schedule_playback(clip_id) -> None:
    """Ingest hook: queue proxy + thumbnail for a newly committed clip. Never fails ingest."""
    if not getattr(settings, "MEDIA_AUTO_PLAYBACK", True):
        return
    from ..jobs.services import submit

    try:
        submit("media.playback", params={"clip_id": str(clip_id)}, object_type="clip", object_id=str(clip_id))
    except Exception:  # noqa: BLE001 - the clip is stored; `bodycam media backfill` catches up
        log.exception("could not queue playback derivatives for clip %s", clip_id)


def backfill(inline: bool = False) -> int:
    """Queue playback jobs for clips that lack a proxy or a thumbnail (after a crash, or
    for footage ingested before this existed). Returns how many were queued."""
    from ..jobs.services import submit

    have_both = (Derivative.objects.filter(kind=Derivative.Kind.PROXY).values("clip_id")
                 .intersection(Derivative.objects.filter(kind=Derivative.Kind.THUMBNAIL).values("clip_id")))
    ids = list(Clip.objects.exclude(id__in=list(have_both.values_list("clip_id", flat=True)))
               .values_list("id", flat=True))
    for cid in ids:
        submit("media.playback", params={"clip_id": str(cid)}, object_type="clip", object_id=str(cid),
               inline=inline or None)
    return len(ids)


def latest(clip: Clip, kind: str) -> Derivative | None:
    """The newest derivative of ``kind`` made from this exact original."""
    return Derivative.objects.filter(clip=clip, parent_sha256=clip.sha256, kind=kind).order_by("-created_at").first()


def derivatives_of(clip_ids, kind: str) -> dict[str, Derivative]:
    """One query: clip id -> its derivative of ``kind`` (for a page of search results)."""
    out: dict[str, Derivative] = {}
    for d in Derivative.objects.filter(clip_id__in=list(clip_ids), kind=kind).order_by("created_at"):
        out[str(d.clip_id)] = d
    return out
