"""The vault's pieces in-process: store contract, fixity job, orphan reconciliation."""

import hashlib
import io
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from bodycam.custody.models import Alert, AuditEntry
from bodycam.evidence.models import Clip, Device, Officer
from bodycam.ingest import services
from bodycam.ingest.errors import BadRequest
from bodycam.media.synth import make_clip
from bodycam.storage import get_store
from bodycam.storage.base import IncompleteUpload

pytestmark = pytest.mark.django_db


def ingest_clip(tmp_path, seconds=1, pattern="testsrc2"):
    officer = Officer.objects.create(axis_user_id=uuid.uuid4(), name="T")
    device = Device.objects.create(serial=f"D{uuid.uuid4().hex[:6]}")
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    name = f"{officer.axis_user_id}_{device.serial}_{t0:%Y%m%dT%H%M%SZ}"
    services.put_recording(name, {"TriggerOn": "Button"}, "test", "", replace=True)
    path = make_clip(str(tmp_path / f"{uuid.uuid4().hex}.mp4"), seconds=seconds, pattern=pattern)
    with open(path, "rb") as f:
        services.put_object(name, f"{t0:%Y%m%d_%H%M%S}_1.mp4", f, os.path.getsize(path), None, {}, "test", "")
    return Clip.objects.get(recording__container_name=name)


def test_store_is_content_addressed_and_write_once():
    store = get_store()
    data = b"evidence bytes" * 1000
    a = store.receive(io.BytesIO(data), len(data))
    assert a.sha256 == hashlib.sha256(data).hexdigest() and a.md5 == hashlib.md5(data).hexdigest()
    assert store.commit(a) is True
    b = store.receive(io.BytesIO(data), len(data))
    assert store.commit(b) is False  # same bytes: recognised, not stored twice
    assert list(store.iter_hashes()) == [a.sha256]
    assert store.open(a.sha256).read() == data
    assert os.stat(store.local_path(a.sha256)).st_mode & 0o777 == 0o444
    assert list(store.incoming.iterdir()) == []


def test_store_refuses_short_body_and_leaves_nothing():
    store = get_store()
    with pytest.raises(IncompleteUpload):
        store.receive(io.BytesIO(b"x" * 10), 20)
    assert list(store.incoming.iterdir()) == [] and list(store.iter_hashes()) == []


def test_fixity_job_alerts_and_audits_on_mismatch(tmp_path):
    from bodycam.jobs.tasks import fixity_check

    clip = ingest_clip(tmp_path)
    assert fixity_check.apply().get() == {"checked": 1, "problems": 0}
    path = get_store().local_path(clip.sha256)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    assert fixity_check.apply().get() == {"checked": 1, "problems": 1}
    alert = Alert.objects.get(kind="fixity.mismatch")
    assert clip.object_name in alert.message
    entry = AuditEntry.objects.filter(action="fixity.check").last()
    assert entry.outcome == "failed" and entry.detail["problems"][0]["sha256"] == clip.sha256


def test_crash_between_blob_and_row_is_reconciled(tmp_path):
    """A blob committed without its row (crash) is reused by the retry, and a blob
    nobody claims is quarantined by the sweep, never deleted."""
    from bodycam.custody.fixity import sweep_orphans

    store = get_store()
    path = make_clip(str(tmp_path / "x.mp4"), seconds=1, pattern="smptebars")
    data = open(path, "rb").read()
    store.commit(store.receive(io.BytesIO(data), len(data)))  # the crash happened after this
    orphan_sha = hashlib.sha256(data).hexdigest()
    assert sweep_orphans(grace_seconds=3600)["quarantined"] == []  # too young: may be in flight
    result = sweep_orphans(grace_seconds=0)
    assert result["quarantined"] == [orphan_sha]
    assert (store.orphans / orphan_sha).read_bytes() == data
    assert AuditEntry.objects.filter(action="storage.orphan_sweep").exists()
    # A clip that is catalogued is never touched by the sweep.
    clip = ingest_clip(tmp_path, pattern="testsrc")
    assert sweep_orphans(grace_seconds=0)["quarantined"] == []
    assert store.exists(clip.sha256)


def test_audit_chain_links_every_ingest_step(tmp_path):
    ingest_clip(tmp_path)
    entries = list(AuditEntry.objects.order_by("seq"))
    assert [e.action for e in entries][-2:] == ["ingest.recording.create", "ingest.object.stored"]
    for prev, cur in zip(entries, entries[1:]):
        assert cur.prev_hash == prev.entry_hash and cur.seq == prev.seq + 1


def test_metadata_header_parsing():
    from bodycam.ingest import swift

    meta = swift.metadata_from_meta({
        "HTTP_X_CONTAINER_META_TRIGGERONTIME": "1700000000",
        "HTTP_X_CONTAINER_META_BWCSERIALNUMBER": "ABC",
        "HTTP_X_CONTAINER_META_TIMEZONE": "America%2FChicago",
        "HTTP_X_OBJECT_META_NAME": "ignored",
    }, "Container")
    assert meta == {"TriggerOnTime": "1700000000", "BWCSerialNumber": "ABC", "TimeZone": "America/Chicago"}
    with pytest.raises(BadRequest):
        swift.metadata_from_meta({"HTTP_X_OBJECT_META_NAME": "a%0Ab"}, "Object")
    assert swift.parse_tags("TriggerOn:Button;Flag") == {"TriggerOn": "Button", "Flag": ""}
    assert swift.parse_wkt_point("POINT(13.2 55.7)") == (55.7, 13.2)
    with pytest.raises(BadRequest):
        swift.parse_wkt_point("POINT(200 55)")
    assert swift.parse_epoch("1700000000123", "t") == swift.parse_epoch("1700000000.123", "t")
