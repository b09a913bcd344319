"""Submitting and running jobs. ``submit`` records a Job row and hands its id to the
workers (Celery) once the caller's transaction commits; with ``settings.JOBS_INLINE``
(tests, CLI one-shots) it runs in the calling process instead. Job code is the same.

The catalogue is the truth, the broker a hint: a job whose message never reached the broker
(broker down), or was lost with it (Redis without persistence), or whose worker died, stays
``queued``/``running`` in the catalogue and ``jobs.reconcile`` sends it again. A worker holds a
lease on the job it runs and renews it (a heartbeat); only a job whose lease ran out is taken
over, every outcome is written only by the attempt that holds the job, so a job never runs
twice at once and its result is recorded once."""

from __future__ import annotations

import ctypes
import logging
import threading
import time
import traceback
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q

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
    now = _now()
    job = Job.objects.create(kind=kind, params=params or {}, object_type=object_type, object_id=str(object_id),
                             created_by=created_by, due_at=now)
    if settings.JOBS_INLINE if inline is None else inline:
        return run(job.id)
    enqueue(job)
    return job


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _send(job_id) -> None:
    from .celery_app import app

    app.send_task("bodycam.jobs.tasks.run_job", args=[str(job_id)])


def dispatch(job_id, previous: int | None = None) -> bool:
    """Send one message for the job, recording it (``dispatched_at``, ``dispatches``) first;
    ``previous`` is the dispatch count the caller saw, so two reconcilers looking at the same
    job send one message between them. An unreachable broker is not an error here: the job
    stays as it was in the catalogue and is sent again later. True if a message went out."""
    now = _now()
    row = Job.objects.filter(pk=job_id).values_list("dispatched_at", "dispatches").first()
    if row is None:
        return False
    old, seen = row
    previous = seen if previous is None else previous
    if not Job.objects.filter(pk=job_id, dispatches=previous).update(dispatched_at=now, dispatches=previous + 1):
        return False  # another reconciler sent it just now
    try:
        _send(job_id)
    except Exception as exc:  # noqa: BLE001 - broker down: the catalogue keeps the job
        log.warning("broker unreachable, job %s stays queued in the catalogue and is sent again later: %s",
                    job_id, exc)
        Job.objects.filter(pk=job_id, dispatches=previous + 1).update(dispatched_at=old, dispatches=previous)
        return False
    return True


def enqueue(job: Job) -> None:
    """Hand the job to the workers once the surrounding transaction has committed, so a
    worker never picks up a job whose row (or its change of state) is not there yet. A broker
    that cannot be reached leaves the job queued in the catalogue (the reconciler sends it)."""
    transaction.on_commit(lambda: dispatch(job.pk))


def _lease_seconds() -> float:
    return float(settings.JOB_LEASE_SECONDS)


def _max_attempts() -> int:
    return int(settings.JOB_MAX_ATTEMPTS)


def _lease_ran_out(now: datetime) -> Q:
    """A RUNNING job whose worker stopped renewing its lease (or, for rows from before leases,
    that started longer ago than any attempt may run)."""
    return (Q(status=Job.Status.RUNNING, lease_until__lt=now)
            | Q(status=Job.Status.RUNNING, lease_until__isnull=True,
                started_at__lt=now - timedelta(seconds=settings.JOB_TIME_LIMIT + 60)))


def give_up(job: Job) -> bool:
    """End a job whose lease ran out once it used up its attempts: ``failed``, with why.
    Conditional on what the caller saw, so it never ends a job someone took over meanwhile."""
    now = _now()
    until = job.lease_until.isoformat(timespec="seconds") if job.lease_until else "before leases"
    reason = (f"gave up after {job.attempts} attempts (BODYCAM_JOB_MAX_ATTEMPTS={_max_attempts()}): the worker "
              f"running attempt {job.attempts} stopped renewing its lease (it died, or lost the database) "
              f"at {until}")
    done = Job.objects.filter(_lease_ran_out(now), pk=job.pk, attempts=job.attempts).update(
        status=Job.Status.FAILED, error=reason, message="worker lost; no attempts left", finished_at=now,
        lease_until=None)
    if done:
        log.error("job %s (%s): %s", job.pk, job.kind, reason)
    return bool(done)


def _claim(job: Job, retry_failed: bool = True) -> bool:
    """Take the job for this process, atomically: two workers handed the same message (broker
    redelivery, a re-dispatch racing a late ack) never run it at once. A RUNNING job is taken
    over only once its lease ran out (its worker died without recording an outcome), and only
    while it has attempts left (``give_up`` ends it otherwise). A FAILED job is run again only
    when asked directly (``retry_failed``), never by a stray broker message."""
    now = _now()
    claimable = (Q(status__in=[Job.Status.QUEUED, Job.Status.FAILED] if retry_failed else [Job.Status.QUEUED])
                 | (_lease_ran_out(now) & Q(attempts__lt=_max_attempts())))
    return bool(Job.objects.filter(claimable, pk=job.pk, attempts=job.attempts).update(
        status=Job.Status.RUNNING, started_at=now, attempts=job.attempts + 1, error="",
        lease_until=now + timedelta(seconds=_lease_seconds())))


class LeaseLost(BaseException):
    """Raised in a handler whose job was taken over by another worker (this one's lease ran out
    while it could not reach the database): it stops, and records nothing."""


def _retrying(write, deadline: float):
    """Run ``write`` (a catalogue update); on a database error (PostgreSQL restarting) drop the
    connection and try again until ``deadline`` (monotonic), then raise the last error."""
    while True:
        try:
            return write()
        except DatabaseError:
            connection.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


class _Heartbeat(threading.Thread):
    """Renews the job's lease while its handler runs (workers only). A database that does not
    answer is tried again at the next beat (the lease is renewed again once it answers, if
    nobody took the job over meanwhile); a job taken over by another worker (this attempt no
    longer holds it) stops its handler here with ``LeaseLost``."""

    def __init__(self, job_id, attempts: int, owner: int):
        super().__init__(daemon=True)
        self.job_id, self.attempts, self.owner = job_id, attempts, owner
        self.stop = threading.Event()
        self.lost = threading.Event()
        self.interruptible = threading.Event()

    def run(self):
        try:
            while not self.stop.wait(_lease_seconds() / 3):
                try:
                    held = Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING, attempts=self.attempts).update(
                        lease_until=_now() + timedelta(seconds=_lease_seconds()))
                except DatabaseError as exc:
                    log.warning("lease renewal for job %s failed (tried again): %s", self.job_id, exc)
                    connection.close()
                    continue
                if not held:
                    self.lost.set()
                    if self.interruptible.is_set() and not self.stop.is_set():
                        log.error("job %s: attempt %s lost its lease to another worker; stopping it",
                                  self.job_id, self.attempts)
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.owner),
                                                                   ctypes.py_object(LeaseLost))
                    return
        finally:
            connection.close()


def run(job_id, heartbeat: bool = False, worker: bool = False) -> Job:
    """Run one job now (in this process). A job that already succeeded, or that another
    worker is running, is not run again (it comes back with status RUNNING). Workers pass
    ``heartbeat=True`` so the job's lease is renewed while it runs, and ``worker=True``: a
    message for a job that ended failed (a late redelivery, a copy the reconciler sent) does
    not run it again; ``bodycam jobs retry`` queues it first. The outcome is written only
    while this attempt still holds the job, and a database that drops out meanwhile is tried
    again for up to a lease."""
    job = Job.objects.get(pk=job_id)
    if job.status == Job.Status.SUCCEEDED:
        return job
    fn = load_handlers().get(job.kind)
    if not _claim(job, retry_failed=not worker):
        job.refresh_from_db()
        if job.status == Job.Status.RUNNING and job.attempts >= _max_attempts() and give_up(job):
            job.refresh_from_db()
            return job
        log.info("job %s (%s) is %s elsewhere; not running it twice", job.id, job.kind, job.status)
        return job
    job.refresh_from_db()
    mine = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts)
    beat = _Heartbeat(job.pk, job.attempts, threading.get_ident()) if heartbeat else None
    if beat:
        beat.start()
    try:
        try:
            if fn is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            if beat:
                beat.interruptible.set()
            try:
                result = fn(JobContext(job), **job.params) or {}
            finally:
                if beat:
                    beat.interruptible.clear()
            outcome = dict(status=Job.Status.SUCCEEDED, progress=1.0, result=result)
        except LeaseLost:
            raise
        except Exception as exc:  # a failed job is recorded, never lost
            log.exception("job %s (%s) failed", job.id, job.kind)
            outcome = dict(status=Job.Status.FAILED, error=f"{exc}\n{traceback.format_exc()}"[:20000])
        deadline = time.monotonic() + _lease_seconds()
        written = _retrying(lambda: mine.update(**outcome, finished_at=_now(), lease_until=None), deadline)
        if not written:
            log.error("job %s (%s): attempt %s no longer holds the job (taken over); its outcome is not recorded",
                      job.id, job.kind, job.attempts)
    except LeaseLost:
        log.error("job %s (%s): attempt %s stopped, another worker holds the job now", job.id, job.kind,
                  job.attempts)
    finally:
        if beat:
            beat.stop.set()
            beat.join()
    _retrying(job.refresh_from_db, time.monotonic() + _lease_seconds())
    return job


def overdue_q(now: datetime | None = None) -> Q:
    """Jobs the reconciler should send again: queued and not started a grace after they were
    due (their message never reached the broker, or the broker lost it), or running with a lease
    that ran out (their worker died, or lost the database)."""
    now = now or _now()
    grace = timedelta(seconds=float(settings.JOB_QUEUE_GRACE_SECONDS))
    queued = Q(status=Job.Status.QUEUED) & (Q(due_at__lt=now - grace) | Q(due_at__isnull=True,
                                                                          created_at__lt=now - grace))
    return queued | _lease_ran_out(now)


def overdue_count() -> int:
    return Job.objects.filter(overdue_q()).count()


def _resend_after(dispatches: int) -> timedelta:
    """How long after its last message an overdue job waits before the next: the grace, then
    doubling (a long backlog is not flooded with copies), at most an hour."""
    grace = float(settings.JOB_QUEUE_GRACE_SECONDS)
    return timedelta(seconds=min(3600.0, grace * 2 ** max(0, dispatches - 1)))


def _sent_since(job: Job) -> bool:
    """Did a message go out for the job after it last became due (queued) or lost its worker
    (running, lease lapsed)? A message from before that was used up, and does not count."""
    since = job.lease_until if job.status == Job.Status.RUNNING else job.due_at
    return bool(job.dispatched_at and since and job.dispatched_at >= since)


def reconcile(limit: int = 500) -> dict:
    """One round of the reconciler (every worker runs it every ``JOB_RECONCILE_SECONDS``;
    ``bodycam jobs reconcile`` runs it by hand). For each overdue job: one with no attempts
    left ends ``failed`` with the reason (``give_up``); any other gets a new message at once if
    none went out since it became due or lost its worker, else once its back-off has passed (or
    at once when the broker's queue is empty: no message is waiting there). Sending twice is
    harmless: a worker takes a job only by claiming it in the catalogue. Returns counts
    (``unsent``: the broker did not answer, or another reconciler sent it first)."""
    from .health import broker_depth

    now = _now()
    found = list(Job.objects.filter(overdue_q(now)).order_by("due_at", "created_at")[:limit])
    out = {"overdue": len(found), "sent": 0, "failed": 0, "waiting": 0, "unsent": 0}
    if not found:
        return out
    try:
        empty = broker_depth() == 0
    except Exception:  # noqa: BLE001 - only a hint
        empty = False
    for job in found:
        if job.status == Job.Status.RUNNING and job.attempts >= _max_attempts():
            out["failed"] += give_up(job)
            continue
        if not empty and _sent_since(job) and job.dispatched_at > now - _resend_after(job.dispatches):
            out["waiting"] += 1
            continue
        if dispatch(job.pk, job.dispatches):
            out["sent"] += 1
            log.warning("job %s (%s) was %s with no worker on it; sent to the workers again (message %s)",
                        job.pk, job.kind, job.status, job.dispatches + 1)
        else:
            out["unsent"] += 1
    return out


def reconcile_loop(interval: float, parent: int | None = None, report=None) -> None:
    """Run ``reconcile`` every ``interval`` seconds; stop when process ``parent`` is gone (the
    worker that started this loop died). Never stops for an error: a database or broker
    outage is logged and tried again next round. ``report(result)`` is called after each round."""
    import os

    from django.db import close_old_connections

    while parent is None or os.getppid() == parent:
        try:
            close_old_connections()
            res = reconcile()
            if report:
                report(res)
        except Exception:  # noqa: BLE001
            log.exception("job reconciler round failed (tried again in %s s)", interval)
            connection.close()
        time.sleep(interval)


def needs_attention(limit: int = 5) -> dict:
    """For the admin's home page: failed jobs (newest first), how many wait or run, and how
    many are overdue (queued with no worker on them)."""
    failed = Job.objects.filter(status=Job.Status.FAILED)
    return {"failed": failed.count(), "failed_rows": list(failed.order_by("-finished_at", "-created_at")[:limit]),
            "waiting": Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).count(),
            "overdue": overdue_count()}
