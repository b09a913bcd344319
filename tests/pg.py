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
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bodycam-pg-")
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *cmd):
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
            cmd = ("runuser", "-u", "postgres", "--", *cmd)
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> "PostgresCluster":
        self._run(_bin("initdb"), "-D", f"{self.dir}/data", "-A", "trust", "-U", "postgres", "--no-sync")
        self._run(_bin("pg_ctl"), "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
                  f"-p {self.port} -h 127.0.0.1 -k {self.dir} -F", "start")
        return self

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(_bin("pg_ctl"), "-D", f"{self.dir}/data", "-m", "immediate", "stop")
        finally:
            time.sleep(0.2)
            shutil.rmtree(self.dir, ignore_errors=True)
