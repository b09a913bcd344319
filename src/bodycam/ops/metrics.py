"""Prometheus metrics (text exposition format 0.0.4), computed from the catalogue so every
node behind the load balancer answers the same numbers (no per-process counters to merge)."""

from __future__ import annotations

import time

from django.db.models import Count, Sum


def _line(out: list, name: str, value, labels: dict | None = None) -> None:
    lab = ""
    if labels:
        lab = "{" + ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                             for k, v in labels.items()) + "}"
    out.append(f"{name}{lab} {float(value or 0):.17g}")


def _metric(out: list, name: str, kind: str, help_: str, samples) -> None:
    out.append(f"# HELP {name} {help_}")
    out.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        _line(out, name, value, labels)


def broker_queue_depth() -> int | None:
    """Messages waiting in the Celery broker (Redis), or None for the embedded broker."""
    from django.conf import settings

    if not settings.BROKER_URL.startswith(("redis://", "rediss://")):
        return None
    import redis

    r = redis.Redis.from_url(settings.BROKER_URL, socket_timeout=2)
    return int(r.llen("celery"))


def _jobs_metrics(out: list) -> None:
    from ..jobs.health import broker_check
    from ..jobs.services import overdue_count

    _metric(out, "bodycam_broker_up", "gauge", "1 if this node reaches the job broker, else 0.",
            [(None, 1 if broker_check() == "ok" else 0)])
    _metric(out, "bodycam_jobs_overdue", "gauge",
            "Jobs queued past their grace or running with a lapsed lease (the reconciler sends them again).",
            [(None, overdue_count())])


def render() -> str:
    from ..custody.models import Alert, AuditEntry
    from ..evidence.models import Attachment, Clip
    from ..jobs.models import Job
    from ..media.models import Derivative
    from ..storage import get_store

    t0 = time.monotonic()
    out: list[str] = []
    uploads = []
    used = 0
    for model, kind in ((Clip, "clip"), (Attachment, "attachment")):
        agg = model.objects.aggregate(n=Count("id"), b=Sum("size"))
        uploads.append(({"kind": kind}, agg["n"], agg["b"] or 0))
        used += agg["b"] or 0
    _metric(out, "bodycam_uploads_total", "counter", "Objects stored through ingest.",
            [(lab, n) for lab, n, _ in uploads])
    _metric(out, "bodycam_upload_bytes_total", "counter", "Bytes stored through ingest.",
            [(lab, b) for lab, _, b in uploads])
    rejected = AuditEntry.objects.filter(action__in=("ingest.denied", "ingest.login"), outcome="denied").count()
    _metric(out, "bodycam_ingest_rejections_total", "counter", "Ingest requests refused (credentials, bad input).",
            [(None, rejected)])
    derived = Derivative.objects.aggregate(b=Sum("size"))["b"] or 0
    _metric(out, "bodycam_storage_used_bytes", "gauge", "Bytes of catalogued blobs in the store.",
            [({"class": "original"}, used), ({"class": "derivative"}, derived)])
    store = get_store()
    free = store.free_bytes()
    if free is not None:
        _metric(out, "bodycam_storage_free_bytes", "gauge", "Free bytes where the local store lives.", [(None, free)])
        _metric(out, "bodycam_storage_reserve_bytes", "gauge",
                "Free bytes ingest keeps in reserve (BODYCAM_MIN_FREE_BYTES); below it uploads get 507.",
                [(None, store.min_free_bytes)])
        # Read from the filesystem at each scrape: it needs no write, so it reports a full disk
        # even when the alert for it could not be stored.
        _metric(out, "bodycam_storage_below_reserve", "gauge",
                "1 when free space is below the reserve (ingest refuses every upload), else 0.",
                [(None, 1 if free < store.min_free_bytes else 0)])
    orphans = list(store.iter_orphans())
    _metric(out, "bodycam_storage_orphans", "gauge",
            "Quarantined orphan blobs in orphans/ (removed only by `bodycam orphans purge`).", [(None, len(orphans))])
    _metric(out, "bodycam_storage_orphan_bytes", "gauge", "Bytes of quarantined orphan blobs.",
            [(None, sum(size for _, size, _ in orphans))])
    incoming = store.incoming_files()
    _metric(out, "bodycam_storage_incoming_files", "gauge",
            "Temp files of uploads in flight or stopped (removed after BODYCAM_INCOMING_GRACE).",
            [(None, len(incoming))])
    by_status = dict(Job.objects.values_list("status").annotate(n=Count("id")))
    _metric(out, "bodycam_jobs", "gauge", "Jobs in the catalogue by status.",
            [({"status": s}, by_status.get(s, 0)) for s in Job.Status.values])
    _metric(out, "bodycam_job_queue_depth", "gauge", "Jobs waiting for a worker.",
            [(None, by_status.get(Job.Status.QUEUED, 0))])
    _metric(out, "bodycam_job_failures_total", "counter", "Jobs that ended failed.",
            [(None, by_status.get(Job.Status.FAILED, 0))])
    try:
        depth = broker_queue_depth()
    except Exception:
        depth = None
    if depth is not None:
        _metric(out, "bodycam_broker_queue_depth", "gauge", "Messages waiting in the Redis broker.", [(None, depth)])
    _jobs_metrics(out)
    open_alerts = Alert.objects.filter(acknowledged_at__isnull=True).count()
    _metric(out, "bodycam_alerts_open", "gauge", "Operator alerts not yet acknowledged.", [(None, open_alerts)])
    _metric(out, "bodycam_metrics_scrape_seconds", "gauge", "Time taken to compute these metrics.",
            [(None, round(time.monotonic() - t0, 6))])
    return "\n".join(out) + "\n"
