"""``bodycam serve``: gunicorn (threaded workers that stream request bodies straight
from the socket, so memory stays bounded for any upload size) plus a job worker."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys

from gunicorn.app.base import BaseApplication
from gunicorn.http import unreader as _unreader

# gunicorn reads request bodies with recv(8192); footage uploads are GBs, and 8 KiB
# reads cost more CPU than hashing them. 256 KiB recv keeps memory bounded and lets
# ingest keep up with the disk.
_unreader.SocketUnreader.__init__.__defaults__ = (8192,)


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from .wsgi import application

        return application


def serve(host: str, port: int, workers: int = 2, threads: int = 8, with_worker: bool = True) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bodycam.settings")
    if with_worker:
        worker = subprocess.Popen([sys.executable, "-m", "bodycam.cli", "worker"], env=os.environ.copy())

        def _stop_worker():
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(10)
                except subprocess.TimeoutExpired:
                    worker.kill()

        atexit.register(_stop_worker)
    from .ingest.connection import remember_served

    public = remember_served(host, port)  # connection files made later name this address
    print(f"bodycam serving on {public}/  (ingest: {public}/auth/v1.0; bound to {host}:{port})", flush=True)
    from django.conf import settings

    if settings.LIVE_ENABLED and workers > 1:
        # A camera's stream and its viewers must meet in one process: the live relay is a thread
        # of the worker that serves /live/ (docs/live.md, "How the server runs WebRTC").
        print(f"live view is on: serving with 1 worker process and {threads} threads (not {workers} workers)",
              flush=True)
        workers = 1
    options = {}
    if settings.LOG_FORMAT == "json":
        # gunicorn's own error and access logs as JSON lines too, like the application's.
        options["logconfig_dict"] = {
            "version": 1, "disable_existing_loggers": False,
            "formatters": {"json": {"()": "bodycam.ops.logs.JsonFormatter"}},
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json",
                                     "stream": "ext://sys.stdout"}},
            "loggers": {"gunicorn.error": {"handlers": ["console"], "level": "WARNING", "propagate": False},
                        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False}},
        }
    _Gunicorn({
        **options,
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        # gthread heartbeats from its main loop, so a long upload does not trip this.
        "timeout": 120,
        "graceful_timeout": 30,
        "keepalive": 30,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "warning",
        "preload_app": False,
    }).run()


def run_worker(beat: bool = True) -> int:
    from django.conf import settings

    from .jobs.celery_app import app

    # Embedded (with beat): one solo worker beside the web server. Cluster workers (no beat):
    # a prefork pool, one child per core unless BODYCAM_WORKER_CONCURRENCY says otherwise;
    # only prefork enforces the per-attempt time limits.
    concurrency = settings.WORKER_CONCURRENCY or (1 if beat else (os.cpu_count() or 1))
    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--pool=solo" if beat else "--pool=prefork",
            f"--hostname=bodycam-{os.getpid()}@%h"]
    if beat:
        argv.append("--beat")
    app.worker_main(argv)
    return 0
