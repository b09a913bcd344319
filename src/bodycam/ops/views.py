"""Probes and metrics for load balancers, orchestrators and Prometheus.

/readyz: this node can serve (database answers, blob store reachable, free space above the
ingest reserve BODYCAM_MIN_FREE_BYTES) -> 200, else 503 naming the failing check; it also
reports the job broker and the overdue jobs (``jobs``), which do not decide readiness.
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
    from ..storage import get_store

    try:
        store = get_store()
        store.ping()
        checks["storage"] = "ok"
    except Exception as exc:
        store = None
        checks["storage"] = f"error: {type(exc).__name__}"
    if store is not None:
        # Below the reserve every upload is refused with 507: this node cannot take ingest.
        try:
            free = store.free_bytes()
            if free is not None and free < store.min_free_bytes:
                checks["ingest"] = f"not ready: {free} bytes free, below the reserve of {store.min_free_bytes}"
            else:
                checks["ingest"] = "ok"
        except OSError as exc:
            checks["ingest"] = f"error: {type(exc).__name__}"
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
    token = settings.METRICS_TOKEN
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


_STORAGE_PAGE = """{% extends "base.html" %}
{% block title %}Storage health · bodycam{% endblock %}
{% block content %}
<h1>Storage health</h1>
<table id="storage-health">
<tr><th>Free</th><td>{% if free is None %}—{% else %}{{ free|filesizeformat }}{% endif %}</td></tr>
<tr><th>Ingest reserve</th><td>{{ reserve|filesizeformat }}{% if below %} — <strong>below the reserve: uploads are refused (507)</strong>{% endif %}</td></tr>
<tr><th>Quarantined orphans</th><td id="orphans">{{ rep.orphans }} ({{ rep.orphan_bytes|filesizeformat }})</td></tr>
<tr><th>Upload temp files</th><td id="incoming">{{ rep.incoming_files }} ({{ rep.incoming_bytes|filesizeformat }})</td></tr>
</table>
<p>Orphans are blobs no catalogue row named when the orphan sweep ran. They are removed only by
<code>bodycam orphans purge --reason ...</code> after the grace period, one audit entry each.</p>
{% if rep.items %}<table><tr><th>SHA-256</th><th>Size</th><th>Set aside</th><th></th></tr>
{% for o in rep.items %}<tr><td><code>{{ o.sha256 }}</code></td><td>{{ o.size|filesizeformat }}</td><td>{{ o.set_aside_at }}</td><td>{% if o.named_by_catalogue %}named by the catalogue: kept{% endif %}</td></tr>
{% endfor %}</table>{% endif %}
<h2>Storage alerts</h2>
<ul>{% for a in alerts %}<li>{{ a.created_at|date:"c" }} {{ a.level }} {{ a.kind }}: {{ a.message }}</li>{% empty %}<li>none</li>{% endfor %}</ul>
{% endblock %}
"""


def storage_page(request):
    """Free space, the ingest reserve, orphans and upload temp files: for administrators."""
    from django.template import engines

    from ..custody.fixity import orphan_report
    from ..custody.models import Alert
    from ..custody.services import record_request
    from ..storage import get_store

    user = getattr(request, "user", None)
    if not allowed(user, "metrics.view"):
        audit_denied(request, "ops.storage", "administrators only", status=403)
        return HttpResponse("administrators only\n", status=403, content_type="text/plain")
    store = get_store()
    rep = orphan_report()
    free = store.free_bytes()
    record_request(request, "ops.storage", object_type="report", detail={"orphans": rep["orphans"]})
    if request.GET.get("format") == "json":
        return JsonResponse({**rep, "free_bytes": free, "reserve_bytes": store.min_free_bytes,
                             "below_reserve": store.below_reserve()})
    ctx = {"rep": rep, "free": free, "reserve": store.min_free_bytes, "below": store.below_reserve(),
           "alerts": Alert.objects.filter(kind__startswith="storage.")[:20]}
    return HttpResponse(engines["django"].from_string(_STORAGE_PAGE).render(ctx, request))
