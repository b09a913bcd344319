"""Administration pages (issue 24): cameras (register with a key file, assign, retire, fleet
status, the stale-camera alert), squads, and the access rules (restrictions, critical-incident
locks and their release, grants) through the real views with signed-in users. Each rule and
each bad input: a 4xx with a reason, nothing changed, the refusal audited."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.files.uploadedfile import SimpleUploadedFile

from bodycam.access.models import CriticalIncidentLock, Grant, Restriction, Squad
from bodycam.access.services import visible_clips
from bodycam.custody.models import Alert, AuditEntry
from bodycam.evidence.models import Clip, Device, Officer, Recording

from .access_helpers import World, client_for

pytestmark = pytest.mark.django_db


def pem_key() -> tuple[bytes, str]:
    from bodycam.provenance.keys import public_b64

    key = Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, public_b64(key)


def key_file(data: bytes, name: str = "device.pub") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def after(seq: int, **kw):
    return AuditEntry.objects.filter(seq__gt=seq, **kw)


def last_seq() -> int:
    return AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def refused(client, url, data, status, action, actor, text=""):
    """POST ``data``; expect ``status`` with ``text`` in the answer and one denied audit entry."""
    before = last_seq()
    r = client.post(url, data)
    body = r.content.decode()
    assert r.status_code == status, (url, data, r.status_code, body[:400])
    assert text in body, (text, body[:600])
    denied = after(before, outcome="denied", action=action, actor=actor)
    assert denied.count() == 1, (action, list(after(before).values_list("action", "outcome")))
    return r


# ------------------------------------------------------------------------------ cameras
def test_admin_registers_a_camera_with_its_key_file_and_bad_input_changes_nothing(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    page = adm.get("/admin/cameras/").content.decode()
    assert "Register a camera" in page and 'type="file" name="public_key"' in page
    officer = Officer.objects.get(account=w.officer)
    pem, b64 = pem_key()
    good = {"serial": "BWC-9001", "kind": "body", "model": "W110", "officer": str(officer.id),
            "reason": "new hire kit"}
    devices_before = Device.objects.count()

    def bad(data, text, status=400, file=pem):
        body = dict(data)
        if file is not None:
            body["public_key"] = key_file(file)
        refused(adm, "/admin/cameras/", body, status, "device.create", "adm", text)
        assert Device.objects.count() == devices_before

    bad(good, "not an Ed25519 public key", file=b"-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n")
    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    bad(good, "not an Ed25519 public key", file=rsa_pem)
    bad(good, "not a PEM or base64 text file", file=b"\xff\xfe\x00binary")
    bad(good, "too large", file=b"A" * 20000)
    bad(good, "choose the camera&#x27;s public key file", file=None)
    bad({**good, "serial": "BWC 9001/x"}, "serial must be")
    bad({**good, "officer": str(uuid.uuid4())}, "no officer")
    bad({**good, "kind": "drone"}, "body or vehicle")
    bad({**good, "reason": "  "}, "a reason is required")
    bad({**good, "serial": w.clip.recording.device.serial}, "already exists")

    before = last_seq()
    r = adm.post("/admin/cameras/", {**good, "public_key": key_file(pem)})
    assert r.status_code == 302 and r["Location"] == "/admin/cameras/BWC-9001/"
    d = Device.objects.get(serial="BWC-9001")
    assert d.public_key == b64 and d.assigned_officer == officer and d.model == "W110" and d.retired_at is None
    entry = after(before, action="device.create", actor="adm", outcome="ok").get()
    assert entry.detail["reason"] == "new hire kit" and entry.detail["public_key"] == b64
    # the base64 file a camera writes (keys/device.pub) is accepted too
    _, b64b = pem_key()
    r = adm.post("/admin/cameras/", {**good, "serial": "CAR-99", "kind": "vehicle", "officer": "", "vehicle": "CAR-99",
                                     "public_key": key_file((b64b + "\n").encode())})
    assert r.status_code == 302 and Device.objects.get(serial="CAR-99").public_key == b64b
    page = adm.get("/admin/cameras/BWC-9001/").content.decode()
    assert b64 in page and "Retire this camera" in page

    # custodians read the fleet status, they do not register; officers see nothing of it
    cust = client_for(w.custodian)
    page = cust.get("/admin/cameras/").content.decode()
    assert "BWC-9001" in page and "Register a camera" not in page and "Retire this camera" not in \
        cust.get("/admin/cameras/BWC-9001/").content.decode()
    refused(cust, "/admin/cameras/", {**good, "serial": "BWC-9002", "public_key": key_file(pem)}, 403,
            "device.create", "cust")
    refused(cust, "/admin/cameras/BWC-9001/", {"vehicle": "X", "reason": "r"}, 403, "device.assign", "cust")
    off = client_for(w.officer)
    before = last_seq()
    assert off.get("/admin/cameras/").status_code == 403
    assert after(before, action="device.list", outcome="denied", actor="off.a").count() == 1
    assert not Device.objects.filter(serial="BWC-9002").exists()


def test_assign_then_retire_a_camera_with_a_confirm_step_and_its_later_uploads_are_flagged(tmp_path):
    from bodycam.ingest import services as ingest

    w = World(tmp_path)
    adm = client_for(w.admin)
    serial = w.clip.recording.device.serial
    url = f"/admin/cameras/{serial}/"
    officer = Officer.objects.get(account=w.other_officer)
    refused(adm, url, {"officer": "nobody-here", "reason": "swap"}, 400, "device.assign", "adm", "no officer")
    refused(adm, url, {"officer": str(officer.id), "reason": ""}, 400, "device.assign", "adm", "a reason is required")
    refused(adm, url, {"vehicle": "x" * 101, "reason": "r"}, 400, "device.assign", "adm", "at most 100")
    assert adm.post(url, {"officer": str(officer.id), "vehicle": "CAR-12", "reason": "shift swap"}).status_code == 302
    d = Device.objects.get(serial=serial)
    assert d.assigned_officer == officer and d.vehicle == "CAR-12"
    e = AuditEntry.objects.filter(action="device.assign", outcome="ok").latest("seq")
    assert e.detail["reason"] == "shift swap" and e.detail["after"] == {"officer": str(officer.id), "vehicle": "CAR-12"}
    assert adm.get("/admin/cameras/NO-SUCH/").status_code == 404

    key_before = d.public_key = "A" * 43 + "="
    Device.objects.filter(pk=d.pk).update(public_key=key_before)
    confirm = adm.get(f"{url}retire")
    assert confirm.status_code == 200 and "Retire camera" in confirm.content.decode() and "is retired" in \
        confirm.content.decode()
    refused(adm, f"{url}retire", {"reason": "broken"}, 400, "device.retire", "adm", "confirm")
    refused(adm, f"{url}retire", {"confirm": "yes", "reason": ""}, 400, "device.retire", "adm", "a reason is required")
    assert Device.objects.get(serial=serial).retired_at is None
    r = adm.post(f"{url}retire", {"confirm": "yes", "reason": "cracked housing"})
    assert r.status_code == 302
    d = Device.objects.get(serial=serial)
    assert d.retired_at and d.retired_reason == "cracked housing" and d.public_key == key_before
    assert d.assigned_officer is None and d.vehicle == ""
    assert Clip.objects.filter(recording__device=d).count() == 1  # evidence kept
    assert AuditEntry.objects.filter(action="device.retire", outcome="ok", actor="adm").get().detail["reason"] == \
        "cracked housing"
    refused(adm, f"{url}retire", {"confirm": "yes", "reason": "again"}, 400, "device.retire", "adm", "already retired")
    refused(adm, url, {"vehicle": "CAR-1", "reason": "r"}, 400, "device.assign", "adm", "retired")
    page = adm.get("/admin/cameras/").content.decode()
    assert "cracked housing" in page
    # a retired camera's new upload is accepted (evidence is never turned away) and flagged
    t0 = datetime.now(timezone.utc).replace(microsecond=0)
    name = f"{w.officer.officer.axis_user_id}_{serial}_{t0:%Y%m%dT%H%M%SZ}"
    assert ingest.put_recording(name, {"TriggerOn": "Button"}, "test", "", replace=True) == ingest.Outcome.CREATED
    assert Recording.objects.filter(container_name=name).exists()
    alert = Alert.objects.get(kind="camera.retired_upload")
    assert serial in alert.message and alert.level == "warning"
    assert AuditEntry.objects.filter(action="ingest.recording.create").latest("seq").detail["retired_device"] == serial


def test_fleet_status_and_the_stale_camera_alert(tmp_path, settings):
    from bodycam.ingest import fleet
    from bodycam.jobs.services import submit

    settings.CAMERA_STALE_DAYS = 3
    w = World(tmp_path)
    now = datetime.now(timezone.utc)
    fresh = w.clip.recording.device
    silent = w.other_clip.recording.device
    Clip.objects.filter(pk=w.other_clip.pk).update(ingested_at=now - timedelta(days=5))
    Recording.objects.filter(pk=w.other_clip.recording_id).update(created_at=now - timedelta(days=5),
                                                                   completed_at=None, scu_serial="DOCK-7",
                                                                   firmware="2.1.0", bwc_model="W110")
    never = Device.objects.create(serial="NEVER-1")
    Device.objects.filter(pk=never.pk).update(created_at=now - timedelta(days=10))
    Device.objects.create(serial="NEW-1")  # registered today: not stale yet
    retired = Device.objects.create(serial="OLD-1", retired_at=now)
    Device.objects.filter(pk=retired.pk).update(created_at=now - timedelta(days=30))
    Clip.objects.filter(pk=w.clip.pk).update(signature="invalid")

    status = {s.device.serial: s for s in fleet.fleet_status()}
    assert {s.device.serial for s in fleet.stale_cameras()} == {silent.serial, "NEVER-1"}
    s = status[silent.serial]
    assert s.stale and s.dock == "DOCK-7" and s.firmware == "2.1.0" and s.model == "W110"
    assert abs((s.last_dock - (now - timedelta(days=5))).total_seconds()) < 5
    assert [n for _, n in s.per_day] == [0, 1, 0, 0, 0, 0, 0]  # its one clip, five days ago
    f = status[fresh.serial]
    assert not f.stale and f.signature == "invalid" and f.per_day[-1][1] == 1 and sum(n for _, n in f.per_day) == 1
    assert not status["NEW-1"].stale and not status["OLD-1"].stale and status["NEVER-1"].last_dock is None

    # one alert per camera per silence, through the hourly job
    job = submit("ingest.fleet_check", inline=True)
    assert job.status == "succeeded", job.status
    alerts = Alert.objects.filter(kind="camera.stale")
    assert alerts.count() == 2 and all(a.level == "warning" for a in alerts)
    assert any(silent.serial in a.message and "has not docked since" in a.message for a in alerts)
    assert any("NEVER-1" in a.message and "never docked" in a.message for a in alerts)
    alerts = lambda: Alert.objects.filter(kind="camera.stale").count()  # noqa: E731
    assert fleet.check_stale() == [] and alerts() == 2
    # it docks (a new recording) and goes quiet again later: a new alert for the new silence
    Recording.objects.filter(pk=w.other_clip.recording_id).update(created_at=now - timedelta(days=4))
    assert len(fleet.check_stale()) == 1 and alerts() == 3
    settings.CAMERA_STALE_DAYS = 30
    assert fleet.stale_cameras() == []

    # the page: the list, the alert, the counts, as an admin and as a custodian
    settings.CAMERA_STALE_DAYS = 3
    for user in (w.admin, w.custodian):
        page = client_for(user).get("/admin/cameras/").content.decode()
        assert "Not docked for 3+ days" in page and "NEVER-1" in page and "has not docked since" in page
        assert "invalid" in page and "DOCK-7" in page


def test_fleet_status_counts_clips_per_agency_day(tmp_path, settings):
    from bodycam.ingest import fleet

    w = World(tmp_path)
    now = datetime.now(timezone.utc)
    Clip.objects.filter(pk=w.other_clip.pk).update(ingested_at=now - timedelta(days=2))
    st, = fleet.fleet_status(serial=w.other_clip.recording.device.serial)
    assert [n for _, n in st.per_day] == [0, 0, 0, 0, 1, 0, 0]
    Clip.objects.filter(pk=w.other_clip.pk).update(ingested_at=now - timedelta(days=8))
    st, = fleet.fleet_status(serial=w.other_clip.recording.device.serial)
    assert sum(n for _, n in st.per_day) == 0 and len(st.per_day) == 7


# ------------------------------------------------------------------------------ squads
def test_admin_creates_and_changes_a_squad(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    page = adm.get("/admin/squads/").content.decode()
    assert "Create a squad" in page and 'value="sgt"' in page and 'value="off.b"' in page
    good = {"name": "Night C", "supervisors": ["sgt"], "members": ["off.a", "off.b"], "reason": "night shift"}
    n = Squad.objects.count()
    refused(adm, "/admin/squads/", {**good, "reason": ""}, 400, "access.squad", "adm", "a reason is required")
    refused(adm, "/admin/squads/", {**good, "name": "A"}, 400, "access.squad", "adm", "already exists")
    refused(adm, "/admin/squads/", {**good, "members": ["off.a", "nobody"]}, 400, "access.squad", "adm", "no user")
    refused(adm, "/admin/squads/", {**good, "supervisors": ["det"]}, 400, "access.squad", "adm", "only supervisors")
    refused(adm, "/admin/squads/", {**good, "members": ["cust"]}, 400, "access.squad", "adm", "members are officers")
    refused(adm, "/admin/squads/", {**good, "name": ""}, 400, "access.squad", "adm", "squad name")
    assert Squad.objects.count() == n
    cust = client_for(w.custodian)
    refused(cust, "/admin/squads/", good, 403, "access.squad", "cust")
    assert cust.get("/admin/squads/").status_code == 403

    assert not visible_clips(w.supervisor).filter(id=w.other_clip.id).exists()
    r = adm.post("/admin/squads/", good)
    squad = Squad.objects.get(name="Night C")
    assert r.status_code == 302 and r["Location"] == f"/admin/squads/{squad.id}/"
    assert set(squad.members.values_list("username", flat=True)) == {"off.a", "off.b"}
    assert visible_clips(w.supervisor).filter(id=w.other_clip.id).exists()
    e = AuditEntry.objects.filter(action="access.squad", outcome="ok", actor="adm").get()
    assert e.detail["reason"] == "night shift" and e.detail["moved_from"] == {"off.a": "A", "off.b": "B"}
    # change: off.b leaves, sgt stays
    url = f"/admin/squads/{squad.id}/"
    assert 'checked' in adm.get(url).content.decode()
    refused(adm, url, {"supervisors": ["sgt"], "members": ["off.a"]}, 400, "access.squad.change", "adm", "reason")
    assert adm.post(url, {"supervisors": ["sgt"], "members": ["off.a"], "reason": "transfer"}).status_code == 302
    assert set(squad.members.values_list("username", flat=True)) == {"off.a"}
    assert not visible_clips(w.supervisor).filter(id=w.other_clip.id).exists()
    e = AuditEntry.objects.filter(action="access.squad.change", outcome="ok").get()
    assert e.detail["before"] == {"members": ["off.a", "off.b"]} and e.detail["after"] == {"members": ["off.a"]}
    assert adm.get(f"/admin/squads/{uuid.uuid4()}/").status_code == 404
    assert adm.get("/admin/squads/not-a-uuid/").status_code == 404


# ------------------------------------------------------------------------------ access rules
def test_custodian_locks_and_releases_restricts_lifts_grants_and_revokes(tmp_path):
    from bodycam.access import rules

    w = World(tmp_path)
    cust = client_for(w.custodian)
    rec, other = w.clip.recording, w.other_clip.recording
    page = cust.get("/admin/rules/").content.decode()
    assert "No recording is locked" in page and "No recording is restricted" in page and "No grant is in force" in page

    # the picker: searching by evidence number offers that recording, audited as a search
    before = last_seq()
    page = cust.get("/admin/rules/lock", {"q": rec.evidence_number}).content.decode()
    assert f'value="{rec.id}"' in page and rec.evidence_number in page
    assert after(before, action="evidence.search", actor="cust").count() == 1
    page = cust.get("/admin/rules/lock", {"officer": "off.b"}).content.decode()
    assert f'value="{other.id}"' in page and f'value="{rec.id}"' not in page
    assert cust.get("/admin/rules/lock", {"from": "not-a-date"}).status_code == 400

    # lock: reason required, the involved officer loses access; release: confirm first
    refused(cust, "/admin/rules/lock", {"recording": str(rec.id), "people": ["off.a"], "reason": ""}, 400,
            "access.incident_lock", "cust", "a reason is required")
    refused(cust, "/admin/rules/lock", {"recording": str(rec.id), "people": ["ghost"], "reason": "OIS"}, 400,
            "access.incident_lock", "cust", "no user")
    refused(cust, "/admin/rules/lock", {"recording": "", "people": ["off.a"], "reason": "OIS"}, 404,
            "access.incident_lock", "cust", "choose a recording")
    assert not CriticalIncidentLock.objects.exists()
    assert cust.post("/admin/rules/lock", {"recording": str(rec.id), "people": ["off.a"],
                                           "reason": "officer-involved shooting"}).status_code == 302
    assert not visible_clips(w.officer).filter(id=w.clip.id).exists()
    assert rec.evidence_number in cust.get("/admin/rules/").content.decode()
    url = f"/admin/rules/locks/{rec.id}/release"
    assert "Release lock" in cust.get(url).content.decode()
    refused(cust, url, {"reason": "cleared"}, 400, "access.incident_release", "cust", "confirm")
    refused(cust, url, {"confirm": "yes", "reason": ""}, 400, "access.incident_release", "cust", "a reason is required")
    assert not visible_clips(w.officer).filter(id=w.clip.id).exists()
    assert cust.post(url, {"confirm": "yes", "reason": "statement taken"}).status_code == 302
    assert visible_clips(w.officer).filter(id=w.clip.id).exists()
    e = AuditEntry.objects.filter(action="access.incident_release", outcome="ok").get()
    assert e.detail == {"released": 1, "reason": "statement taken"}
    assert cust.get(url).status_code == 404  # nothing left to release

    # grants: an expiry, never to oneself; revoke with a confirm step
    refused(cust, "/admin/rules/grant", {"recording": str(other.id), "user": "cust", "days": "7", "reason": "look"},
            403, "access.grant", "cust", "yourself")
    for days in ("0", "abc", "9999", ""):
        refused(cust, "/admin/rules/grant", {"recording": str(other.id), "user": "adm", "days": days, "reason": "x"},
                400, "access.grant", "cust", "1-3650 days")
    refused(cust, "/admin/rules/grant", {"recording": str(other.id), "user": "ghost", "days": "7", "reason": "x"},
            400, "access.grant", "cust", "no user")
    assert not Grant.objects.exists()
    assert cust.post("/admin/rules/grant", {"recording": str(other.id), "user": "adm", "days": "7",
                                            "reason": "IT ticket 42"}).status_code == 302
    g = Grant.objects.get()
    assert timedelta(days=6, hours=23) < g.expires_at - datetime.now(timezone.utc) <= timedelta(days=7)
    assert visible_clips(w.admin).filter(id=w.other_clip.id).exists()
    url = f"/admin/rules/grants/{g.id}/revoke"
    assert "Revoke grant" in cust.get(url).content.decode()
    refused(cust, url, {"confirm": "yes"}, 400, "access.grant_revoke", "cust", "a reason is required")
    assert cust.post(url, {"confirm": "yes", "reason": "ticket closed"}).status_code == 302
    assert not visible_clips(w.admin).filter(id=w.other_clip.id).exists() and Grant.objects.filter(pk=g.pk).exists()
    refused(cust, url, {"confirm": "yes", "reason": "again"}, 400, "access.grant_revoke", "cust", "already ended")

    # restrictions: the named people only; the picker never offers what its user cannot see
    assert cust.post("/admin/rules/restrict", {"recording": str(other.id), "people": ["det"],
                                               "reason": "victim statement"}).status_code == 302
    assert not visible_clips(w.custodian).filter(id=w.other_clip.id).exists()
    page = cust.get("/admin/rules/grant").content.decode()
    assert f'value="{other.id}"' not in page and f'value="{rec.id}"' in page
    n = Grant.objects.count()
    refused(cust, "/admin/rules/grant", {"recording": str(other.id), "user": "adm", "days": "1", "reason": "x"},
            404, "access.grant", "cust", "choose a recording")
    assert Grant.objects.count() == n
    with pytest.raises(rules.RuleDenied):  # nobody adds themselves to a restriction they are not on
        rules.restrict(str(other.id), "me too", allowed=["cust"], actor=w.custodian)
    assert not Restriction.objects.filter(allowed=w.custodian).exists()
    page = cust.get("/admin/rules/").content.decode()
    assert other.evidence_number in page and "victim statement" in page
    url = f"/admin/rules/restrictions/{other.id}/lift"
    assert "Lift restriction" in cust.get(url).content.decode()
    assert cust.post(url, {"confirm": "yes", "reason": "case closed"}).status_code == 302
    assert not Restriction.objects.exists() and visible_clips(w.custodian).filter(id=w.other_clip.id).exists()
    assert AuditEntry.objects.get(action="access.unrestrict").detail["allowed"] == ["det"]

    # other roles: refused and audited
    det = client_for(w.detective)
    refused(det, "/admin/rules/lock", {"recording": str(rec.id), "people": ["off.a"], "reason": "x"}, 403,
            "access.incident_lock", "det")
    before = last_seq()
    assert det.get("/admin/rules/").status_code == 403
    assert after(before, outcome="denied", action="access.rules.list", actor="det").count() == 1


def test_the_cli_still_adds_a_camera_with_its_key(tmp_path, capsys):
    from bodycam.cli import main

    pem, b64 = pem_key()
    (tmp_path / "device.pub").write_bytes(pem)
    assert main(["device", "add", "CLI-1", "--model", "W110", "--public-key-file", str(tmp_path / "device.pub")]) == 0
    d = Device.objects.get(serial="CLI-1")
    assert d.public_key == b64 and d.retired_at is None and d.assigned_officer is None
    assert AuditEntry.objects.filter(action="device.create", actor="cli").exists()
    assert main(["device", "add", "CLI-1"]) == 2  # duplicate serial: one line, nothing changed
    assert Device.objects.filter(serial="CLI-1").count() == 1
