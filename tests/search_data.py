"""A search catalogue in bulk, for bench/search.py (1M-10M clips) and the search-plan tests
(tens of thousands): one recording, one clip and one search entry per row, 200 officers and
cameras, every 5th recording in the category "Traffic", notes on every 10th, a rare plate
number in every entry. Written with executemany (SQLite) or COPY with the secondary indexes
built after the load (PostgreSQL), as a restore would."""

from __future__ import annotations

import json
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

WORDS = ("traffic stop domestic disturbance welfare check pursuit arrest warrant theft burglary assault "
         "collision parking noise alarm shoplifting trespass vandalism suspicious vehicle person fled "
         "northbound southbound eastbound westbound main street avenue park school bridge highway").split()
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
SPAN, SPREAD = 2 * 365 * 86400, 7_919_113
OFFICERS = 200


def uid(tag: int, k: int) -> str:
    return f"{tag:08x}-0000-4000-8000-{k:012x}"


class Table:
    """Columns of a model's table with each column's default as the database stores it;
    rows give only the columns that vary."""

    def __init__(self, model, connection):
        from django.db import models

        self.model, self.sqlite = model, connection.vendor == "sqlite"
        self.columns, self.defaults = [], []
        now = datetime.now(timezone.utc)
        for f in model._meta.concrete_fields:
            if f.column == "tsv":
                continue
            value = f.get_default() if f.has_default() else None
            if value is None and not f.null:
                value = now if isinstance(f, models.DateTimeField) else f.get_default()
            self.columns.append(f.column)
            self.defaults.append(self.db(value))
        self.pos = {c: i for i, c in enumerate(self.columns)}

    def db(self, v):
        if v is None:
            return None
        if isinstance(v, bool):
            return (1 if v else 0) if self.sqlite else ("t" if v else "f")
        if isinstance(v, datetime):
            v = v.astimezone(timezone.utc)
            return v.strftime("%Y-%m-%d %H:%M:%S") if self.sqlite else v.isoformat()
        if isinstance(v, uuid.UUID):
            return v.hex if self.sqlite else str(v)
        if isinstance(v, (dict, list)):
            return json.dumps(v)
        if self.sqlite and isinstance(v, str) and len(v) == 36 and v[8] == "-" and v[23] == "-":
            return v.replace("-", "")  # Django keeps UUIDs as 32 hex digits on SQLite
        return v

    def row(self, **vary):
        out = list(self.defaults)
        for k, v in vary.items():
            out[self.pos[k]] = self.db(v)
        return out


def _copy_text(rows) -> str:
    def cell(v):
        if v is None:
            return r"\N"
        return str(v).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
    return "".join("\t".join(cell(v) for v in r) + "\n" for r in rows)


def load(table: Table, rows) -> None:
    """Write rows (lists in table.columns order) in one bulk statement per batch."""
    from django.db import connection

    rows = list(rows)
    if not rows:
        return
    name = table.model._meta.db_table
    with connection.cursor() as cur:
        if table.sqlite:
            sql = f"INSERT INTO {name} ({','.join(table.columns)}) VALUES ({','.join('?' * len(table.columns))})"
            cur.connection.executemany(sql, rows)
        else:
            with cur.cursor.copy(f"COPY {name} ({','.join(table.columns)}) FROM STDIN") as cp:
                cp.write(_copy_text(rows))


def build(rows: int) -> dict:
    from django.db import connection, transaction

    from bodycam.access.models import Note, User
    from bodycam.evidence.models import Category, Clip, Device, Officer, Recording
    from bodycam.search.models import SearchEntry

    rnd = random.Random(7)
    officers, devices = [], []
    for i in range(OFFICERS):
        u = User.objects.create(username=f"off{i}", role="officer")
        officers.append(Officer.objects.create(name=f"Officer {i}", user_key=str(1000 + i), account=u,
                                               axis_user_id=uid(9, i)))
        devices.append(Device.objects.create(serial=f"BWC-{i:04d}"))
    cust = User.objects.create(username="cust", role="custodian")
    traffic, _ = Category.objects.get_or_create(name="Traffic", defaults={"axis_id": "bench-traffic"})
    tables = {m: Table(m, connection) for m in (Recording, Clip, SearchEntry, Note, Recording.categories.through)}
    pg = connection.vendor == "postgresql"
    index_sql = _drop_secondary_indexes(tables) if pg else []
    if pg:
        _generate_pg(rows, tables, officers, devices, cust, traffic)
    plates, batch = [], 50_000
    for start in range(0, rows if not pg else 0, batch):
        n = min(batch, rows - start)
        recs, clips, entries, notes, cats = [], [], [], [], []
        for k in range(start, start + n):
            o = k % OFFICERS
            when = T0 + timedelta(seconds=k * SPREAD % SPAN)  # over two years at any size
            rid, cid = uid(1, k), uid(2, k)
            recs.append(tables[Recording].row(id=rid, container_name=f"r{k}", officer_id=officers[o].id,
                                              device_id=devices[o].id, trigger_on="Button", trigger_on_time=when,
                                              start_time=when, stop_time=when + timedelta(minutes=5),
                                              status="complete"))
            clips.append(tables[Clip].row(id=cid, recording_id=rid, object_name="a.mp4", sha256=f"{k:064x}",
                                          md5="0" * 32, size=1, container_type="mp4", start_time=when,
                                          duration_s=float(60 + k % 1800)))
            plate = f"P{rnd.randrange(36 ** 5):05X}"
            if k % 997 == 0:
                plates.append(plate)
            text = f"r{k} Officer {o} {1000 + o} BWC-{o:04d} {' '.join(rnd.choices(WORDS, k=8))} Plate {plate}"
            if k % 10 == 0:
                note = " ".join(rnd.choices(WORDS, k=12))
                notes.append(tables[Note].row(id=uid(3, k), recording_id=rid, author_id=cust.id, text=note))
                text += "\n" + note
            if k % 5 == 0:
                cats.append(tables[Recording.categories.through].row(id=k + 1, recording_id=rid,
                                                                     category_id=traffic.id))
            entries.append(tables[SearchEntry].row(id=k + 1, clip_id=cid, recording_id=rid, officer_id=officers[o].id,
                                                   device_id=devices[o].id, sort_time=when, object_name="a.mp4",
                                                   duration_s=float(60 + k % 1800), officer_name=officers[o].name,
                                                   device_serial=devices[o].serial, text=text))
        with transaction.atomic():
            for model, part in ((Recording, recs), (Clip, clips), (Note, notes),
                                (Recording.categories.through, cats), (SearchEntry, entries)):
                load(tables[model], part)
        print(f"\r  loaded {start + n:,} rows", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    with connection.cursor() as cur:
        for sql in index_sql:
            t = time.perf_counter()
            cur.execute(sql)
            print(f"  {sql[:90]}... {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
        if pg:
            cur.execute("SELECT setval(pg_get_serial_sequence('search_searchentry', 'id'), %s)", [rows + 1])
        cur.execute("ANALYZE")
    return world()


def _generate_pg(rows, tables, officers, devices, cust, traffic) -> None:
    """PostgreSQL: the same catalogue made by the server from generate_series, a million rows
    per statement (COPY from Python runs at ~60k rows/min on two busy cores: 10M took hours).
    The words are picked by hashing the row number, the plate is 7 hex digits of its MD5."""
    from django.db import connection, transaction

    from bodycam.access.models import Note
    from bodycam.evidence.models import Clip, Recording
    from bodycam.search.models import SearchEntry

    k = "(g - 1)"
    when = f"(timestamptz '{T0.isoformat()}' + ({k}::bigint * {SPREAD} % {SPAN}) * interval '1 second')"

    def words(n, seed):
        return " || ' ' || ".join(f"w[1 + (hashint8({k} * 64 + {seed + j}) & 2147483647) % {len(WORDS)}]"
                                  for j in range(n))

    def uuid_of(tag):
        return f"(lpad(to_hex({tag}), 8, '0') || '-0000-4000-8000-' || lpad(to_hex({k}), 12, '0'))::uuid"

    note = words(12, 16)
    meta = (f"'r' || {k} || ' Officer ' || p.o || ' ' || (1000 + p.o) || ' ' || p.device_serial || ' ' || "
            f"{words(8, 0)} || ' Plate P' || upper(substr(md5({k}::text), 1, 7))")
    vary = {
        Recording: {"id": uuid_of(1), "container_name": f"'r' || {k}", "officer_id": "p.officer_id",
                    "device_id": "p.device_id", "trigger_on": "'Button'", "trigger_on_time": when,
                    "start_time": when, "stop_time": f"{when} + interval '5 minutes'", "status": "'complete'"},
        Clip: {"id": uuid_of(2), "recording_id": uuid_of(1), "object_name": "'a.mp4'",
               "sha256": f"lpad(to_hex({k}), 64, '0')", "md5": "repeat('0', 32)", "size": "1",
               "container_type": "'mp4'", "start_time": when, "duration_s": f"(60 + {k} % 1800)::float8"},
        Note: {"id": uuid_of(3), "recording_id": uuid_of(1), "author_id": f"'{cust.id}'::uuid", "text": note},
        Recording.categories.through: {"id": "g", "recording_id": uuid_of(1), "category_id": f"'{traffic.id}'::uuid"},
        SearchEntry: {"id": "g", "clip_id": uuid_of(2), "recording_id": uuid_of(1), "officer_id": "p.officer_id",
                      "device_id": "p.device_id", "sort_time": when, "object_name": "'a.mp4'",
                      "duration_s": f"(60 + {k} % 1800)::float8", "officer_name": "p.officer_name",
                      "device_serial": "p.device_serial",
                      "text": f"{meta} || CASE WHEN {k} % 10 = 0 THEN E'\\n' || {note} ELSE '' END"},
    }
    where = {Note: f"WHERE {k} % 10 = 0", Recording.categories.through: f"WHERE {k} % 5 = 0"}
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_people (o int PRIMARY KEY, officer_id uuid, device_id uuid, "
                    "officer_name text, device_serial text)")
        cur.executemany("INSERT INTO bench_people VALUES (%s, %s, %s, %s, %s)",
                        [(i, o.id, d.id, o.name, d.serial) for i, (o, d) in enumerate(zip(officers, devices))])
        for start in range(0, rows, 1_000_000):
            stop = min(rows, start + 1_000_000)
            with transaction.atomic():
                for model, exprs in vary.items():
                    t = tables[model]
                    fields = {f.column: f for f in model._meta.concrete_fields}
                    cols, sel, params = [], [], []
                    for col, default in zip(t.columns, t.defaults):
                        cols.append(col)
                        if col in exprs:
                            sel.append(exprs[col])
                        else:
                            sel.append(f"%s::{fields[col].db_type(connection)}")
                            params.append(default)
                    sql = (f"INSERT INTO {model._meta.db_table} ({', '.join(cols)}) SELECT {', '.join(sel)} "
                           f"FROM generate_series(%s, %s) AS g JOIN bench_people p ON p.o = {k} % {OFFICERS}, "
                           f"(SELECT %s::text[] AS w) AS ww {where.get(model, '')}")
                    cur.execute(sql.replace(" % ", " %% "), [*params, start + 1, stop, list(WORDS)])
            print(f"\r  generated {stop:,} rows", end="", file=sys.stderr, flush=True)
        cur.execute("DROP TABLE bench_people")


def _drop_secondary_indexes(tables) -> list[str]:
    """PostgreSQL: drop the secondary indexes of the bulk-loaded tables (rebuilt after the
    load, as a restore would) and return the statements that make them again."""
    from django.db import connection

    names = [t.model._meta.db_table for t in tables.values()]
    with connection.cursor() as cur:
        cur.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) AND NOT EXISTS "
                    "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)", [names])
        found = cur.fetchall()
        for name, _ in found:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute("SET session_replication_role = replica")  # no per-row FK checks during the load
    return [d for _, d in found] + ["SET session_replication_role = DEFAULT"]


def world() -> dict:
    from bodycam.access.models import User
    from bodycam.evidence.models import Officer
    from bodycam.search.models import SearchEntry

    plates = [t.split("Plate ")[1].split()[0] for t in
              SearchEntry.objects.filter(id__in=[k + 1 for k in range(0, 50_000, 997)]).values_list("text", flat=True)]
    officer = Officer.objects.get(name="Officer 17")
    return {"custodian": User.objects.get(username="cust"), "officer": officer.account, "officer_id": officer.id,
            "plates": plates}


