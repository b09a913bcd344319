"""A real ``bodycam serve`` in a subprocess, with helpers to drive it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(url: str) -> str:
    """A new empty database on the same PostgreSQL server as ``url`` (the PostgreSQL pass
    gives every live server its own catalogue, as a SQLite file per data dir would be)."""
    import uuid
    from urllib.parse import urlparse, urlunparse

    import psycopg

    p = urlparse(url)
    name = f"live_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(urlunparse(p._replace(path="/postgres")), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(p._replace(path=f"/{name}"))


def clone_database(template_url: str) -> str:
    """A new database on the same PostgreSQL server, a copy of ``template_url``'s (which must
    have no open connections): PostgreSQL copies the files, no migration or load runs again."""
    import uuid
    from urllib.parse import urlparse, urlunparse

    import psycopg

    p = urlparse(template_url)
    name = f"live_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(urlunparse(p._replace(path="/postgres")), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{p.path.lstrip("/")}"')
    return urlunparse(p._replace(path=f"/{name}"))


# The demo loaded once per test session for each (environment, --small); see demo_server.
_DEMO_TEMPLATES: dict = {}


def demo_server(tmp_path_factory, name: str, env: dict | None = None, small: bool = False) -> "LiveServer":
    """A LiveServer (not started) holding the demo (``bodycam demo --no-serve``) loaded with
    ``env``. Loading the demo with jobs inline takes a minute; the browser test modules that
    only need its data share one load per session and each gets a copy of its own (the data
    directory, its audit witness and, on PostgreSQL, the database), so no module sees
    another's changes. The demo's own command is tested by tests/test_demo.py."""
    import shutil

    key = (small, tuple(sorted((env or {}).items())))
    template = _DEMO_TEMPLATES.get(key)
    if template is None:
        template = LiveServer(tmp_path_factory.mktemp("demo-template"), env)
        template.cli("demo", "--no-serve", *(["--small"] if small else []), "--port", str(template.port))
        _DEMO_TEMPLATES[key] = template
    extra = dict(env or {})
    if template.database_url.startswith("postgres"):
        extra["BODYCAM_DATABASE_URL"] = clone_database(template.database_url)
    server = LiveServer(tmp_path_factory.mktemp(name), extra)
    shutil.copytree(template.data_dir, server.data_dir, symlinks=True, dirs_exist_ok=True)
    witness = Path(f"{template.data_dir}-witness")  # the default audit witness, beside the data dir
    if witness.is_dir():
        shutil.copytree(witness, Path(f"{server.data_dir}-witness"), symlinks=True, dirs_exist_ok=True)
    server._initialised = True
    return server


def demo_site(name: str, env: dict | None = None, small: bool = False, prepare=None, ready=None):
    """The ``site`` fixture of a browser test module: a copy of the demo (see ``demo_server``)
    loaded with jobs inline and ``env``, served for the module's tests and stopped after them.
    ``prepare(server)`` runs before it is served (CLI steps), ``ready(server)`` once it is (uploads).
    Use: ``site = demo_site("cases")`` at the module's top level."""
    import pytest

    @pytest.fixture(scope="module", name="site")
    def site(tmp_path_factory):
        server = demo_server(tmp_path_factory, name, {"BODYCAM_JOBS_INLINE": "1", **(env or {})}, small)
        if prepare:
            prepare(server)
        server.start()
        try:
            if ready:
                ready(server)
            yield server
        finally:
            server.stop()

    return site


class LiveServer:
    def __init__(self, data_dir: Path, extra_env: dict | None = None):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "BODYCAM_DATA_DIR": str(self.data_dir), "BODYCAM_MIN_FREE_BYTES": "0"}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.env.update({k: str(v) for k, v in (extra_env or {}).items()})
        db_url = self.env.get("BODYCAM_DATABASE_URL", "")
        if db_url.startswith("postgres") and "BODYCAM_DATABASE_URL" not in (extra_env or {}):
            self.env["BODYCAM_DATABASE_URL"] = fresh_database(db_url)
        self.proc: subprocess.Popen | None = None
        self.log = self.data_dir / "server.log"
        self._initialised = False

    @property
    def database_url(self) -> str:
        return self.env.get("BODYCAM_DATABASE_URL") or f"sqlite:///{self.data_dir / 'bodycam.sqlite3'}"

    def audit_rows(self, where: str, *params) -> list[tuple]:
        """(actor, action, object_id, detail) of the audit entries matching ``where``."""
        return self.sql(f"SELECT actor, action, object_id, detail FROM custody_auditentry WHERE {where}", *params)

    def sql(self, query: str, *params) -> list[tuple]:
        """Run one statement on this server's catalogue, whatever the engine (``?`` placeholders);
        returns the rows (empty for statements without any). Commits."""
        url = self.database_url
        if url.startswith("postgres"):
            import psycopg

            with psycopg.connect(url, autocommit=True) as c:
                q = query.replace("%", "%%").replace("?", "%s") if params else query
                cur = c.execute(q, params or None)
                rows = cur.fetchall() if cur.description else []
            return [tuple(json.dumps(v) if isinstance(v, (dict, list)) else v for v in r) for r in rows]
        import sqlite3

        db = sqlite3.connect(self.data_dir / "bodycam.sqlite3")
        try:
            rows = db.execute(query, params).fetchall()
            db.commit()
            return rows
        finally:
            db.close()

    # -- process control
    def cli(self, *args, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        res = subprocess.run([sys.executable, "-m", "bodycam.cli", *args], env=self.env, capture_output=True,
                             text=True, input=input, timeout=300)
        if check and res.returncode != 0:
            raise AssertionError(f"bodycam {' '.join(args)} -> {res.returncode}\n{res.stdout}\n{res.stderr}")
        return res

    def cli_json(self, *args):
        return json.loads(self.cli(*args, "--json", check=False).stdout)

    def start(self, workers: int = 1, threads: int = 8) -> None:
        if not self._initialised and not (self.data_dir / "bodycam.sqlite3").exists():
            self.cli("init", "--quiet")
        self._initialised = True
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bodycam.cli", "serve", "--port", str(self.port), "--no-worker",
             "--workers", str(workers), "--threads", str(threads)],
            env=self.env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            # SIGTERM lets requests finish; a client that left a connection open (keep-alive, a
            # refused upload's unread body) would hold gunicorn for its 30 s graceful timeout, so
            # after a moment SIGQUIT stops it at once (a test's server has nothing left to finish).
            # A worker whose thread still waits for an unread body outlives SIGQUIT too (it joins
            # that thread on exit): SIGKILL follows a second later, not five.
            for sig, wait in ((signal.SIGTERM, 3), (signal.SIGQUIT, 1), (signal.SIGKILL, None)):
                os.killpg(self.proc.pid, sig)
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue

    def kill9(self) -> None:
        """Crash the whole server (master and workers) with SIGKILL."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    # -- Axis/Swift helpers
    def connection(self, site: str = "Test PD") -> dict:
        return json.loads(self.cli("connection-file", "--site", site, "--url", self.url).stdout)

    def swift(self, site: str = "Test PD", **kw):
        import swiftclient

        conn = self.connection(site)
        return swiftclient.client.Connection(
            authurl=conn["AuthenticationTokenURI"][0], user=conn["BlobAPIUserName"], key=conn["BlobAPIKey"],
            auth_version="1", retries=0, **kw)
