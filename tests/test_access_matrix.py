"""Authorization matrix: every role x every evidence endpoint, through real sign-in and
the real API. Allowed cells work; denied cells answer 403/404 and are audited."""

import json
import uuid

import pytest

from bodycam.access.models import CriticalIncidentLock, Grant, Restriction
from bodycam.access.services import visible_clips
from bodycam.custody.models import AuditEntry

from .access_helpers import World, client_for, make_user

pytestmark = pytest.mark.django_db

A = "allow"
# /stream for a role that may not download: the proxy, never the original (issue 20); this
# world has no proxy yet, so 503 "preview not ready", audited as a failed playback.
P = "proxy"
# endpoint -> role -> expected for officer A's clip (in the detective's case, shared with the prosecutor)
MATRIX = {
    "detail":   dict(officer=A, other_officer=404, supervisor=A, detective=A, custodian=A, prosecutor=A, admin=404, auditor=404),
    "stream":   dict(officer=P, other_officer=404, supervisor=P, detective=A, custodian=A, prosecutor=A, admin=404, auditor=404),
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
            if expect == P:
                failed = AuditEntry.objects.filter(seq__gt=before, outcome="failed", actor=user.username,
                                                   action="evidence.play")
                if r.status_code != 503 or not failed.exists():
                    failures.append(cell + " expected 503 preview not ready (audited), never the original")
            elif expect == A:
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


# Issue 23: the picker, the bulk actions (confirmed; "ok" = done or already so, "refused" = the
# item refused in the summary, a number = the action refused as a whole) and the History tab,
# for officer A's clip. Every refusal is audited.
R = "refused"
PAGES = {
    "pick":           dict(officer=A, other_officer=R, supervisor=A, detective=A, custodian=A, prosecutor=A, admin=R, auditor=R),
    "history":        dict(officer=A, other_officer=404, supervisor=A, detective=A, custodian=A, prosecutor=A, admin=404, auditor=404),
    "bulk_categorize": dict(officer=A, other_officer=R, supervisor=A, detective=A, custodian=A, prosecutor=R, admin=R, auditor=R),
    "bulk_case":      dict(officer=403, other_officer=403, supervisor=403, detective=A, custodian=A, prosecutor=403, admin=403, auditor=403),
    "bulk_request":   dict(officer=403, other_officer=403, supervisor=403, detective=403, custodian=A, prosecutor=403, admin=403, auditor=403),
    "bulk_hold":      dict(officer=403, other_officer=403, supervisor=403, detective=403, custodian=A, prosecutor=403, admin=403, auditor=403),
    "bulk_share":     dict(officer=403, other_officer=403, supervisor=403, detective=A, custodian=A, prosecutor=403, admin=403, auditor=403),
}
BULK = {"bulk_categorize": ("categorize", {"category": "Arrest"}), "bulk_case": ("add_to_case", {"case": "C-1"}),
        "bulk_request": ("add_to_request", {"request": "R-1"}), "bulk_hold": ("hold", {"name": "H", "reason": "r"}),
        "bulk_share": ("share", {"recipient": "ada"})}


def test_every_role_times_the_picker_bulk_actions_and_history(tmp_path):
    from bodycam.evidence.models import Category
    from bodycam.records.models import RecordsRequest

    w = World(tmp_path)
    Category.objects.create(axis_id="9", name="Arrest")
    RecordsRequest.objects.create(number="R-1", requester="Press", scope="x", received_on="2026-01-05",
                                  deadline="2026-02-05", created_by=w.custodian)
    clip = str(w.clip.id)
    failures = []
    for role, user in w.users.items():
        client = client_for(user)
        for page, by_role in PAGES.items():
            expect = by_role[role]
            before = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
            if page == "pick":
                r = client.get("/pick/evidence", {"q": w.clip.recording.evidence_number})
                got = A if r.status_code == 200 and [x["id"] for x in r.json()["results"]] == [clip] else \
                    R if r.status_code == 200 and r.json()["results"] == [] else r.status_code
            elif page == "history":
                r = client.get(f"/evidence/{clip}/?tab=history")
                got = A if r.status_code == 200 and b'id="history-table"' in r.content else r.status_code
            else:
                action, fields = BULK[page]
                r = client.post("/evidence/bulk", {"action": action, "clip": [clip], "confirm": "yes", **fields})
                body = r.content.decode()
                got = (A if 'id="n-refused">0<' in body else R if 'id="n-refused">1<' in body else "?") \
                    if r.status_code == 200 else r.status_code
            if got != expect:
                failures.append(f"{role} x {page}: got {got}, expected {expect}")
            elif expect not in (A,) and page != "pick" and not AuditEntry.objects.filter(
                    seq__gt=before, outcome="denied", actor=user.username).exists():
                failures.append(f"{role} x {page}: refusal not audited")
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
    # Plays the proxy, never the original; there is none yet in this world: 503 (test_access_holes.py).
    assert client.get(f"/api/evidence/{w.clip.id}/stream").status_code == 503
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
    for bad in ("2026/17", "C-11?x", " C-12", "C\t13"):  # would break the case page's address
        assert main(["access", "case", bad]) == 2
    from bodycam.cases.models import Case

    assert not Case.objects.filter(number__in=["2026/17", "C-11?x", " C-12", "C\t13", "C-10"]).exists()
    assert main(["access", "squad", "B", "--supervisor", "sgt"]) == 0
    assert visible_clips(w.supervisor).filter(id=w.other_clip.id).exists()


# ---------------------------------------------------------------- every permission in access/policy.py
# The expected table is written out here on purpose (not computed from policy.py): a change
# of who may do what must change this table too. Columns: officer, supervisor, detective,
# custodian, prosecutor, admin, auditor. "Y" allow, "." deny.
ROLE_ORDER = ("officer", "supervisor", "detective", "custodian", "prosecutor", "admin", "auditor")
POLICY_TABLE = {
    # perm (@ object context for predicates)       o s d c p a u
    "evidence.view":                               "Y Y Y Y Y Y Y",
    "evidence.play":                               "Y Y Y Y Y Y Y",
    "evidence.edit":                               "Y Y Y Y . . .",
    "evidence.categories.remove":                  ". Y . Y . . .",
    "evidence.share":                              ". . Y Y . . .",
    "evidence.delete":                             ". . . . . . .",
    "evidence.audit":                              "Y Y Y Y Y Y Y",
    "evidence.transcript.edit":                    ". Y Y Y . . .",
    "evidence.redact":                             ". . Y Y . . .",
    "evidence.case_numbers":                       ". . Y Y . . .",
    "evidence.own_recordings":                     "Y . . . . . .",
    "evidence.download.role":                      ". . Y Y Y . .",
    "evidence.download":                           ". . Y Y Y . .",
    "evidence.download@shared_with_download":      ". . Y Y Y . .",
    "evidence.download@not_shared":                ". . Y Y . . .",
    "share.receive":                               ". . . . Y . .",
    "share.revoke_any":                            ". . . Y . . .",
    "share.revoke@share_by_detective":             ". . Y Y . . .",
    "share.revoke@share_by_custodian":             ". . . Y . . .",
    "share.revoke":                                ". . . . . . .",
    "share.no_reshare@recording_under_terms":      ". . . . Y . .",
    "share.no_reshare@recording_without_terms":    ". . . . . . .",
    "case.list":                                   ". . Y Y Y . .",
    "case.all":                                    ". . . Y . . .",
    "case.assigned":                               ". . Y . . . .",
    "case.assignee":                               ". . Y . . . .",
    "case.view@assigned_shared_case":              ". . Y Y Y . .",
    "case.view@other_case":                        ". . . Y . . .",
    "case.change@assigned_shared_case":            ". . Y Y . . .",
    "case.change@other_case":                      ". . . Y . . .",
    "case.share@assigned_shared_case":             ". . Y Y . . .",
    "case.share@other_case":                       ". . . Y . . .",
    "case.no_reshare@assigned_shared_case":        ". . . . Y . .",
    "case.no_reshare@other_case":                  ". . . . . . .",
    "access.squad":                                ". . . . . Y .",
    "access.case":                                 ". . Y Y . . .",
    "access.restriction":                          ". . . Y . . .",
    "access.incident_lock":                        ". . . Y . . .",
    "access.grant":                                ". . . Y . . .",
    "access.squad.supervisor":                     ". Y . . . . .",
    "access.request":                              ". . Y . . . .",
    "access.request.decide":                       ". Y . Y . . .",
    "access.request.decide.squads":                ". Y . . . . .",
    "records.manage":                              ". . . Y . . .",
    "retention.manage":                            ". . . Y . . .",
    "retention.view":                              ". . . Y . Y Y",
    "retention.compliance":                        ". Y . Y . Y Y",
    "retention.compliance.squads":                 ". Y . . . . .",
    "audit.read":                                  ". . . . . . Y",
    "audit.checkpoint":                            ". . . . . Y Y",
    "accounts.manage":                             ". . . . . Y .",
    "jobs.view":                                   ". . . . . Y .",
    "metrics.view":                                ". . . . . Y .",
    "devices.manage":                              ". . . . . Y .",
    "devices.view":                                ". . . Y . Y .",
    "notify.share_received":                       ". . . . Y . .",
    "notify.records_deadline":                     ". . . Y . . .",
    "notify.deletion_approval":                    ". . . Y . . .",
    "notify.custody_alert":                        ". . . Y . Y .",
    "notify.camera_undocked":                      ". . . Y . Y .",
    "notify.access_decided":                       ". . Y . . . .",
    "notify.access_awaiting":                      ". Y . Y . . .",
    "live.onair":                                  ". Y . . . . .",
    "live.watch@officer_in_supervised_squad":      ". Y . . . . .",
    "live.watch@officer_in_other_squad":           ". . . . . . .",
    "live.watch":                                  ". . . . . . .",
}


def _policy_world(tmp_path):
    from bodycam.cases.models import Case
    from bodycam.evidence.models import Officer
    from bodycam.release.models import CaseShare, Share

    w = World(tmp_path)
    case = Case.objects.get(number="C-1")
    CaseShare.objects.create(case=case, recipient=w.prosecutor, created_by=w.custodian, no_reshare=True)
    other_case = Case.objects.create(number="C-2")
    objects = {
        "shared_with_download": w.clip.recording_id,
        "not_shared": w.other_clip.recording_id,
        "share_by_detective": Share.objects.create(recording=w.clip.recording, recipient=w.prosecutor,
                                                   created_by=w.detective),
        "share_by_custodian": Share.objects.get(created_by=w.custodian),
        "recording_under_terms": w.clip.recording_id,
        "recording_without_terms": w.other_clip.recording_id,
        "assigned_shared_case": case,
        "other_case": other_case,
        "officer_in_supervised_squad": Officer.objects.get(account=w.officer),
        "officer_in_other_squad": Officer.objects.get(account=w.other_officer),
    }
    users = {r: w.users[r] for r in ROLE_ORDER}
    return w, users, objects


def test_every_permission_in_policy_has_a_row():
    from bodycam.access import policy

    named = {k.split("@")[0] for k in POLICY_TABLE}
    assert named == set(policy.PERMISSIONS), (
        f"untested: {sorted(set(policy.PERMISSIONS) - named)}; unknown: {sorted(named - set(policy.PERMISSIONS))}")


def test_every_role_times_every_permission(tmp_path, monkeypatch):
    from django.test import RequestFactory

    from bodycam.access import policy
    from bodycam.custody import actions

    w, users, objects = _policy_world(tmp_path)
    for key in POLICY_TABLE:  # each check's denial under a name of its own, declared for this test
        monkeypatch.setitem(actions.ACTIONS, f"test.{key}", actions.Action(f"test.{key}", key, actions.ACCESS))
    failures = []
    for key, row in POLICY_TABLE.items():
        perm, _, ctx = key.partition("@")
        obj = objects[ctx] if ctx else None
        expected = dict(zip(ROLE_ORDER, row.split()))
        assert len(expected) == len(ROLE_ORDER) and set(row.split()) <= {"Y", "."}, key
        for role, user in users.items():
            want = expected[role] == "Y"
            got = policy.allowed(user, perm, obj)
            if got != want:
                failures.append(f"{role} x {key}: allowed={got}, expected {want}")
            # require(): the same answer; a refusal raises Denied and writes one denied entry.
            request = RequestFactory().get("/policy-test/")
            request.user = user
            before = AuditEntry.objects.count()
            try:
                assert policy.require(request, perm, obj, action=f"test.{key}") is user
                raised = False
            except policy.Denied as exc:
                raised = True
                assert exc.status == 403
            if raised == want:
                failures.append(f"{role} x {key}: require {'raised' if raised else 'passed'}")
            rows = AuditEntry.objects.filter(seq__gt=before)
            if want and rows.exists():
                failures.append(f"{role} x {key}: an allowed check wrote an audit entry")
            if not want and not (rows.count() == 1 and rows.filter(outcome="denied", action=f"test.{key}",
                                                                   actor=user.username).exists()):
                failures.append(f"{role} x {key}: the denial was not audited (one denied entry)")
    assert not failures, "\n".join(failures)


def test_policy_denies_by_default(tmp_path):
    from django.contrib.auth.models import AnonymousUser
    from django.template import Context, Template

    from bodycam.access import policy
    from bodycam.access.models import User

    w = World(tmp_path)
    everyone = [p for p in policy.ROLES if policy.ROLES[p] == frozenset(policy.Role.values)]
    assert everyone  # e.g. evidence.view
    for perm in policy.PERMISSIONS:
        assert not policy.allowed(AnonymousUser(), perm)
        assert not policy.allowed(None, perm)
    User.objects.filter(pk=w.custodian.pk).update(is_active=False)
    w.custodian.refresh_from_db()
    assert not any(policy.allowed(w.custodian, p) for p in policy.PERMISSIONS)
    with pytest.raises(ValueError):
        policy.allowed(w.admin, "no.such.permission")
    # the template filter asks the same question
    t = Template('{% load policy %}{% if user|can:"accounts.manage" %}yes{% else %}no{% endif %}')
    assert t.render(Context({"user": w.admin})) == "yes" and t.render(Context({"user": w.auditor})) == "no"
    # cases_visible: one queryset by role
    assert set(policy.cases_visible(w.detective).values_list("number", flat=True)) == {"C-1"}
    assert not policy.cases_visible(w.officer).exists() and not policy.cases_visible(w.prosecutor).exists()


def test_clip_capabilities_drive_the_item_page_links(tmp_path):
    from bodycam.access.services import capabilities

    w = World(tmp_path)
    caps = {r: capabilities(u, w.clip) for r, u in w.users.items() if r != "other_officer"}
    assert {r for r, c in caps.items() if c["redact"]} == {"detective", "custodian"}
    assert {r for r, c in caps.items() if c["transcript_edit"]} == {"supervisor", "detective", "custodian"}
    off, det = client_for(w.officer), client_for(w.detective)
    assert 'id="redact-link"' not in off.get(f"/evidence/{w.clip.id}/").content.decode()
    assert 'id="redact-link"' in det.get(f"/evidence/{w.clip.id}/").content.decode()
    assert off.get(f"/records/clip/{w.clip.id}/redact/").status_code == 403
    assert AuditEntry.objects.filter(action="evidence.redaction.list", outcome="denied", actor="off.a").exists()


def test_transcript_page_save_is_audited_as_an_edit_not_a_view(tmp_path):
    from bodycam.media.models import Transcript

    w = World(tmp_path)
    segs = [{"start": 0.0, "end": 0.5, "text": "hello", "words": []}]
    t = Transcript.objects.create(clip=w.clip, parent_sha256=w.clip.sha256, model="test", machine=segs,
                                  segments=segs)
    url = f"/records/clip/{w.clip.id}/transcript/"
    off = client_for(w.officer)
    r = off.post(url, {"seg-0": "changed", "note": "x"}, HTTP_X_CSRFTOKEN=off.cookies["csrftoken"].value)
    assert r.status_code == 403
    assert AuditEntry.objects.filter(action="evidence.transcript.edit", outcome="denied", actor="off.a").exists()
    sgt = client_for(w.supervisor)
    before = AuditEntry.objects.count()
    r = sgt.post(url, {"seg-0": "hello there", "note": "misheard"}, HTTP_X_CSRFTOKEN=sgt.cookies["csrftoken"].value)
    assert r.status_code == 302
    actions = list(AuditEntry.objects.filter(seq__gt=before).values_list("action", "outcome"))
    assert actions == [("evidence.transcript.edit", "ok")], actions
    t.refresh_from_db()
    assert t.version == 2 and t.segments[0]["text"] == "hello there"


# ---------------------------------------------------------------- the Accounts pages (issue 24)
# Every Accounts page and action x every role: administrators only (accounts.manage); every
# other role gets 403 with one denied audit entry, before any account is looked up.
ACCOUNT_ENDPOINTS = [  # (method, path, form, what an admin gets, audit action of a denial)
    ("get", "/users/", None, 200, "account.list"),
    ("get", "/users/new/", None, 200, "account.create"),
    ("post", "/users/new/", {"username": "m.new", "role": "officer", "reason": "matrix"}, 201, "account.create"),
    ("get", "/users/off.b/", None, 200, "account.view"),
    ("post", "/users/off.b/role", {"role": "detective", "reason": "matrix"}, 302, "account.role_change"),
    ("post", "/users/off.b/unlock", {}, 302, "account.unlock"),
    ("get", "/users/off.b/disable", None, 200, "account.disable"),
    ("post", "/users/off.b/disable", {"reason": "matrix"}, 302, "account.disable"),
    ("get", "/users/off.b/enable", None, 200, "account.enable"),
    ("post", "/users/off.b/enable", {"reason": "matrix"}, 302, "account.enable"),
    ("get", "/users/off.b/mfa-reset", None, 200, "account.mfa_reset"),
    ("post", "/users/off.b/mfa-reset", {"reason": "matrix"}, 302, "account.mfa_reset"),
    ("get", "/users/off.b/password-reset", None, 200, "account.password_reset"),
    ("post", "/users/off.b/password-reset", {"reason": "matrix"}, 200, "account.password_reset"),
    ("get", "/users/off.b/enrol-link", None, 200, "account.enrol_link"),
    ("post", "/users/off.b/enrol-link", {"reason": "matrix"}, 200, "account.enrol_link"),
    ("post", "/users/off.b/tokens", {"name": "matrix", "days": "30"}, 201, "account.token_create"),
    ("get", "/users/cust/tokens/{token}/revoke", None, 200, "account.token_revoke"),
    ("post", "/users/cust/tokens/{token}/revoke", {"reason": "matrix"}, 302, "account.token_revoke"),
]


def test_every_role_times_every_accounts_page(tmp_path):
    from bodycam.access.auth import create_token
    from bodycam.access.models import ApiToken, User

    w = World(tmp_path)
    token, _ = create_token(w.custodian, "matrix token", days=5)
    failures = []
    for role in ROLE_ORDER:
        user = w.users[role]
        client = client_for(user)
        for method, path, form, admin_status, action in ACCOUNT_ENDPOINTS:
            path = path.format(token=token.id)
            before = AuditEntry.objects.count()
            snapshot = (User.objects.get(username="off.b").role, User.objects.filter(username="m.new").exists(),
                        ApiToken.objects.filter(revoked_at__isnull=True).count())
            r = client.get(path) if method == "get" else client.post(path, form)
            cell = f"{role} x {method.upper()} {path}: got {r.status_code}"
            if role == "admin":
                if r.status_code != admin_status:
                    failures.append(cell + f", expected {admin_status}: {r.content[:200]!r}")
                continue
            if r.status_code != 403:
                failures.append(cell + ", expected 403")
            denied = AuditEntry.objects.filter(seq__gt=before, outcome="denied", actor=user.username, action=action)
            if denied.count() != 1:
                failures.append(cell + f": {denied.count()} denied {action} entries, expected 1")
            after = (User.objects.get(username="off.b").role, User.objects.filter(username="m.new").exists(),
                     ApiToken.objects.filter(revoked_at__isnull=True).count())
            if after != snapshot:
                failures.append(cell + " changed something")
    assert not failures, "\n".join(failures)
    # Anonymous: the login page, nothing else (the enrolment page is the only public one).
    from django.test import Client

    for method, path, form, _, _ in ACCOUNT_ENDPOINTS:
        path = path.format(token=token.id)
        r = Client().get(path) if method == "get" else Client().post(path, form)
        assert r.status_code == 302 and r["Location"].startswith("/login/"), (path, r.status_code)


# ---------------------------------------------------------------- administration pages (issue 24)
# role -> GET status of each page, and of a POST with an empty form ("-" no POST route). A
# refusal is 403 and writes one denied entry; an allowed empty POST is a 4xx that names what
# is missing, audited as well, and changes nothing. Columns as ROLE_ORDER.
ADMIN_PAGES = {
    # page                                     GET o   s   d   c   p   a   u     POST (empty) o s d c p a u
    "/admin/cameras/":                        ("403 403 403 200 403 200 403", "403 403 403 403 403 400 403"),
    "/admin/cameras/<serial>/":               ("403 403 403 200 403 200 403", "403 403 403 403 403 400 403"),
    "/admin/cameras/<serial>/retire":         ("403 403 403 403 403 200 403", "403 403 403 403 403 400 403"),
    "/admin/squads/":                         ("403 403 403 403 403 200 403", "403 403 403 403 403 400 403"),
    "/admin/squads/<squad_id>/":                 ("403 403 403 403 403 200 403", "403 403 403 403 403 400 403"),
    "/admin/rules/":                          ("403 403 403 200 403 403 403", "- - - - - - -"),
    "/admin/rules/restrict":                  ("403 403 403 200 403 403 403", "403 403 403 404 403 403 403"),
    "/admin/rules/lock":                      ("403 403 403 200 403 403 403", "403 403 403 404 403 403 403"),
    "/admin/rules/grant":                     ("403 403 403 200 403 403 403", "403 403 403 404 403 403 403"),
    "/admin/rules/restrictions/<key>/lift":   ("403 403 403 200 403 403 403", "403 403 403 400 403 403 403"),
    "/admin/rules/locks/<key>/release":       ("403 403 403 200 403 403 403", "403 403 403 400 403 403 403"),
    "/admin/rules/grants/<key>/revoke":     ("403 403 403 200 403 403 403", "403 403 403 400 403 403 403"),
}


def test_every_role_times_every_administration_page(tmp_path):
    from bodycam.access import rules
    from bodycam.evidence.models import Device

    w = World(tmp_path)
    rec = w.clip.recording
    rules.restrict(str(rec.id), "victim statement", allowed=["cust"])
    rules.lock_incident(str(rec.id), ["off.a"], reason="OIS")
    g = rules.grant("adm", str(rec.id), "IT ticket", days=3)
    from .test_fuzz_routes import routes

    listed = {"/" + r for r in routes() if r.startswith("admin/")}
    assert listed == set(ADMIN_PAGES), f"pages without a row: {sorted(listed ^ set(ADMIN_PAGES))}"

    def fill(page):
        return (page.replace("<serial>", rec.device.serial).replace("<squad_id>", str(w.squad_a.id))
                .replace("<key>", str(g.id) if "/grants/" in page else str(rec.id)))
    failures = []
    state = lambda: (Device.objects.filter(retired_at__isnull=False).count(), Grant.objects.count(),  # noqa: E731
                     Restriction.objects.count(), CriticalIncidentLock.objects.filter(released_at=None).count(),
                     sorted(w.squad_a.members.values_list("username", flat=True)))
    start = state()
    for i, role in enumerate(ROLE_ORDER):
        user = w.users[role]
        client = client_for(user)
        for page, (gets, posts) in ADMIN_PAGES.items():
            url = fill(page)
            for method, want in (("GET", gets.split()[i]), ("POST", posts.split()[i])):
                if want == "-":
                    continue
                before = AuditEntry.objects.count()
                r = client.get(url) if method == "GET" else client.post(url, {})
                cell = f"{role} x {method} {page}: got {r.status_code}, expected {want}"
                if r.status_code != int(want):
                    failures.append(cell)
                    continue
                rows = AuditEntry.objects.filter(seq__gt=before, actor=user.username)
                if want != "200" and rows.filter(outcome="denied").count() != 1:
                    failures.append(cell + ": not audited once as denied "
                                    f"{list(rows.values_list('action', 'outcome'))}")
                if want == "200" and not rows.filter(outcome="ok").exists():
                    failures.append(cell + ": the view was not audited")
    assert not failures, "\n".join(failures)
    assert state() == start  # no empty or refused form changed anything


# ---------------------------------------------------------------- the case and access-request pages (issue 24)
# GET of each page, by role, on the World's case C-1 (assigned: det) and a request by det for
# officer B's recording (squad B: no supervisor in this world, so only custodians decide it).
# 200 allowed; 403 the role may not; 404 the case or request is not one the user may see.
CASE_PAGES = {
    # page                                   o    s    d    c    p    a    u
    "/cases/new":                          (403, 403, 200, 200, 403, 403, 403),
    "/cases/C-1/":                         (404, 404, 200, 200, 404, 404, 404),
    "/cases/C-1/history":                  (404, 404, 200, 200, 404, 404, 404),
    "/cases/C-1/footage":                  (404, 404, 200, 200, 404, 404, 404),
    "/cases/C-1/footage/{rec}/remove":     (404, 404, 200, 200, 404, 404, 404),
    "/cases/C-1/status?status=closed":     (404, 404, 200, 200, 404, 404, 404),
    "/access-requests/":                   (403, 200, 200, 200, 403, 403, 403),
    "/access-requests/new":                (403, 403, 200, 403, 403, 403, 403),
    "/access-requests/new?officer={off_b}": (403, 403, 200, 403, 403, 403, 403),
    "/access-requests/{req}/":             (404, 404, 200, 200, 404, 404, 404),
}
# POSTs that change something, by role: 302 done; else the refusal (nothing changed, audited).
CASE_POSTS = {
    "/cases/new":                 ({"number": "M-{role}", "title": "t"}, (403, 403, 302, 302, 403, 403, 403)),
    "/cases/C-1/detectives":      ({"assign": "dm.{role}"}, (404, 404, 302, 302, 404, 404, 404)),
    # the supervisor decides requests, but not for another squad's officer: 404 as for no request
    "/access-requests/{req}/":    ({"decision": "deny", "reason": "no"}, (403, 404, 403, 302, 403, 403, 403)),
}


def test_case_and_request_pages_by_role(tmp_path):
    from bodycam.access.models import AccessRequest
    from bodycam.cases.models import Case
    from bodycam.evidence.models import Officer

    w = World(tmp_path)
    make_user("dm.detective", "detective", enrol=False)
    make_user("dm.custodian", "detective", enrol=False)
    req = AccessRequest.objects.create(requester=w.detective, recording=w.other_clip.recording,
                                       case=Case.objects.get(number="C-1"), reason="seen at the scene")
    values = {"rec": w.clip.recording_id, "off_b": Officer.objects.get(account=w.other_officer).id, "req": req.id}
    failures = []
    clients = {role: client_for(w.users[role]) for role in ROLE_ORDER}
    for page, expected in CASE_PAGES.items():
        for role, want in zip(ROLE_ORDER, expected):
            got = clients[role].get(page.format(**values)).status_code
            if got != want:
                failures.append(f"GET {page} as {role}: {got}, expected {want}")
    for page, (data, expected) in CASE_POSTS.items():
        for role, want in zip(ROLE_ORDER, expected):
            c = clients[role]
            before = AuditEntry.objects.filter(outcome="denied", actor=w.users[role].username).count()
            body = {k: v.format(role=role) for k, v in data.items()}
            got = c.post(page.format(**values), body | {"csrfmiddlewaretoken": c.cookies["csrftoken"].value}).status_code
            if got != want:
                failures.append(f"POST {page} as {role}: {got}, expected {want}")
            denied = AuditEntry.objects.filter(outcome="denied", actor=w.users[role].username).count() > before
            if want != 302 and not denied:
                failures.append(f"POST {page} as {role}: the refusal was not audited")
    assert not failures, "\n".join(failures)
    assert set(Case.objects.filter(number__startswith="M-").values_list("number", flat=True)) == {"M-detective",
                                                                                               "M-custodian"}


# Issue 23: the records request steps and the audit page, every role (Y: allowed; else 403, audited).
PAGES_23 = {  # step -> the roles allowed
    "records.remove_item": {"custodian"},
    "records.release_as_is": {"custodian"},
    "records.correspondence": {"custodian"},
    "records.correspondence_file": {"custodian"},
    "records.delivery_link": {"custodian"},
    "audit.read": {"auditor"},
    "audit.verify_start": {"auditor"},
    "audit.export_start": {"auditor"},
    "audit.export_download": {"auditor"},
}


def test_issue23_endpoints_every_role(tmp_path, settings):
    from datetime import date

    from django.core.files.uploadedfile import SimpleUploadedFile

    from bodycam.custody.models import AuditExport
    from bodycam.records.models import Correspondence, RecordsRequest, RequestItem

    settings.JOBS_INLINE = True
    w = World(tmp_path)
    req = RecordsRequest.objects.create(number="PRR-T-1", requester="R", scope="s", received_on=date.today(),
                                        deadline=date.today(), created_by=w.custodian)
    item = RequestItem.objects.create(request=req, clip=w.clip, added_by=w.custodian)
    client_for(w.custodian).post(f"/records/{req.number}/", {
        "action": "correspondence", "direction": "sent", "on": date.today().isoformat(), "summary": "ack",
        "file": SimpleUploadedFile("a.txt", b"ack")})
    entry = Correspondence.objects.get()
    client_for(w.auditor).post("/audit/", {"do": "export", "format": "csv"})
    exp = AuditExport.objects.get()
    url = f"/records/{req.number}/"
    failures = []
    for role, user in w.users.items():
        c = client_for(user)
        tok = {"HTTP_X_CSRFTOKEN": c.cookies["csrftoken"].value}
        calls = {
            "records.release_as_is": lambda: c.post(url, {"action": "as_is", "item": str(item.id), "reason": "x"},
                                                    **tok),
            "records.remove_item": lambda: c.post(url, {"action": "remove_item", "item": str(item.id), "reason": "x"},
                                                  **tok),
            "records.correspondence": lambda: c.post(url, {"action": "correspondence", "direction": "sent",
                                                           "on": date.today().isoformat(), "summary": "y"}, **tok),
            "records.correspondence_file": lambda: c.get(f"{url}correspondence/{entry.id}/file"),
            "records.delivery_link": lambda: c.post(url, {"action": "delivery_link", "days": "3"}, **tok),
            "audit.read": lambda: c.get("/audit/"),
            "audit.verify_start": lambda: c.post("/audit/", {"do": "verify"}, **tok),
            "audit.export_start": lambda: c.post("/audit/", {"do": "export", "format": "jsonl"}, **tok),
            "audit.export_download": lambda: c.get(f"/audit/exports/{exp.id}/"),
        }
        for name, call in calls.items():
            before = AuditEntry.objects.count()
            status = call().status_code
            base = role if role != "other_officer" else "officer"
            if base in PAGES_23[name]:
                ok = status in (200, 302) or (name == "records.delivery_link" and status == 400)  # not released yet
            else:
                ok = status == 403 and AuditEntry.objects.filter(seq__gt=before, outcome="denied").exists()
            if not ok:
                failures.append((role, name, status))
        if role == "custodian":  # put the item back for the next roles
            RequestItem.objects.filter(pk=item.pk).update(removed_at=None, as_is_reason="")
    assert not failures, failures


# ---------------------------------------------------------------- the home page (issue 23)
def test_home_page_every_role_only_what_the_access_check_allows(tmp_path):
    """``/`` answers every role (signed-out: to sign in); every evidence row any queue shows
    is a clip the one access check (``visible_clips``) lets that user see, and the officer's
    and supervisor's queues never count the other squad's or a restricted recording."""
    import re

    from django.test import Client

    from bodycam.web.home import queues_for

    w = World(tmp_path)
    Restriction.objects.create(recording=w.other_clip.recording, reason="IA")  # allowed to nobody
    assert Client().get("/").status_code == 302
    for role, user in w.users.items():
        html = client_for(user).get("/").content.decode()
        seen = {str(i) for i in visible_clips(user).values_list("id", flat=True)}
        shown = set(re.findall(r'href="/evidence/([0-9a-f-]{36})/"', html))
        assert shown <= seen, (role, shown - seen)
        assert str(w.other_clip.id) not in html, role
        for q in queues_for(user):
            if q.link.startswith("/evidence/?") and "shared=" not in q.link:
                assert q.count <= len(seen), (role, q.key)
