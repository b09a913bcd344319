"""Probes and metrics for load balancers, orchestrators and Prometheus.

/readyz: this node can serve (database answers, blob store reachable) -> 200, else 503; it
also reports the job broker and the overdue jobs (``jobs``), which do not decide readiness.
/metrics: Prometheus text; needs ``Authorization: Bearer $BODYCAM_METRICS_TOKEN`` or an admin
session (deny by default: figures about the evidence store are not public).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse

from ..access.policy import allowed, audit_denied


def readyz(request):
    checks = {}
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        from ..storage import get_store

        get_store().ping()
        checks["storage"] = "ok"
    except Exception as exc:
        checks["storage"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ready" if ok else "not ready", "checks": checks, "jobs": _jobs_report()},
                        status=200 if ok else 503)


def _jobs_report() -> dict:
    """The broker and the jobs waiting with no worker on them: reported, not part of readiness
    (ingest goes on without the broker; the catalogue keeps the jobs and they are sent later)."""
    from ..jobs.health import broker_check
    from ..jobs.services import overdue_count

    try:
        overdue = overdue_count()
    except Exception:  # noqa: BLE001 - the database check above says why
        overdue = None
    return {"broker": broker_check(), "overdue": overdue}


def _metrics_allowed(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    if token and auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip(), token):
        return True
    return allowed(getattr(request, "user", None), "metrics.view")


def metrics(request):
    if not _metrics_allowed(request):
        audit_denied(request, "ops.metrics", "metrics token or admin session required", status=401)
        resp = HttpResponse("metrics need a bearer token (BODYCAM_METRICS_TOKEN) or an admin session\n",
                            status=401, content_type="text/plain")
        resp["WWW-Authenticate"] = 'Bearer realm="bodycam-metrics"'
        return resp
    from .metrics import render

    return HttpResponse(render(), content_type="text/plain; version=0.0.4; charset=utf-8")
