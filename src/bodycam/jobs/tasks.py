"""Job entry points. Each is idempotent: running it twice does no harm.

``run_job`` carries catalogue jobs: a failed attempt is retried with exponential backoff
(settings.JOB_MAX_ATTEMPTS, JOB_RETRY_BASE_SECONDS) and every attempt runs under a soft time
limit (JOB_TIME_LIMIT; the hard limit kills the worker child 30 s later)."""

import random

import django

django.setup()

from django.conf import settings  # noqa: E402

from bodycam.custody.fixity import run_fixity_check, sweep_orphans  # noqa: E402
from bodycam.jobs.celery_app import app  # noqa: E402


@app.task(name="bodycam.jobs.tasks.fixity_check")
def fixity_check():
    checked, problems = run_fixity_check()
    return {"checked": checked, "problems": len(problems)}


@app.task(name="bodycam.jobs.tasks.orphan_sweep")
def orphan_sweep():
    return sweep_orphans()


@app.task(name="bodycam.jobs.tasks.audit_checkpoint")
def audit_checkpoint():
    from bodycam.custody.chain import checkpoint_dict, checkpoint_if_grown

    cp = checkpoint_if_grown(actor="job:audit-checkpoint")
    if cp is None:
        return {"skipped": "no new audit entries since the last checkpoint"}
    return checkpoint_dict(cp) | ({"witness_error": cp.witness_error} if cp.witness_error else {})


@app.task(name="bodycam.jobs.tasks.retention_sweep")
def retention_sweep():
    from bodycam.jobs.services import submit

    job = submit("retention.sweep", object_type="retention", inline=True)
    return {"job": str(job.id), "status": job.status}


@app.task(name="bodycam.jobs.tasks.notify_sweep")
def notify_sweep():
    """E-mail notifications (the ``notify.sweep`` job of bodycam.notify, by kind name)."""
    from bodycam.jobs.services import submit

    job = submit("notify.sweep", object_type="notify", inline=True)
    return {"job": str(job.id), "status": job.status}


@app.task(name="bodycam.jobs.tasks.camera_stale_check")
def camera_stale_check():
    """Cameras not docked for BODYCAM_CAMERA_STALE_DAYS (the ``ingest.fleet_check`` job, by kind name)."""
    from bodycam.jobs.services import submit

    job = submit("ingest.fleet_check", object_type="device", inline=True)
    return {"job": str(job.id), "status": job.status}


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter: base, 2*base, 4*base... capped at one hour."""
    base = settings.JOB_RETRY_BASE_SECONDS
    return min(3600.0, base * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)


@app.task(name="bodycam.jobs.tasks.run_job", bind=True, max_retries=None,
          soft_time_limit=settings.JOB_TIME_LIMIT, time_limit=settings.JOB_TIME_LIMIT + 30)
def run_job(self, job_id: str):
    from bodycam.jobs.models import Job
    from bodycam.jobs.services import run

    job = run(job_id, heartbeat=True, worker=True)
    if job.status == Job.Status.RUNNING:
        # Another worker holds it (a duplicate delivery), or held it and died: look again once
        # its lease could have run out; by then it either finished or may be taken over.
        raise self.retry(countdown=settings.JOB_LEASE_SECONDS + 1)
    if job.status == Job.Status.FAILED and job.attempts < settings.JOB_MAX_ATTEMPTS:
        from datetime import datetime, timedelta, timezone

        delay = retry_delay(job.attempts)
        # Back in the queue, visibly: the UI shows the attempt count and when it comes back; the
        # reconciler sends it again if this delayed message is lost (its worker died, or Redis).
        Job.objects.filter(pk=job.pk, status=Job.Status.FAILED).update(
            status=Job.Status.QUEUED, message=f"attempt {job.attempts} failed; retry in {delay:.0f} s",
            due_at=datetime.now(timezone.utc) + timedelta(seconds=delay))
        raise self.retry(countdown=delay)
    return {"job": str(job.id), "status": job.status, "attempts": job.attempts}
