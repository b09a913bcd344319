"""pytest plugin for the PostgreSQL pass (``pytest -p tests.testenv``; scripts/test.sh runs it).

It starts a throw-away PostgreSQL 15 cluster on 127.0.0.1 (tests/pg.py) *before* Django reads
its settings and points BODYCAM_DATABASE_URL at it, so pytest-django's test database and every
live server (tests/live.py gives each its own database) live in PostgreSQL.

Only tests that touch the catalogue run in this pass: those marked ``catalogue`` or using the
database through pytest-django (``django_db``). Pure non-DB tests (video, device, provenance)
run in the SQLite pass only, since the engine cannot change their outcome.
"""

from __future__ import annotations

import atexit
import os

import pytest

from .pg import PostgresCluster

_cluster = PostgresCluster().start()
atexit.register(_cluster.stop)
os.environ["BODYCAM_DATABASE_URL"] = _cluster.create_database("bodycam")
os.environ["BODYCAM_TEST_ENGINE"] = "postgresql"


def pytest_report_header(config):
    return f"catalogue engine: PostgreSQL on 127.0.0.1:{_cluster.port} (throw-away cluster)"


def _uses_catalogue(item) -> bool:
    return item.get_closest_marker("catalogue") is not None or item.get_closest_marker("django_db") is not None


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        (keep if _uses_catalogue(item) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    # Nothing touched the catalogue (e.g. one non-DB file was asked for): not a failure here.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK
