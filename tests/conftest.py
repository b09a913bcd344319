"""Shared fixtures.

In-process tests use pytest-django's throw-away database. End-to-end tests start a real
``bodycam serve`` (gunicorn) on 127.0.0.1 with its own data directory and talk to it
over HTTP exactly like a camera system would (``live_server_factory``).
"""

from __future__ import annotations

import itertools

import pytest

from . import envdefaults  # noqa: F401 - loaded first by pytest (addopts); the servers tests start inherit it
from .live import LiveServer


@pytest.fixture(autouse=True)
def _fresh_store(settings, tmp_path):
    """Every in-process test gets an empty object store and an audit witness of its own, and
    passwords hashed with fewer rounds (tests/hashers.py)."""
    from bodycam.storage import reset_store

    settings.PASSWORD_HASHERS = ["tests.hashers.QuickPBKDF2PasswordHasher"]
    settings.OBJECTS_DIR = tmp_path / "objects"
    settings.AUDIT_WITNESS_FILE = str(tmp_path / "audit-witness" / "audit-witness.jsonl")
    reset_store()
    yield
    reset_store()


@pytest.fixture
def live_server_factory(tmp_path_factory):
    servers: list[LiveServer] = []

    def start(**env) -> LiveServer:
        server = LiveServer(tmp_path_factory.mktemp("live"), env)
        server.start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def live(live_server_factory) -> LiveServer:
    return live_server_factory()


@pytest.fixture(scope="module")
def shared_live(tmp_path_factory):
    """One server for a module's tests that only need a running server with a site (starting
    one takes seconds). Such tests make their own recordings (a new officer each, so container
    names never meet) and look only at what they made or at what changed while they ran; a
    test that crashes, restarts, fills or corrupts its server uses ``live`` instead."""
    server = LiveServer(tmp_path_factory.mktemp("shared"))
    server.start()
    yield server
    server.stop()


_CLIPS = itertools.count()


@pytest.fixture
def clip(tmp_path) -> bytes:
    """A playable 2 s mp4 whose bytes no other test's clip has (each is a few pixels wider): the
    store is content-addressed, so on a shared server a test must not find its clip stored already."""
    from bodycam.media.synth import make_clip

    return open(make_clip(str(tmp_path / "clip.mp4"), seconds=2, width=640 + 2 * next(_CLIPS)), "rb").read()


@pytest.fixture(scope="session")
def nanio():
    from .objstores import Nanio

    server = Nanio().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_s3():
    from .objstores import Moto

    server = Moto().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (see tests/browser.py)."""
    pw = pytest.importorskip("playwright.sync_api")
    from .browser import launch

    with pw.sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
