"""Submitting and running jobs. ``submit`` records a Job row and hands its id to the
workers (Celery) once the caller's transaction commits; with ``settings.JOBS_INLINE``
(tests, CLI one-shots) it runs in the calling process instead. Job code is the same."""

from __future__ import annotations

import logging
import threading
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
    if settings.JOBS_INLINE if inline is None else inline:
        return run(job.id)
    enqueue(job)
    return job


def enqueue(job: Job) -> None:
    """Hand the job to the workers once the surrounding transaction has committed, so a
    worker never picks up a job whose row (or its change of state) is not there yet."""
    from .celery_app import app

    transaction.on_commit(lambda: app.send_task("bodycam.jobs.tasks.run_job", args=[str(job.id)]))


def _lease_seconds() -> float:
    return float(settings.JOB_LEASE_SECONDS)


def _claim(job: Job) -> bool:
    """Take the job for this process, atomically: two workers handed the same message (broker
    redelivery, a retry racing a late ack) never run it at once. A RUNNING job is taken over
    only once its lease ran out (its worker died without recording an outcome)."""
    from datetime import timedelta

    from django.db.models import Q

    now = datetime.now(timezone.utc)
    claimable = (Q(status__in=[Job.Status.QUEUED, Job.Status.FAILED])
                 | Q(status=Job.Status.RUNNING, lease_until__lt=now)
                 | Q(status=Job.Status.RUNNING, lease_until__isnull=True,
                     started_at__lt=now - timedelta(seconds=settings.JOB_TIME_LIMIT + 60)))
    return bool(Job.objects.filter(claimable, pk=job.pk, attempts=job.attempts).update(
        status=Job.Status.RUNNING, started_at=now, attempts=job.attempts + 1, error="",
        lease_until=now + timedelta(seconds=_lease_seconds())))


class _Heartbeat(threading.Thread):
    """Renews the job's lease while its handler runs (workers only)."""

    def __init__(self, job_id, attempts: int):
        super().__init__(daemon=True)
        self.job_id, self.attempts = job_id, attempts
        self.stop = threading.Event()

    def run(self):
        from datetime import timedelta

        from django.db import connection

        try:
            while not self.stop.wait(_lease_seconds() / 3):
                until = datetime.now(timezone.utc) + timedelta(seconds=_lease_seconds())
                Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING, attempts=self.attempts).update(
                    lease_until=until)
        except Exception:  # the lease then simply runs out; the job is not harmed
            log.exception("lease renewal for job %s stopped", self.job_id)
        finally:
            connection.close()


def run(job_id, heartbeat: bool = False) -> Job:
    """Run one job now (in this process). A job that already succeeded, or that another
    worker is running, is not run again (it comes back with status RUNNING). Workers pass
    ``heartbeat=True`` so the job's lease is renewed while it runs."""
    job = Job.objects.get(pk=job_id)
    if job.status == Job.Status.SUCCEEDED:
        return job
    fn = load_handlers().get(job.kind)
    if not _claim(job):
        log.info("job %s (%s) is %s elsewhere; not running it twice", job.id, job.kind, job.status)
        job.refresh_from_db()
        return job
    job.refresh_from_db()
    beat = _Heartbeat(job.pk, job.attempts) if heartbeat else None
    if beat:
        beat.start()
    try:
        if fn is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        result = fn(JobContext(job), **job.params) or {}
    except Exception as exc:  # a failed job is recorded, never lost
        log.exception("job %s (%s) failed", job.id, job.kind)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error=f"{exc}\n{traceback.format_exc()}"[:20000],
                                             finished_at=datetime.now(timezone.utc), lease_until=None)
        job.refresh_from_db()
        return job
    finally:
        if beat:
            beat.stop.set()
            beat.join()
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED, progress=1.0, result=result,
                                         finished_at=datetime.now(timezone.utc), lease_until=None)
    job.refresh_from_db()
    return job
