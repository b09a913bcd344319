"""Playback derivatives on behalf of the rest of the system: schedule them after ingest,
find them for the player, make in/out excerpts for a user (authorized and audited)."""

from __future__ import annotations

import logging

from django.conf import settings

from ..evidence.models import Clip, not_purged_q
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


def on_clip_stored(clip_id) -> None:
    """Ingest hook, called once a new clip's rows have committed: playback derivatives and,
    when settings.MEDIA_AUTO_TRANSCRIBE, a transcript (agency language/translation defaults).
    Never fails ingest (`bodycam media backfill` / `bodycam transcribe` catch up)."""
    schedule_playback(clip_id)
    if getattr(settings, "MEDIA_AUTO_TRANSCRIBE", False):
        from .transcripts import schedule

        try:
            schedule(clip_id)
        except Exception:  # noqa: BLE001 - the clip is stored
            log.exception("could not queue a transcript for clip %s", clip_id)


def backfill(inline: bool = False) -> int:
    """Queue playback jobs for clips that lack a proxy or a thumbnail (after a crash, or
    for footage ingested before this existed), but not for a clip whose playback job is still
    queued or running (it makes them; the reconciler re-sends it if it stranded). Returns how
    many were queued."""
    from ..jobs.models import Job
    from ..jobs.services import submit

    have_both = (Derivative.objects.filter(kind=Derivative.Kind.PROXY).order_by().values("clip_id")
                 .intersection(Derivative.objects.filter(kind=Derivative.Kind.THUMBNAIL).order_by().values("clip_id")))
    pending = {oid for oid in Job.objects.filter(kind="media.playback", object_type="clip",
                                                 status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
               .values_list("object_id", flat=True)}
    ids = [cid for cid in Clip.objects.exclude(id__in=list(have_both.values_list("clip_id", flat=True)))
           .filter(not_purged_q("recording__"))  # purged by retention: no bytes left
           .values_list("id", flat=True) if str(cid) not in pending]
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


# ---------------------------------------------------------------- on behalf of a user
def open_rendition(request, clip_id, kind: str, derivative_id=None, download=False):
    """Authorize and audit playback of a derivative (proxy, excerpt) or a thumbnail fetch;
    return (clip, derivative, open file). Playback is audited at each start
    (``http.playback_start``), like the original's; thumbnails and downloads always."""
    from ..access.services import (
        DOWNLOAD,
        PLAY,
        VIEW,
        NotVisible,
        authorize,
        parse_uuid,
    )
    from ..custody.services import record_request
    from ..http import playback_start, range_asked
    from ..storage import get_store

    action = DOWNLOAD if download else (VIEW if kind == Derivative.Kind.THUMBNAIL else PLAY)
    clip = authorize(request, clip_id, action)
    if derivative_id is not None:
        did = parse_uuid(derivative_id)
        d = Derivative.objects.filter(pk=did, clip=clip).first() if did else None
    else:
        d = latest(clip, kind)
    if d is None:
        raise NotVisible(f"no {kind} for this item yet" if derivative_id is None else "no such derivative")
    if download or kind == Derivative.Kind.THUMBNAIL or playback_start(request, f"{d.kind}:{d.id}"):
        verb = {DOWNLOAD: "evidence.download", VIEW: "evidence.thumbnail", PLAY: "evidence.play"}[action]
        record_request(request, verb, object_type="clip", object_id=str(clip.id), object_sha256=clip.sha256,
                       detail={"rendition": d.kind, "derivative": str(d.id), "derivative_sha256": d.sha256,
                               "range": range_asked(request)})
    return clip, d, get_store().open(d.sha256)


def request_excerpt(request, clip_id, data: dict):
    """Make an in/out clip (a new derivative naming the original's hash) as a job."""
    from ..access.evidence import BadInput
    from ..access.services import EDIT, authorize
    from ..custody.services import record_request
    from ..jobs.services import submit

    if not isinstance(data, dict):
        raise BadInput("body must be a JSON object")
    try:
        start, end = float(data.get("in")), float(data.get("out"))
    except (TypeError, ValueError):
        raise BadInput("in and out must be numbers of seconds from the start of the clip") from None
    clip = authorize(request, clip_id, EDIT)
    if not (0 <= start < end <= clip.duration_s + 0.5) or end - start < 0.2:
        raise BadInput(f"need 0 <= in < out <= {clip.duration_s:.1f} s and at least 0.2 s between them")
    record_request(request, "evidence.excerpt", object_type="clip", object_id=str(clip.id), object_sha256=clip.sha256,
                   detail={"in": round(start, 3), "out": round(end, 3)})
    job = submit("media.excerpt", params={"clip_id": str(clip.id), "start": round(start, 3), "end": round(end, 3)},
                 object_type="clip", object_id=str(clip.id), created_by=request.user)
    return job


def job_status(request, job_id) -> dict:
    """A job the user started (progress bar for long jobs)."""
    from ..access.services import NotVisible, parse_uuid
    from ..jobs.models import Job

    jid = parse_uuid(job_id)
    job = Job.objects.filter(pk=jid, created_by=request.user).first() if jid else None
    if job is None:
        raise NotVisible("no such job of yours")
    return {"id": str(job.id), "kind": job.kind, "status": job.status, "progress": job.progress,
            "message": job.message, "result": job.result, "error": job.error.splitlines()[0] if job.error else ""}
