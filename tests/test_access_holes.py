"""Issue 20, access rules: nobody changes their own privileges (item 2), a person without the
download right never receives an original's bytes (item 3), officers may add categories but
never remove one or shorten retention (item 4), and a CSRF refusal on an API write names the
session's user (item 16). Real sign-in (password + TOTP) and the real views, both engines."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client

from bodycam.access.auth import AccountDenied, reset_mfa
from bodycam.access.models import TotpDevice, User
from bodycam.custody.models import AuditEntry

from .access_helpers import PASSWORD, World, client_for, current_code, make_user

pytestmark = pytest.mark.django_db


def _csrf(client) -> dict:
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


def _post_json(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json", **_csrf(client))


def _new(**filters):
    return AuditEntry.objects.filter(**filters)


# ---------------------------------------------------------------- item 2: one's own account
def test_admin_cannot_promote_themselves_and_the_refusal_is_audited(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    before = AuditEntry.objects.count()
    r = _post_json(adm, "/api/users/adm/role", {"role": "custodian", "reason": "I need to see everything"})
    assert r.status_code == 403 and "own" in r.json()["error"]
    assert User.objects.get(pk=w.admin.pk).role == "admin"
    denied = _new(seq__gt=before, action="account.role_change", actor="adm", outcome="denied")
    assert denied.count() == 1 and denied.get().object_id == str(w.admin.id)
    assert not _new(seq__gt=before, action="account.role_change", outcome="ok").exists()
    # ...so the admin still sees no evidence (docs: admins never see footage unless granted).
    assert adm.get("/api/evidence/").json()["total"] == 0
    assert adm.get(f"/api/evidence/{w.clip.id}/").status_code == 404
    # By id as well as by name: it is the account that counts, not how it is named.
    r = _post_json(adm, f"/api/users/{w.admin.id}/role", {"role": "custodian", "reason": "x"})
    assert r.status_code == 403 and User.objects.get(pk=w.admin.pk).role == "admin"


def test_admin_cannot_unlock_themselves_or_reset_their_own_mfa(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    before = AuditEntry.objects.count()
    r = adm.post("/api/users/adm/unlock", **_csrf(adm))
    assert r.status_code == 403
    assert _new(seq__gt=before, action="account.unlock", actor="adm", outcome="denied").count() == 1
    assert not _new(seq__gt=before, action="account.unlock", outcome="ok").exists()
    # The service refuses it whoever calls it (pages, API, a future endpoint).
    with pytest.raises(AccountDenied):
        reset_mfa(w.admin, actor=w.admin, source="test")
    assert TotpDevice.objects.filter(user=w.admin, confirmed_at__isnull=False).exists()
    assert _new(action="account.mfa_reset", actor="adm", outcome="denied").count() == 1
    # Another admin may do both (audited, ok).
    other = make_user("adm2", "admin")
    reset_mfa(w.admin, actor=other, source="test")
    assert not TotpDevice.objects.filter(user=w.admin).exists()
    assert _new(action="account.mfa_reset", actor="adm2", outcome="ok").count() == 1


def test_every_role_change_states_a_reason_which_is_audited(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    for body in ({"role": "detective"}, {"role": "detective", "reason": "   "}, {"role": "detective", "reason": 7},
                 {"role": "detective", "reason": "x" * 501}):
        r = _post_json(adm, "/api/users/off.b/role", body)
        assert r.status_code == 400 and "reason" in r.json()["error"], body
        assert User.objects.get(pk=w.other_officer.pk).role == "officer"
    assert _new(action="account.role_change", actor="adm", outcome="denied").count() == 4
    r = _post_json(adm, "/api/users/off.b/role", {"role": "detective", "reason": "transfer to CID, memo 2026-14"})
    assert r.status_code == 200 and r.json()["role"] == "detective"
    e = _new(action="account.role_change", outcome="ok").get()
    assert e.actor == "adm" and e.detail["reason"] == "transfer to CID, memo 2026-14"
    assert (e.detail["before"], e.detail["after"]) == ("officer", "detective")


def test_users_page_refuses_own_role_and_asks_for_a_reason(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    page = adm.get("/users/").content.decode()
    assert 'name="reason"' in page
    # No role form on one's own row: the only role forms are for the other accounts.
    assert page.count('class="role-form"') == User.objects.count() - 1
    r = adm.post("/users/", {"username": "adm", "action": "role", "role": "custodian", "reason": "because"})
    assert r.status_code == 403 and User.objects.get(pk=w.admin.pk).role == "admin"
    r = adm.post("/users/", {"username": "off.b", "action": "role", "role": "supervisor"})
    assert r.status_code == 400 and User.objects.get(pk=w.other_officer.pk).role == "officer"
    r = adm.post("/users/", {"username": "off.b", "action": "role", "role": "supervisor", "reason": "promoted"})
    assert r.status_code == 302 and User.objects.get(pk=w.other_officer.pk).role == "supervisor"
    assert _new(action="account.role_change", outcome="ok", actor="adm").get().detail["reason"] == "promoted"
    User.objects.filter(pk=w.admin.pk).update(locked_at=None)
    r = adm.post("/users/", {"username": "adm", "action": "unlock"})
    assert r.status_code == 403


def test_cli_role_change_needs_a_reason(tmp_path, capsys):
    from bodycam.cli import main

    w = World(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["user", "set-role", "off.b", "detective"])
    assert exc.value.code == 2 and "--reason" in capsys.readouterr().err
    assert User.objects.get(pk=w.other_officer.pk).role == "officer"
    assert main(["user", "set-role", "off.b", "detective", "--reason", " "]) == 2
    assert User.objects.get(pk=w.other_officer.pk).role == "officer"
    assert main(["user", "set-role", "off.b", "detective", "--reason", "transfer to CID"]) == 0
    e = _new(action="account.role_change", outcome="ok").get()
    assert e.actor == "cli" and e.detail["reason"] == "transfer to CID"


# ---------------------------------------------------------------- item 16: CSRF refusal on the API
def test_csrf_refusal_on_an_api_write_names_the_sessions_user():
    user = make_user("cust", "custodian")
    c = Client(enforce_csrf_checks=True)
    c.get("/login/")
    r = c.post("/login/", {"username": "cust", "password": PASSWORD, "acknowledge": "yes",
                           "csrfmiddlewaretoken": c.cookies["csrftoken"].value})
    assert r.status_code == 302
    c.post("/mfa/", {"code": current_code(user), "csrfmiddlewaretoken": c.cookies["csrftoken"].value})
    before = AuditEntry.objects.count()
    r = c.post("/api/audit/checkpoint")  # session cookie, no X-CSRFToken
    assert r.status_code == 403 and "CSRF" in r.json()["error"]
    rows = list(_new(seq__gt=before))
    assert [(e.action, e.actor, e.outcome) for e in rows] == [("security.csrf_rejected", "cust", "denied")], \
        [(e.action, e.actor) for e in rows]
    assert rows[0].detail["session"] and rows[0].detail["path"] == "/api/audit/checkpoint"
    # A request with no session at all is still anonymous (and still one entry).
    before = AuditEntry.objects.count()
    assert Client(enforce_csrf_checks=True).post("/api/audit/checkpoint").status_code in (401, 403)
    assert [e.actor for e in _new(seq__gt=before)] == ["anonymous"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- item 4: categories and retention
def _cats(clip) -> list[str]:
    return sorted(clip.recording.categories.values_list("name", flat=True))


def _days(clip):
    from bodycam.retention.services import retention_info

    return retention_info(clip.recording)["retention_days"]


def _patch(client, clip, body):
    return client.patch(f"/api/evidence/{clip.id}/", json.dumps(body), content_type="application/json",
                        **_csrf(client))


@pytest.fixture
def cat_world(tmp_path):
    from bodycam.evidence.defaults import ensure_default_categories
    from bodycam.evidence.models import Category

    ensure_default_categories()
    w = World(tmp_path)
    w.clip.recording.categories.add(Category.objects.get(name="Traffic stop"))  # 730 days
    return w


def test_officer_cannot_replace_a_category_to_shorten_retention(cat_world):
    w = cat_world
    off = client_for(w.officer)
    assert _days(w.clip) == 730
    before = AuditEntry.objects.count()
    # The probe's request: "Traffic stop" (730 days) replaced by "Non-evidentiary" (365).
    r = _patch(off, w.clip, {"categories": ["Non-evidentiary"]})
    assert r.status_code == 403 and "supervisor or custodian" in r.json()["error"]
    assert _cats(w.clip) == ["Traffic stop"] and _days(w.clip) == 730
    denied = _new(seq__gt=before, action="evidence.edit", outcome="denied", actor="off.a")
    assert denied.count() == 1 and "Traffic stop" in denied.get().detail["reason"]
    assert not _new(seq__gt=before, action="evidence.edit", outcome="ok").exists()
    # Removing one even where retention grows (Arrest: 1095 days) is still a removal; so is
    # removing every category, with or without a reason.
    for body in ({"categories": ["Arrest"]}, {"categories": []}, {"categories": [], "reason": "mistake"}):
        assert _patch(off, w.clip, body).status_code == 403, body
    assert _cats(w.clip) == ["Traffic stop"]
    # Adding is the officer's to do (retention can only grow), audited with the change.
    r = _patch(off, w.clip, {"categories": ["Traffic stop", "Arrest"], "note": "suspect arrested"})
    assert r.status_code == 200 and r.json()["categories"] == ["Arrest", "Traffic stop"]
    assert _days(w.clip) == 1095
    e = _new(action="evidence.edit", outcome="ok", actor="off.a").get()
    assert e.detail["categories"]["added"] == ["Arrest"] and e.detail["categories"]["removed"] == []
    assert e.detail["categories"]["retention_days"] == {"before": 730, "after": 1095}


def test_adding_a_shorter_category_to_uncategorized_footage_is_a_shortening(cat_world):
    from bodycam.evidence.models import Category

    w = cat_world
    Category.objects.filter(name="Non-evidentiary").update(retention_days=90)
    off = client_for(w.other_officer)  # officer B's clip has no category: Uncategorized, 365 days
    assert _days(w.other_clip) == 365
    r = _patch(off, w.other_clip, {"categories": ["Non-evidentiary"]})
    assert r.status_code == 403 and _cats(w.other_clip) == [] and _days(w.other_clip) == 365
    assert _new(action="evidence.edit", outcome="denied", actor="off.b").get().detail["reason"].endswith(
        "shorten retention")
    assert _patch(off, w.other_clip, {"categories": ["Arrest"]}).status_code == 200
    # The search page's bulk action adds only, and with the same rule: all items or none.
    cust = client_for(w.custodian)
    before = AuditEntry.objects.count()
    r = off.post("/evidence/bulk", {"clip": [str(w.other_clip.id)], "action": "categorize", "category": "Citation"})
    assert r.status_code == 302 and _cats(w.other_clip) == ["Arrest", "Citation"]
    w.clip.recording.categories.clear()  # officer A's item: uncategorized again (365 days)
    # A custodian's bulk add that would shorten one item's retention (365 -> 90 days): the bulk
    # form carries no reason, so nothing changes, not even the item it would not shorten.
    r = cust.post("/evidence/bulk", {"clip": [str(w.other_clip.id), str(w.clip.id)], "action": "categorize",
                                     "category": "Non-evidentiary"})
    assert r.status_code == 400 and "reason" in r.content.decode()
    assert _cats(w.clip) == [] and _cats(w.other_clip) == ["Arrest", "Citation"]
    denied = _new(seq__gt=before, action="evidence.edit", outcome="denied", actor="cust")
    assert denied.count() == 1  # the refusal is kept though nothing changed


def test_supervisor_and_custodian_remove_with_a_reason_detectives_do_not(cat_world):
    w = cat_world
    det, sgt = client_for(w.detective), client_for(w.supervisor)
    assert _patch(det, w.clip, {"categories": [], "reason": "not a traffic stop"}).status_code == 403
    for body in ({"categories": ["Non-evidentiary"]}, {"categories": ["Non-evidentiary"], "reason": " "},
                 {"categories": ["Non-evidentiary"], "reason": ["x"]}):
        r = _patch(sgt, w.clip, body)
        assert r.status_code == 400 and "reason" in r.json()["error"], body
        assert _cats(w.clip) == ["Traffic stop"]
    assert _new(action="evidence.edit", outcome="denied", actor="sgt").count() == 1  # the missing one (others: bad input)
    r = _patch(sgt, w.clip, {"categories": ["Non-evidentiary"], "reason": "CAD shows a welfare check, no stop"})
    assert r.status_code == 200 and _cats(w.clip) == ["Non-evidentiary"] and _days(w.clip) == 365
    e = _new(action="evidence.edit", outcome="ok", actor="sgt").get()
    assert e.detail["reason"] == "CAD shows a welfare check, no stop"
    assert e.detail["categories"]["removed"] == ["Traffic stop"] and e.detail["categories"]["shortens_retention"]
    assert e.detail["categories"]["retention_days"] == {"before": 730, "after": 365}


def test_item_page_category_forms_follow_the_rule(cat_world):
    w = cat_world
    off, sgt = client_for(w.officer), client_for(w.supervisor)
    url = f"/evidence/{w.clip.id}/"
    page = off.get(url).content.decode()
    assert 'id="category-add"' in page and 'id="category-remove"' not in page
    r = off.post(url, {"action": "remove_category", "category": "Traffic stop", "reason": "wrong"})
    assert r.status_code == 403 and _cats(w.clip) == ["Traffic stop"]
    r = off.post(url, {"action": "add_category", "category": "Citation"})
    assert r.status_code == 302 and _cats(w.clip) == ["Citation", "Traffic stop"]
    page = sgt.get(url).content.decode()
    assert 'id="category-remove"' in page and 'name="reason"' in page
    r = sgt.post(url, {"action": "remove_category", "category": "Citation", "reason": ""})
    assert r.status_code == 400 and _cats(w.clip) == ["Citation", "Traffic stop"]
    r = sgt.post(url, {"action": "remove_category", "category": "Citation", "reason": "no citation was issued"})
    assert r.status_code == 302 and _cats(w.clip) == ["Traffic stop"]
    e = _new(action="evidence.edit", outcome="ok", actor="sgt").get()
    assert e.detail["reason"] == "no citation was issued" and e.detail["categories"]["removed"] == ["Citation"]
