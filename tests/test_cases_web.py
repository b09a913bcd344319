"""Cases on the web and access requests (issue 24), through the real views with signed-in
clients: who may open, close, reopen and change a case; the footage picker offers only what
its user may see; removing a recording needs a reason; access requests are decided only by a
supervisor of the officer's squad or a custodian, never by the requester, and become a
time-limited grant whose end ends the visibility; BODYCAM_DETECTIVES_SEE_ALL; bad input is a
4xx that changes nothing; every step is audited."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from bodycam.access import requests as access_requests
from bodycam.access.models import AccessRequest, CriticalIncidentLock, Grant, Restriction, Squad, User
from bodycam.access.services import visible_clips
from bodycam.cases import services as case_services
from bodycam.cases.models import Case
from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Officer

from .access_helpers import World, client_for, ingest_clip_for, make_user

pytestmark = pytest.mark.django_db


def post(client, url, data=None):
    return client.post(url, (data or {}) | {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def audited(action, actor, outcome="ok"):
    return AuditEntry.objects.filter(action=action, actor=actor, outcome=outcome)


@pytest.fixture
def w(tmp_path):
    w = World(tmp_path)
    # squad B gets a supervisor; a second detective; a second recording of officer B.
    w.sgt_b = make_user("sgt.b", "supervisor")
    Squad.objects.get(name="B").supervisors.add(w.sgt_b)
    w.det2 = make_user("det2", "detective")
    w.other_clip2 = ingest_clip_for(Officer.objects.get(account=w.other_officer), tmp_path)
    signed_in = {}

    def c(user):  # one signed-in client per user (a TOTP code is accepted once per step)
        if user.pk not in signed_in:
            signed_in[user.pk] = client_for(user)
        return signed_in[user.pk]

    w.c = c
    return w


def sees(user, clip) -> bool:
    return visible_clips(user).filter(id=clip.id).exists()


# ---------------------------------------------------------------- opening a case
def test_detective_opens_cases_by_pattern_and_typed_number(w):
    det = w.c(w.detective)
    page = det.get("/cases/new")
    nxt = case_services.next_number_preview()
    assert page.status_code == 200 and nxt in page.content.decode()
    # det2 is offered, supervisors are not (only detectives are assigned)
    assert 'value="det2"' in page.content.decode() and 'value="sgt"' not in page.content.decode()
    r = post(det, "/cases/new", {"title": "Burglary, 5th St", "incident_number": "26-1234", "assignee": ["det2"]})
    assert r.status_code == 302 and r["Location"] == f"/cases/{nxt}/"
    case = Case.objects.get(number=nxt)
    assert case.title == "Burglary, 5th St" and case.incident_number == "26-1234"
    assert set(case.detectives.values_list("username", flat=True)) == {"det", "det2"}  # the opener is on it
    entry = audited("case.create", "det").get()
    assert entry.detail["numbered"] == "pattern" and entry.detail["detectives"] == ["det", "det2"]
    # the pattern's next number follows
    nxt2 = case_services.next_number_preview()
    r = post(det, "/cases/new", {"title": "Second"})
    assert nxt2 != nxt and r.status_code == 302 and r["Location"] == f"/cases/{nxt2}/"
    # typed numbers: checked and unique
    assert post(det, "/cases/new", {"number": "2026-HOM-7", "title": "Homicide"}).status_code == 302
    before = Case.objects.count()
    for data, status in [({"number": "2026-HOM-7", "title": "again"}, 409), ({"number": "a/b", "title": "x"}, 400),
                         ({"number": "C-9", "title": ""}, 400), ({"number": "C-9", "title": "x" * 201}, 400),
                         ({"number": "C-9", "title": "x", "incident_number": "9" * 65}, 400),
                         ({"number": "C-9", "title": "x", "assignee": ["sgt"]}, 400),
                         ({"number": "C-9", "title": "x", "assignee": ["nobody"]}, 400)]:
        r = post(det, "/cases/new", data)
        assert r.status_code == status, (data, r.status_code)
        assert 'id="form-error"' in r.content.decode()
    assert Case.objects.count() == before
    assert audited("case.create", "det", "denied").count() == 7


def test_who_may_open_a_case(w):
    for user in (w.officer, w.supervisor, w.prosecutor, w.admin, w.auditor):
        c = w.c(user)
        assert c.get("/cases/new").status_code == 403
        assert post(c, "/cases/new", {"number": f"X-{user.username}", "title": "t"}).status_code == 403
        assert audited("case.create", user.username, "denied").count() == 2
    assert not Case.objects.filter(number__startswith="X-").exists()
    cust = w.c(w.custodian)
    r = post(cust, "/cases/new", {"number": "C-50", "title": "Custodian's", "assignee": ["det2"]})
    assert r.status_code == 302
    assert list(Case.objects.get(number="C-50").detectives.values_list("username", flat=True)) == ["det2"]


# ---------------------------------------------------------------- close and reopen
def test_close_and_reopen_ask_first(w):
    det, cust = w.c(w.detective), w.c(w.custodian)
    ask = det.get("/cases/C-1/status?status=closed")
    assert ask.status_code == 200 and 'id="confirm-status"' in ask.content.decode()
    r = post(det, "/cases/C-1/status", {"status": "closed"})  # no confirm: the question again
    assert r.status_code == 200 and Case.objects.get(number="C-1").status == "open"
    assert post(det, "/cases/C-1/status", {"status": "closed", "confirm": "yes"}).status_code == 302
    assert Case.objects.get(number="C-1").status == "closed" and audited("case.close", "det").exists()
    # a closed case takes no new footage
    r = post(det, "/cases/C-1/footage", {"recording": str(w.clip.recording_id)})
    assert r.status_code == 400 and audited("case.add_recordings", "det", "denied").exists()
    assert post(cust, "/cases/C-1/status", {"status": "open", "confirm": "yes"}).status_code == 302
    assert Case.objects.get(number="C-1").status == "open" and audited("case.reopen", "cust").exists()
    # not assigned / not a case role: 404 as for a case that does not exist, audited
    for user in (w.det2, w.officer, w.supervisor):
        c = w.c(user)
        assert post(c, "/cases/C-1/status", {"status": "closed", "confirm": "yes"}).status_code == 404
        assert audited("case.status", user.username, "denied").exists()
    assert Case.objects.get(number="C-1").status == "open"


# ---------------------------------------------------------------- footage
def test_footage_picker_offers_only_what_its_user_may_see(w):
    det = w.c(w.detective)
    assert post(det, "/cases/new", {"number": "C-2", "title": "Second case"}).status_code == 302
    mine, other = w.clip.recording, w.other_clip.recording
    page = det.get("/cases/C-2/footage?q=" + mine.evidence_number)
    body = page.content.decode()
    assert page.status_code == 200 and mine.evidence_number in body and f'value="{mine.id}"' in body
    page = det.get("/cases/C-2/footage?q=" + other.evidence_number)
    body = page.content.decode()  # never offered: det may not see it
    assert f'value="{other.id}"' not in body and f'<span class="evno">{other.evidence_number}' not in body
    assert "Nothing you may see matches" in body
    assert audited("evidence.search", "det").count() == 2
    # by officer and by date too
    day = (mine.start_time or mine.trigger_on_time).date().isoformat()
    body = det.get(f"/cases/C-2/footage?officer=101&from={day}&to={day}").content.decode()
    assert f'value="{mine.id}"' in body and f'value="{other.id}"' not in body
    # a posted id of something not visible: 400, nothing added, audited
    for bad in ([str(other.id)], ["not-an-id"], [], [str(mine.id), str(other.id)]):
        r = post(det, "/cases/C-2/footage", {"recording": bad})
        assert r.status_code == 400, bad
    assert not Case.objects.get(number="C-2").recordings.exists()
    assert audited("case.add_recordings", "det", "denied").count() == 4
    assert post(det, "/cases/C-2/footage", {"recording": [str(mine.id)]}).status_code == 302
    assert list(Case.objects.get(number="C-2").recordings.all()) == [mine]
    entry = audited("case.add_recordings", "det").get()
    assert entry.detail["evidence_numbers"] == [mine.evidence_number]
    case_page = det.get("/cases/C-2/").content.decode()
    assert mine.evidence_number in case_page and "/footage/" in case_page
    # only those who may change the case reach the picker
    for user in (w.det2, w.officer, w.prosecutor):
        assert w.c(user).get("/cases/C-2/footage").status_code == 404


def test_removing_footage_needs_a_reason(w):
    det = w.c(w.detective)
    rec = w.clip.recording
    url = f"/cases/C-1/footage/{rec.id}/remove"
    ask = det.get(url)
    assert ask.status_code == 200 and rec.evidence_number in ask.content.decode()
    for reason in ("", "   ", "x" * 501):
        assert post(det, url, {"reason": reason}).status_code == 400
    assert Case.objects.get(number="C-1").recordings.filter(pk=rec.pk).exists()
    assert post(det, f"/cases/C-1/footage/{w.other_clip.recording_id}/remove", {"reason": "x"}).status_code == 404
    assert post(det, "/cases/C-1/footage/not-an-id/remove", {"reason": "x"}).status_code == 404
    assert post(det, url, {"reason": "wrong incident"}).status_code == 302
    assert not Case.objects.get(number="C-1").recordings.filter(pk=rec.pk).exists()
    entry = audited("case.remove_recording", "det").get()
    assert entry.detail["reason"] == "wrong incident" and entry.detail["evidence_number"] == rec.evidence_number
    assert audited("case.remove_recording", "det", "denied").count() == 5
    # the history tab says it in words
    history = det.get("/cases/C-1/history").content.decode()
    assert "Removed a recording from the case" in history and f"{rec.evidence_number}: wrong incident" in history


def test_detectives_are_assigned_from_the_list(w):
    cust, det = w.c(w.custodian), w.c(w.detective)
    assert post(cust, "/cases/C-1/detectives", {"assign": "det2"}).status_code == 302
    assert Case.objects.get(number="C-1").detectives.filter(username="det2").exists()
    entry = audited("case.detectives", "cust").get()
    assert entry.detail["before"] == {"detectives": ["det"]} and entry.detail["after"] == {"detectives": ["det", "det2"]}
    for data, status in [({"assign": "sgt"}, 400), ({"assign": "det2"}, 400), ({}, 400),
                         ({"assign": "det2", "unassign": "det"}, 400), ({"unassign": "det"}, 403)]:
        assert post(det, "/cases/C-1/detectives", data).status_code == status, data
    assert set(Case.objects.get(number="C-1").detectives.values_list("username", flat=True)) == {"det", "det2"}
    assert post(det, "/cases/C-1/detectives", {"unassign": "det2"}).status_code == 302
    assert post(w.c(w.officer), "/cases/C-1/detectives", {"assign": "det2"}).status_code == 404


def test_case_page_lists_and_history(w):
    det = w.c(w.detective)
    page = det.get("/cases/C-1/").content.decode()
    for part in ('id="case-recordings"', 'id="case-files"', 'id="case-detectives"', 'id="case-facts"',
                 'id="history-tab"', w.clip.recording.evidence_number, 'id="add-footage"'):
        assert part in page, part
    Restriction.objects.create(recording=w.clip.recording, reason="IA")
    page = det.get("/cases/C-1/").content.decode()
    assert 'id="hidden-recordings"' in page and w.clip.recording.evidence_number not in page
    post(det, "/cases/C-1/status", {"incident_number": "26-77"})
    history = det.get("/cases/C-1/history")
    assert history.status_code == 200 and "incident number 26-77" in history.content.decode()
    assert audited("case.history", "det").exists()
    assert w.c(w.officer).get("/cases/C-1/history").status_code == 404


# ---------------------------------------------------------------- access requests
def _ask(client, recording, case="C-1", reason="suspect seen on this call"):
    return post(client, "/access-requests/new", {"case": case, "recording": [str(recording.id)], "reason": reason})


def test_request_search_shows_metadata_only(w):
    det = w.c(w.detective)
    officer_b = Officer.objects.get(account=w.other_officer)
    assert det.get("/access-requests/new").status_code == 200
    r = det.get(f"/access-requests/new?officer={officer_b.id}&case=C-1")
    body = r.content.decode()
    assert r.status_code == 200
    for rec in (w.other_clip.recording, w.other_clip2.recording):
        assert rec.evidence_number in body and f'value="{rec.id}"' in body
    # no picture, sound or item link (the nav's search link "/evidence/" aside)
    assert "thumbnail" not in body and "<video" not in body and "<img" not in body
    assert not re.search(r'href="/evidence/[^"?]', body)
    assert audited("access.request.search", "det").get().detail["count"] == 2
    # officer A's recording: det sees it already (its case), so it is marked, not offered
    officer_a = Officer.objects.get(account=w.officer)
    body = det.get(f"/access-requests/new?officer={officer_a.id}").content.decode()
    assert "you can see it" in body and f'value="{w.clip.recording_id}"' not in body
    # restricted: not listed at all; locked with det involved: not listed
    Restriction.objects.create(recording=w.other_clip.recording, reason="juvenile")
    lock = CriticalIncidentLock.objects.create(recording=w.other_clip2.recording, reason="OIS")
    lock.involved.add(w.detective)
    body = det.get(f"/access-requests/new?officer={officer_b.id}").content.decode()
    assert w.other_clip.recording.evidence_number not in body and w.other_clip2.recording.evidence_number not in body
    # bad filters: 400 with the reason, audited
    for q in ("officer=not-an-id", "from=2026-13-01", "from=2026-02-02&to=2026-01-01", "incident=" + "x" * 65):
        assert det.get("/access-requests/new?" + q).status_code == 400, q
    assert audited("access.request.search", "det", "denied").count() == 4
    # only detectives ask
    for user in (w.officer, w.supervisor, w.custodian, w.prosecutor, w.admin, w.auditor):
        assert w.c(user).get(f"/access-requests/new?officer={officer_b.id}").status_code == 403


def test_request_rules_and_approval_by_the_squad_supervisor(w):
    det, det2 = w.c(w.detective), w.c(w.det2)
    rec = w.other_clip.recording
    assert not sees(w.detective, w.other_clip)
    before = AccessRequest.objects.count()
    # bad input changes nothing
    for data, status in [({"case": "C-1", "recording": [str(rec.id)], "reason": ""}, 400),
                         ({"case": "C-404", "recording": [str(rec.id)], "reason": "x"}, 400),
                         ({"case": "C-1", "recording": ["nope"], "reason": "x"}, 400),
                         ({"case": "C-1", "recording": [], "reason": "x"}, 400),
                         ({"case": "C-1", "recording": [str(w.clip.recording_id)], "reason": "x"}, 400)]:
        assert post(det, "/access-requests/new", data).status_code == status, data
    # another detective's case is not one to ask for
    assert _ask(det2, rec, case="C-1").status_code == 400
    assert AccessRequest.objects.count() == before
    assert _ask(det, rec).status_code == 302
    assert _ask(det, rec).status_code == 409  # asked already
    ar = AccessRequest.objects.get()
    assert ar.status == "pending" and ar.requester == w.detective and ar.case.number == "C-1"
    assert audited("access.request", "det").get().detail["evidence_number"] == rec.evidence_number
    # the helpers for home pages
    assert list(access_requests.open_requests_of(w.detective)) == [ar]
    assert list(access_requests.requests_awaiting(w.sgt_b)) == [ar]
    assert list(access_requests.requests_awaiting(w.custodian)) == [ar]
    assert not access_requests.requests_awaiting(w.supervisor).exists()  # not his squad
    assert not access_requests.requests_awaiting(w.detective).exists()
    # who may not decide: the requester (403), another squad's supervisor (404), other roles (403)
    url = f"/access-requests/{ar.id}/"
    assert post(det, url, {"decision": "approve", "days": "3"}).status_code == 403
    assert audited("access.request.approve", "det", "denied").exists()
    assert post(w.c(w.supervisor), url, {"decision": "approve", "days": "3"}).status_code == 404
    for user in (w.officer, w.other_officer, w.det2, w.admin, w.auditor, w.prosecutor):
        assert post(w.c(user), url, {"decision": "approve", "days": "3"}).status_code == 403, user
        assert w.c(user).get(url).status_code == 404
    sgt_b = w.c(w.sgt_b)
    assert sgt_b.get(url).status_code == 200 and 'id="approve"' in sgt_b.get(url).content.decode()
    for days in ("0", "91", "abc", "-1", "²"):
        assert post(sgt_b, url, {"decision": "approve", "days": days}).status_code == 400, days
    assert post(sgt_b, url, {"decision": "deny", "reason": ""}).status_code == 400
    ar.refresh_from_db()
    assert ar.status == "pending" and not Grant.objects.exists() and not sees(w.detective, w.other_clip)
    # approved: a grant of 3 days; the detective sees and plays it, adds it to the case
    assert post(sgt_b, url, {"decision": "approve", "days": "3", "reason": "ok"}).status_code == 302
    ar.refresh_from_db()
    assert ar.status == "approved" and ar.decided_by == w.sgt_b
    g = ar.grant
    assert g.user == w.detective and g.recording == rec
    assert timedelta(days=2, hours=23) < g.expires_at - datetime.now(timezone.utc) <= timedelta(days=3)
    entry = audited("access.request.approve", "sgt.b").get()
    assert entry.detail["grant"] == str(g.id) and entry.detail["days"] == 3
    assert post(w.c(w.custodian), url, {"decision": "deny", "reason": "no"}).status_code == 409
    assert sees(w.detective, w.other_clip)
    assert det.get(f"/api/evidence/{w.other_clip.id}/").status_code == 200
    page = det.get(url).content.decode()
    assert 'id="add-to-case"' in page
    assert post(det, "/cases/C-1/footage", {"recording": [str(rec.id)]}).status_code == 302
    assert Case.objects.get(number="C-1").recordings.filter(pk=rec.pk).exists()
    # the requests page tells the detective
    mine = det.get("/access-requests/").content.decode()
    assert "approved" in mine and rec.evidence_number in mine and audited("access.request.list", "det").exists()


def test_grant_expiry_ends_visibility_and_denial(w):
    det, cust = w.c(w.detective), w.c(w.custodian)
    assert _ask(det, w.other_clip2.recording).status_code == 302
    ar = AccessRequest.objects.get()
    assert post(cust, f"/access-requests/{ar.id}/", {"decision": "approve", "days": "1"}).status_code == 302
    assert sees(w.detective, w.other_clip2)
    Grant.objects.filter(pk=AccessRequest.objects.get().grant_id).update(
        expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    assert not sees(w.detective, w.other_clip2)
    assert det.get(f"/api/evidence/{w.other_clip2.id}/").status_code == 404
    assert access_requests.state(AccessRequest.objects.get()) == "expired"
    assert "expired" in det.get("/access-requests/").content.decode()
    # asked again, denied with a reason: no grant, still hidden
    assert _ask(det, w.other_clip2.recording).status_code == 302
    again = AccessRequest.objects.get(status="pending")
    assert post(cust, f"/access-requests/{again.id}/", {"decision": "deny", "reason": "not related"}).status_code == 302
    again.refresh_from_db()
    assert again.status == "denied" and again.grant is None and not sees(w.detective, w.other_clip2)
    assert audited("access.request.deny", "cust").get().detail["reason"] == "not related"


def test_restricted_and_locked_cannot_be_approved_by_who_may_not_see_them(w):
    det = w.c(w.detective)
    assert _ask(det, w.other_clip.recording).status_code == 302
    ar = AccessRequest.objects.get()
    url = f"/access-requests/{ar.id}/"
    # restricted afterwards, naming neither: the custodian and the supervisor no longer see it -> 404
    r = Restriction.objects.create(recording=w.other_clip.recording, reason="IA")
    for user in (w.custodian, w.sgt_b):
        assert post(w.c(user), url, {"decision": "approve", "days": "3"}).status_code == 404
    assert not access_requests.requests_awaiting(w.custodian).exists()
    # named on it: the custodian sees it, but a grant would not lift the restriction -> 409
    r.allowed.add(w.custodian)
    assert post(w.c(w.custodian), url, {"decision": "approve", "days": "3"}).status_code == 409
    Restriction.objects.filter(pk=r.pk).delete()
    # a critical-incident lock naming the supervisor: he may not see it, so may not approve it
    lock = CriticalIncidentLock.objects.create(recording=w.other_clip.recording, reason="OIS")
    lock.involved.add(w.sgt_b)
    assert post(w.c(w.sgt_b), url, {"decision": "approve", "days": "3"}).status_code == 404
    ar.refresh_from_db()
    assert ar.status == "pending" and not Grant.objects.exists()
    assert audited("access.request.approve", "cust", "denied").count() == 2


def test_requests_page_by_role(w):
    for user, status in ((w.detective, 200), (w.supervisor, 200), (w.custodian, 200), (w.officer, 403),
                         (w.prosecutor, 403), (w.admin, 403), (w.auditor, 403)):
        assert w.c(user).get("/access-requests/").status_code == status, user
    assert audited("access.request.list", "off.a", "denied").exists()
    assert w.c(w.detective).get("/access-requests/not-an-id/").status_code == 404


# ---------------------------------------------------------------- the agency setting
def test_detectives_see_all_unrestricted_footage_when_the_agency_says_so(w, settings):
    assert not sees(w.detective, w.other_clip)
    settings.DETECTIVES_SEE_ALL = True
    assert sees(w.detective, w.other_clip) and sees(w.det2, w.clip)
    assert not sees(w.officer, w.other_clip) and not sees(w.supervisor, w.other_clip)  # detectives only
    Restriction.objects.create(recording=w.other_clip.recording, reason="juvenile")
    lock = CriticalIncidentLock.objects.create(recording=w.other_clip2.recording, reason="OIS")
    lock.involved.add(w.det2)
    assert not sees(w.detective, w.other_clip) and not sees(w.det2, w.other_clip2) and sees(w.detective, w.other_clip2)
    det = w.c(w.detective)
    assert det.get(f"/api/evidence/{w.other_clip2.id}/").status_code == 200
    assert det.get(f"/api/evidence/{w.other_clip.id}/").status_code == 404
    # the search goes through the same rule
    ids = {r["id"] for r in det.get("/api/search?per_page=100").json()["results"]}
    assert str(w.other_clip2.id) in ids and str(w.other_clip.id) not in ids
    settings.DETECTIVES_SEE_ALL = False
    assert not sees(w.detective, w.other_clip2)
    assert User.objects.filter(username="det").exists()
