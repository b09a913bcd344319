"""Issue 21, item 9: ``bodycam backup`` taken while a node takes uploads, on S3 (nanio) and
(in the PostgreSQL pass) PostgreSQL, passes its own restore check.

The interleaving is forced, not hoped for: the backup process itself uploads through the
live server's Swift API (each upload answered 201, so committed) between every phase of
the backup: after the snapshot is taken and before the database copy, after the database
copy, around the audit chain export, and just before the blob list. A backup whose blob
list came from a later read than its database copy listed more blobs than its catalogue
named ("catalogue names 90 blobs, backup listed 92")."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import textwrap
import uuid

import pytest

from . import axis
from .live import LiveServer
from .objstores import Nanio

pytestmark = pytest.mark.catalogue  # also runs in the PostgreSQL pass

BACKUP_WITH_UPLOADS_BETWEEN_PHASES = textwrap.dedent("""
    import sys
    import django
    import requests
    django.setup()
    import bodycam.custody.chain as chain
    import bodycam.ops.backup as b

    out, url, token, container = sys.argv[1:5]
    done = []

    def upload(phase):
        for i in range(2):
            obj = f"bookmark_{phase}_{i}"
            r = requests.put(f"{url}/{container}/{obj}", data=f"{phase} {i}".encode(),
                             headers={"X-Auth-Token": token}, timeout=120)
            if r.status_code != 201:
                sys.exit(f"upload {obj} during the backup: {r.status_code} {r.text}")
            done.append(obj)

    def around(module, name, before=None, after=None):
        real = getattr(module, name)

        def wrapped(*args, **kwargs):
            if before:
                upload(before)
            result = real(*args, **kwargs)
            if after:
                upload(after)
            return result
        setattr(module, name, wrapped)

    around(b, "_dump_database", before="before_dump", after="after_dump")
    around(chain, "export_chain", before="before_export", after="after_export")
    around(b, "catalogue_hashes", before="before_blobs")
    from bodycam.cli import main
    rc = main(["backup", out])
    print(f"{len(done)} uploads during the backup", file=sys.stderr)
    sys.exit(rc)
""")


def test_backup_while_uploading_on_s3_passes_its_restore_check(live_server_factory, tmp_path, tmp_path_factory):
    s3 = Nanio().start()
    try:
        bucket = f"b{uuid.uuid4().hex[:12]}"
        s3.client().create_bucket(Bucket=bucket)
        live = live_server_factory(**s3.env(bucket), BODYCAM_MEDIA_AUTO_PLAYBACK="0")
        conn = live.swift()
        user_id, serial = axis.register(conn)
        name, meta = axis.recording(user_id, serial, axis.now())
        conn.put_container(name, headers=meta)
        for i in range(3):
            conn.put_object(name, f"bookmark_early_{i}", f"before the backup {i}".encode())
        url, token = conn.get_auth()
        archive = tmp_path / "backup.tar.gz"
        res = subprocess.run([sys.executable, "-c", BACKUP_WITH_UPLOADS_BETWEEN_PHASES, str(archive), url, token, name],
                             env={**live.env, "DJANGO_SETTINGS_MODULE": "bodycam.settings"},
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr[-3000:]
        assert "10 uploads during the backup" in res.stderr
        with tarfile.open(archive) as tar:
            manifest = json.load(tar.extractfile("MANIFEST.json"))
            listed = tar.extractfile("blobs.tsv").read().decode().splitlines()[1:]
        # The backup is the catalogue as it was when its snapshot began: the three early
        # bookmarks, none of the ten uploaded while it ran (all committed by then).
        assert manifest["blobs"] == len(listed) == 3
        assert live.sql("SELECT COUNT(*) FROM evidence_attachment")[0][0] == 13

        # A new machine on the same bucket: the restore's own check passes.
        dst = LiveServer(tmp_path_factory.mktemp("restored"), s3.env(bucket))
        report = json.loads(dst.cli("restore", str(archive), "--json", check=False).stdout)
        assert report["ok"], report["problems"]
        assert report["blobs_expected"] == report["blobs_verified"] == 3
    finally:
        s3.stop()
