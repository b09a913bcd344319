"""The Celery app that carries jobs to workers.

Embedded default: a filesystem broker inside the data directory, worker started by
``bodycam serve`` (no server needed). Cluster: BODYCAM_BROKER_URL=redis://... and any
number of ``bodycam worker`` processes. Job code is the same in both.
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bodycam.settings")

app = Celery("bodycam")


def _configure():
    from django.conf import settings

    conf = {
        "broker_url": settings.BROKER_URL,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "beat_schedule": {
            "fixity-check": {"task": "bodycam.jobs.tasks.fixity_check", "schedule": float(settings.FIXITY_INTERVAL_SECONDS)},
            "orphan-sweep": {"task": "bodycam.jobs.tasks.orphan_sweep", "schedule": 3600.0},
            "retention-sweep": {"task": "bodycam.jobs.tasks.retention_sweep",
                                "schedule": float(settings.RETENTION_SWEEP_INTERVAL)},
            "audit-checkpoint": {"task": "bodycam.jobs.tasks.audit_checkpoint",
                                 "schedule": float(settings.AUDIT_CHECKPOINT_INTERVAL)},
            "notify-sweep": {"task": "bodycam.jobs.tasks.notify_sweep", "schedule": float(settings.NOTIFY_INTERVAL)},
            "camera-stale-check": {"task": "bodycam.jobs.tasks.camera_stale_check", "schedule": 3600.0},
        },
        "beat_schedule_filename": str(settings.DATA_DIR / "celerybeat-schedule"),
    }
    if settings.BROKER_URL.startswith(("redis://", "rediss://")):
        # An unacknowledged message (its worker died) comes back after this long: longer than
        # any attempt may run, so a slow job is never handed out twice while alive.
        conf["broker_transport_options"] = {"visibility_timeout": settings.JOB_TIME_LIMIT + 600}
        conf["broker_connection_retry_on_startup"] = True
    if settings.BROKER_URL.startswith("filesystem://"):
        base = settings.DATA_DIR / "broker"
        for sub in ("queue", "processed", "control"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        conf["broker_transport_options"] = {
            "data_folder_in": str(base / "queue"),
            "data_folder_out": str(base / "queue"),
            "processed_folder": str(base / "processed"),
            "control_folder": str(base / "control"),  # kombu's default is the current directory
            "store_processed": False,
        }
    app.conf.update(conf)


_reconciler = None


@signals.worker_ready.connect
def _start_reconciler(**kwargs):
    """Every worker also runs the job reconciler: overdue jobs are sent again from the
    catalogue even when no scheduler runs and whatever the broker lost. It runs as a process of
    its own (``bodycam jobs reconcile --every``), never as a thread in the worker: the pool
    forks its children from the worker, and a fork must not copy an open catalogue connection
    (SQLite's locks do not survive it). It ends with its worker."""
    global _reconciler
    import subprocess
    import sys

    from django.conf import settings

    interval = float(settings.JOB_RECONCILE_SECONDS)
    if interval > 0 and _reconciler is None:
        _reconciler = subprocess.Popen([sys.executable, "-m", "bodycam.cli", "jobs", "reconcile", "--every",
                                        str(interval), "--parent", str(os.getpid()), "--quiet"])


@signals.worker_shutdown.connect
def _stop_reconciler(**kwargs):
    if _reconciler is not None and _reconciler.poll() is None:
        _reconciler.terminate()
        try:
            _reconciler.wait(10)
        except Exception:  # noqa: BLE001
            _reconciler.kill()


_configure()
app.autodiscover_tasks(["bodycam.jobs"], related_name="tasks", force=True)
