"""The example deployments in deploy/ stay in step with the code: the YAML parses, every
BODYCAM_* variable they set is one the settings read, every command they run is a real
`bodycam` sub-command, probes point at real endpoints, and nginx accepts its config."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KNOWN_ENV = set(re.findall(r'"(BODYCAM_[A-Z0-9_]+)"', (ROOT / "src/bodycam/settings.py").read_text())) | {
    "BODYCAM_WORKER_CONCURRENCY"}  # read by bodycam.server


def _bodycam_commands(cmd: list[str]) -> None:
    """argparse accepts it (exit 0 on --help means the sub-command and options exist)."""
    from bodycam.cli import build_parser

    assert cmd[0] == "bodycam" or cmd[0].endswith("/bodycam"), cmd
    build_parser().parse_args(cmd[1:])


def _env_names(text: str) -> set[str]:
    return set(re.findall(r"\b(BODYCAM_[A-Z0-9_]+)\b", text))


def test_every_bodycam_variable_in_deploy_files_is_a_real_setting():
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            unknown = _env_names(path.read_text()) - KNOWN_ENV
            assert not unknown, f"{path.relative_to(ROOT)} sets unknown settings {unknown}"


def test_compose_file():
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = doc["services"]
    assert {"postgres", "redis", "minio", "init", "web", "worker", "scheduler", "nginx"} <= set(services)
    for name in ("init", "web", "worker", "scheduler"):
        _bodycam_commands(services[name]["command"])
    assert services["web"]["environment"]["BODYCAM_STORAGE_URL"].startswith("s3://")
    assert services["web"]["environment"]["BODYCAM_BROKER_URL"].startswith("redis://")
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_kubernetes_manifest():
    docs = [d for d in yaml.safe_load_all((DEPLOY / "k8s/bodycam.yaml").read_text()) if d]
    kinds = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert ("Deployment", "web") in kinds and ("Deployment", "worker") in kinds and ("Ingress", "bodycam") in kinds
    for d in docs:
        assert d["apiVersion"] and d["metadata"].get("namespace", "bodycam") == "bodycam"
        spec = d.get("spec", {}).get("template", {}).get("spec", {})
        for c in spec.get("containers", []):
            _bodycam_commands(c["command"])
            for probe in ("readinessProbe", "livenessProbe"):
                if probe in c:
                    assert c[probe]["httpGet"]["path"] in ("/readyz", "/healthz")
    sched = next(d for d in docs if d["metadata"]["name"] == "scheduler")
    assert sched["spec"]["replicas"] == 1  # periodic jobs must not run twice


def test_systemd_units():
    for unit in (DEPLOY / "systemd").glob("*.service"):
        cp = configparser.ConfigParser(strict=False, interpolation=None)
        cp.read(unit)
        assert {"Unit", "Service", "Install"} <= set(cp.sections()), unit
        for key in ("ExecStart", "ExecStartPre"):
            if key in cp["Service"]:
                cmd = cp["Service"][key].split()
                _bodycam_commands(["bodycam", *cmd[1:]])


def test_urls_the_deployments_rely_on_exist(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)
    assert client.get("/metrics").status_code == 401


test_urls_the_deployments_rely_on_exist = pytest.mark.django_db(test_urls_the_deployments_rely_on_exist)


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx not installed")
def test_nginx_accepts_the_config(tmp_path):
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evidence.example.org")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    tls = tmp_path / "tls"
    tls.mkdir()
    (tls / "evidence.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tls / "evidence.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    site = (DEPLOY / "nginx/bodycam.conf").read_text().replace("/etc/nginx/tls", str(tls))
    site = site.replace("listen 443", "listen 127.0.0.1:18443").replace("listen 80", "listen 127.0.0.1:18080")
    (tmp_path / "site.conf").write_text(site)
    shutil.copy(DEPLOY / "nginx/upstream-embedded.conf", tmp_path / "upstream.conf")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path};\n"
        f"  include {tmp_path}/upstream.conf; include {tmp_path}/site.conf; }}\n")
    res = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
