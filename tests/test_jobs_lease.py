"""Job leases and the reconciler in one process (issue 21, item 4), on both engines: an
attempt whose job was taken over stops and records nothing; a lapsed job with attempts left is
sent again once, one without ends failed with the reason; a job whose message never reached
the broker is sent again once overdue. The faults themselves (kill -9, Redis, PostgreSQL)
are forced in tests/test_jobs_reconcile.py."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bodycam.jobs.models import Job
from bodycam.jobs.registry import HANDLERS, handler
from bodycam.jobs.services import dispatch, overdue_count, reconcile, run, submit

pytestmark = pytest.mark.catalogue

progress = {"steps": 0, "finished": False}


@pytest.fixture
def slow_handler():
    @handler("test.slow")
    def slow(ctx, steps=100):
        for _ in range(steps):
            time.sleep(0.05)
            progress["steps"] += 1
        progress["finished"] = True
        return {"done": True}

    progress.update(steps=0, finished=False)
    yield
    HANDLERS.pop("test.slow", None)


@pytest.mark.django_db(transaction=True)
def test_an_attempt_whose_job_was_taken_over_stops_and_records_nothing(settings, slow_handler):
    settings.JOB_LEASE_SECONDS = 0.6  # the heartbeat looks every 0.2 s
    job = submit("test.slow", params={"steps": 400}, inline=False)
    out = {}

    def worker():
        try:
            out["job"] = run(job.id, heartbeat=True, worker=True)
        finally:
            connection.close()

    t = threading.Thread(target=worker)
    t.start()
    deadline = time.monotonic() + 60
    while not Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # Another worker claims it as after a lapsed lease (this attempt was cut off from the
    # database): attempt 2 holds the job now.
    Job.objects.filter(pk=job.pk).update(attempts=2, lease_until=timezone.now() + timedelta(seconds=3600))
    t.join(60)
    assert not t.is_alive()
    assert not progress["finished"] and progress["steps"] < 400  # it stopped, it did not run on
    row = Job.objects.get(pk=job.pk)
    assert row.status == Job.Status.RUNNING and row.attempts == 2 and row.result == {}  # nothing written over


@pytest.mark.django_db
def test_reconciler_sends_a_lapsed_job_again_once_and_ends_one_out_of_attempts(settings):
    settings.JOB_MAX_ATTEMPTS = 3
    lapsed = timezone.now() - timedelta(seconds=5)
    alive = submit("jobs.selftest", inline=False)
    spent = submit("jobs.selftest", inline=False)
    Job.objects.filter(pk=alive.pk).update(status=Job.Status.RUNNING, attempts=1, lease_until=lapsed,
                                           dispatched_at=lapsed - timedelta(seconds=60), dispatches=1)
    Job.objects.filter(pk=spent.pk).update(status=Job.Status.RUNNING, attempts=3, lease_until=lapsed)
    assert overdue_count() == 2
    res = reconcile()
    assert res["sent"] == 1 and res["failed"] == 1, res
    row = Job.objects.get(pk=alive.pk)
    assert row.status == Job.Status.RUNNING and row.dispatches == 2  # a worker will take it over
    assert reconcile()["sent"] == 0  # sent just now: not again before its back-off
    row = Job.objects.get(pk=spent.pk)
    assert row.status == Job.Status.FAILED and row.finished_at
    assert row.error.startswith("gave up after 3 attempts") and "lease" in row.error
    # A stray message for the failed job does not run it again.
    assert run(spent.pk, worker=True).attempts == 3


@pytest.mark.django_db
def test_a_job_whose_message_never_left_is_sent_once_overdue(settings):
    settings.JOB_QUEUE_GRACE_SECONDS = 30
    job = submit("jobs.selftest", inline=False)  # in a test transaction: no message goes out
    assert Job.objects.get(pk=job.pk).dispatches == 0
    assert reconcile()["overdue"] == 0  # not overdue within the grace
    Job.objects.filter(pk=job.pk).update(due_at=timezone.now() - timedelta(seconds=31))
    assert overdue_count() == 1
    assert reconcile()["sent"] == 1
    assert Job.objects.get(pk=job.pk).dispatches == 1 and not dispatch(job.pk, previous=0)  # one sender per copy
