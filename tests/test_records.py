"""Public-records requests: deadlines (45 days for critical incidents, logged 30-day
extensions), items, redactions, custodian approval or denial, the release package (redacted
copies with C2PA manifests + manifest.json + SHA256SUMS), roles, bad input, audit."""

import hashlib
import io
import json
import zipfile
from datetime import date, datetime, timedelta, timezone

import pytest

from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Clip
from bodycam.media import c2pa_sign
from bodycam.records.models import RecordsRequest

from .access_helpers import World, client_for, make_user

pytestmark = pytest.mark.django_db


def _post(c, url, data):
    return c.post(url, data, HTTP_X_CSRFTOKEN=c.cookies["csrftoken"].value)


def _api(c, method, url, body=None):
    return getattr(c, method)(url, json.dumps(body) if body is not None else None, content_type="application/json",
                              HTTP_X_CSRFTOKEN=c.cookies["csrftoken"].value)


def test_records_request_workflow(tmp_path, settings):
    settings.JOBS_INLINE = True
    settings.MEDIA_AUTO_PLAYBACK = False
    w = World(tmp_path)
    cust = client_for(w.custodian)

    # Only custodians handle records requests; every refusal is audited.
    clients = {}
    for user in (w.officer, w.detective, w.prosecutor, w.auditor):
        c = clients[user.username] = client_for(user)
        assert c.get("/records/").status_code == 403
        assert _post(c, "/records/", {"requester": "x", "scope": "y"}).status_code == 403
    assert AuditEntry.objects.filter(action="records.list", outcome="denied").count() == 4
    assert "Records requests" in cust.get("/").content.decode()

    # Bad input: clear 400, nothing created.
    received = date.today() - timedelta(days=3)
    assert _post(cust, "/records/", {"requester": "", "scope": "x"}).status_code == 400
    assert _post(cust, "/records/", {"requester": "A", "scope": "x", "received_on": "yesterday"}).status_code == 400
    future = (date.today() + timedelta(days=2)).isoformat()
    assert _post(cust, "/records/", {"requester": "A", "scope": "x", "received_on": future}).status_code == 400
    assert not RecordsRequest.objects.exists()

    r = _post(cust, "/records/", {"requester": "Daily Gazette", "scope": "BWC video of the 4 May shooting",
                                  "received_on": received.isoformat(), "critical_incident": "yes"})
    assert r.status_code == 302
    req = RecordsRequest.objects.get()
    assert req.number.startswith(f"PRR-{received.year}-") and req.deadline == received + timedelta(days=45)
    url = f"/records/{req.number}/"
    assert _post(cust, url, {"action": "extend", "reason": ""}).status_code == 400
    assert _post(cust, url, {"action": "extend", "reason": "review of 40 hours of footage"}).status_code == 302
    req.refresh_from_db()
    assert req.deadline == received + timedelta(days=75)
    ext = req.extensions.get()
    assert ext.days == 30 and ext.by == w.custodian and ext.old_deadline == received + timedelta(days=45)

    # Items: a clip; an unknown clip is refused; submitting before redaction is refused.
    assert _post(cust, url, {"action": "add_item", "clip": "not-a-clip"}).status_code == 404
    assert _post(cust, url, {"action": "add_item", "clip": str(w.clip.id)}).status_code == 302
    assert _post(cust, url, {"action": "add_item", "clip": str(w.clip.id)}).status_code == 400
    assert _post(cust, url, {"action": "submit"}).status_code == 400
    item = req.items.get()

    # Redact (a manual box; the test pattern has no faces) and attach.
    red = _api(cust, "post", f"/api/evidence/{w.clip.id}/redactions", {"step": 10}).json()
    assert red["status"] == "review"
    assert _api(cust, "patch", f"/api/redactions/{red['id']}",
                {"reason": "juvenile", "add_tracks": [{"label": "screen", "keys": [[0, 10, 10, 200, 120],
                                                                                    [29, 10, 10, 200, 120]]}]}
                ).status_code == 200
    done = _api(cust, "post", f"/api/redactions/{red['id']}/render").json()
    assert done["status"] == "done" and done["output_sha256"]
    page = cust.get(url).content.decode()
    assert "Attach" in page
    assert _post(cust, url, {"action": "attach", "item": str(item.id), "redaction": red["id"]}).status_code == 302

    # Release steps in order only: approve before submit is refused. Approving and releasing
    # ask first (confirm=yes); a second custodian approves what the first submitted (issue 23).
    cust2 = client_for(make_user("cust2", "custodian"))
    assert _post(cust2, url, {"action": "approve", "confirm": "yes"}).status_code == 400
    assert _post(cust, url, {"action": "release", "confirm": "yes"}).status_code == 400
    assert _post(cust, url, {"action": "submit"}).status_code == 302
    assert _post(cust, url, {"action": "add_item", "clip": str(w.other_clip.id)}).status_code == 400  # frozen
    assert _post(clients["det"], url, {"action": "approve", "confirm": "yes"}).status_code == 403
    # Approving and releasing ask first: without the confirmation nothing changes.
    assert _post(cust2, url, {"action": "approve", "note": "exempt parts redacted"}).status_code == 200
    assert RecordsRequest.objects.get(pk=req.pk).status == "submitted"
    assert _post(cust2, url, {"action": "approve", "note": "exempt parts redacted", "confirm": "yes"}).status_code == 302
    assert _post(cust, url, {"action": "release"}).status_code == 200
    assert RecordsRequest.objects.get(pk=req.pk).status == "approved"
    assert _post(cust, url, {"action": "release", "confirm": "yes"}).status_code == 302
    req.refresh_from_db()
    assert req.status == "released" and req.approved_by.username == "cust2" and req.package_sha256

    # The package: the redacted copy (C2PA-valid), manifest.json with hashes and reasons, SHA256SUMS.
    assert clients["det"].get(url + "package.zip").status_code == 403
    resp = cust.get(url + "package.zip")
    assert resp.status_code == 200
    data = b"".join(resp.streaming_content)
    assert hashlib.sha256(data).hexdigest() == req.package_sha256
    # The package is catalogued: the orphan sweep leaves it in place and fixity checks it.
    from bodycam.custody.fixity import catalogue_hashes, sweep_orphans

    assert req.package_sha256 not in sweep_orphans(grace_seconds=0)["quarantined"]
    assert catalogue_hashes()[req.package_sha256][0]["kind"] == "release_package"
    z = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(z.read("manifest.json"))
    [entry] = manifest["items"]
    video = z.read(entry["file"])
    assert hashlib.sha256(video).hexdigest() == entry["sha256"] == done["output_sha256"]
    assert entry["original_sha256"] == w.clip.sha256 and entry["redactions"] and "juvenile" in entry["redactions"][0]
    sums = dict(line.split("  ")[::-1] for line in z.read("SHA256SUMS").decode().splitlines())
    assert sums[entry["file"]] == entry["sha256"]
    assert set(sums) == set(z.namelist()) - {"SHA256SUMS"}  # every other file is covered
    assert all(hashlib.sha256(z.read(n)).hexdigest() == h for n, h in sums.items())
    assert c2pa_sign.verify(video, trust_pem=z.read("c2pa-ca.pem").decode())["ingredients"] == \
        [f"original sha256:{w.clip.sha256}"]
    assert manifest["request"]["approved_by"] == "cust2" and manifest["request"]["critical_incident"] is True
    assert manifest["request"]["submitted_by"] == "cust" and manifest["request"]["single_person_approval"] is False
    for action in ("records.create", "records.extend", "records.add_item", "records.attach_redaction",
                   "records.submit", "records.approve", "records.release", "records.package", "records.download"):
        assert AuditEntry.objects.filter(action=action, object_id=req.number, outcome="ok").exists(), action

    # A second request is denied, with the exemption given.
    _post(cust, "/records/", {"requester": "J. Doe", "scope": "all video of 5 May", "received_on": date.today()})
    other = RecordsRequest.objects.exclude(pk=req.pk).get()
    assert other.deadline == date.today() + timedelta(days=10)
    ourl = f"/records/{other.number}/"
    _post(cust, ourl, {"action": "add_item", "clip": str(w.other_clip.id)})
    rr = _api(cust, "post", f"/api/evidence/{w.other_clip.id}/redactions", {"step": 10}).json()
    _api(cust, "patch", f"/api/redactions/{rr['id']}", {"reason": "privacy", "add_tracks": [
        {"keys": [[0, 0, 0, 50, 50], [10, 0, 0, 50, 50]]}]})
    _api(cust, "post", f"/api/redactions/{rr['id']}/render")
    _post(cust, ourl, {"action": "attach", "item": str(other.items.get().id), "redaction": rr["id"]})
    assert _post(cust, ourl, {"action": "submit"}).status_code == 302
    assert _post(cust, ourl, {"action": "deny", "note": "", "confirm": "yes"}).status_code == 400
    assert _post(cust, ourl, {"action": "deny", "note": "active investigation exemption", "confirm": "yes"}
                 ).status_code == 302
    other.refresh_from_db()
    assert other.status == "denied" and other.decision_note == "active investigation exemption"
    assert cust.get(ourl + "package.zip").status_code == 400


# ---------------------------------------------------------------- issue 23: review, delivery, correspondence
def _submitted_as_is(w, cust, tmp_path):
    """A request with officer A's clip marked to release as it is, submitted by ``cust``."""
    _post(cust, "/records/", {"requester": "Harbor Gazette", "scope": "video of 1 May",
                              "received_on": date.today().isoformat()})
    req = RecordsRequest.objects.get()
    url = f"/records/{req.number}/"
    assert _post(cust, url, {"action": "add_item", "clip": str(w.clip.id)}).status_code == 302
    item = req.items.get()
    assert _post(cust, url, {"action": "as_is", "item": str(item.id), "reason": "no faces, no plates"}).status_code \
        == 302
    assert _post(cust, url, {"action": "submit"}).status_code == 302
    req.refresh_from_db()
    return req, url, item


def _open_request(cust):
    """A request received today, opened by ``cust``: (the request, its page's URL)."""
    _post(cust, "/records/", {"requester": "A", "scope": "x", "received_on": date.today().isoformat()})
    req = RecordsRequest.objects.get()
    return req, f"/records/{req.number}/"


def test_remove_item_needs_a_reason_and_leaves_the_release(tmp_path, settings):
    settings.JOBS_INLINE = True
    w = World(tmp_path)
    cust = client_for(w.custodian)
    req, url = _open_request(cust)
    _post(cust, url, {"action": "add_item", "clip": str(w.clip.id)})
    _post(cust, url, {"action": "add_item", "clip": str(w.other_clip.id)})
    first, second = req.items.order_by("added_at")
    before = AuditEntry.objects.count()
    assert _post(cust, url, {"action": "remove_item", "item": str(first.id), "reason": ""}).status_code == 400
    assert _post(cust, url, {"action": "remove_item", "item": "nope", "reason": "x"}).status_code == 400
    assert _post(cust, url, {"action": "remove_item", "item": str(first.id), "reason": "x" * 501}).status_code == 400
    first.refresh_from_db()
    assert first.removed_at is None
    assert AuditEntry.objects.filter(seq__gt=before, action="records.remove_item", outcome="denied").count() == 3
    assert _post(cust, url, {"action": "remove_item", "item": str(first.id),
                             "reason": "outside the requested time"}).status_code == 302
    first.refresh_from_db()
    assert first.removed_at and first.removed_by == w.custodian and first.removal_reason == "outside the requested time"
    e = AuditEntry.objects.get(action="records.remove_item", outcome="ok")
    assert e.object_id == req.number and e.detail["reason"] == "outside the requested time"
    page = cust.get(url).content.decode()
    assert 'id="removed"' in page and "outside the requested time" in page
    # A removed item needs no decision: the other one, released as it is, is enough to submit.
    _post(cust, url, {"action": "as_is", "item": str(second.id), "reason": "nothing to redact"})
    assert _post(cust, url, {"action": "submit"}).status_code == 302
    req.refresh_from_db()
    assert req.status == "submitted"
    # A removed item cannot be changed, and a removal is refused once submitted.
    assert _post(cust, url, {"action": "remove_item", "item": str(second.id), "reason": "x"}).status_code == 400


def test_removed_item_can_be_added_again(tmp_path, settings):
    w = World(tmp_path)
    cust = client_for(w.custodian)
    req, url = _open_request(cust)
    _post(cust, url, {"action": "add_item", "clip": str(w.clip.id)})
    item = req.items.get()
    _post(cust, url, {"action": "remove_item", "item": str(item.id), "reason": "by mistake"})
    assert _post(cust, url, {"action": "add_item", "clip": str(w.clip.id)}).status_code == 302
    item.refresh_from_db()
    assert item.removed_at is None and req.items.count() == 1


def test_release_as_is_needs_a_reason_and_no_redaction(tmp_path, settings):
    settings.JOBS_INLINE = True
    w = World(tmp_path)
    cust, cust2 = client_for(w.custodian), client_for(make_user("cust2", "custodian"))
    req, url = _open_request(cust)
    _post(cust, url, {"action": "add_item", "clip": str(w.clip.id)})
    item = req.items.get()
    assert _post(cust, url, {"action": "submit"}).status_code == 400  # undecided item
    assert _post(cust, url, {"action": "as_is", "item": str(item.id), "reason": "  "}).status_code == 400
    item.refresh_from_db()
    assert item.as_is_reason == ""
    assert _post(cust, url, {"action": "as_is", "item": str(item.id), "reason": "an empty hallway"}).status_code == 302
    from bodycam.media.models import Redaction

    assert not Redaction.objects.exists()  # no fake empty redaction
    e = AuditEntry.objects.get(action="records.release_as_is", outcome="ok")
    assert e.detail["after"] == {"redaction": None, "as_is_reason": "an empty hallway"}
    assert _post(cust, url, {"action": "submit"}).status_code == 302
    assert _post(cust2, url, {"action": "approve", "confirm": "yes"}).status_code == 302
    assert _post(cust, url, {"action": "release", "confirm": "yes"}).status_code == 302
    req.refresh_from_db()
    assert req.status == "released"
    z = zipfile.ZipFile(io.BytesIO(b"".join(cust.get(url + "package.zip").streaming_content)))
    [entry] = json.loads(z.read("manifest.json"))["items"]
    assert entry["released_as_is"] is True and entry["as_is_reason"] == "an empty hallway"
    assert entry["sha256"] == entry["original_sha256"] == w.clip.sha256
    assert hashlib.sha256(z.read(entry["file"])).hexdigest() == w.clip.sha256  # the original, bit for bit


def test_the_submitter_does_not_approve_unless_the_agency_allows(tmp_path, settings):
    settings.JOBS_INLINE = True
    w = World(tmp_path)
    cust = client_for(w.custodian)
    req, url, _ = _submitted_as_is(w, cust, tmp_path)
    page = cust.get(url).content.decode()
    assert 'id="awaiting"' in page and 'id="approve"' not in page
    before = AuditEntry.objects.count()
    r = _post(cust, url, {"action": "approve", "confirm": "yes"})
    assert r.status_code == 403 and "another custodian" in r.content.decode()
    req.refresh_from_db()
    assert req.status == "submitted" and req.approved_by is None
    assert AuditEntry.objects.filter(seq__gt=before, action="records.approve", outcome="denied").count() == 1
    # The agency setting lets one person do both, and the request says so.
    settings.RECORDS_SINGLE_PERSON_APPROVAL = True
    assert 'id="single-person-note"' in cust.get(url).content.decode()
    assert _post(cust, url, {"action": "approve", "confirm": "yes"}).status_code == 302
    req.refresh_from_db()
    assert req.status == "approved" and req.approved_by == w.custodian and req.single_person_approval
    assert AuditEntry.objects.get(action="records.approve", outcome="ok").detail["single_person_approval"] is True
    assert 'id="single-person"' in cust.get(url).content.decode()


def test_approve_release_and_revoke_ask_first(tmp_path, settings):
    settings.JOBS_INLINE = True
    w = World(tmp_path)
    cust, cust2 = client_for(w.custodian), client_for(make_user("cust2", "custodian"))
    req, url, _ = _submitted_as_is(w, cust, tmp_path)
    r = _post(cust2, url, {"action": "approve", "note": "ok"})
    assert r.status_code == 200 and 'id="confirm"' in r.content.decode() and 'name="note" value="ok"' in \
        r.content.decode()
    req.refresh_from_db()
    assert req.status == "submitted"
    _post(cust2, url, {"action": "approve", "note": "ok", "confirm": "yes"})
    r = _post(cust, url, {"action": "release"})
    assert r.status_code == 200 and 'id="confirm"' in r.content.decode()
    req.refresh_from_db()
    assert req.status == "approved"


def _released(w, tmp_path):
    cust, cust2 = client_for(w.custodian), client_for(make_user("cust2", "custodian"))
    req, url, _ = _submitted_as_is(w, cust, tmp_path)
    _post(cust2, url, {"action": "approve", "confirm": "yes"})
    _post(cust, url, {"action": "release", "confirm": "yes"})
    req.refresh_from_db()
    assert req.status == "released"
    return cust, req, url


def _delivery_url(cust, url, days="7"):
    from bodycam.records.models import DeliveryLink

    n = DeliveryLink.objects.count()
    r = _post(cust, url, {"action": "delivery_link", "days": days, "label": "J. Lind"})
    assert r.status_code == 200 and DeliveryLink.objects.count() == n + 1
    import re

    return re.search(r'id="new-link">[^<]*<code class="hash">(http://testserver/r/[^<]+/)</code>',
                     r.content.decode()).group(1).replace("http://testserver", "")


def test_delivery_link_downloads_for_an_anonymous_requester(tmp_path, settings):
    from django.test import Client

    from bodycam.records.models import DeliveryLink

    settings.JOBS_INLINE = True
    w = World(tmp_path)
    cust, req, url = _released(w, tmp_path)
    # Bad input: a clear 400, nothing made.
    for days in ("0", "x", str(settings.RECORDS_DELIVERY_DAYS + 1)):
        assert _post(cust, url, {"action": "delivery_link", "days": days}).status_code == 400
    assert not DeliveryLink.objects.exists()
    path = _delivery_url(cust, url)
    token = path.split("/")[2]
    link = DeliveryLink.objects.get()
    assert link.token_sha256 == hashlib.sha256(token.encode()).hexdigest() and token not in link.token_sha256
    anon = Client()
    r = anon.get(path)
    assert r.status_code == 302 and r["Location"] == f"/r/l/{link.id}/"
    assert r["Referrer-Policy"] == "no-referrer" and r["Cache-Control"] == "no-store"
    page = anon.get(r["Location"])
    assert page.status_code == 200 and "delivery-download" in page.content.decode()
    resp = anon.get(f"/r/l/{link.id}/package.zip")
    assert resp.status_code == 200
    assert hashlib.sha256(b"".join(resp.streaming_content)).hexdigest() == req.package_sha256
    dl = AuditEntry.objects.get(action="records.delivery_download")
    assert dl.actor == f"delivery:{link.id}" and dl.object_id == req.number and dl.object_sha256 == req.package_sha256
    assert AuditEntry.objects.filter(action="records.delivery_open", actor=f"delivery:{link.id}").exists()
    assert not any(token in json.dumps(e.detail) for e in AuditEntry.objects.all())  # tokens never reach the log
    # Without the cookie, the link's pages are refused; another link id too.
    assert Client().get(f"/r/l/{link.id}/package.zip").status_code == 404
    link.refresh_from_db()
    assert link.downloads == 1 and link.last_used_at
    page = cust.get(url).content.decode()
    assert "1 download" in page


def test_revoked_or_expired_delivery_link_is_gone_and_audited(tmp_path, settings):
    from datetime import datetime, timezone

    from django.test import Client

    from bodycam.records.models import DeliveryLink

    settings.JOBS_INLINE = True
    w = World(tmp_path)
    cust, req, url = _released(w, tmp_path)
    path = _delivery_url(cust, url)
    link = DeliveryLink.objects.get()
    anon = Client()
    anon.get(path)  # the cookie
    assert Client().get("/r/not-a-token/").status_code == 404
    # Revoking asks first, then the link and its pages answer 410.
    r = _post(cust, url, {"action": "revoke_link", "link": str(link.id)})
    assert r.status_code == 200 and 'id="confirm"' in r.content.decode()
    assert _post(cust, url, {"action": "revoke_link", "link": str(link.id), "confirm": "yes"}).status_code == 302
    assert _post(cust, url, {"action": "revoke_link", "link": str(link.id), "confirm": "yes"}).status_code == 400
    link.refresh_from_db()
    assert link.revoked_at and link.revoked_by == w.custodian
    assert AuditEntry.objects.filter(action="records.delivery_revoke", outcome="ok").count() == 1
    before = AuditEntry.objects.count()
    assert Client().get(path).status_code == 410
    assert anon.get(f"/r/l/{link.id}/package.zip").status_code == 410
    denied = AuditEntry.objects.filter(seq__gt=before, action="records.delivery_denied", outcome="denied")
    assert denied.count() == 2 and all(e.detail["status"] == 410 and e.object_id == req.number for e in denied)
    # An expired link: 410 as well.
    path2 = _delivery_url(cust, url)
    DeliveryLink.objects.filter(revoked_at__isnull=True).update(expires_at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert Client().get(path2).status_code == 410
    assert any("expired" in e.detail["reason"] for e in AuditEntry.objects.filter(action="records.delivery_denied"))
    assert "expired" in cust.get(url).content.decode()


def test_delivery_link_only_for_a_released_request(tmp_path, settings):
    settings.JOBS_INLINE = True
    w = World(tmp_path)
    cust = client_for(w.custodian)
    req, url, _ = _submitted_as_is(w, cust, tmp_path)
    assert _post(cust, url, {"action": "delivery_link", "days": "7"}).status_code == 400
    assert AuditEntry.objects.filter(action="records.delivery_link", outcome="denied").count() == 1


def test_correspondence_log(tmp_path, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bodycam.records.models import Correspondence

    w = World(tmp_path)
    cust = client_for(w.custodian)
    req, url = _open_request(cust)
    today = date.today().isoformat()
    assert "No correspondence logged" in cust.get(url).content.decode()
    bad = [{"direction": "sideways", "on": today, "summary": "x"},
           {"direction": "sent", "on": "soon", "summary": "x"},
           {"direction": "sent", "on": (date.today() + timedelta(days=1)).isoformat(), "summary": "x"},
           {"direction": "sent", "on": today, "summary": ""},
           {"direction": "sent", "on": today, "summary": "x" * 2001}]
    for data in bad:
        assert _post(cust, url, {"action": "correspondence", **data}).status_code == 400, data
    assert not Correspondence.objects.exists()
    letter = SimpleUploadedFile("ack letter.pdf", b"%PDF-1.4 acknowledgement", content_type="application/pdf")
    r = cust.post(url, {"action": "correspondence", "direction": "sent", "on": today,
                        "summary": "Acknowledged receipt; estimated 10 days", "file": letter},
                  HTTP_X_CSRFTOKEN=cust.cookies["csrftoken"].value)
    assert r.status_code == 302
    _post(cust, url, {"action": "correspondence", "direction": "received", "on": today,
                      "summary": "Requester narrowed the scope to 07:00-08:00"})
    sent, received = Correspondence.objects.order_by("at")
    assert sent.file_sha256 == hashlib.sha256(b"%PDF-1.4 acknowledgement").hexdigest() and not received.file_sha256
    page = cust.get(url).content.decode()
    assert "Acknowledged receipt" in page and "narrowed the scope" in page and "ack letter.pdf" in page
    f = cust.get(f"{url}correspondence/{sent.id}/file")
    assert f.status_code == 200 and b"".join(f.streaming_content) == b"%PDF-1.4 acknowledgement"
    assert cust.get(f"{url}correspondence/{received.id}/file").status_code == 404
    assert client_for(w.detective).get(f"{url}correspondence/{sent.id}/file").status_code == 403
    assert AuditEntry.objects.filter(action="records.correspondence", outcome="ok").count() == 2
    assert AuditEntry.objects.filter(action="records.correspondence_file", outcome="ok").count() == 1
    # The file is catalogued: the orphan sweep leaves it, fixity checks it.
    from bodycam.custody.fixity import catalogue_hashes, sweep_orphans

    assert sent.file_sha256 not in sweep_orphans(grace_seconds=0)["quarantined"]
    assert catalogue_hashes()[sent.file_sha256][0]["kind"] == "records_correspondence"


def test_records_pages_name_items_by_evidence_number_never_the_camera_file(tmp_path, settings):
    w = World(tmp_path)
    cust = client_for(w.custodian)
    req, url = _open_request(cust)
    _post(cust, url, {"action": "add_item", "clip": str(w.clip.id)})
    rec = w.clip.recording
    assert rec.evidence_number
    for page_url in (url, f"/records/clip/{w.clip.id}/redact/", f"/records/clip/{w.clip.id}/transcript/"):
        page = cust.get(page_url)
        assert page.status_code == 200, page_url
        text = page.content.decode()
        assert rec.evidence_number in text and w.clip.object_name not in text, page_url
    # A recording of several clips: the page says which clip it is.
    began = datetime(2026, 1, 1, tzinfo=timezone.utc)
    Clip.objects.filter(pk=w.clip.pk).update(start_time=began)
    second = Clip.objects.create(recording=rec, object_name="20260101_000010_00002.mp4", sha256=w.clip.sha256,
                                 md5=w.clip.md5, size=w.clip.size, container_type="mp4", duration_s=1.0,
                                 start_time=began + timedelta(seconds=10))
    text = cust.get(f"/records/clip/{second.id}/redact/").content.decode()
    assert f"{rec.evidence_number} · " in text and "clip 2 of 2" in text and second.object_name not in text
