"""Jobs of the jobs app itself: ``jobs.selftest`` checks that workers take jobs, retry them
and enforce time limits (``bodycam jobs selftest``; the distributed-worker tests use it)."""

from __future__ import annotations

import os
import socket
import time

from .registry import handler


@handler("jobs.selftest")
def selftest(ctx, fail_attempts: int = 0, sleep: float = 0.0) -> dict:
    """Fails its first ``fail_attempts`` attempts, sleeps ``sleep`` seconds, then reports which
    worker ran it. Touches nothing else, so running it twice does no harm."""
    where = f"{socket.gethostname()}:{os.getpid()}"
    ctx.log(f"attempt {ctx.job.attempts} on {where}")
    if ctx.job.attempts <= fail_attempts:
        raise RuntimeError(f"selftest: planned failure on attempt {ctx.job.attempts}")
    end = time.monotonic() + sleep
    while time.monotonic() < end:
        time.sleep(min(0.2, end - time.monotonic()))
    return {"worker": where, "attempts": ctx.job.attempts}
