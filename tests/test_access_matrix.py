"""Authorization matrix: every role x every evidence endpoint, through real sign-in and
the real API. Allowed cells work; denied cells answer 403/404 and are audited."""

import json
import uuid

import pytest

from bodycam.access.models import CriticalIncidentLock, Grant, Restriction
from bodycam.access.services import visible_clips
from bodycam.custody.models import AuditEntry

from .access_helpers import World, client_for

pytestmark = pytest.mark.django_db

A = "allow"
# endpoint -> role -> expected for officer A's clip (in the detective's case, shared with the prosecutor)
MATRIX = {
    "detail":   dict(officer=A, other_officer=404, supervisor=A, detective=A, custodian=A, prosecutor=A, admin=404, auditor=404),
    "stream":   dict(officer=A, other_officer=404, supervisor=A, detective=A, custodian=A, prosecutor=A, admin=404, auditor=404),
    "download": dict(officer=403, other_officer=404, supervisor=403, detective=A, custodian=A, prosecutor=A, admin=404, auditor=404),
    "edit":     dict(officer=A, other_officer=404, supervisor=A, detective=A, custodian=A, prosecutor=403, admin=404, auditor=404),
    "delete":   dict(officer=403, other_officer=403, supervisor=403, detective=403, custodian=403, prosecutor=403, admin=403, auditor=403),
    "share":    dict(officer=403, other_officer=404, supervisor=403, detective=A, custodian=A, prosecutor=403, admin=404, auditor=404),
    "audit":    dict(officer=A, other_officer=404, supervisor=A, detective=A, custodian=A, prosecutor=A, admin=404, auditor=A),
}
ACTION = {"detail": "view", "stream": "play", "download": "download", "edit": "edit", "delete": "delete",
          "share": "share", "audit": "audit"}


def call(client, endpoint, clip_id):
    base = f"/api/evidence/{clip_id}/"
    if endpoint == "detail":
        return client.get(base)
    if endpoint == "stream":
        return client.get(base + "stream", HTTP_RANGE="bytes=0-99")
    if endpoint == "download":
        return client.get(base + "download")
    if endpoint == "edit":
        return client.patch(base, json.dumps({"note": "seen", "tags": ["dui"]}), content_type="application/json",
                            HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    if endpoint == "delete":
        return client.delete(base, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    if endpoint == "share":
        return client.post(base + "shares", json.dumps({"recipient": "ada", "allow_download": False}),
                           content_type="application/json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    if endpoint == "audit":
        return client.get(base + "audit")
    raise AssertionError(endpoint)


def test_every_role_times_every_endpoint(tmp_path):
    w = World(tmp_path)
    failures = []
    for role, user in w.users.items():
        client = client_for(user)
        # list: only what the rules allow
        listed = {r["id"] for r in client.get("/api/evidence/").json()["results"]}
        should_list = MATRIX["detail"][role] == A
        if (str(w.clip.id) in listed) != should_list:
            failures.append(f"{role} list: {listed}")
        for endpoint, by_role in MATRIX.items():
            expect = by_role[role]
            before = AuditEntry.objects.count()
            r = call(client, endpoint, w.clip.id)
            cell = f"{role} x {endpoint}: got {r.status_code}"
            if expect == A:
                if r.status_code not in (200, 201, 206):
                    failures.append(cell + f" expected allow ({getattr(r, 'content', b'')[:120]!r})")
                if endpoint == "stream" and r.status_code == 206:
                    body = b"".join(r.streaming_content)
                    if len(body) != 100 or r["Content-Range"] != f"bytes 0-99/{w.clip.size}":
                        failures.append(cell + " bad range response")
            else:
                if r.status_code != expect:
                    failures.append(cell + f" expected {expect}")
                denied = AuditEntry.objects.filter(seq__gt=before, outcome="denied", actor=user.username,
                                                   action=f"evidence.{ACTION[endpoint]}")
                if not denied.exists():
                    failures.append(cell + " denial not audited")
    assert not failures, "\n".join(failures)


def test_officer_cannot_reach_other_items_by_guessing(tmp_path):
    w = World(tmp_path)
    client = client_for(w.other_officer)
    real = client.get(f"/api/evidence/{w.clip.id}/")
    fake = client.get(f"/api/evidence/{uuid.uuid4()}/")
    assert real.status_code == fake.status_code == 404
    assert real.json() == fake.json()  # no existence oracle
    for guess in ["1", "2", "0", "../1", "00000000-0000-0000-0000-000000000001", "%27%20OR%201=1"]:
        assert client.get(f"/api/evidence/{guess}/").status_code == 404
        assert client.get(f"/api/evidence/{guess}/download").status_code == 404
    # own item works; the id space is UUIDs
    assert client.get(f"/api/evidence/{w.other_clip.id}/").status_code == 200
    assert uuid.UUID(str(w.clip.id)).version == 4
    assert AuditEntry.objects.filter(actor="off.b", outcome="denied").count() >= 12


def test_restriction_lockout_and_grants_in_the_one_query(tmp_path):
    w = World(tmp_path)
    rec = w.clip.recording

    def sees(user):
        return visible_clips(user).filter(id=w.clip.id).exists()

    assert sees(w.officer) and sees(w.custodian) and sees(w.detective) and not sees(w.admin)
    # restricted: only the named people, whatever their role
    r = Restriction.objects.create(recording=rec, reason="victim statement")
    r.allowed.add(w.detective)
    assert sees(w.detective)
    assert not sees(w.officer) and not sees(w.custodian) and not sees(w.supervisor) and not sees(w.prosecutor)
    r.allowed.add(w.custodian)
    assert sees(w.custodian)
    r.delete() if False else Restriction.objects.filter(pk=r.pk).delete()
    # critical-incident lockout: the involved officer loses access until released
    lock = CriticalIncidentLock.objects.create(recording=rec, reason="OIS")
    lock.involved.add(w.officer)
    assert not sees(w.officer) and sees(w.supervisor)
    client = client_for(w.officer)
    assert client.get(f"/api/evidence/{w.clip.id}/stream").status_code == 404
    from datetime import datetime, timezone

    CriticalIncidentLock.objects.filter(pk=lock.pk).update(released_at=datetime.now(timezone.utc))
    assert sees(w.officer)
    # admins see footage only when granted
    Grant.objects.create(user=w.admin, recording=rec, reason="IT investigation")
    assert sees(w.admin) and not visible_clips(w.admin).filter(id=w.other_clip.id).exists()


def test_visibility_is_one_query(tmp_path, django_assert_num_queries):
    w = World(tmp_path)
    for user in w.users.values():
        with django_assert_num_queries(1):
            list(visible_clips(user))


def test_prosecutor_view_only_share_refuses_download(tmp_path):
    w = World(tmp_path)
    from bodycam.release.models import Share

    Share.objects.filter(recipient=w.prosecutor).update(allow_download=False)
    client = client_for(w.prosecutor)
    assert client.get(f"/api/evidence/{w.clip.id}/stream").status_code == 200
    r = client.get(f"/api/evidence/{w.clip.id}/download")
    assert r.status_code == 403 and "share" in r.json()["error"]


def test_bad_input_is_400_not_500(tmp_path):
    w = World(tmp_path)
    client = client_for(w.custodian)
    tok = client.cookies["csrftoken"].value
    url = f"/api/evidence/{w.clip.id}/"
    for body in ['{"tags": "x"}', '{"bogus": 1}', '{}', '[1,2]', '{"categories": ["No Such"]}', '{"note": ""}']:
        r = client.patch(url, body, content_type="application/json", HTTP_X_CSRFTOKEN=tok)
        assert r.status_code == 400, (body, r.status_code, r.content)
    r = client.patch(url, "{not json", content_type="application/json", HTTP_X_CSRFTOKEN=tok)
    assert r.status_code == 400
    for body in ['{"recipient": "sgt"}', '{"recipient": "ada", "days": -1}', '{}', '{"recipient": "ada", "allow_download": "yes"}']:
        r = client.post(url + "shares", body, content_type="application/json", HTTP_X_CSRFTOKEN=tok)
        assert r.status_code == 400, (body, r.status_code, r.content)
    assert client.get("/api/evidence/?limit=abc").status_code == 400
    assert client.get(f"{url}custody.docx").status_code == 400
    r = client.get(f"{url}stream", HTTP_RANGE=f"bytes={w.clip.size + 10}-")
    assert r.status_code == 416


def test_rule_management_cli_and_custodian_release(tmp_path, capsys):
    from bodycam.cli import main

    w = World(tmp_path)
    rec = w.clip.recording.container_name
    assert main(["access", "incident-lock", rec, "--involved", "off.a", "--reason", "OIS"]) == 0
    assert not visible_clips(w.officer).filter(id=w.clip.id).exists()
    assert main(["access", "incident-lock", rec, "--involved", "nobody"]) == 2
    sgt = client_for(w.supervisor)
    r = sgt.post(f"/api/recordings/{w.clip.recording_id}/release", HTTP_X_CSRFTOKEN=sgt.cookies["csrftoken"].value)
    assert r.status_code == 403
    cust = client_for(w.custodian)
    r = cust.post(f"/api/recordings/{w.clip.recording_id}/release", HTTP_X_CSRFTOKEN=cust.cookies["csrftoken"].value)
    assert r.status_code == 200 and r.json()["released"] == 1
    assert visible_clips(w.officer).filter(id=w.clip.id).exists()
    assert AuditEntry.objects.filter(action="access.incident_release", actor="cust").exists()
    assert main(["access", "restrict", rec, "--reason", "IA", "--allow", "cust"]) == 0
    assert not visible_clips(w.officer).filter(id=w.clip.id).exists()
    assert main(["access", "grant", "adm", w.other_clip.recording.container_name, "--reason", "audit", "--days", "1"]) == 0
    assert visible_clips(w.admin).filter(id=w.other_clip.id).exists()
    assert main(["access", "case", "C-9", "--detective", "det", "--recording", w.other_clip.recording.container_name]) == 0
    assert visible_clips(w.detective).filter(id=w.other_clip.id).exists()
    assert main(["access", "case", "C-10", "--detective", "sgt"]) == 2
    assert main(["access", "squad", "B", "--supervisor", "sgt"]) == 0
    assert visible_clips(w.supervisor).filter(id=w.other_clip.id).exists()
