"""Distributed workers: Celery over a real Redis (redis-server started here on 127.0.0.1),
several worker processes, the web node queueing jobs as clips arrive. Retries with backoff,
per-attempt time limits, and idempotent jobs (the same job, or the same work, twice)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from bodycam.media.synth import make_clip

from . import axis
from .live import free_port

pytestmark = [pytest.mark.catalogue,
              pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server (apt)")]


@pytest.fixture(scope="module")
def redis_url():
    port = free_port()
    d = tempfile.mkdtemp(prefix="bodycam-redis-")
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", d], stdout=subprocess.DEVNULL, start_new_session=True)
    import redis

    r = redis.Redis(port=port)
    for _ in range(100):
        try:
            r.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(d, ignore_errors=True)


class Workers:
    def __init__(self, live, n: int, **env):
        self.procs = []
        self.env = {**live.env, **{k: str(v) for k, v in env.items()}}
        for i in range(n):
            log = open(live.data_dir / f"worker{i}-{time.monotonic_ns()}.log", "wb")
            self.procs.append(subprocess.Popen([sys.executable, "-m", "bodycam.cli", "worker", "--no-beat"],
                                               env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True))

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def jobs(live, env=None) -> dict:
    res = subprocess.run([sys.executable, "-m", "bodycam.cli", "jobs", "list", "--json", "--limit", "500"],
                         env=env or live.env, capture_output=True, text=True, timeout=60)
    return {j["id"]: j for j in json.loads(res.stdout)}


def wait_for(live, ids, timeout=120, done=("succeeded", "failed"), env=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = jobs(live, env)
        if all(state.get(i, {}).get("status") in done for i in ids):
            return state
        time.sleep(0.5)
    raise AssertionError(f"jobs not finished: {[(i, state.get(i, {}).get('status')) for i in ids]}")


def job_result(live, job_id):
    rows = live.sql("SELECT result, log, error FROM jobs_job WHERE id = ?", job_id.replace("-", "")
                    if live.database_url.startswith("sqlite") else job_id)
    result, log, error = rows[0]
    return (json.loads(result) if isinstance(result, str) else result), log, error


def test_workers_make_proxies_retry_and_share_the_load(live_server_factory, redis_url, tmp_path):
    live = live_server_factory(BODYCAM_BROKER_URL=f"{redis_url}/0", BODYCAM_JOB_RETRY_BASE="0.5",
                               BODYCAM_WORKER_CONCURRENCY="2")
    workers = Workers(live, 2)
    try:
        # Clips through ingest: each commit queues a media.playback job that the workers run.
        conn = live.swift()
        user_id, serial = axis.register(conn)
        t0 = axis.now()
        name, meta = axis.recording(user_id, serial, t0)
        conn.put_container(name, headers=meta)
        for i in range(3):
            data = open(make_clip(str(tmp_path / f"c{i}.mp4"), seconds=1), "rb").read()
            conn.put_object(name, axis.clip_name(t0, i + 1), data, headers=axis.clip_headers(t0, 1))
        selftests = live.cli("jobs", "submit", "jobs.selftest", "--param", "sleep=1.5", "--count", "6").stdout.split()
        flaky = live.cli("jobs", "submit", "jobs.selftest", "--param", "fail_attempts=2").stdout.split()
        playback = [j for j, row in jobs(live).items() if row["kind"] == "media.playback"]
        assert len(playback) == 3
        state = wait_for(live, playback + selftests + flaky)
        assert all(state[j]["status"] == "succeeded" for j in playback + selftests + flaky), state
        # Proxies and thumbnails exist for every clip, made by the workers, stored once.
        n = live.sql("SELECT kind, COUNT(*) FROM media_derivative GROUP BY kind ORDER BY kind")
        assert n == [("proxy", 3), ("thumbnail", 3)]
        # Several worker processes took part.
        where = {job_result(live, j)[0]["worker"] for j in selftests}
        assert len(where) >= 2, where
        # Retried with backoff after two planned failures; the log shows every attempt.
        assert state[flaky[0]]["attempts"] == 3
        _, log, _ = job_result(live, flaky[0])
        assert "attempt 1 on" in log and "attempt 3 on" in log

        # Idempotent: the same job sent again does nothing; the same work submitted again
        # makes no second proxy.
        live.cli("jobs", "retry", playback[0])
        clip_id = live.sql("SELECT id FROM evidence_clip ORDER BY object_name LIMIT 1")[0][0]
        again = live.cli("jobs", "submit", "media.playback", "--param", f"clip_id={clip_id}").stdout.split()
        state = wait_for(live, again)
        assert state[again[0]]["status"] == "succeeded"
        time.sleep(1)
        assert jobs(live)[playback[0]]["attempts"] == 1
        assert live.sql("SELECT kind, COUNT(*) FROM media_derivative GROUP BY kind ORDER BY kind") == \
            [("proxy", 3), ("thumbnail", 3)]
        assert live.cli("fsck").returncode == 0
    finally:
        workers.stop()


def test_time_limit_stops_a_stuck_job_and_it_ends_failed(live_server_factory, redis_url):
    live = live_server_factory(BODYCAM_BROKER_URL=f"{redis_url}/1", BODYCAM_JOB_TIME_LIMIT="2",
                               BODYCAM_JOB_MAX_ATTEMPTS="2", BODYCAM_JOB_RETRY_BASE="0.2",
                               BODYCAM_WORKER_CONCURRENCY="1")
    workers = Workers(live, 1)
    try:
        stuck = live.cli("jobs", "submit", "jobs.selftest", "--param", "sleep=60").stdout.split()
        t = time.time()
        state = wait_for(live, stuck, timeout=90, done=("failed",))
        assert time.time() - t < 60  # stopped by the limit, not by finishing
        assert state[stuck[0]]["attempts"] == 2
        assert "TimeLimit" in job_result(live, stuck[0])[2]
    finally:
        workers.stop()


def test_job_of_a_killed_worker_process_is_taken_over(live_server_factory, redis_url):
    """kill -9 of the process running a job: the message comes back (late ack), the job's lease
    runs out, and a worker runs it to the end; nothing runs it twice at once."""
    live = live_server_factory(BODYCAM_BROKER_URL=f"{redis_url}/2", BODYCAM_JOB_LEASE="3",
                               BODYCAM_WORKER_CONCURRENCY="1")
    workers = Workers(live, 2)
    try:
        job = live.cli("jobs", "submit", "jobs.selftest", "--param", "sleep=8").stdout.split()[0]
        deadline = time.time() + 60
        pid = None
        while time.time() < deadline and pid is None:
            _, log, _ = job_result(live, job)
            if log and "attempt 1 on" in log:
                pid = int(log.split("attempt 1 on ")[1].split()[0].rsplit(":", 1)[1])
            time.sleep(0.2)
        assert pid, "no worker took the job"
        os.kill(pid, signal.SIGKILL)
        state = wait_for(live, [job], timeout=90)
        assert state[job]["status"] == "succeeded" and state[job]["attempts"] == 2, state[job]
        result, log, _ = job_result(live, job)
        assert "attempt 2 on" in log and str(pid) not in result["worker"]
    finally:
        workers.stop()
