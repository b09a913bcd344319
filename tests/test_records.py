"""Public-records requests: deadlines (45 days for critical incidents, logged 30-day
extensions), items, redactions, custodian approval or denial, the release package (redacted
copies with C2PA manifests + manifest.json + SHA256SUMS), roles, bad input, audit."""

import hashlib
import io
import json
import zipfile
from datetime import date, timedelta

import pytest

from bodycam.custody.models import AuditEntry
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
    assert _post(cust2, url, {"action": "approve", "note": "exempt parts redacted", "confirm": "yes"}).status_code == 302
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
