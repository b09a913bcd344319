"""Device storage: a directory standing in for the camera's flash.

::

    DIR/device.json                       identity and settings (DeviceConfig)
    DIR/keys/device.key, device.pub       Ed25519 key pair (private key mode 0600)
    DIR/events.jsonl                      trigger log: what started/stopped what, when
    DIR/recordings/<container>/
        recording.json                    container metadata, clips, state (camera writes)
        <start>_<id>.mp4                  clips (fragmented MP4 or MKV)
        <clip>.manifest.json              signed manifest per clip
        bookmark_<ts>_<id>[.meta.json]    bookmark text + its metadata
        <date>_<time>_<id>_<serial>_gpstrail.json
        upload.json                       upload progress (the dock writes; the queue state)

Every JSON state file is replaced atomically (temp file, fsync, rename, fsync dir), so a
crash leaves the old or the new state, never half of one.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..files import fsync_dir

# recording.json "state": the camera's view of a recording
RECORDING = "recording"   # clips are being written
CLOSED = "closed"         # complete on the device; ready for the dock


def write_json_atomic(path: Path, data) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def read_json(path: Path, default=None):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return default


class DeviceStorage:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.recordings_dir = self.root / "recordings"
        self.keys_dir = self.root / "keys"

    def ensure(self) -> "DeviceStorage":
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        return self

    # -- identity
    @property
    def config_path(self) -> Path:
        return self.root / "device.json"

    @property
    def key_path(self) -> Path:
        return self.keys_dir / "device.key"

    def key(self):
        from ..provenance.keys import load_or_create, public_b64

        key = load_or_create(self.key_path)
        pub = self.keys_dir / "device.pub"
        if not pub.exists():
            write_bytes_atomic(pub, (public_b64(key) + "\n").encode())
        return key

    # -- recordings
    def recording_dir(self, container: str) -> Path:
        return self.recordings_dir / container

    def recordings(self) -> list[Path]:
        if not self.recordings_dir.exists():
            return []
        return sorted(p for p in self.recordings_dir.iterdir() if p.is_dir() and (p / "recording.json").exists())

    def load_recording(self, rec_dir: Path) -> dict | None:
        return read_json(rec_dir / "recording.json")

    # -- trigger/event log
    def log_event(self, event: str, **fields) -> dict:
        entry = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event, **fields}
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "events.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
            f.flush()
        return entry

    def events(self) -> list[dict]:
        path = self.root / "events.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut off by power loss
        return out
