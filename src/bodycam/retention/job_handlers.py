"""The daily retention sweep as a job (scheduled by the worker's beat, see jobs/celery_app)."""

from __future__ import annotations

from ..jobs.registry import handler


@handler("retention.sweep")
def sweep_job(ctx, dry_run: bool = False, **_):
    from .services import RetentionError, sweep

    try:
        rep = sweep(dry_run=dry_run, actor="job:retention-sweep")
    except RetentionError as exc:  # clock or policy refused: alerted and audited already
        ctx.log(f"refused: {exc}")
        raise
    ctx.log(f"queued {len(rep['queued'])}, purged {len(rep['purged'])}, cancelled {len(rep['cancelled'])}")
    return {k: len(rep[k]) for k in ("queued", "purged", "cancelled", "awaiting_approval", "upcoming")}
