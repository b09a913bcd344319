"""Jobs that strand silently (issue 21, item 4), forced for real: a worker killed whole
(SIGKILL of its whole process group) mid-job, Redis down when a clip arrives, Redis restarted
without persistence, PostgreSQL restarted mid-job, a job that keeps killing its worker. The
catalogue is the truth and the broker a hint: the reconciler every worker runs sends overdue
jobs again, each job completes exactly once (``jobs.selftest`` leaves a ``done`` mark per
completed run), a job out of attempts ends ``failed`` with the reason, and /readyz and /metrics
say where the broker and the overdue jobs stand.

Short leases, grace and reconcile period come from the environment; every wait polls for the
outcome under a generous overall timeout (no wall-clock bounds)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from bodycam.media.synth import make_clip

from . import axis
from .live import LiveServer, free_port
from .test_workers_redis import Workers, job_result

pytestmark = [pytest.mark.catalogue,
              pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server (apt)")]

# Fast fault handling for the tests: leases of 2 s, a queued job overdue 3 s after it was due,
# every worker reconciling each second.
FAST = {"BODYCAM_JOB_LEASE": "2", "BODYCAM_JOB_QUEUE_GRACE": "3", "BODYCAM_JOB_RECONCILE": "1",
        "BODYCAM_JOB_RETRY_BASE": "0.5", "BODYCAM_WORKER_CONCURRENCY": "1"}


class RedisServer:
    """A redis-server on a fixed port that the test stops and starts again (same port, same
    folder); ``appendonly`` as a cluster operator would (or would not) configure it."""

    def __init__(self, appendonly: bool = False):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="bodycam-redis-")
        self.appendonly = appendonly
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=2)

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.appendonly else "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, start_new_session=True)
        import redis

        for _ in range(200):
            try:
                self.client().ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """Stop it as a crash or a node restart would: SIGKILL, nothing flushed."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.close()


def catalogue(tmp_path_factory, **env) -> LiveServer:
    """A data directory and catalogue (SQLite file, or a fresh PostgreSQL database in the
    PostgreSQL pass) without a web server: the CLI and the workers are enough here."""
    live = LiveServer(tmp_path_factory.mktemp("jobs"), {**FAST, **env})
    live.cli("init", "--quiet")
    return live


def jobs(live) -> dict:
    """Every job (``bodycam jobs list``), asked again if the catalogue is briefly busy (SQLite
    locked by a worker's write) or away (PostgreSQL restarting)."""
    last = None
    for _ in range(20):
        res = subprocess.run([sys.executable, "-m", "bodycam.cli", "jobs", "list", "--json", "--limit", "500"],
                             env=live.env, capture_output=True, text=True, timeout=60)
        if res.returncode == 0:
            return {j["id"]: j for j in json.loads(res.stdout)}
        last = res.stderr
        time.sleep(0.5)
    raise AssertionError(f"bodycam jobs list kept failing: {last}")


def wait_for(live, ids, timeout: float, done=("succeeded", "failed")) -> dict:
    deadline = time.time() + timeout
    state = {}
    while time.time() < deadline:
        state = jobs(live)
        if all(state.get(i, {}).get("status") in done for i in ids):
            return state
        time.sleep(0.5)
    raise AssertionError(f"jobs not finished: {[(i, state.get(i, {}).get('status')) for i in ids]}")


def marks(live, job_id: str, what: str) -> list[str]:
    folder = Path(live.data_dir) / "selftest" / job_id
    return sorted(p.name for p in folder.glob(f"{what}-*")) if folder.is_dir() else []


def wait_until(check, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def worker_pid(live, job_id: str, attempt: int = 1) -> int:
    def pid():
        _, log, _ = job_result(live, job_id)
        tag = f"attempt {attempt} on "
        return int(log.split(tag)[1].split()[0].rsplit(":", 1)[1]) if log and tag in log else None

    return wait_until(pid, 90, f"a worker to start attempt {attempt} of {job_id}")


def test_a_worker_killed_whole_mid_job_its_job_runs_again_after_the_lease(tmp_path_factory, redis_server):
    """kill -9 of a whole worker (main process and pool): its message stays unacknowledged in
    Redis until the visibility timeout (70 min); the job's lease runs out in 2 s and the other
    worker's reconciler sends it again. It completes once, on attempt 2, on the other worker."""
    live = catalogue(tmp_path_factory, BODYCAM_BROKER_URL=redis_server.url)
    workers = Workers(live, 2)
    try:
        job = live.cli("jobs", "submit", "jobs.selftest", "--param", "sleep=4", "--param", "mark=true").stdout.split()[0]
        pid = worker_pid(live, job)
        group = os.getpgid(pid)
        assert group in {p.pid for p in workers.procs}
        os.killpg(group, signal.SIGKILL)  # the whole worker: main process and its pool child
        state = wait_for(live, [job], timeout=120)
        assert state[job]["status"] == "succeeded" and state[job]["attempts"] == 2, state[job]
        result, log, _ = job_result(live, job)
        assert result["worker"].rsplit(":", 1)[1] != str(pid)
        assert len(marks(live, job, "start")) == 2 and len(marks(live, job, "done")) == 1, marks(live, job, "")
        assert "attempt 2 on" in log
    finally:
        workers.stop()


def test_redis_down_when_a_clip_arrives_its_jobs_run_once_redis_is_back(live_server_factory, redis_server, nanio,
                                                                        tmp_path):
    """The clip is stored (201) while Redis is down; its playback job waits in the catalogue
    (/readyz and /metrics say the broker is down and one job is overdue), and runs once Redis
    is back: one proxy, one thumbnail."""
    bucket = f"rq-{os.getpid()}-{time.monotonic_ns()}"
    nanio.client().create_bucket(Bucket=bucket)
    live = live_server_factory(BODYCAM_BROKER_URL=redis_server.url, BODYCAM_METRICS_TOKEN="scrape-me",
                               **FAST, **nanio.env(bucket))
    workers = Workers(live, 1)
    try:
        redis_server.kill()
        conn = live.swift()
        user_id, serial = axis.register(conn)
        t0 = axis.now()
        name, meta = axis.recording(user_id, serial, t0)
        conn.put_container(name, headers=meta)
        data = open(make_clip(str(tmp_path / "c.mp4"), seconds=1), "rb").read()
        conn.put_object(name, axis.clip_name(t0, 1), data, headers=axis.clip_headers(t0, 1))  # 201 or it raises
        playback = [j for j, row in jobs(live).items() if row["kind"] == "media.playback"]
        assert len(playback) == 1 and jobs(live)[playback[0]]["status"] == "queued"

        def overdue_report():
            r = requests.get(live.url + "/readyz", timeout=10).json()
            return r if r["jobs"]["overdue"] == 1 else None

        ready = wait_until(overdue_report, 60, "the job to be reported overdue")
        assert ready["status"] == "ready"  # ingest goes on without the broker
        assert ready["jobs"]["broker"].startswith("error")
        metrics = requests.get(live.url + "/metrics", headers={"Authorization": "Bearer scrape-me"}, timeout=10).text
        assert "bodycam_broker_up 0" in metrics and "bodycam_jobs_overdue 1" in metrics

        redis_server.start()
        state = wait_for(live, playback, timeout=180)
        assert state[playback[0]]["status"] == "succeeded", state
        assert live.sql("SELECT kind, COUNT(*) FROM media_derivative GROUP BY kind ORDER BY kind") == \
            [("proxy", 1), ("thumbnail", 1)]
        r = requests.get(live.url + "/readyz", timeout=10).json()
        assert r["jobs"] == {"broker": "ok", "overdue": 0}
        assert live.cli("fsck").returncode == 0
    finally:
        workers.stop()


def test_redis_restarted_without_persistence_queued_jobs_are_sent_again(tmp_path_factory, redis_server):
    """Redis with neither AOF nor snapshots restarts: every waiting message is gone. The
    catalogue still has the jobs queued; the workers' reconciler sends them again and each
    completes exactly once."""
    live = catalogue(tmp_path_factory, BODYCAM_BROKER_URL=redis_server.url)
    queued = live.cli("jobs", "submit", "jobs.selftest", "--param", "mark=true", "--count", "3").stdout.split()
    assert redis_server.client().llen("celery") == 3
    redis_server.kill()
    redis_server.start()
    assert redis_server.client().llen("celery") == 0  # lost with the restart
    workers = Workers(live, 1)
    try:
        state = wait_for(live, queued, timeout=120)
        for j in queued:
            assert state[j]["status"] == "succeeded" and state[j]["attempts"] == 1, state[j]
            assert len(marks(live, j, "done")) == 1
    finally:
        workers.stop()


def test_a_job_that_keeps_killing_its_worker_ends_failed_with_the_reason(tmp_path_factory, redis_server):
    """Each attempt SIGKILLs the process running it (as an OOM kill would). After
    BODYCAM_JOB_MAX_ATTEMPTS attempts the job is not taken over again: it ends failed, saying
    why, instead of crashing workers for ever."""
    live = catalogue(tmp_path_factory, BODYCAM_BROKER_URL=redis_server.url, BODYCAM_JOB_MAX_ATTEMPTS="2")
    workers = Workers(live, 1)
    try:
        job = live.cli("jobs", "submit", "jobs.selftest", "--param", "crash_attempts=99", "--param",
                       "mark=true").stdout.split()[0]
        state = wait_for(live, [job], timeout=120)
        assert state[job]["status"] == "failed" and state[job]["attempts"] == 2, state[job]
        _, _, error = job_result(live, job)
        assert "gave up after 2 attempts" in error and "lease" in error
        assert len(marks(live, job, "start")) == 2 and marks(live, job, "done") == []
        time.sleep(3)  # a late redelivery or another reconcile round changes nothing
        assert jobs(live)[job]["attempts"] == 2 and jobs(live)[job]["status"] == "failed"
    finally:
        workers.stop()


@pytest.mark.skipif(os.environ.get("BODYCAM_TEST_ENGINE") != "postgresql",
                    reason="restarts a PostgreSQL server (the PostgreSQL pass runs it)")
def test_postgresql_restarted_mid_job_the_job_completes_once(tmp_path_factory, redis_server):
    """PostgreSQL restarts (every connection cut) while a worker runs a job: the worker's
    heartbeat and its final write try again once the database is back, or the lease runs out
    and the reconciler sends the job again. Either way it ends succeeded, completed once."""
    from .pg import PostgresCluster

    pg = PostgresCluster().start()
    try:
        live = catalogue(tmp_path_factory, BODYCAM_BROKER_URL=redis_server.url,
                         BODYCAM_DATABASE_URL=pg.create_database("restarted"), BODYCAM_JOB_LEASE="4")
        workers = Workers(live, 1)
        try:
            job = live.cli("jobs", "submit", "jobs.selftest", "--param", "sleep=5", "--param",
                           "mark=true").stdout.split()[0]
            wait_until(lambda: marks(live, job, "start"), 90, "the job to start")
            pg.stop(remove=False)
            time.sleep(1)
            pg.start(init=False)
            state = wait_for(live, [job], timeout=120)
            assert state[job]["status"] == "succeeded", state[job]
            assert len(marks(live, job, "done")) == 1, marks(live, job, "")
        finally:
            workers.stop()
    finally:
        pg.stop()
