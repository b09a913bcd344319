"""A throw-away PostgreSQL 15 cluster on 127.0.0.1, started by the tests themselves
(``initdb`` must run as the postgres user)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time

from .live import free_port


def _bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"{name} not found: install the Debian package postgresql (scripts/install.sh --test does)")
    return found


class PostgresCluster:
    def __init__(self, directory: str | None = None):
        """``directory``: keep the cluster there (bench/search.py reuses a loaded one)."""
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.dir = directory or tempfile.mkdtemp(prefix="bodycam-pg-")
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *cmd):
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
            cmd = ("runuser", "-u", "postgres", "--", *cmd)
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self, extra: str = "", init: bool = True) -> "PostgresCluster":
        """``extra``: more server options (-c name=value ...); ``init=False`` starts an
        existing data folder."""
        if init:
            self._run(_bin("initdb"), "-D", f"{self.dir}/data", "-A", "trust", "-U", "postgres", "--no-sync")
        self._run(_bin("pg_ctl"), "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-t", "300", "-o",
                  f"-p {self.port} -h 127.0.0.1 -k {self.dir} -F -c jit=off {extra}", "start")
        return self

    def url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self, remove: bool = True) -> None:
        try:
            self._run(_bin("pg_ctl"), "-D", f"{self.dir}/data", "-m", "fast" if not remove else "immediate", "stop")
        finally:
            time.sleep(0.2)
            if remove:
                shutil.rmtree(self.dir, ignore_errors=True)
