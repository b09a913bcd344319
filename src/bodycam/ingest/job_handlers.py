"""``ingest.fleet_check``: raise a custody alert for each camera that has not docked for
``BODYCAM_CAMERA_STALE_DAYS`` days (the scheduler runs it hourly). Idempotent: a camera's
silence is alerted once (ingest/fleet.py)."""

from __future__ import annotations

from ..jobs.registry import handler


@handler("ingest.fleet_check")
def fleet_check(ctx) -> dict:
    from .fleet import check_stale, stale_cameras

    raised = check_stale()
    stale = len(stale_cameras())
    ctx.log(f"stale cameras: {stale}, new alerts: {len(raised)}")
    return {"stale": stale, "alerts": len(raised)}
