"""`bodycam backup` / `bodycam restore` on real installations: a server takes uploads, a
backup is made while it runs, a fresh installation restores it (same blob store, by
reference) and every blob hash is verified; damage anywhere is reported, never hidden."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile

import pytest

from bodycam.media.synth import make_clip

from . import axis
from .live import LiveServer

pytestmark = pytest.mark.catalogue  # also runs in the PostgreSQL pass (restore onto the same engine)


def _upload(live, tmp_path, n=2):
    conn = live.swift()
    user_id, serial = axis.register(conn)
    t0 = axis.now()
    name, meta = axis.recording(user_id, serial, t0)
    conn.put_container(name, headers=meta)
    shas = []
    for i in range(n):
        data = open(make_clip(str(tmp_path / f"c{i}.mp4"), seconds=1 + i), "rb").read()
        conn.put_object(name, axis.clip_name(t0, i + 1), data, headers=axis.clip_headers(t0, 1 + i))
        shas.append(hashlib.sha256(data).hexdigest())
    conn.post_container(name, headers={"X-Container-Meta-Status": "Complete"})
    return shas


def test_backup_restore_verifies_every_hash(live_server_factory, tmp_path, tmp_path_factory):
    src = live_server_factory(BODYCAM_MEDIA_AUTO_PLAYBACK="0")
    shas = _upload(src, tmp_path)
    archive = tmp_path / "backup.tar.gz"
    res = src.cli("backup", str(archive))
    assert "2 blobs by reference" in res.stdout
    assert oct(archive.stat().st_mode & 0o777) == "0o600"  # it holds the server's keys
    assert src.cli("backup", str(archive), check=False).returncode == 2  # never overwrites
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    assert {"MANIFEST.json", "audit.jsonl", "blobs.tsv", "keys/server_ed25519.pem"} <= names
    assert manifest["blobs"] == 2 and manifest["engine"] in ("sqlite", "postgresql")

    # A fresh installation on another machine, same blob store (blobs by reference).
    objects = f"file://{src.data_dir / 'objects'}"
    dst = LiveServer(tmp_path_factory.mktemp("restored"), {"BODYCAM_STORAGE_URL": objects})
    report = json.loads(dst.cli("restore", str(archive), "--json").stdout)
    assert report["ok"] and report["blobs_verified"] == 2 == report["blobs_expected"] and report["audit_entries"] > 5
    assert sorted(r["sha256"] for r in dst.cli_json("evidence", "list")) == sorted(shas)
    assert dst.cli("audit", "verify").returncode == 0
    assert dst.cli("fsck").returncode == 0
    assert (dst.data_dir / "keys" / "server_ed25519.pem").read_bytes() == \
        (src.data_dir / "keys" / "server_ed25519.pem").read_bytes()
    dst.start()  # and it serves what it restored
    try:
        import requests

        assert requests.get(dst.url + "/readyz", timeout=10).status_code == 200
        # Restoring over a catalogue that has data is refused.
        again = dst.cli("restore", str(archive), check=False)
        assert again.returncode == 2 and "not empty" in again.stderr
    finally:
        dst.stop()


def test_restore_reports_a_damaged_blob_and_refuses_a_damaged_archive(live_server_factory, tmp_path,
                                                                       tmp_path_factory):
    src = live_server_factory(BODYCAM_MEDIA_AUTO_PLAYBACK="0")
    shas = _upload(src, tmp_path, n=1)
    archive = tmp_path / "backup.tar.gz"
    src.cli("backup", str(archive))
    blob = src.data_dir / "objects" / "sha256" / shas[0][:2] / shas[0][2:4] / shas[0]
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 1
    blob.write_bytes(bytes(data))
    dst = LiveServer(tmp_path_factory.mktemp("restored"), {"BODYCAM_STORAGE_URL": f"file://{src.data_dir / 'objects'}"})
    res = dst.cli("restore", str(archive), "--json", check=False)
    assert res.returncode == 1
    report = json.loads(res.stdout)
    assert not report["ok"] and report["blobs_verified"] == 0
    assert any(shas[0] in p and "does not hash" in p for p in report["problems"])

    # An archive whose member changed after it was written is refused before anything changes.
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(archive) as tin, tarfile.open(bad, "w:gz") as tout:
        for m in tin.getmembers():
            f = tin.extractfile(m)
            body = f.read() if f else b""
            if m.name == "audit.jsonl":
                body = body.replace(b'"ok"', b'"xx"', 1)
            m.size = len(body)
            import io

            tout.addfile(m, io.BytesIO(body))
    other = LiveServer(tmp_path_factory.mktemp("other"), {"BODYCAM_STORAGE_URL": f"file://{src.data_dir / 'objects'}"})
    res = other.cli("restore", str(bad), check=False)
    assert res.returncode == 2 and "audit.jsonl" in res.stderr
    res = other.cli("restore", str(tmp_path / "no-such.tar.gz"), check=False)
    assert res.returncode == 2
