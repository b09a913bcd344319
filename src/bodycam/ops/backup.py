"""``bodycam backup`` / ``bodycam restore``: the catalogue database, the keys and the audit
chain in one archive; blobs by reference (their SHA-256 and size), never copied: the blob
store is write-once and is protected by its own replication / Object Lock.

Archive (a tar, mode 0600 since it holds keys)::

  MANIFEST.json      format, engine, created, storage URL, sha256 of every member below
  database.sqlite3   SQLite: an online backup (sqlite3 backup API, consistent while serving)
  database.pgdump    PostgreSQL: pg_dump custom format (restore with pg_restore)
  keys/...           server signing key, Django secret
  audit.jsonl        the audit chain as exported by ``bodycam audit export`` (readable offline)
  audit-witness.jsonl  a copy of the audit witness file (when there is one), taken just before
                     the snapshot
  blobs.tsv          sha256, size, what names it: every blob the catalogue references

The database, audit.jsonl, blobs.tsv and the counts in MANIFEST.json are read from one
snapshot of the catalogue (``_one_snapshot``: a WAL read transaction on SQLite, an exported
REPEATABLE READ snapshot handed to ``pg_dump --snapshot`` on PostgreSQL), so writes made while
the backup runs are in all of them or in none.

Restore goes onto the same engine only (SQLite -> SQLite, PostgreSQL -> PostgreSQL) and only
into an empty catalogue; afterwards it re-verifies the audit chain and re-hashes every
referenced blob in the configured store, and fails (exit 1) on any missing or changed blob.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ..errors import BodycamError
from ..files import open_private, write_private
from ..provenance.hashing import sha256_file
from ..storage import catalogue_hashes

FORMAT = "bodycam-backup/1"
WITNESS_MEMBER = "audit-witness.jsonl"


class BackupError(BodycamError):
    status = 400


def _engine() -> str:
    from django.conf import settings

    return "postgresql" if "postgresql" in settings.DATABASES["default"]["ENGINE"] else "sqlite"


def _pg_env() -> tuple[list[str], dict]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    args = ["-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432), "-U", db.get("USER") or "postgres",
            "-d", db["NAME"]]
    return args, env


def _pg_tool(name: str) -> str:
    import glob

    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return found[0] if found else (shutil.which(name) or name)


@contextmanager
def _one_snapshot():
    """Hold one read snapshot of the catalogue on Django's connection: the database copy, the
    audit chain export, the blob list and the counts in MANIFEST.json are all read from it, so
    entries committed meanwhile are in none of them (never in audit.jsonl but not in the
    database). Only reads may run inside. Yields the PostgreSQL snapshot id (None on SQLite)."""
    from django.db import connection, transaction

    if _engine() == "sqlite":
        # WAL: a read transaction sees the database as it was at its first read, while
        # ingest keeps writing; the backup API copies pages through this same connection.
        connection.ensure_connection()
        raw = connection.connection
        raw.execute("BEGIN DEFERRED")
        try:
            raw.execute("SELECT max(seq) FROM custody_auditentry").fetchone()
            yield None
        finally:
            raw.execute("ROLLBACK")
        return
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
        yield snapshot


def _dump_database(dest: Path, snapshot: str | None = None) -> str:
    """The catalogue as of the snapshot held by ``_one_snapshot`` (which must be open)."""
    from django.db import connection

    if _engine() == "sqlite":
        import sqlite3

        out = dest / "database.sqlite3"
        dst = sqlite3.connect(out)
        with dst:
            connection.connection.backup(dst)
        dst.close()
        return out.name
    out = dest / "database.pgdump"
    args, env = _pg_env()
    res = subprocess.run([_pg_tool("pg_dump"), "-Fc", "--no-owner", f"--snapshot={snapshot}", "-f", str(out), *args],
                         env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise BackupError(f"pg_dump failed: {res.stderr.strip()[:500]}")
    return out.name


def _copy_witness(dest: Path) -> str | None:
    """A copy of the audit witness, taken *before* the snapshot: every line in it was written
    after its entry committed, so the database copy has every entry it names. Restore puts it
    in place when the new installation has no witness yet."""
    from ..custody.witness import configured

    path = configured()
    if path is None or not path.is_file():
        return None
    try:
        shutil.copyfile(path, dest / WITNESS_MEMBER)
    except OSError as exc:
        raise BackupError(f"cannot read the audit witness {path}: {exc}") from None
    return WITNESS_MEMBER


def backup(out_path: str | Path, actor: str = "cli") -> dict:
    from django.conf import settings

    from ..custody.chain import export_chain
    from ..custody.services import record

    out_path = Path(out_path)
    if out_path.exists():
        raise BackupError(f"{out_path} exists; refusing to overwrite a backup")
    record("ops.backup", actor=actor, detail={"out": str(out_path)})
    with tempfile.TemporaryDirectory(prefix="bodycam-backup-") as tmp:
        tmp = Path(tmp)
        witness = _copy_witness(tmp)
        with _one_snapshot() as snapshot:
            members = [_dump_database(tmp, snapshot)]
            with open(tmp / "audit.jsonl", "w", encoding="utf-8") as f:
                entries = export_chain(f)
            blobs = catalogue_hashes()
            sizes = _blob_sizes()
        members.append("audit.jsonl")
        if witness:
            members.append(witness)
        with open(tmp / "blobs.tsv", "w", encoding="utf-8") as f:
            f.write("sha256\tsize\tnamed_by\n")
            for sha, items in sorted(blobs.items()):
                f.write(f"{sha}\t{sizes.get(sha, '')}\t{items[0]['kind']}:{items[0]['container']}/{items[0]['object']}\n")
        members.append("blobs.tsv")
        keys = sorted(p for p in settings.KEYS_DIR.rglob("*") if p.is_file())
        manifest = {
            "format": FORMAT, "engine": _engine(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "storage": settings.STORAGE_URL or f"file://{settings.OBJECTS_DIR}",
            "audit_entries": entries, "blobs": len(blobs),
            "files": {m: sha256_file(tmp / m) for m in members},
        }
        for k in keys:
            manifest["files"][f"keys/{k.relative_to(settings.KEYS_DIR)}"] = sha256_file(k)
        with open_private(out_path, exclusive=True) as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("MANIFEST.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            for m in members:
                tar.add(tmp / m, arcname=m)
            for k in keys:
                tar.add(k, arcname=f"keys/{k.relative_to(settings.KEYS_DIR)}")
    return manifest


def _blob_sizes() -> dict[str, int]:
    from ..evidence.models import Attachment, Clip
    from ..media.models import Derivative

    sizes = {}
    for model in (Clip, Attachment, Derivative):
        sizes.update(dict(model.objects.values_list("sha256", "size").iterator()))
    return sizes


def _catalogue_empty() -> bool:
    from django.db import connection
    from django.db.utils import DatabaseError

    from ..evidence.models import Recording

    try:
        return not Recording.objects.exists()
    except DatabaseError:  # no tables yet: empty
        connection.close()
        return True


def _read_archive(path: Path, into: Path) -> dict:
    try:
        with tarfile.open(path, "r:gz") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"cannot read backup {path}: {exc}") from None
    try:
        manifest = json.loads((into / "MANIFEST.json").read_text())
    except (OSError, ValueError):
        raise BackupError("backup has no readable MANIFEST.json") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"not a {FORMAT} archive")
    for name, sha in manifest["files"].items():
        p = into / name
        if not p.is_file() or sha256_file(p) != sha:
            raise BackupError(f"backup member {name} is missing or does not match its SHA-256 in MANIFEST.json")
    return manifest


def restore(path: str | Path, actor: str = "cli") -> dict:
    """Restore an archive into this (empty) installation, then verify; returns a report."""
    from django.conf import settings
    from django.db import connection

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="bodycam-restore-") as tmp:
        tmp = Path(tmp)
        manifest = _read_archive(path, tmp)
        if manifest["engine"] != _engine():
            raise BackupError(f"backup is from {manifest['engine']}; this installation uses {_engine()} "
                              "(restore onto the same engine)")
        if not _catalogue_empty():
            raise BackupError("the catalogue here is not empty; restore only into a fresh installation")
        connection.close()
        # keys first: the database's signatures and sessions refer to them
        settings.KEYS_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name in manifest["files"]:
            if name.startswith("keys/"):
                dest = settings.KEYS_DIR / name[len("keys/"):]
                dest.parent.mkdir(parents=True, exist_ok=True)
                write_private(dest, (tmp / name).read_bytes())
        if manifest["engine"] == "sqlite":
            target = Path(settings.DATABASES["default"]["NAME"])
            for suffix in ("", "-wal", "-shm"):
                Path(str(target) + suffix).unlink(missing_ok=True)
            shutil.copyfile(tmp / "database.sqlite3", target)
        else:
            args, env = _pg_env()
            res = subprocess.run([_pg_tool("pg_restore"), "--no-owner", "--clean", "--if-exists", "--exit-on-error",
                                  *args, str(tmp / "database.pgdump")], env=env, capture_output=True, text=True)
            if res.returncode != 0:
                raise BackupError(f"pg_restore failed: {res.stderr.strip()[:500]}")
        connection.close()
        witness_note = _seed_witness(tmp, manifest)
        expected = {}
        for line in (tmp / "blobs.tsv").read_text().splitlines()[1:]:
            sha, size, _ = line.split("\t", 2)
            expected[sha] = int(size) if size else None
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)  # a backup from an older release
    report = verify_restored(expected)
    report["backup_created"] = manifest["created"]
    report["witness"] = witness_note
    from ..custody.services import record

    record("ops.restore", actor=actor, outcome="ok" if report["ok"] else "failed",
           detail={"from": str(path), **{k: v for k, v in report.items() if k != "problems"},
                   "problems": report["problems"][:50]})
    return report


def _seed_witness(tmp: Path, manifest: dict) -> str:
    """Put the backup's copy of the audit witness in place when this installation has none
    yet (a restore onto a new machine); an existing witness is never touched, and is then
    what the restored chain is verified against (entries written after the backup show up
    as removed: they are, and the witness says so)."""
    from ..custody.witness import configured

    target = configured()
    if target is None:
        return "none configured (BODYCAM_AUDIT_WITNESS_FILE=none)"
    if target.exists():
        return f"kept the existing witness {target}"
    if WITNESS_MEMBER not in manifest["files"]:
        return f"the backup holds no witness; {target} starts with the next audit entry"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp / WITNESS_MEMBER, target)
    except OSError as exc:
        raise BackupError(f"cannot write the audit witness {target}: {exc}") from None
    return f"seeded {target} from the backup's copy"


def verify_restored(expected: dict[str, int | None]) -> dict:
    """Audit chain verifies; every blob the backup referenced is in the store, whole, with
    its hash; the restored catalogue names the same set of blobs."""
    from ..custody.chain import verify_chain
    from ..storage import get_store

    store = get_store()
    problems = []
    chain = verify_chain()
    if not chain.ok:
        problems.append(f"audit chain: {chain.first.message}")
    now = set(catalogue_hashes())
    if now != set(expected):
        problems.append(f"catalogue names {len(now)} blobs, backup listed {len(expected)}")
    checked = 0
    for sha, size in sorted(expected.items()):
        if not store.exists(sha):
            problems.append(f"blob {sha} missing from the store")
            continue
        if size is not None and store.size(sha) != size:
            problems.append(f"blob {sha} has size {store.size(sha)}, catalogue says {size}")
            continue
        if store.rehash(sha) != sha:
            problems.append(f"blob {sha} does not hash to its address")
            continue
        checked += 1
    return {"ok": not problems, "audit_entries": chain.entries, "blobs_verified": checked,
            "blobs_expected": len(expected), "problems": problems}
