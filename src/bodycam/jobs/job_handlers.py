"""Jobs of the jobs app itself: ``jobs.selftest`` checks that workers take jobs, retry them
and enforce time limits (``bodycam jobs selftest``; the distributed-worker tests use it)."""

from __future__ import annotations

import os
import signal
import socket
import time

from .registry import handler


def _mark(ctx, what: str, where: str) -> None:
    """Leave ``<DATA_DIR>/selftest/<job id>/<what>-<attempt>-<worker>`` (how many times a job
    started and finished, for the fault tests: a job done twice leaves two ``done`` marks)."""
    from django.conf import settings

    folder = settings.DATA_DIR / "selftest" / str(ctx.job.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{what}-{ctx.job.attempts}-{where.replace(':', '_')}").touch()


@handler("jobs.selftest")
def selftest(ctx, fail_attempts: int = 0, sleep: float = 0.0, crash_attempts: int = 0, mark: bool = False) -> dict:
    """Fails its first ``fail_attempts`` attempts, sleeps ``sleep`` seconds, then reports which
    worker ran it. ``crash_attempts``: its first attempts kill their own worker process
    (SIGKILL, as the kernel's OOM killer would); ``mark``: leaves start/done marks in the data
    directory. Touches nothing else, so running it twice does no harm."""
    where = f"{socket.gethostname()}:{os.getpid()}"
    ctx.log(f"attempt {ctx.job.attempts} on {where}")
    if mark:
        _mark(ctx, "start", where)
    if ctx.job.attempts <= fail_attempts:
        raise RuntimeError(f"selftest: planned failure on attempt {ctx.job.attempts}")
    if ctx.job.attempts <= crash_attempts:
        os.kill(os.getpid(), signal.SIGKILL)
    end = time.monotonic() + sleep
    while time.monotonic() < end:
        time.sleep(min(0.2, end - time.monotonic()))
    if mark:
        _mark(ctx, "done", where)
    return {"worker": where, "attempts": ctx.job.attempts}
