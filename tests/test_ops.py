"""Operations: /healthz, /readyz (database + store), Prometheus /metrics (deny by default),
structured JSON logs, the jobs page, and job claiming (a job never runs twice at once)."""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.test import Client

from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Officer
from bodycam.jobs.models import Job
from bodycam.jobs.services import run, submit

from .access_helpers import client_for, ingest_clip_for, make_user

pytestmark = pytest.mark.django_db


def test_healthz_and_readyz(settings, tmp_path):
    import shutil

    from bodycam.storage import get_store, reset_store

    c = Client()
    assert c.get("/healthz").status_code == 200
    r = c.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready",
                                                 "checks": {"database": "ok", "storage": "ok", "ingest": "ok"},
                                                 "jobs": {"broker": "ok", "overdue": 0}}
    # The blob store goes away (an unmounted volume) -> not ready, and it says which part.
    settings.OBJECTS_DIR = tmp_path / "volume"
    reset_store()
    get_store()
    shutil.rmtree(tmp_path / "volume")
    r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["storage"].startswith("error")
    assert r.json()["checks"]["database"] == "ok"
    assert c.get("/healthz").status_code == 200  # alive, just not ready


def _parse_prometheus(text: str) -> dict:
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            assert re.match(r"^# (HELP|TYPE) bodycam_\w+ ", line) or not line.strip(), line
            continue
        m = re.match(r'^(bodycam_\w+)(\{[^}]*\})? (\S+)$', line)
        assert m, f"not Prometheus text format: {line!r}"
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples


def test_metrics_need_token_or_admin_and_count_what_is_stored(settings, tmp_path):
    settings.METRICS_TOKEN = "scrape-secret-123"
    settings.MEDIA_AUTO_PLAYBACK = False
    officer = make_user("o1", "officer")
    clip = ingest_clip_for(Officer.objects.get(account=officer), tmp_path)
    submit("jobs.selftest", params={"fail_attempts": 1}, inline=True)  # one failed job
    c = Client()
    assert c.get("/metrics").status_code == 401
    assert c.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert AuditEntry.objects.filter(action="ops.metrics", outcome="denied").count() == 2
    assert client_for(officer).get("/metrics").status_code == 401  # an officer is no admin
    r = c.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-123")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain; version=0.0.4")
    m = _parse_prometheus(r.content.decode())
    assert m['bodycam_uploads_total{kind="clip"}'] == 1
    assert m['bodycam_upload_bytes_total{kind="clip"}'] == clip.size
    assert m['bodycam_storage_used_bytes{class="original"}'] == clip.size
    assert m['bodycam_jobs{status="failed"}'] == 1 and m["bodycam_job_failures_total"] == 1
    assert m["bodycam_job_queue_depth"] == 0
    assert "bodycam_storage_free_bytes" in m
    admin = make_user("root", "admin")
    assert client_for(admin).get("/metrics").status_code == 200


def test_json_logs_are_one_object_per_line():
    from bodycam.ops.logs import JsonFormatter

    rec = logging.LogRecord("bodycam.ingest", logging.WARNING, __file__, 1, "upload %s refused", ("c1",), None)
    rec.status = 507
    line = JsonFormatter().format(rec)
    doc = json.loads(line)
    assert "\n" not in line
    assert doc["level"] == "warning" and doc["logger"] == "bodycam.ingest" and doc["msg"] == "upload c1 refused"
    assert doc["status"] == 507 and doc["ts"].endswith("+00:00")


def test_jobs_page_admins_only_with_log(tmp_path):
    job = submit("jobs.selftest", params={"fail_attempts": 1}, inline=True)
    assert job.status == Job.Status.FAILED
    job = run(job.id)  # the retry succeeds
    assert job.status == Job.Status.SUCCEEDED and job.attempts == 2
    admin = client_for(make_user("root", "admin"))
    page = admin.get("/jobs/").content.decode()
    assert "jobs.selftest" in page and f"/jobs/{job.id}/" in page and 'id="count-succeeded">1<' in page
    detail = admin.get(f"/jobs/{job.id}/").content.decode()
    assert "attempt 1 on" in detail and "attempt 2 on" in detail and 'id="job-attempts">2<' in detail
    assert admin.get("/jobs/not-a-uuid/").status_code == 404
    officer = client_for(make_user("o1", "officer"))
    assert officer.get("/jobs/").status_code == 403
    assert officer.get(f"/jobs/{job.id}/").status_code == 403
    assert AuditEntry.objects.filter(action__in=["job.list", "job.view"], outcome="denied").count() == 2
    assert Client().get("/jobs/").status_code == 302  # anonymous: to the sign-in page


def test_a_job_is_never_run_twice_at_once():
    """A second worker handed the same job while it runs leaves it alone (broker redelivery)."""
    job = submit("jobs.selftest", inline=False)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=1)
    again = run(job.id)
    assert again.status == Job.Status.RUNNING and again.attempts == 1 and again.log == ""


@pytest.mark.catalogue
def test_live_server_writes_json_logs(live_server_factory):
    import requests

    live = live_server_factory(BODYCAM_LOG_FORMAT="json")
    requests.get(live.url + "/readyz", timeout=10)
    live.stop()
    lines = [ln for ln in live.log.read_text().splitlines() if ln.startswith("{")]
    docs = [json.loads(ln) for ln in lines]
    access = [d for d in docs if d["logger"] == "gunicorn.access"]
    assert any("/readyz" in d["msg"] for d in access), lines[-5:]
    assert all({"ts", "level", "logger", "msg", "host", "pid"} <= set(d) for d in docs)
