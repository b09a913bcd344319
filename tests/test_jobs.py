"""The job catalogue: submit/run records status, progress, log and errors; a job that
succeeded is not run again."""

import pytest

from bodycam.jobs.models import Job
from bodycam.jobs.registry import HANDLERS, handler
from bodycam.jobs.services import run, submit

pytestmark = pytest.mark.django_db

calls = []


@pytest.fixture(autouse=True)
def _handlers():
    @handler("test.count")
    def count(ctx, n=1):
        ctx.progress(0.5, "half way")
        ctx.log(f"counting {n}")
        calls.append(n)
        return {"counted": n}

    @handler("test.fail")
    def fail(ctx):
        raise RuntimeError("disk on fire")

    calls.clear()
    yield
    HANDLERS.pop("test.count", None)
    HANDLERS.pop("test.fail", None)


def test_inline_job_succeeds_with_progress_log_and_result():
    job = submit("test.count", params={"n": 3}, object_type="clip", object_id="abc", inline=True)
    assert job.status == Job.Status.SUCCEEDED
    assert job.result == {"counted": 3} and job.progress == 1.0
    assert job.message == "half way" and "counting 3" in job.log
    assert job.attempts == 1 and job.started_at and job.finished_at


def test_succeeded_job_is_not_run_twice():
    job = submit("test.count", inline=True)
    run(job.id)
    assert calls == [1]
    assert Job.objects.get(pk=job.pk).attempts == 1


def test_failed_job_is_recorded_and_can_be_retried():
    job = submit("test.fail", inline=True)
    assert job.status == Job.Status.FAILED and "disk on fire" in job.error
    job = run(job.id)
    assert job.attempts == 2 and job.status == Job.Status.FAILED


def test_unknown_kind_is_refused_and_nothing_recorded():
    with pytest.raises(ValueError):
        submit("no.such.kind")
    assert Job.objects.count() == 0


def test_queued_job_waits_for_a_worker(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = submit("test.count", inline=False)
    assert job.status == Job.Status.QUEUED and len(callbacks) == 1
