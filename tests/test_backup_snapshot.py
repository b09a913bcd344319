"""Issue 20, item 15: a backup taken while the server writes holds the same audit entries in
its database copy and in ``audit.jsonl`` (and the same blobs in ``blobs.tsv``): all are read
from one snapshot. The interleaving that broke it is forced, not hoped for: a client keeps
using the API (one audit entry per request) while ``bodycam backup`` runs, and the backup
process waits, right after copying the database, until that client's entries have committed.
Restoring onto a new machine puts the backup's copy of the audit witness in place."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import textwrap
import threading

import pytest
import requests

from bodycam.ops.backup import _pg_tool

from .live import LiveServer

pytestmark = pytest.mark.catalogue  # also runs in the PostgreSQL pass

BACKUP_WHILE_WRITING = textwrap.dedent("""
    import sys, threading, time
    import django
    django.setup()
    from django.db import connection
    import bodycam.ops.backup as b
    from bodycam.custody.models import AuditEntry

    def committed():
        # another connection (another thread): what the server has committed by now
        out = []
        def count():
            try:
                out.append(AuditEntry.objects.count())
            finally:
                connection.close()
        t = threading.Thread(target=count)
        t.start()
        t.join()
        return out[0]

    copy_database = b._dump_database

    def copy_then_let_writes_land(*args, **kwargs):
        name = copy_database(*args, **kwargs)
        start = committed()
        deadline = time.monotonic() + 120
        while committed() < start + 3:  # the writer's entries land between the two reads
            if time.monotonic() > deadline:
                sys.exit("the writer committed nothing")
            time.sleep(0.05)
        print(f"{committed() - start} entries committed after the database copy", file=sys.stderr)
        return name

    b._dump_database = copy_then_let_writes_land
    from bodycam.cli import main
    sys.exit(main(["backup", sys.argv[1]]))
""")


def _archive_database_entries(archive, tmp_path) -> list[tuple[int, str]]:
    """(seq, entry_hash) of every audit entry in the archive's database copy."""
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "x", filter="data")
    if "database.sqlite3" in names:
        import sqlite3

        db = sqlite3.connect(tmp_path / "x" / "database.sqlite3")
        try:
            return db.execute("SELECT seq, entry_hash FROM custody_auditentry ORDER BY seq").fetchall()
        finally:
            db.close()
    out = subprocess.run([_pg_tool("pg_restore"), "--data-only", "-t", "custody_auditentry", "-f", "-",
                          str(tmp_path / "x" / "database.pgdump")], capture_output=True, text=True, check=True).stdout
    rows, cols = [], None
    for line in out.splitlines():
        if line.startswith("COPY ") and "custody_auditentry" in line:
            cols = [c.strip() for c in line[line.index("(") + 1:line.index(")")].split(",")]
        elif cols is not None:
            if line == "\\.":
                break
            values = dict(zip(cols, line.split("\t")))
            rows.append((int(values["seq"]), values["entry_hash"]))
    return sorted(rows)


def test_backup_during_writes_has_the_same_entries_in_database_and_audit_jsonl(live_server_factory, tmp_path,
                                                                                tmp_path_factory):
    live = live_server_factory(BODYCAM_MEDIA_AUTO_PLAYBACK="0")
    pw = tmp_path / "pw"
    pw.write_text("long-enough-passphrase-7")
    live.cli("user", "add", "cust", "--role", "custodian", "--password-file", str(pw))
    token = json.loads(live.cli("token", "create", "cust", "--name", "sync").stdout)["token"]
    stop, made = threading.Event(), []

    def writer():
        with requests.Session() as s:
            while not stop.is_set():
                r = s.get(live.url + "/api/evidence/", headers={"Authorization": f"Bearer {token}"}, timeout=30)
                made.append(r.status_code)

    t = threading.Thread(target=writer)
    t.start()
    archive = tmp_path / "backup.tar.gz"
    try:
        res = subprocess.run([sys.executable, "-c", BACKUP_WHILE_WRITING, str(archive)],
                             env={**live.env, "DJANGO_SETTINGS_MODULE": "bodycam.settings"},
                             capture_output=True, text=True, timeout=300)
    finally:
        stop.set()
        t.join()
    assert res.returncode == 0, res.stderr
    assert "entries committed after the database copy" in res.stderr and set(made) == {200}

    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        exported = [json.loads(x) for x in tar.extractfile("audit.jsonl").read().decode().splitlines()]
    jsonl = [(e["seq"], e["entry_hash"]) for e in exported if e["type"] == "entry"]
    in_database = _archive_database_entries(archive, tmp_path)
    assert jsonl == in_database and manifest["audit_entries"] == len(in_database)
    # the live catalogue went on: the backup is a true earlier state, not a mixture
    assert live.sql("SELECT count(*) FROM custody_auditentry")[0][0] > len(in_database)
    # every head in the witness copy is in the database copy
    with tarfile.open(archive) as tar:
        witness = tar.extractfile("audit-witness.jsonl").read().decode().splitlines()
    heads = {json.loads(x)["seq"] for x in witness if "entry_hash" in x}
    assert heads and max(heads) <= in_database[-1][0]

    # A new machine (no witness yet): restore puts the backup's copy in place and verifies against it.
    dst = LiveServer(tmp_path_factory.mktemp("restored"),
                     {"BODYCAM_STORAGE_URL": f"file://{live.data_dir / 'objects'}"})
    report = json.loads(dst.cli("restore", str(archive), "--json").stdout)
    assert report["ok"] and report["witness"].startswith("seeded")
    verify = json.loads(dst.cli("audit", "verify", "--json").stdout)
    assert verify["ok"] and verify["witnessed"] and verify["witness_heads"] >= len(heads)
