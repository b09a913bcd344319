"""The retention sweep, holds, clock safety and CAD linking on a real PostgreSQL 15 cluster
(row locks and the partial unique index behave there as designed), through the CLI."""

import os
import subprocess
import sys

import pytest

from .pg import PostgresCluster

SCRIPT = r"""
import io, json, os, uuid, django
os.environ["DJANGO_SETTINGS_MODULE"] = "bodycam.settings"
django.setup()
from datetime import datetime, timedelta, timezone
from bodycam.ops import initialise
initialise(verbose=False)
from django.db import connection
assert connection.vendor == "postgresql"
from bodycam.cli import main
from bodycam.evidence.models import Category, Clip, Device, Officer, Recording
from bodycam.retention.models import DeletionEntry, Tombstone
from bodycam.custody.models import AuditEntry
from bodycam.storage import get_store
store = get_store()
def blob(data):
    inc = store.receive(io.BytesIO(data), len(data)); store.commit(inc); return inc.sha256, inc.size
o = Officer.objects.create(axis_user_id=uuid.uuid4(), name="Ortiz", user_key="7")
d = Device.objects.create(serial="PG-1")
t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
recs = []
for i, cats in enumerate([[], ["Homicide"], []]):
    r = Recording.objects.create(container_name=f"c{i}", officer=o, device=d, trigger_on_time=t0 + timedelta(hours=i),
                                 trigger_off_time=t0 + timedelta(hours=i, minutes=10))
    sha, size = blob(f"clip {i}".encode())
    Clip.objects.create(recording=r, object_name="a.mp4", sha256=sha, md5="0" * 32, size=size, container_type="mp4",
                        duration_s=600)
    r.categories.add(*Category.objects.filter(name__in=cats))
    recs.append(r)
assert main(["retention", "hold", "place", "H", "--reason", "suit", "--recording", "c2"]) == 0
assert main(["retention", "sweep", "--now", "2027-01-02T00:00:00Z"]) == 0
assert list(DeletionEntry.objects.values_list("recording__container_name", flat=True)) == ["c0"]
# A second pending entry for the same recording is refused by the partial unique index.
from django.db import IntegrityError, transaction
e = DeletionEntry.objects.get()
try:
    with transaction.atomic():
        DeletionEntry.objects.create(recording=e.recording, expired_at=e.expired_at, queued_at=e.queued_at,
                                     purge_after=e.purge_after)
    raise SystemExit("duplicate pending entry accepted")
except IntegrityError:
    pass
assert main(["retention", "sweep", "--now", "2027-01-01T00:00:00Z"]) == 2   # clock went backward
assert main(["retention", "sweep", "--now", "2027-02-15T00:00:00Z"]) == 0
t = Tombstone.objects.get()
assert t.container_name == "c0" and not store.exists(t.objects_json[0]["sha256"])
assert all(store.exists(c.sha256) for c in Clip.objects.exclude(recording__container_name="c0"))
assert AuditEntry.objects.filter(action="retention.purge", object_sha256=t.objects_json[0]["sha256"]).count() == 1
open("cad.json", "w").write(json.dumps([{"incident_number": "1", "call_type": "911", "badges": ["7"],
    "received_at": "2026-01-01T01:55:00Z", "cleared_at": "2026-01-01T02:30:00Z"},
    {"incident_number": "2", "call_type": "911", "badges": ["7"], "received_at": "2026-01-01T05:00:00Z"}]))
pol = "compliance: {required_call_types: ['911']}\n"
open("p.yaml", "w").write(pol)
assert main(["retention", "policy", "load", "p.yaml"]) == 0
assert main(["cad", "import", "cad.json"]) == 0
from bodycam.retention.reports import compliance
rep = compliance(t0 - timedelta(days=1), t0 + timedelta(days=1))
assert rep["missed_incidents"] == ["2"], rep["missed_incidents"]
print("ok")
"""


@pytest.mark.slow
def test_retention_on_postgresql(tmp_path):
    pg = PostgresCluster().start()
    try:
        env = {**os.environ, "BODYCAM_DATABASE_URL": pg.create_database("retention1"),
               "BODYCAM_DATA_DIR": str(tmp_path), "BODYCAM_MIN_FREE_BYTES": "0"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        res = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=180,
                             cwd=tmp_path)
        assert res.returncode == 0 and res.stdout.strip().endswith("ok"), res.stdout + res.stderr[-3000:]
    finally:
        pg.stop()
