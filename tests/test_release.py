"""Release: case shares to prosecutors, expiring revocable links ("do not re-share" binds
a link to one browser), court exports verified offline and their tampering detected."""

import base64
import hashlib
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from django.test import Client

from bodycam.access import rules
from bodycam.access.services import visible_clips
from bodycam.custody.models import AuditEntry
from bodycam.provenance.export import verify_export
from bodycam.release.models import ShareLink

from .access_helpers import World, client_for, make_user

pytestmark = pytest.mark.django_db


def post_json(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json",
                       HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)


def test_case_share_reaches_later_recordings_until_revoked(tmp_path, django_assert_num_queries):
    w = World(tmp_path)
    ada2 = make_user("ada2", "prosecutor")
    det = client_for(w.detective)
    assert not visible_clips(ada2).exists()
    r = post_json(det, "/api/cases/C-1/shares", {"recipient": "ada2", "no_reshare": True})
    assert r.status_code == 201 and r.json()["no_reshare"] is True
    assert set(visible_clips(ada2)) == {w.clip}
    with django_assert_num_queries(1):  # still the one restricted query
        list(visible_clips(ada2))
    w.clip.recording.cases.first().recordings.add(w.other_clip.recording)  # added to the case later
    assert set(visible_clips(ada2)) == {w.clip, w.other_clip}
    p = client_for(ada2)
    page = p.get(f"/evidence/{w.clip.id}/").content.decode()
    assert "DO NOT RE-SHARE" in page and "Share with" not in page
    assert p.get(f"/api/evidence/{w.clip.id}/download").status_code == 403  # view only
    assert p.get("/api/cases/C-1/export").status_code == 403
    assert "C-1" in p.get("/cases/").content.decode()
    # Only sharers of this case, only to prosecutors; bad input is 400 and changes nothing.
    assert post_json(client_for(w.officer), "/api/cases/C-1/shares", {"recipient": "ada2"}).status_code == 404
    assert post_json(det, "/api/cases/C-1/shares", {"recipient": "off.b"}).status_code == 400
    assert post_json(det, "/api/cases/C-1/shares", {"recipient": "ada2", "days": 0}).status_code == 400
    for days in ("\u00b2", "9" * 5000, "1.5"):  # isdigit() yet not a number int() takes; too long; not whole
        assert post_json(det, "/api/cases/C-1/shares", {"recipient": "ada2", "days": days}).status_code == 400
    assert post_json(det, "/api/cases/NOPE/shares", {"recipient": "ada2"}).status_code == 404
    share_id = r.json()["id"]
    assert post_json(client_for(w.officer), f"/api/shares/case/{share_id}/revoke", {}).status_code == 404
    assert post_json(det, f"/api/shares/case/{share_id}/revoke", {}).status_code == 200
    assert not visible_clips(ada2).exists()
    assert p.get(f"/evidence/{w.clip.id}/").status_code == 404
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"release.case_share", "release.revoke"} <= actions


def test_links_expire_revoke_and_bind_to_one_browser(tmp_path):
    w = World(tmp_path)
    det = client_for(w.detective)
    r = post_json(det, f"/api/evidence/{w.clip.id}/links", {"days": 7, "label": "ADA Smith"})
    assert r.status_code == 201, r.content
    url = r.json()["url"].replace("http://testserver", "")
    link = ShareLink.objects.get()
    anon = Client()
    enter = anon.get(url)  # the shared URL moves its token into a cookie for the link's pages
    base = enter["Location"]
    assert enter.status_code == 302 and base == f"/s/l/{link.id}/" and enter["Referrer-Policy"] == "no-referrer"
    page = anon.get(base)
    assert page.status_code == 200 and str(w.clip.id) in page.content.decode()
    assert Client().get(base).status_code == 404  # the link id alone is not a credential
    # A view-only link plays the proxy, never the original (test_access_holes.py: 503 until one exists).
    from bodycam.jobs.services import submit

    submit("media.playback", params={"clip_id": str(w.clip.id)}, inline=True)
    m = anon.get(f"{base}media/{w.clip.id}", HTTP_RANGE="bytes=0-99")
    assert m.status_code == 206
    assert anon.get(f"{base}download/{w.clip.id}").status_code == 403  # view only
    assert anon.get(f"{base}export").status_code == 403
    assert anon.get(f"{base}media/{w.other_clip.id}").status_code == 404  # not in this link
    assert AuditEntry.objects.filter(actor=f"link:{link.id}", action="evidence.play", outcome="ok").count() == 1
    assert AuditEntry.objects.filter(actor=f"link:{link.id}", action="evidence.play", outcome="denied").count() == 1
    # A restriction wins over a link (a link names no person).
    rules.restrict(str(w.clip.recording_id), "victim statement", allowed=["det"])
    assert anon.get(f"{base}media/{w.clip.id}").status_code == 404
    # Bad / revoked / expired.
    assert Client().get("/s/not-a-token/").status_code == 404
    ShareLink.objects.filter(pk=link.pk).update(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    assert anon.get(url).status_code == 410 and anon.get(base).status_code == 410
    ShareLink.objects.filter(pk=link.pk).update(expires_at=datetime.now(timezone.utc) + timedelta(days=1))
    assert post_json(det, f"/api/shares/link/{link.id}/revoke", {}).status_code == 200
    assert anon.get(url).status_code == 410 and anon.get(f"{base}media/{w.clip.id}").status_code == 410
    assert post_json(det, f"/api/evidence/{w.clip.id}/links", {"days": 9999}).status_code == 400
    assert post_json(client_for(w.other_officer), f"/api/evidence/{w.other_clip.id}/links",
                     {"days": 1}).status_code == 403  # officers see their footage but do not share it

    # "Do not re-share": the first browser keeps it; a forwarded URL is refused.
    r = post_json(det, "/api/cases/C-1/links", {"days": 1, "no_reshare": True, "allow_download": True})
    url2 = r.json()["url"].replace("http://testserver", "")
    first, second = Client(), Client()
    assert first.get(url2, follow=True).status_code == 200
    assert second.get(url2).status_code == 403
    assert first.get(url2, follow=True).status_code == 200  # the first browser may come back by the URL
    assert AuditEntry.objects.filter(action="release.link.denied", outcome="denied").exists()
    # Link tokens never reach the audit log (only link ids do).
    log = json.dumps(list(AuditEntry.objects.values_list("detail", flat=True)))
    assert url.split("/")[2] not in log and url2.split("/")[2] not in log and "/s/<token>" in log
    # The item page lists every share that reaches the item, with who made it.
    shares = det.get(f"/evidence/{w.clip.id}/").content.decode()
    assert "ADA Smith by det" in shares and "(case C-1)" in shares


def _zip_replace(data: bytes, name: str, new: bytes | None = None, add: tuple | None = None) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            z.writestr(info, new if (info.filename == name and new is not None) else src.read(info))
        if add:
            z.writestr(*add)
    return out.getvalue()


def test_court_export_verifies_offline_and_tampering_fails(tmp_path):
    w = World(tmp_path)
    cust = client_for(w.custodian)
    r = cust.get(f"/api/evidence/{w.clip.id}/export")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    data = b"".join(r.streaming_content)
    good = tmp_path / "good.zip"
    good.write_bytes(data)
    v = verify_export(str(good))
    assert v.ok, v.problems
    assert v.items == 1 and v.checked_files >= 5
    z = zipfile.ZipFile(io.BytesIO(data))
    info = json.loads(z.read("export.json"))
    orig = info["items"][0]["original"]
    assert hashlib.sha256(z.read(orig)).hexdigest() == w.clip.sha256  # the original, bit for bit
    assert "VERIFY.txt" in z.namelist() and "sha256sum -c SHA256SUMS" in z.read("VERIFY.txt").decode()
    report = json.loads(z.read(info["items"][0]["custody_report"].replace(".pdf", ".json")))
    assert "evidence.export" in json.dumps(report)  # the custody report lists this export
    assert z.read(info["items"][0]["custody_report"])[:4] == b"%PDF"
    assert AuditEntry.objects.filter(action="release.export", actor="cust").count() == 1

    def check(blob, words, key=None):
        p = tmp_path / "t.zip"
        p.write_bytes(blob)
        res = verify_export(str(p), trusted_server_key=key)
        assert not res.ok and any(words in prob for prob in res.problems), res.problems

    original = z.read(orig)
    check(_zip_replace(data, orig, original[:-1] + bytes([original[-1] ^ 1])), "differs from SHA256SUMS")
    check(_zip_replace(data, "x", add=("originals/extra.mp4", b"x")), "not listed")
    lines = [ln for ln in z.read("SHA256SUMS").decode().splitlines() if not ln.endswith("VERIFY.txt")]
    check(_zip_replace(data, "SHA256SUMS", ("\n".join(lines) + "\n").encode()), "signature")
    check(data, "not the trusted server key", key=base64.b64encode(b"\x01" * 32).decode())
    check(b"PK\x03\x04 not a zip", "not a readable ZIP")
    # Prosecutor with a view-only share may not export; one with download may.
    from bodycam.release.models import Share

    Share.objects.filter(recipient=w.prosecutor).update(allow_download=False)
    assert client_for(w.prosecutor).get(f"/api/evidence/{w.clip.id}/export").status_code == 403
    assert client_for(w.officer).get(f"/api/evidence/{w.clip.id}/export").status_code == 403
    assert client_for(w.other_officer).get(f"/api/evidence/{w.clip.id}/export").status_code == 404


def test_incident_and_case_timelines_stay_inside_visibility(tmp_path):
    w = World(tmp_path)
    rec = w.clip.recording
    off = client_for(w.officer)
    page = off.get(f"/timeline/?incident={rec.id}")
    assert page.status_code == 200 and str(w.clip.id) in page.content.decode()
    assert str(w.other_clip.id) not in page.content.decode()  # same time, but not the officer's to see
    cust = client_for(w.custodian)
    both = cust.get(f"/timeline/?incident={rec.id}").content.decode()
    assert str(w.clip.id) in both and str(w.other_clip.id) in both  # overlapping runs: one incident
    assert AuditEntry.objects.filter(action="evidence.timeline", actor="cust").exists()
    assert client_for(w.other_officer).get(f"/timeline/?incident={rec.id}").status_code == 404
    assert off.get("/timeline/?case=C-1").status_code == 404  # officers do not browse cases
    assert client_for(w.detective).get("/timeline/?case=C-1").status_code == 200
    for bad in ("", "?incident=xyz", f"?incident={rec.id}&case=C-1"):
        assert cust.get("/timeline/" + bad).status_code == 400


def test_shares_grant_nothing_without_the_rules_release_registers(tmp_path):
    """access.policy sits below release and asks release's registered rules what a share
    grants; with no rules registered nothing is shared (deny by default)."""
    from bodycam.access import policy
    from bodycam.release.rules import ReleaseShareRules

    w = World(tmp_path)
    post_json(client_for(w.detective), "/api/cases/C-1/shares", {"recipient": "ada", "no_reshare": True})
    assert isinstance(policy.share_rules(), ReleaseShareRules)  # registered at start-up (ReleaseConfig.ready)
    assert set(visible_clips(w.prosecutor)) == {w.clip}
    assert policy.allowed(w.prosecutor, "evidence.download", w.clip.recording_id)
    assert policy.cases_visible(w.prosecutor).filter(number="C-1").exists()
    assert policy.allowed(w.prosecutor, "share.no_reshare", w.clip.recording_id)
    previous = policy.register_share_rules(policy.ShareRules())
    try:
        assert not visible_clips(w.prosecutor).exists()
        assert not policy.allowed(w.prosecutor, "evidence.download", w.clip.recording_id)
        assert not policy.cases_visible(w.prosecutor).exists()
        assert not policy.allowed(w.prosecutor, "share.no_reshare", w.clip.recording_id)
        assert client_for(w.prosecutor).get(f"/api/evidence/{w.clip.id}/").status_code == 404
    finally:
        policy.register_share_rules(previous)
    assert set(visible_clips(w.prosecutor)) == {w.clip}


def test_item_share_api_sets_terms_and_lists_every_share_to_sharers(tmp_path):
    w = World(tmp_path)
    det = client_for(w.detective)
    r = post_json(det, f"/api/evidence/{w.clip.id}/shares", {"recipient": "ada", "no_reshare": True, "days": 5})
    assert r.status_code == 201 and r.json()["no_reshare"] is True and r.json()["expires_at"]
    for bad in ({"recipient": "off.b"}, {"recipient": ""}, {"recipient": "ada", "days": 0},
                {"recipient": "ada", "allow_download": 3}, ["ada"]):
        before = AuditEntry.objects.filter(action="evidence.share", outcome="ok").count()
        assert post_json(det, f"/api/evidence/{w.clip.id}/shares", bad).status_code == 400
        assert AuditEntry.objects.filter(action="evidence.share", outcome="ok").count() == before
    post_json(det, "/api/cases/C-1/shares", {"recipient": "ada"})
    kinds = sorted(s["kind"] for s in det.get(f"/api/evidence/{w.clip.id}/").json()["shares"])
    assert kinds == ["case", "item", "item"]  # the World's own share, the new one, the case share
    assert client_for(w.officer).get(f"/api/evidence/{w.clip.id}/").json()["shares"] == []


def test_case_export_holds_case_files_transcripts_redactions_excerpts_notes_and_verify_checks_them(
        tmp_path, settings):
    """Issue 23: a case's court export carries everything the case holds, each file in the
    signed hash list and named in export.json; `bodycam verify` fails if any one is altered."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bodycam.media.models import Transcript

    settings.JOBS_INLINE = True
    settings.MEDIA_AUTO_PLAYBACK = False
    w = World(tmp_path)
    cust = client_for(w.custodian)
    clip = w.clip
    # a case file, a note, a transcript, a redacted copy and an excerpt
    report = SimpleUploadedFile("incident report.pdf", b"%PDF-1.4 the report", content_type="application/pdf")
    assert cust.post("/cases/C-1/files", {"file": report, "description": "officer's report"},
                     HTTP_X_CSRFTOKEN=cust.cookies["csrftoken"].value).status_code in (302, 303)
    assert cust.post(f"/evidence/{clip.id}/", {"note": "suspect fled north"}).status_code == 302
    seg = [{"start": 0.0, "end": 0.8, "text": "Stop, police."}]
    Transcript.objects.create(clip=clip, parent_sha256=clip.sha256, model="test", machine=seg, segments=seg)
    red = post_json(cust, f"/api/evidence/{clip.id}/redactions", {"step": 10}).json()
    cust.patch(f"/api/redactions/{red['id']}", json.dumps({"reason": "bystander", "add_tracks": [
        {"keys": [[0, 0, 0, 50, 50], [10, 0, 0, 50, 50]]}]}), content_type="application/json",
        HTTP_X_CSRFTOKEN=cust.cookies["csrftoken"].value)
    assert post_json(cust, f"/api/redactions/{red['id']}/render", {}).json()["status"] == "done"
    assert post_json(cust, f"/api/evidence/{clip.id}/excerpts", {"in": 0.1, "out": 0.7}).status_code == 202

    r = cust.get("/api/cases/C-1/export")
    assert r.status_code == 200
    data = b"".join(r.streaming_content)
    good = tmp_path / "case.zip"
    good.write_bytes(data)
    v = verify_export(str(good))
    assert v.ok, v.problems
    z = zipfile.ZipFile(io.BytesIO(data))
    info = json.loads(z.read("export.json"))
    kinds = {f["kind"]: f for f in info["files"]}
    assert set(kinds) == {"case_file", "transcript", "captions", "redacted_copy", "excerpt", "notes"}, kinds
    assert v.other_files == len(info["files"])
    sums = dict(line.split("  ")[::-1] for line in z.read("SHA256SUMS").decode().splitlines())
    for f in info["files"]:
        assert sums[f["path"]] == f["sha256"] == hashlib.sha256(z.read(f["path"])).hexdigest(), f["path"]
    assert z.read(kinds["case_file"]["path"]) == b"%PDF-1.4 the report"
    assert b"Stop, police." in z.read(kinds["captions"]["path"]) and z.read(kinds["captions"]["path"]).startswith(
        b"WEBVTT")
    assert "suspect fled north" in z.read(kinds["notes"]["path"]).decode()
    assert kinds["redacted_copy"]["original_sha256"] == clip.sha256 and "bystander" in \
        kinds["redacted_copy"]["redactions"][0]
    assert kinds["excerpt"]["params"]["in"] == 0.1 and "-0.1-0.7-" in kinds["excerpt"]["path"]
    audit = AuditEntry.objects.filter(action="release.export", object_type="case").get()
    assert {f["kind"] for f in audit.detail["files"]} == set(kinds)

    # Altering any one of the added files fails verification, naming it.
    for f in info["files"]:
        blob = z.read(f["path"])
        bad = tmp_path / "bad.zip"
        bad.write_bytes(_zip_replace(data, f["path"], blob[:-1] + bytes([blob[-1] ^ 1])))
        res = verify_export(str(bad))
        assert not res.ok and any(f["path"] in p and "differs" in p for p in res.problems), (f["path"], res.problems)
    # A file named in export.json but taken out of the archive (and out of SHA256SUMS) fails too.
    drop = kinds["case_file"]["path"]
    lines = [ln for ln in z.read("SHA256SUMS").decode().splitlines() if not ln.endswith(drop)]
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as zz:
        for zi in src.infolist():
            if zi.filename != drop:
                zz.writestr(zi, ("\n".join(lines) + "\n").encode() if zi.filename == "SHA256SUMS" else src.read(zi))
    bad.write_bytes(out.getvalue())
    res = verify_export(str(bad))
    assert not res.ok and any(drop in p and "missing" in p for p in res.problems), res.problems
    # An item (not case) export stays as it was: originals, manifests, custody reports only.
    item = json.loads(zipfile.ZipFile(io.BytesIO(b"".join(cust.get(f"/api/evidence/{clip.id}/export")
                                                            .streaming_content))).read("export.json"))
    assert item["files"] == []
