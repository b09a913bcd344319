"""Real S3 servers started by the tests on 127.0.0.1: nanio (S3 wire protocol with SigV4
checks, objects as files) and moto's server (emulates Object Lock, legal holds, versions)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from .live import free_port

ACCESS_KEY = "bodycamtest"
SECRET_KEY = "bodycam-test-secret-0123456789"


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


class S3Server:
    kind = ""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix=f"bodycam-{self.kind}-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> "S3Server":
        env = {**os.environ, "NANIO_ACCESS_KEY": ACCESS_KEY, "NANIO_SECRET_KEY": SECRET_KEY}
        self.proc = subprocess.Popen(self.command(), env=env, stdout=open(f"{self.dir}/log", "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: {open(f'{self.dir}/log').read()[-2000:]}")
            try:
                requests.get(self.url, timeout=1)
                return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"{self.kind} did not start")

    def client(self, secret: str = SECRET_KEY):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=secret, region_name="us-east-1")

    def env(self, bucket: str, prefix: str = "vault") -> dict:
        """What a bodycam process needs to use this server as its blob store."""
        return {"BODYCAM_STORAGE_URL": f"s3://{bucket}/{prefix}", "BODYCAM_S3_ENDPOINT_URL": self.url,
                "BODYCAM_S3_ACCESS_KEY_ID": ACCESS_KEY, "BODYCAM_S3_SECRET_ACCESS_KEY": SECRET_KEY}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Nanio(S3Server):
    kind = "nanio"

    def command(self):
        return [_bin("nanio"), "serve", "--data-dir", f"{self.dir}/data", "--host", "127.0.0.1",
                "--port", str(self.port), "--no-access-log", "--log-level", "warning"]


class Moto(S3Server):
    kind = "moto"

    def command(self):
        return [_bin("moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]
