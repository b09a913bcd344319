"""Submitting and running jobs. ``submit`` records a Job row and hands its id to the
workers (Celery) once the caller's transaction commits; with ``settings.JOBS_INLINE``
(tests, CLI one-shots) it runs in the calling process instead. Job code is the same."""

from __future__ import annotations

import logging
import traceback
from datetime import datetime, timezone

from django.conf import settings
from django.db import transaction

from .models import Job
from .registry import load_handlers

log = logging.getLogger("bodycam.jobs")


class JobContext:
    """What a handler gets: its Job, and ways to report progress and log lines."""

    def __init__(self, job: Job):
        self.job = job

    def progress(self, fraction: float, message: str = "") -> None:
        self.job.progress = max(0.0, min(1.0, float(fraction)))
        if message:
            self.job.message = message[:200]
        Job.objects.filter(pk=self.job.pk).update(progress=self.job.progress, message=self.job.message)

    def log(self, line: str) -> None:
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.job.log += f"{stamp} {line}\n"
        Job.objects.filter(pk=self.job.pk).update(log=self.job.log)


def submit(kind: str, *, params: dict | None = None, object_type: str = "", object_id: str = "",
           created_by=None, inline: bool | None = None) -> Job:
    if kind not in load_handlers():
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job.objects.create(kind=kind, params=params or {}, object_type=object_type, object_id=str(object_id),
                             created_by=created_by)
    if getattr(settings, "JOBS_INLINE", False) if inline is None else inline:
        return run(job.id)
    from .celery_app import app

    transaction.on_commit(lambda: app.send_task("bodycam.jobs.tasks.run_job", args=[str(job.id)]))
    return job


def _claim(job: Job) -> bool:
    """Take the job for this process, atomically: two workers handed the same message (broker
    redelivery, a retry racing a late ack) never run it at once. A RUNNING job is taken over only
    once its worker must be dead (past the hard time limit)."""
    from datetime import timedelta

    from django.db.models import Q

    now = datetime.now(timezone.utc)
    stale = now - timedelta(seconds=getattr(settings, "JOB_TIME_LIMIT", 3600) + 60)
    claimable = Q(status__in=[Job.Status.QUEUED, Job.Status.FAILED]) | Q(status=Job.Status.RUNNING, started_at__lt=stale)
    return bool(Job.objects.filter(claimable, pk=job.pk, attempts=job.attempts).update(
        status=Job.Status.RUNNING, started_at=now, attempts=job.attempts + 1, error=""))


def run(job_id) -> Job:
    """Run one job now (in this process). A job that already succeeded, or that another
    worker is running, is not run again."""
    job = Job.objects.get(pk=job_id)
    if job.status == Job.Status.SUCCEEDED:
        return job
    fn = load_handlers().get(job.kind)
    if not _claim(job):
        log.info("job %s (%s) is %s elsewhere; not running it twice", job.id, job.kind, job.status)
        job.refresh_from_db()
        return job
    job.refresh_from_db()
    try:
        if fn is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        result = fn(JobContext(job), **job.params) or {}
    except Exception as exc:  # a failed job is recorded, never lost
        log.exception("job %s (%s) failed", job.id, job.kind)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error=f"{exc}\n{traceback.format_exc()}"[:20000],
                                             finished_at=datetime.now(timezone.utc))
        job.refresh_from_db()
        return job
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED, progress=1.0, result=result,
                                         finished_at=datetime.now(timezone.utc))
    job.refresh_from_db()
    return job
