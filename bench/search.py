"""Search latency at catalogue scale (SQLite): p50/p95 of the search page's query (the one
access check + filters + full text + count + one sorted page) at 100k and 1M clips.

    .venv/bin/python bench/search.py                 # 100k and 1M rows
    .venv/bin/python bench/search.py --rows 100000   # one size

Each size gets a fresh data directory (catalogue built with bulk inserts: one recording,
one clip and one metadata document per row, notes on every 10th). Baseline, measured in
the same process and database: the bare SQL each query needs at minimum (FTS5 MATCH for
text, an indexed ORDER BY ... LIMIT for listings); the ratio shows what the ORM, the access
check and the count cost on top.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

WORDS = ("traffic stop domestic disturbance welfare check pursuit arrest warrant theft burglary assault "
         "collision parking noise alarm shoplifting trespass vandalism suspicious vehicle person fled "
         "northbound southbound eastbound westbound main street avenue park school bridge highway").split()


def build(rows: int) -> dict:
    from django.db import connection, transaction

    from bodycam.access.models import Note, User
    from bodycam.evidence.models import Clip, Device, Officer, Recording
    from bodycam.search.models import SearchDocument

    rnd = random.Random(7)
    officers, devices = [], []
    for i in range(200):
        u = User.objects.create(username=f"off{i}", role="officer")
        officers.append(Officer.objects.create(axis_user_id=uuid.uuid4(), name=f"Officer {i}", user_key=str(1000 + i),
                                               account=u))
        devices.append(Device.objects.create(serial=f"BWC-{i:04d}"))
    cust = User.objects.create(username="cust", role="custodian")
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    batch = 20_000
    plates = []
    for start in range(0, rows, batch):
        n = min(batch, rows - start)
        recs, clips, docs, notes = [], [], [], []
        for j in range(n):
            k = start + j
            o = k % 200
            when = t0 + timedelta(seconds=k * 97 % (2 * 365 * 86400))
            rec = Recording(id=uuid.uuid4(), container_name=f"r{k}", officer=officers[o], device=devices[o],
                            trigger_on="Button", trigger_on_time=when, start_time=when,
                            stop_time=when + timedelta(minutes=5), status="complete")
            recs.append(rec)
            clips.append(Clip(id=uuid.uuid4(), recording=rec, object_name="a.mp4", sha256=f"{k:064x}",
                              md5="0" * 32, size=1, container_type="mp4", start_time=when, duration_s=300.0))
            plate = f"P{rnd.randrange(36 ** 5):05X}"
            if k % 997 == 0:
                plates.append(plate)
            text = " ".join(rnd.choice(WORDS) for _ in range(8))
            docs.append(SearchDocument(recording=rec, source="metadata",
                                       text=f"r{k} Officer {o} {1000 + o} BWC-{o:04d} {text} Plate {plate}"))
            if k % 10 == 0:
                notes.append(Note(recording=rec, author=cust, text=" ".join(rnd.choice(WORDS) for _ in range(12))))
        with transaction.atomic():
            Recording.objects.bulk_create(recs, batch_size=2000)
            Clip.objects.bulk_create(clips, batch_size=2000)
            SearchDocument.objects.bulk_create(docs, batch_size=2000)
            Note.objects.bulk_create(notes, batch_size=2000)
        print(f"\r  built {start + n:,} rows", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return {"custodian": cust, "officer": officers[17].account, "plates": plates}


def timed(fn, runs: int) -> list[float]:
    fn()  # warm the page cache
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def measure(rows: int, runs: int, world: dict | None = None) -> None:
    from django.db import connection

    from bodycam.search.services import parse_query, search

    if world is None:
        t = time.perf_counter()
        world = build(rows)
        print(f"{rows:,} clips built in {time.perf_counter() - t:.0f} s")
    cust, officer, plates = world["custodian"], world["officer"], world["plates"]
    plate = plates[len(plates) // 2]

    def raw(sql, params=()):
        def run():
            with connection.cursor() as cur:
                cur.execute(sql, params)
                cur.fetchall()
        return run

    cases = [
        ("list newest, page 1 (custodian)", cust, {}, raw(
            "SELECT id FROM evidence_clip ORDER BY start_time DESC LIMIT 25")),
        ("list newest, page 40 (custodian)", cust, {"page": "40"}, raw(
            "SELECT id FROM evidence_clip ORDER BY start_time DESC LIMIT 25 OFFSET 975")),
        ("own footage (officer)", officer, {}, raw(
            "SELECT id FROM evidence_clip ORDER BY start_time DESC LIMIT 25")),
        ("text: rare plate", cust, {"q": plate}, raw(
            "SELECT rowid FROM search_fts WHERE search_fts MATCH ?", (f'"{plate.lower()}"*',))),
        ("text: two common words", cust, {"q": "pursuit northbound"}, raw(
            "SELECT rowid FROM search_fts WHERE search_fts MATCH ? LIMIT 25", ('"pursuit"* AND "northbound"*',))),
        ("device + date range", cust, {"device": "BWC-0042", "from": "2024-03-01", "to": "2024-06-30"}, raw(
            "SELECT id FROM evidence_clip WHERE start_time BETWEEN '2024-03-01' AND '2024-06-30' "
            "ORDER BY start_time DESC LIMIT 25")),
    ]
    print(f"{'query':38} {'p50 ms':>8} {'p95 ms':>8} {'results':>9} {'base p50':>9} {'ratio':>6}")
    for name, user, params, baseline in cases:
        qy = parse_query(params)
        page = search(user, qy)
        lat = timed(lambda: search(user, qy), runs)
        base = timed(baseline, runs)
        total = f"{page.total:,}{'+' if page.capped else ''}"
        print(f"{name:38} {pct(lat, 50):8.1f} {pct(lat, 95):8.1f} {total:>9} {statistics.median(base):9.2f} "
              f"{pct(lat, 50) / max(statistics.median(base), 1e-3):6.1f}")
        assert page.results or name.startswith("text"), name


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, action="append", help="catalogue size (repeatable); default 100k and 1M")
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    sizes = args.rows or [100_000, 1_000_000]
    for rows in sizes:
        data = tempfile.mkdtemp(prefix="bodycam-bench-search-")
        code = f"import search as bench; bench.child({rows}, {args.runs})"  # this file, in a fresh process
        env = {**os.environ, "BODYCAM_DATA_DIR": data, "BODYCAM_MEDIA_AUTO_PLAYBACK": "0",
               "PYTHONPATH": os.path.dirname(os.path.abspath(__file__)) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        import subprocess

        try:
            rc = subprocess.call([sys.executable, "-c", code], env=env)
        finally:
            shutil.rmtree(data, ignore_errors=True)
        if rc:
            return rc
    return 0


def child(rows: int, runs: int) -> None:
    """One size in a fresh process (settings read the data dir at import)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "bodycam.settings"
    import django

    django.setup()
    from bodycam.ops import initialise

    initialise(verbose=False)
    print(f"\n== SQLite, {rows:,} clips ==")
    measure(rows, runs)


if __name__ == "__main__":
    sys.exit(main())
