"""Playback derivatives on behalf of the rest of the system: schedule them after ingest,
find them for the player, make in/out excerpts for a user (authorized and audited)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db.models import Q

from ..errors import BadInput, BodycamError
from ..evidence.models import Clip, not_purged_q
from .models import Derivative

log = logging.getLogger("bodycam.media")

PROXY_JOBS = ("media.playback", "media.proxy")
PROXY_RETRY_AFTER_FAILURE = timedelta(minutes=10)


class PreviewNotReady(BodycamError):
    """Someone who may not receive the original asked to play a clip whose proxy is not made
    yet: 503 with Retry-After (the proxy is being made), never the original instead."""

    status = 503
    retry_after = 15


def schedule_playback(clip_id) -> None:
    """Ingest hook: queue proxy + thumbnail for a newly committed clip. Never fails ingest."""
    if not settings.MEDIA_AUTO_PLAYBACK:
        return
    from ..jobs.services import submit

    try:
        submit("media.playback", params={"clip_id": str(clip_id)}, object_type="clip", object_id=str(clip_id))
    except Exception:  # noqa: BLE001 - the clip is stored; `bodycam media backfill` catches up
        log.exception("could not queue playback derivatives for clip %s", clip_id)


def on_clip_stored(clip_id) -> None:
    """Ingest hook, called once a new clip's rows have committed: playback derivatives, the
    redaction analysis (faces and plates, a low-priority job; settings.MEDIA_AUTO_ANALYZE) and,
    when settings.MEDIA_AUTO_TRANSCRIBE, a transcript (agency language/translation defaults).
    Never fails ingest (`bodycam media backfill` / `bodycam transcribe` catch up)."""
    schedule_playback(clip_id)
    if settings.MEDIA_AUTO_ANALYZE:
        from .redactions import schedule_analysis

        try:
            schedule_analysis(clip_id)
        except Exception:  # noqa: BLE001 - the clip is stored; a redaction analyses when asked
            log.exception("could not queue the redaction analysis for clip %s", clip_id)
    if settings.MEDIA_AUTO_TRANSCRIBE:
        from .transcripts import schedule

        try:
            schedule(clip_id)
        except Exception:  # noqa: BLE001 - the clip is stored
            log.exception("could not queue a transcript for clip %s", clip_id)


def backfill(inline: bool = False) -> int:
    """Queue playback jobs for clips that lack a proxy or a thumbnail, or a still photo's
    picture (after a crash, or
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
    # (a still photo also needs its picture: evidence.identity.is_still)
    photo_missing = Q(recording__trigger_on="Still") & ~Q(
        id__in=Derivative.objects.filter(kind=Derivative.Kind.IMAGE).values("clip_id"))
    ids = [cid for cid in Clip.objects.filter(~Q(id__in=list(have_both.values_list("clip_id", flat=True)))
                                              | photo_missing)
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


def playback_proxy(clip: Clip, requested_by=None) -> Derivative:
    """The clip's proxy. If there is none yet, one is asked for unless a job already makes it
    (or failed in the last few minutes): where jobs run inline it is made now and returned,
    with workers it is queued and ``PreviewNotReady`` (503) says to try again shortly."""
    d = latest(clip, Derivative.Kind.PROXY)
    if d is not None:
        return d
    from ..jobs.models import Job
    from ..jobs.services import submit

    jobs = Job.objects.filter(kind__in=PROXY_JOBS, object_id=str(clip.id))
    busy = jobs.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).exists()
    failed = jobs.filter(status=Job.Status.FAILED,
                         finished_at__gt=datetime.now(timezone.utc) - PROXY_RETRY_AFTER_FAILURE).exists()
    if not busy and not failed:
        try:
            submit("media.proxy", params={"clip_id": str(clip.id)}, object_type="clip", object_id=str(clip.id),
                   created_by=requested_by)
        except Exception:  # noqa: BLE001 - no queue: say so below; `bodycam media backfill` catches up
            log.exception("could not queue a proxy for clip %s", clip.id)
        d = latest(clip, Derivative.Kind.PROXY)
        if d is not None:
            return d
    if failed:
        raise PreviewNotReady("preview not ready: the playback copy of this clip could not be made; "
                              "it is tried again in a few minutes (or `bodycam media backfill`)")
    raise PreviewNotReady("preview not ready: the playback copy of this clip is being made; try again in a minute")


def _audit_rendition(request, clip: Clip, d: Derivative, verb: str, via: str = "") -> None:
    from ..custody.services import record_request
    from ..http import range_asked

    detail = {"rendition": d.kind, "derivative": str(d.id), "derivative_sha256": d.sha256,
              "range": range_asked(request)}
    if via:
        detail["via"] = via
    record_request(request, verb, object_type="clip", object_id=str(clip.id), object_sha256=clip.sha256,
                   detail=detail)


# ---------------------------------------------------------------- on behalf of a user
def open_stream(request, clip_id):
    """``GET /api/evidence/ID/stream``: playback with HTTP Range. Those who may download the
    item get the original; everyone else the proxy (``playback_proxy``: made or queued when
    missing, 503 until then), never a byte of the original, so Range requests cannot
    reassemble it. Audited at each playback start, with the rendition played.
    Returns (clip, derivative or None for the original, open file)."""
    from ..access.services import PLAY, authorize
    from ..custody.services import record_request
    from ..evidence_ops.services import may_receive_original, open_original
    from ..http import playback_start
    from ..storage import get_store

    clip = authorize(request, clip_id, PLAY)
    if may_receive_original(request.user, clip):
        return clip, None, open_original(request, clip, PLAY)
    try:
        d = playback_proxy(clip, requested_by=request.user)
    except PreviewNotReady as exc:
        record_request(request, "evidence.play", object_type="clip", object_id=str(clip.id),
                       object_sha256=clip.sha256, outcome="failed",
                       detail={"reason": exc.message, "status": exc.status, "rendition": "proxy"})
        raise
    if playback_start(request, f"{d.kind}:{d.id}"):
        _audit_rendition(request, clip, d, "evidence.play", via="stream")
    return clip, d, get_store().open(d.sha256)


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
    )
    from ..http import playback_start
    from ..numbers import parse_uuid
    from ..storage import get_store

    picture = kind in (Derivative.Kind.THUMBNAIL, Derivative.Kind.IMAGE)  # looked at, not played
    action = DOWNLOAD if download else (VIEW if picture else PLAY)
    clip = authorize(request, clip_id, action)
    if derivative_id is not None:
        did = parse_uuid(derivative_id)
        d = Derivative.objects.filter(pk=did, clip=clip).first() if did else None
    else:
        d = latest(clip, kind)
    if d is None:
        raise NotVisible(f"no {kind} for this item yet" if derivative_id is None else "no such derivative")
    if download or picture or playback_start(request, f"{d.kind}:{d.id}"):
        looked_at = "evidence.image" if kind == Derivative.Kind.IMAGE else "evidence.thumbnail"
        verb = {DOWNLOAD: "evidence.download", VIEW: looked_at, PLAY: "evidence.play"}[action]
        _audit_rendition(request, clip, d, verb)
    return clip, d, get_store().open(d.sha256)


def request_excerpt(request, clip_id, data: dict):
    """Make an in/out clip (a new derivative naming the original's hash) as a job."""
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
    from ..access.services import NotVisible
    from ..jobs.models import Job
    from ..numbers import parse_uuid

    jid = parse_uuid(job_id)
    job = Job.objects.filter(pk=jid, created_by=request.user).first() if jid else None
    if job is None:
        raise NotVisible("no such job of yours")
    return {"id": str(job.id), "kind": job.kind, "status": job.status, "progress": job.progress,
            "message": job.message, "result": job.result, "error": job.error.splitlines()[0] if job.error else ""}
