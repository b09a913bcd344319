"""Retention pages through real sign-in: who may see and change what, forms that refuse bad
input with 400 and change nothing, charts, JSON, and the case extensions (close/reopen,
incident number, attached files uploaded and downloaded, all audited)."""

import hashlib
import io
from datetime import timedelta

import pytest

from bodycam.cases.models import Case, CaseFile
from bodycam.custody.models import AuditEntry
from bodycam.evidence.defaults import ensure_default_categories
from bodycam.evidence.models import Category
from bodycam.retention import services as ret
from bodycam.retention.models import DeletionEntry, LegalHold

from .access_helpers import World, client_for

pytestmark = pytest.mark.django_db


def post(client, url, data):
    return client.post(url, data | {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})


@pytest.fixture
def w(tmp_path):
    ensure_default_categories()
    return World(tmp_path)


def test_retention_pages_roles_forms_and_charts(w):
    cust, off, sgt, aud = (client_for(u) for u in (w.custodian, w.officer, w.supervisor, w.auditor))
    page = cust.get("/retention/")
    assert page.status_code == 200 and "Deletion queue" in page.content.decode()
    assert 'href="/retention/"' in page.content.decode()  # the nav link
    assert off.get("/retention/").status_code == 403
    assert AuditEntry.objects.filter(actor="off.a", action="retention.view", outcome="denied").exists()
    assert aud.get("/retention/").status_code == 200
    change = "/retention/categories/change"
    assert post(aud, change, {"category": "Arrest", "days": "4000", "reason": "r", "confirm": "yes"}).status_code == 403
    assert sgt.get("/retention/")["Location"] == "/retention/compliance/"
    assert sgt.get("/retention/storage/").status_code == 403

    # Category forms (issue 24: previewed, then confirmed with a reason; the overview's form
    # leads to the preview): extend freely, never below the floor (400, nothing changed).
    r = cust.get(change, {"category": "Arrest", "days": "100"})
    assert r.status_code == 400 and "below its minimum of 730" in r.content.decode()
    assert Category.objects.get(name="Arrest").retention_days == 1095
    assert cust.get(change, {"category": "Arrest", "days": "x"}).status_code == 400
    assert post(cust, change, {"category": "Arrest", "days": "1500", "reason": "DA asks", "confirm": "yes"}
                ).status_code == 302
    assert Category.objects.get(name="Arrest").retention_days == 1500
    assert post(cust, "/retention/", {"action": "category", "category": "Arrest", "days": "1600"}).status_code == 400
    assert post(cust, "/retention/", {"action": "bogus"}).status_code == 400

    # Hold form, then a queued item recovered through the form.
    rec = w.other_clip.recording
    assert post(cust, "/retention/", {"action": "hold", "name": "H1", "reason": "", "recordings": rec.container_name}
                ).status_code == 400
    assert post(cust, "/retention/", {"action": "hold", "name": "H1", "reason": "suit",
                                      "recordings": rec.container_name}).status_code == 302
    hold = LegalHold.objects.get(name="H1")
    assert rec.id in ret.blocked_ids()
    assert post(cust, "/retention/", {"action": "release_hold", "hold": str(hold.id)}).status_code == 200  # asks first
    assert rec.id in ret.blocked_ids()
    assert post(cust, "/retention/", {"action": "release_hold", "hold": str(hold.id), "confirm": "yes"}
                ).status_code == 302
    ret.sweep(now=rec.trigger_on_time + timedelta(days=366))
    assert str(rec.id) in cust.get("/retention/").content.decode()
    assert post(cust, "/retention/", {"action": "recover", "recording": str(rec.id), "reason": ""}).status_code == 400
    assert post(cust, "/retention/", {"action": "recover", "recording": str(rec.id), "reason": "IA review",
                                      "days": "10"}).status_code == 302
    assert DeletionEntry.objects.get(recording=rec).state == "recovered"
    data = cust.get("/retention/?format=json").json()
    assert data["queue"] == [] and data["policy"]["categories"]["Arrest"]["days"] == 1500

    # Storage: inline SVG charts (no script), JSON, bad price refused.
    s = cust.get("/retention/storage/")
    body = s.content.decode()
    assert s.status_code == 200 and "<svg" in body and "<script" not in body
    assert cust.get("/retention/storage/?format=json").json()["originals_bytes"] == \
        w.clip.size + w.other_clip.size
    assert cust.get("/retention/storage/?price=abc").status_code == 400
    # Compliance: the supervisor sees only squad A's officer.
    c = sgt.get("/retention/compliance/?format=json").json()
    assert [o["officer"] for o in c["officers"]] == ["off.a (101)"]
    assert sgt.get("/retention/compliance/?from=2026-99-01").status_code == 400
    assert off.get("/retention/compliance/").status_code == 403

    # CAD upload through the page (custodian only); a bad file is 400 and imports nothing.
    csv_text = ("incident_number,call_type,received_at,cleared_at,badges\n"
                f"26-1,TRAFFIC STOP,{(rec.trigger_on_time - timedelta(minutes=5)).isoformat()},,102\n")
    up = cust.post("/retention/cad/", {"file": io.BytesIO(csv_text.encode()),
                                       "csrfmiddlewaretoken": cust.cookies["csrftoken"].value})
    assert up.status_code == 200 and "1 recording link(s)" in up.content.decode()
    bad = cust.post("/retention/cad/", {"file": io.BytesIO(b"incident_number,call_type\n,\n"),
                                        "csrfmiddlewaretoken": cust.cookies["csrftoken"].value})
    assert bad.status_code == 400
    assert aud.get("/retention/cad/?q=26-1").status_code == 200
    item = cust.get(f"/evidence/{w.other_clip.id}/").content.decode()
    assert "26-1 (TRAFFIC STOP)" in item and "retention-info" in item
    assert post(aud, "/retention/cad/", {}).status_code == 403


def test_case_status_incident_and_files(w):
    det, cust, off = client_for(w.detective), client_for(w.custodian), client_for(w.officer)
    page = det.get("/cases/C-1/").content.decode()
    assert 'id="case-status">open<' in page and "Attach a file" in page
    # Closing the case (assigned detective) lets the recording's retention run; audited.
    assert post(off, "/cases/C-1/status", {"status": "closed"}).status_code == 404  # officers cannot see cases
    # Closing asks first (issue 24): without confirm=yes the answer is the question, nothing changes.
    r = post(det, "/cases/C-1/status", {"status": "closed", "incident_number": "26-004242"})
    assert r.status_code == 200 and "Close case C-1?" in r.content.decode()
    assert Case.objects.get(number="C-1").status == "open" and Case.objects.get(number="C-1").incident_number == ""
    r = post(det, "/cases/C-1/status", {"status": "closed", "incident_number": "26-004242", "confirm": "yes"})
    assert r.status_code == 302
    case = Case.objects.get(number="C-1")
    assert case.status == "closed" and case.incident_number == "26-004242" and case.closed_at
    assert AuditEntry.objects.filter(action="case.close", actor="det").exists()
    assert post(det, "/cases/C-1/status", {"status": "maybe"}).status_code == 400
    # Bad input changes nothing, not even the part that was valid, and the refusal is audited.
    assert post(det, "/cases/C-1/status", {"status": "maybe", "incident_number": "26-999999"}).status_code == 400
    assert post(det, "/cases/C-1/status", {"incident_number": "9" * 65}).status_code == 400
    assert Case.objects.get(number="C-1").incident_number == "26-004242"
    assert AuditEntry.objects.filter(action="case.status", outcome="denied", actor="det").count() == 3
    assert "closed" in det.get("/cases/").content.decode()

    # Files: uploaded to the store by hash, downloaded intact, every step audited.
    data = b"%PDF-1.4 incident report\n" * 100
    up = det.post("/cases/C-1/files", {"file": io.BytesIO(data), "description": "report",
                                       "csrfmiddlewaretoken": det.cookies["csrftoken"].value})
    assert up.status_code == 302
    cf = CaseFile.objects.get()
    assert cf.sha256 == hashlib.sha256(data).hexdigest() and cf.size == len(data)
    assert "report" in det.get("/cases/C-1/").content.decode()
    got = cust.get(f"/cases/C-1/files/{cf.id}")
    assert got.status_code == 200 and b"".join(got.streaming_content) == data
    assert off.get(f"/cases/C-1/files/{cf.id}").status_code == 404
    assert cust.get("/cases/C-1/files/not-an-id").status_code == 404
    empty = det.post("/cases/C-1/files", {"csrfmiddlewaretoken": det.cookies["csrftoken"].value})
    assert empty.status_code == 400 and CaseFile.objects.count() == 1
    assert {"case.file_upload", "case.file_download"} <= set(AuditEntry.objects.values_list("action", flat=True))
    # A case file is catalogued: the orphan sweep leaves it in place and fixity checks it.
    from bodycam.custody.fixity import catalogue_hashes, sweep_orphans
    from bodycam.storage import get_store

    assert cf.sha256 not in sweep_orphans(grace_seconds=0)["quarantined"]
    assert get_store().exists(cf.sha256) and catalogue_hashes()[cf.sha256][0]["kind"] == "case_file"
