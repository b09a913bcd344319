"""The dock: uploads a camera's completed recordings through the Axis/Swift API and frees
device storage only for what the server has confirmed.

Per recording (highest priority first: flagged, then bookmarked, then oldest):

1. HEAD the container. Missing: PUT it with the recording's metadata (Status Transferring).
   Already Complete (a previous run finished it but died before noting so): verify below.
2. Each object (clips, their signed manifests, bookmarks, the GNSS track) is PUT with its
   MD5 as ``ETag`` and its SHA-256 as ``X-Object-Meta-Sha256``; the server answers 201 with
   its own ``ETag`` and ``X-Object-Sha256``, which must equal ours. Progress is written to
   ``upload.json`` (atomically) before and after each PUT: an object whose PUT may have
   been in flight when the dock died is first asked for with HEAD, so nothing is uploaded
   twice.
3. POST ``Status: Complete`` on the container.
4. Only then, and after a HEAD of each object shows the server holds the same SHA-256, the
   local files are deleted (state files last). A crash in between repeats the check.

A 4xx answer on a clip marks the recording rejected (kept on the device, never deleted);
507 or an unreachable server stops the run; nothing is deleted in either case.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BodycamError
from .storage import CLOSED, DeviceStorage, read_json, write_json_atomic
from .swift import SwiftClient, SwiftError, load_connection, meta_headers


class DockError(BodycamError):
    pass


def file_hashes(path: Path) -> tuple[str, str, int]:
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            md5.update(chunk)
            sha.update(chunk)
            size += len(chunk)
    return md5.hexdigest(), sha.hexdigest(), size


@dataclass
class Item:
    name: str
    path: Path
    kind: str            # clip | manifest | bookmark | gnss
    meta: dict = field(default_factory=dict)


def recording_items(rec_dir: Path, state: dict) -> list[Item]:
    items = []
    for clip in state.get("clips", []):
        items.append(Item(clip["object"], rec_dir / clip["object"], "clip", dict(clip["metadata"])))
        items.append(Item(clip["manifest"], rec_dir / clip["manifest"], "manifest"))
    for p in sorted(rec_dir.glob("bookmark_*")):
        meta = read_json(rec_dir / f".{p.name}.json", {}) or {}
        items.append(Item(p.name, p, "bookmark", meta))
    if state.get("gnss"):
        items.append(Item(state["gnss"], rec_dir / state["gnss"], "gnss", {"FileType": "json"}))
    return items


def closed_recordings(storage: DeviceStorage):
    """(container, container metadata, [Item]) for each closed recording on a device, with no
    network: for loading simulated footage straight into a catalogue (``bodycam demo``)."""
    for d in storage.recordings():
        state = read_json(d / "recording.json")
        if state and state.get("state") == CLOSED and state.get("clips"):
            yield state["container"], dict(state["metadata"]), recording_items(d, state)


def priority(rec_dir: Path, state: dict) -> int:
    p = int(state.get("priority", 0))
    if (rec_dir / ".flag").exists():
        p += 20
    if any(rec_dir.glob("bookmark_*")):
        p += 10
    return p


class Dock:
    def __init__(self, storage: DeviceStorage, connection: dict, scu_serial: str = "bodycam-dock",
                 parallel: int = 1, rate_limit: int | None = None, log=print, retry_rejected: bool = False):
        self.storage = storage
        self.connection = connection
        self.scu_serial = scu_serial
        self.parallel = max(1, parallel)
        self.rate_limit = rate_limit
        self.retry_rejected = retry_rejected
        self.print = log
        self._journal_lock = threading.Lock()
        self._caps: dict | None = None
        self._local = threading.local()

    # -- bookkeeping
    def journal(self, event: str, **fields) -> None:
        entry = {"at": round(time.time(), 3), "event": event, **fields}
        with self._journal_lock, open(self.storage.root / "dock.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def client(self) -> SwiftClient:
        c = getattr(self._local, "client", None)
        if c is None:
            c = self._local.client = SwiftClient(self.connection, rate_limit=self.rate_limit)
        return c

    def capabilities(self) -> dict:
        if self._caps is None:
            caps = {}
            try:
                r = self.client().request("GET", "System", "Capabilities.json")
                if r.status == 200 and hashlib.md5(r.body, usedforsecurity=False).hexdigest() == r.headers.get("etag"):
                    caps = json.loads(r.body)
            except (SwiftError, ValueError):
                caps = {}
            full = bool(self.connection.get("FullStoreAndReadSupport"))
            store = caps.get("Store", {}) if isinstance(caps, dict) else {}
            self._caps = {"bookmarks": full or bool(store.get("StoreBookmarks")),
                          "gnss": full or bool(store.get("StoreGNSSTrackRecording"))}
        return self._caps

    # -- the queue
    def queue(self) -> list[Path]:
        ready = []
        for d in self.storage.recordings():
            state = read_json(d / "recording.json")
            if not state or state.get("state") != CLOSED:
                continue
            up = read_json(d / "upload.json", {}) or {}
            if up.get("status") == "rejected" and not self.retry_rejected:
                continue
            ready.append((-priority(d, state), state["metadata"].get("TriggerOnTime", ""), d))
        return [d for _, _, d in sorted(ready)]

    def run(self) -> dict:
        lock = open(self.storage.root / ".dock.lock", "a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DockError(f"another dock is already uploading {self.storage.root}") from None
        try:
            queue = self.queue()
            self.journal("dock.start", queued=[d.name for d in queue])
            results = {"uploaded": [], "rejected": [], "failed": [], "kept": [], "errors": {}}
            with ThreadPoolExecutor(self.parallel) as pool:
                for d, (outcome, error) in zip(queue, pool.map(self._upload_safe, queue)):
                    results[outcome].append(d.name)
                    if error:
                        results["errors"][d.name] = error
            self.journal("dock.end", **{k: v for k, v in results.items() if k != "errors"})
            return results
        finally:
            lock.close()

    def _upload_safe(self, rec_dir: Path) -> tuple[str, str]:
        try:
            return self.upload(rec_dir), ""
        except (SwiftError, DockError, OSError) as exc:
            self.journal("recording.failed", recording=rec_dir.name, error=str(exc))
            self.print(f"{rec_dir.name}: upload failed: {exc}")
            return "failed", str(exc)

    # -- one recording
    def upload(self, rec_dir: Path) -> str:
        state = read_json(rec_dir / "recording.json")
        up_path = rec_dir / "upload.json"
        up = read_json(up_path, {}) or {"status": "pending", "objects": {}}
        if up["status"] == "rejected":  # --retry-rejected: e.g. the device has been registered since
            up["status"] = "pending"
            up.pop("reason", None)
        container = state["container"]
        if not state.get("clips"):
            self.journal("recording.empty", recording=container)
            return "kept"
        caps = self.capabilities()
        items = [i for i in recording_items(rec_dir, state)
                 if (i.kind != "bookmark" or caps["bookmarks"]) and (i.kind != "gnss" or caps["gnss"])]
        c = self.client()

        if up["status"] != "complete":
            head = c.request("HEAD", container)
            server_status = head.headers.get("x-container-meta-status", "") if head.status < 300 else ""
            if head.status == 404:
                meta = {**state["metadata"], "SCUSerialNumber": self.scu_serial, "Status": "Transferring"}
                r = c.request("PUT", container, headers=meta_headers("Container", meta))
                self.journal("container.put", recording=container, status=r.status)
                if r.status in (400, 403):
                    return self._reject(rec_dir, up, f"container refused: {r.status} {r.body[:200].decode(errors='replace')}")
                if r.status >= 300:
                    raise DockError(f"PUT container {container}: HTTP {r.status} {r.body[:200]!r}")
            elif head.status >= 300:
                raise DockError(f"HEAD container {container}: HTTP {head.status}")
            if server_status != "Complete":
                for item in items:
                    if not self._upload_item(c, container, item, up, up_path):
                        return self._reject(rec_dir, up, f"{item.name} refused")
                meta = {**state["metadata"], "SCUSerialNumber": self.scu_serial, "Status": "Complete"}
                r = c.request("POST", container, headers=meta_headers("Container", meta))
                self.journal("container.complete", recording=container, status=r.status)
                if r.status >= 300:
                    raise DockError(f"POST Status Complete {container}: HTTP {r.status} {r.body[:200]!r}")
            up["status"] = "complete"
            write_json_atomic(up_path, up)

        self._free(c, rec_dir, container, items, up)
        self.print(f"{container}: uploaded {len(items)} objects, freed on device")
        return "uploaded"

    def _upload_item(self, c: SwiftClient, container: str, item: Item, up: dict, up_path: Path) -> bool:
        rec = up["objects"].setdefault(item.name, {})
        if rec.get("confirmed"):
            return True
        md5, sha, size = file_hashes(item.path)
        if rec.get("sha256") and rec["sha256"] != sha:
            raise DockError(f"{item.name} changed on the device since its upload began")
        if rec.get("attempted"):
            # The previous run may have finished this PUT before it died: ask first.
            h = c.request("HEAD", container, item.name)
            self.journal("object.head", recording=container, object=item.name, status=h.status,
                         sha256=h.headers.get("x-object-sha256"))
            if h.status == 200 and h.headers.get("x-object-sha256") == sha and h.headers.get("etag", "").strip('"') == md5:
                rec.update(confirmed=True, sha256=sha, md5=md5, size=size)
                write_json_atomic(up_path, up)
                return True
        rec.update(attempted=True, sha256=sha, md5=md5, size=size)
        write_json_atomic(up_path, up)
        headers = {"ETag": md5, **meta_headers("Object", {**item.meta, "Sha256": sha}),
                   "Content-Type": "application/octet-stream"}
        r = c.request("PUT", container, item.name, headers=headers, body_path=str(item.path))
        server_md5 = r.headers.get("etag", "").strip('"')
        server_sha = r.headers.get("x-object-sha256", "")
        self.journal("object.put", recording=container, object=item.name, status=r.status, size=size,
                     sha256=sha, server_sha256=server_sha)
        if r.status == 201 and server_md5 == md5 and server_sha == sha:
            rec["confirmed"] = True
            write_json_atomic(up_path, up)
            return True
        if r.status == 201:
            raise DockError(f"{item.name}: server hashes {server_md5}/{server_sha} differ from ours {md5}/{sha}")
        if r.status == 507:
            raise DockError(f"{item.name}: server out of space (507)")
        if r.status in (400, 403, 409) and item.kind == "clip":
            return False
        if r.status in (400, 403, 409):
            # Not footage (a manifest/bookmark/track the server does not take): keep it on the device.
            rec["refused"] = f"{r.status} {r.body[:200].decode(errors='replace')}"
            rec["confirmed"] = False
            write_json_atomic(up_path, up)
            self.journal("object.refused", recording=container, object=item.name, status=r.status)
            return True
        raise DockError(f"PUT {item.name}: HTTP {r.status} {r.body[:200]!r}")

    def _reject(self, rec_dir: Path, up: dict, reason: str) -> str:
        up["status"] = "rejected"
        up["reason"] = reason
        write_json_atomic(rec_dir / "upload.json", up)
        self.journal("recording.rejected", recording=rec_dir.name, reason=reason)
        self.print(f"{rec_dir.name}: rejected by the server, kept on the device: {reason}")
        return "rejected"

    def _free(self, c: SwiftClient, rec_dir: Path, container: str, items: list[Item], up: dict) -> None:
        """Delete what the server holds, byte for byte. Anything unconfirmed stays."""
        for item in items:
            if not item.path.exists():
                continue
            rec = up["objects"].setdefault(item.name, {})
            if not rec.get("confirmed"):
                # e.g. the container was already Complete: the server may hold it; ask.
                md5, sha, size = file_hashes(item.path)
                h = c.request("HEAD", container, item.name)
                if h.status == 200 and h.headers.get("x-object-sha256") == sha:
                    rec.update(confirmed=True, sha256=sha, md5=md5, size=size)
                    write_json_atomic(rec_dir / "upload.json", up)
                    h_ok = True
                else:
                    continue
            else:
                h = c.request("HEAD", container, item.name)
                h_ok = h.status == 200 and h.headers.get("x-object-sha256") == rec["sha256"]
            if not h_ok:
                raise DockError(f"{item.name}: server does not confirm it holds sha256 {rec['sha256']}; kept")
            item.path.unlink()
            side = rec_dir / f".{item.name}.json"
            if side.exists():
                side.unlink()
            self.journal("object.freed", recording=container, object=item.name, sha256=rec["sha256"])
        for p in rec_dir.glob(".*.tmp"):  # a state write cut short by a crash; the state file itself is intact
            p.unlink()
        leftovers = [p for p in rec_dir.iterdir() if p.name not in ("recording.json", "upload.json", ".flag")]
        if leftovers:
            self.journal("recording.kept", recording=container, files=sorted(p.name for p in leftovers))
            return
        for name in (".flag", "recording.json", "upload.json"):
            p = rec_dir / name
            if p.exists():
                p.unlink()
        rec_dir.rmdir()


def dock(storage_dir: str, connection_file: str, scu_serial: str = "bodycam-dock", parallel: int = 1,
         rate_limit: int | None = None, watch: float | None = None, log=print, retry_rejected: bool = False) -> dict:
    storage = DeviceStorage(storage_dir)
    if not storage.root.is_dir():
        raise DockError(f"no device storage at {storage_dir}")
    d = Dock(storage, load_connection(connection_file), scu_serial, parallel, rate_limit, log, retry_rejected)
    while True:
        result = d.run()
        if watch is None:
            return result
        time.sleep(watch)
