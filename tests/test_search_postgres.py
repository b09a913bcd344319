"""Full-text search on PostgreSQL (the GIN-indexed to_tsvector path), in a real cluster."""

import os
import subprocess
import sys

import pytest

from .pg import PostgresCluster

SCRIPT = r"""
import os, uuid, django
os.environ["DJANGO_SETTINGS_MODULE"] = "bodycam.settings"
django.setup()
from datetime import datetime, timezone
from bodycam.ops import initialise
initialise(verbose=False)
from bodycam.evidence.models import Clip, Device, Officer, Recording
from bodycam.access.models import User
from bodycam.search.services import index_text, parse_query, search
o = Officer.objects.create(axis_user_id=uuid.uuid4(), name="Officer Ortiz")
d = Device.objects.create(serial="PG-1")
now = datetime.now(timezone.utc)
recs = [Recording.objects.create(container_name=f"c{i}", officer=o, device=d, trigger_on_time=now) for i in range(2)]
for r in recs:
    Clip.objects.create(recording=r, object_name="a.mp4", sha256="0" * 64, md5="0" * 32, size=1, container_type="mp4",
                        duration_s=1)
index_text(recs[0].id, "transcript", "he drove northbound on Main Street")
index_text(recs[1].id, "notes", "Suspect fled; O'Brien's car")
cust = User.objects.create(username="cust", role="custodian")
def hits(q):
    return sorted(c.recording.container_name for c in search(cust, parse_query(q)).results)
assert hits({"q": "northb"}) == ["c0"], hits({"q": "northb"})
assert hits({"q": "main northbound"}) == ["c0"]
assert hits({"q": "o'brien's & | !"}) == ["c1"]   # tsquery syntax in user text is harmless
assert hits({"q": "pg"}) == ["c0", "c1"]          # metadata document (device serial)
assert hits({"transcript": "yes"}) == ["c0"]
from django.db import connection
with connection.cursor() as cur:
    cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'search_entry_fts'")
    assert "gin" in cur.fetchone()[0].lower()
    cur.execute("SELECT count(*) FROM search_searchentry WHERE tsv @@ to_tsquery('simple', 'northbound')")
    assert cur.fetchone()[0] == 1  # the stored tsvector follows the joined text
print("ok")
"""


@pytest.mark.slow
def test_full_text_search_on_postgresql(tmp_path):
    pg = PostgresCluster().start()
    try:
        env = {**os.environ, "BODYCAM_DATABASE_URL": pg.create_database("search1"),
               "BODYCAM_DATA_DIR": str(tmp_path)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        res = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0 and res.stdout.strip().endswith("ok"), res.stdout + res.stderr[-3000:]
    finally:
        pg.stop()
