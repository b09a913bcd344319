"""Issue 24, Accounts: the administrators' pages (list and filters, create with a one-time
enrolment link, the account page, disable/enable, role, MFA and password reset, API tokens),
the public enrolment page and the same on the command line. Real sign-in (password + TOTP)
and the real views, both engines. The browser walk is tests/test_accounts_live.py."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from django.test import Client

from bodycam.access import totp
from bodycam.access.auth import create_token
from bodycam.access.models import ApiToken, DirectoryLink, EnrolmentLink, TotpDevice, User
from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Clip, Officer

from .access_helpers import PASSWORD, World, client_for, current_code, sign_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "lantern-harbour-quietly-47"


def _entries(**filters):
    return AuditEntry.objects.filter(**filters)


def _create(client, **fields):
    form = {"username": "new.off", "role": "officer", "first_name": "Nora", "last_name": "Okafor", "badge": "4411",
            "email": "nora@example.org", "squad": "", "axis_user_id": "", "reason": "new hire, HR 2026-031"}
    form.update(fields)
    return client.post("/users/new/", form)


def _link_from(response) -> str:
    m = re.search(r'id="enrol-link" value="[^"]*(/enrol/[^"/]+/)"', response.content.decode())
    assert m, response.content.decode()[:2000]
    return m.group(1)


def _enrol(path: str, password: str = NEW_PASSWORD, password2: str | None = None, code: str | None = None):
    """Open the link in a fresh browser, read the key it shows, post the form. Returns (response, secret)."""
    c = Client()
    page = c.get(path)
    assert page.status_code == 200, page.content[:500]
    m = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.content.decode())
    secret = m.group(1) if m else None
    r = c.post(path, {"password": password, "password2": password if password2 is None else password2,
                      "code": code if code is not None else totp.code_at(secret)})
    return r, secret


# ---------------------------------------------------------------- create and enrol
def test_admin_creates_an_officer_who_enrols_through_the_link_once_and_signs_in(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    r = _create(adm, squad=str(w.squad_a.id))
    assert r.status_code == 201
    path = _link_from(r)
    user = User.objects.get(username="new.off")
    assert (user.role, user.first_name, user.last_name, user.badge, user.email, user.squad) == (
        "officer", "Nora", "Okafor", "4411", "nora@example.org", w.squad_a)
    assert not user.has_usable_password() and user.is_active
    officer = Officer.objects.get(account=user)  # the camera identity
    assert officer.name == "Nora Okafor" and officer.user_key == "4411"
    # The token is stored as its SHA-256 only.
    token = path.split("/")[2]
    link = EnrolmentLink.objects.get(user=user)
    assert link.token_sha256 == hashlib.sha256(token.encode()).hexdigest() and link.purpose == "new"
    assert not EnrolmentLink.objects.filter(token_sha256=token).exists()
    created = _entries(action="account.create", outcome="ok", actor="adm").get()
    assert created.detail["reason"] == "new hire, HR 2026-031" and created.detail["squad"] == "A"
    issued = _entries(action="account.enrol_link", outcome="ok", actor="adm").get()
    assert issued.object_id == str(user.id) and token not in json.dumps(issued.detail)
    # The account page shows the pending enrolment; the list says so too.
    assert "enrolment pending" in adm.get("/users/new.off/").content.decode()

    r, secret = _enrol(path)
    assert r.status_code == 302 and r["Location"] == "/login/?enrolled=1"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert TotpDevice.objects.get(user=user, secret=secret).confirmed_at is not None
    assert EnrolmentLink.objects.get(pk=link.pk).used_at is not None
    done = _entries(action="account.enrol", outcome="ok", actor="new.off").get()
    assert done.detail["authenticator"] == "enrolled"
    # Single use: the same link again is a 404 (audited), whatever is posted.
    c = Client()
    assert c.get(path).status_code == 404
    assert c.post(path, {"password": "x" * 12, "password2": "x" * 12, "code": "123456"}).status_code == 404
    assert _entries(action="account.enrol", outcome="denied", detail__reason="link already used").count() == 2
    # ...and the person signs in with the password they chose and their authenticator.
    sign_in(Client(), user, password=NEW_PASSWORD)
    assert "Your account is ready" in Client().get("/login/?enrolled=1").content.decode()


def test_enrolment_form_refuses_bad_input_and_changes_nothing(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    path = _link_from(_create(adm))
    user = User.objects.get(username="new.off")
    for kwargs, why in (({"password2": NEW_PASSWORD + "x"}, "differ"), ({"password": "password"}, "too common"),
                        ({"password": "short1"}, "too short"), ({"code": "000000"}, "wrong"),
                        ({"code": "١٢٣٤٥٦"}, "wrong"), ({"password": ""}, "choose a password")):
        r, _ = _enrol(path, **kwargs)
        assert r.status_code == 400 and why in r.content.decode(), (kwargs, r.content.decode()[-800:])
        user.refresh_from_db()
        assert not user.has_usable_password()
        assert not TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()
        assert EnrolmentLink.objects.get(user=user).used_at is None
    assert _entries(action="account.enrol", outcome="failed", actor="new.off").count() == 6
    # The link still works after the failures.
    assert _enrol(path)[0].status_code == 302


def test_expired_replaced_and_unknown_links_are_404_and_audited(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    first = _link_from(_create(adm))
    user = User.objects.get(username="new.off")
    # A new link ends the earlier one.
    r = adm.post("/users/new.off/enrol-link", {"reason": "lost the first one"})
    assert r.status_code == 200
    second = _link_from(r)
    assert Client().get(first).status_code == 404
    assert _entries(action="account.enrol", outcome="denied", detail__reason="link replaced or ended").exists()
    # Expired.
    EnrolmentLink.objects.filter(user=user, revoked_at__isnull=True).update(
        expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    r = Client().get(second)
    assert r.status_code == 404 and "Ask your administrator" in r.content.decode()
    assert _entries(action="account.enrol", outcome="denied", detail__reason="link expired").exists()
    for bogus in ("/enrol/not-a-token/", "/enrol/bce_" + "A" * 43 + "/"):
        assert Client().get(bogus).status_code == 404
    assert _entries(action="account.enrol", outcome="denied", detail__reason="unknown link").count() == 2
    assert not user.has_usable_password()


def test_link_expiry_follows_the_setting(tmp_path, settings):
    settings.ENROL_LINK_HOURS = 2
    w = World(tmp_path)
    _create(client_for(w.admin))
    link = EnrolmentLink.objects.get(user__username="new.off")
    assert timedelta(hours=1, minutes=59) < link.expires_at - link.created_at <= timedelta(hours=2)


def test_create_refuses_bad_input_with_a_reason_and_stores_nothing(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    users, officers, links = User.objects.count(), Officer.objects.count(), EnrolmentLink.objects.count()
    cases = [({"role": "king"}, "choose a role"), ({"role": ""}, "choose a role"),
             ({"username": "no spaces"}, "username must be"), ({"username": ""}, "username must be"),
             ({"username": "off.a"}, "already exists"), ({"email": "not-an-address"}, "e-mail"),
             ({"axis_user_id": "not-a-uuid"}, "UUID"), ({"squad": "00000000-0000-0000-0000-000000000000"}, "no squad"),
             ({"first_name": "x" * 151}, "first name"), ({"badge": "x" * 33}, "badge"),
             ({"axis_user_id": str(w.officer.officer.axis_user_id)}, "already linked")]
    for fields, why in cases:
        r = _create(adm, **fields)
        assert r.status_code == 400 and why in r.content.decode(), (fields, r.content.decode()[-1500:])
        # The form comes back filled in, the error beside it.
        assert 'name="username"' in r.content.decode()
    assert (User.objects.count(), Officer.objects.count(), EnrolmentLink.objects.count()) == (users, officers, links)
    assert _entries(action="account.create", outcome="denied", actor="adm").count() == len(cases)


# ---------------------------------------------------------------- list
def test_list_filters_and_shows_what_an_admin_needs(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    _create(adm)
    User.objects.filter(pk=w.other_officer.pk).update(is_active=False)
    User.objects.filter(pk=w.supervisor.pk).update(locked_at=datetime.now(timezone.utc))

    def names(query=""):
        r = adm.get("/users/" + query)
        assert r.status_code == 200, r.content[:300]
        return set(re.findall(r'<a href="/users/([^/"]+)/">', r.content.decode()))

    assert {"off.a", "off.b", "sgt", "adm", "new.off"} <= names()
    assert names("?role=officer") == {"off.a", "off.b", "new.off"}
    assert names("?status=disabled") == {"off.b"}
    assert names("?status=locked") == {"sgt"}
    assert names("?status=pending") == {"new.off"}
    assert "off.b" not in names("?status=active") and "sgt" not in names("?status=active")
    assert names(f"?squad={w.squad_a.id}") == {"off.a"}
    assert names("?q=okaf") == {"new.off"} and names("?q=4411") == {"new.off"} and names("?q=OFF.A") == {"off.a"}
    page = adm.get("/users/").content.decode()
    for text in ("Last sign-in", "MFA", "enrolment pending", "disabled", "locked", "Nora Okafor"):
        assert text in page
    assert "No account matches these filters." in adm.get("/users/?q=nobody-like-this").content.decode()
    for bad in ("?role=king", "?status=gone", "?squad=nope", "?q=" + "x" * 101):
        r = adm.get("/users/" + bad)
        assert r.status_code == 400, bad
    assert _entries(action="account.list", outcome="ok", actor="adm").filter(detail__role="officer").exists()


# ---------------------------------------------------------------- disable / enable
def test_disable_ends_sessions_and_tokens_at_once_and_keeps_footage(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    off = client_for(w.officer)
    _, key = create_token(w.officer, "sync", days=5)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert Client().get("/api/evidence/", **bearer).status_code == 200
    assert off.get("/").status_code == 200
    # The confirm page comes first; a POST without a reason changes nothing.
    page = adm.get("/users/off.a/disable")
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    r = adm.post("/users/off.a/disable", {"reason": "  "})
    assert r.status_code == 400 and User.objects.get(pk=w.officer.pk).is_active
    r = adm.post("/users/off.a/disable", {"reason": "left the agency 2026-12-01"})
    assert r.status_code == 302 and r["Location"] == "/users/off.a/"
    assert not User.objects.get(pk=w.officer.pk).is_active
    # Its session and its token end at once...
    r = off.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    assert Client().get("/api/evidence/", **bearer).status_code in (401, 403)
    assert ApiToken.objects.get(user=w.officer).revoked_at is not None
    # ...it cannot sign in...
    r = Client().post("/login/", {"username": "off.a", "password": PASSWORD, "acknowledge": "yes"})
    assert r.status_code == 401
    # ...and its footage, camera identity and audit trail stay.
    assert Clip.objects.filter(pk=w.clip.pk).exists() and Officer.objects.filter(account=w.officer).exists()
    e = _entries(action="account.disable", outcome="ok", actor="adm").get()
    assert e.detail["reason"] == "left the agency 2026-12-01" and e.detail["tokens_revoked"] == 1
    assert e.detail["sessions_ended"] >= 1
    # Twice is a conflict; re-enabling works (with a reason) and the person signs in again.
    assert adm.post("/users/off.a/disable", {"reason": "again"}).status_code == 409
    assert adm.post("/users/off.a/enable", {"reason": "rehired"}).status_code == 302
    assert User.objects.get(pk=w.officer.pk).is_active
    assert ApiToken.objects.get(user=w.officer).revoked_at is not None  # tokens stay revoked
    sign_in(Client(), w.officer)
    assert _entries(action="account.enable", outcome="ok", actor="adm").get().detail["reason"] == "rehired"


def test_disabled_account_cannot_enrol_and_its_link_ends(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    path = _link_from(_create(adm))
    assert adm.post("/users/new.off/disable", {"reason": "hire withdrawn"}).status_code == 302
    assert Client().get(path).status_code == 404
    assert adm.post("/users/new.off/enrol-link", {"reason": "x"}).status_code == 409


# ---------------------------------------------------------------- never one's own
def test_nobody_changes_their_own_account_on_the_pages(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    page = adm.get("/users/adm/").content.decode()
    assert "your own account" in page and "role-form" not in page and "/users/adm/disable" not in page
    before = AuditEntry.objects.count()
    for path, body, action in (
            ("/users/adm/role", {"role": "custodian", "reason": "x"}, "account.role_change"),
            ("/users/adm/disable", {"reason": "x"}, "account.disable"),
            ("/users/adm/mfa-reset", {"reason": "x"}, "account.mfa_reset"),
            ("/users/adm/password-reset", {"reason": "x"}, "account.password_reset"),
            ("/users/adm/enrol-link", {"reason": "x"}, "account.enrol_link"),
            ("/users/adm/tokens", {"name": "mine", "days": "30"}, "account.token_create")):
        r = adm.post(path, body)
        assert r.status_code == 403 and "own account" in r.content.decode(), path
        assert _entries(seq__gt=before, action=action, outcome="denied", actor="adm").count() == 1, path
    w.admin.refresh_from_db()
    assert w.admin.role == "admin" and w.admin.is_active and w.admin.check_password(PASSWORD)
    assert TotpDevice.objects.filter(user=w.admin, confirmed_at__isnull=False).exists()
    assert not ApiToken.objects.filter(user=w.admin).exists() and not EnrolmentLink.objects.filter(user=w.admin).exists()


# ---------------------------------------------------------------- MFA and password reset
def test_mfa_reset_needs_a_reason_and_the_person_enrols_again(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    assert adm.get("/users/off.b/mfa-reset").status_code == 200
    assert adm.post("/users/off.b/mfa-reset", {}).status_code == 400
    assert TotpDevice.objects.filter(user=w.other_officer).exists()
    assert adm.post("/users/off.b/mfa-reset", {"reason": "lost phone"}).status_code == 302
    assert not TotpDevice.objects.filter(user=w.other_officer).exists()
    assert _entries(action="account.mfa_reset", outcome="ok", actor="adm").get().detail["reason"] == "lost phone"
    c = Client()
    r = c.post("/login/", {"username": "off.b", "password": PASSWORD, "acknowledge": "yes"})
    assert r.status_code == 302 and r["Location"].startswith("/mfa/")
    assert 'id="totp-secret"' in c.get("/mfa/").content.decode()  # a new authenticator to set up


def test_password_reset_issues_a_link_and_the_old_password_stops(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    off = client_for(w.other_officer)
    assert adm.post("/users/off.b/password-reset", {"reason": ""}).status_code == 400
    assert User.objects.get(pk=w.other_officer.pk).check_password(PASSWORD)
    r = adm.post("/users/off.b/password-reset", {"reason": "forgot it, phoned the desk"})
    assert r.status_code == 200
    path = _link_from(r)
    assert not User.objects.get(pk=w.other_officer.pk).has_usable_password()
    assert off.get("/").status_code == 302  # the sessions ended
    assert Client().post("/login/", {"username": "off.b", "password": PASSWORD, "acknowledge": "yes"}).status_code == 401
    # The person keeps their authenticator: the page asks for a code from it, not a new key.
    c = Client()
    page = c.get(path).content.decode()
    assert "totp-secret" not in page and "Choose a new password" in page
    r = c.post(path, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD, "code": current_code(w.other_officer)})
    assert r.status_code == 302
    user = User.objects.get(pk=w.other_officer.pk)
    assert user.check_password(NEW_PASSWORD)
    assert _entries(action="account.enrol", outcome="ok", actor="off.b").get().detail == {
        "purpose": "reset", "link_id": str(EnrolmentLink.objects.get(user=user).id), "authenticator": "proved"}
    e = _entries(action="account.password_reset", outcome="ok", actor="adm").get()
    assert e.detail["reason"] == "forgot it, phoned the desk" and e.detail["sessions_ended"] >= 1


def test_directory_accounts_get_no_password_or_link(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    DirectoryLink.objects.create(user=w.other_officer, source="ldap", subject="x", synced_at=datetime.now(timezone.utc))
    for path in ("/users/off.b/password-reset", "/users/off.b/enrol-link"):
        r = adm.post(path, {"reason": "x"})
        assert r.status_code == 409 and "signs in through LDAP" in r.content.decode(), path
    assert User.objects.get(pk=w.other_officer.pk).check_password(PASSWORD)
    page = adm.get("/users/off.b/").content.decode()
    assert "from directory groups" in page and "/users/off.b/password-reset" not in page


# ---------------------------------------------------------------- API tokens
def test_tokens_per_account_shown_once_with_expiry_and_revoked(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    for days in ("0", "3651", "abc", "", "١٢"):
        assert adm.post("/users/cust/tokens", {"name": "records sync", "days": days}).status_code == 400, days
    assert adm.post("/users/cust/tokens", {"name": "  ", "days": "30"}).status_code == 400
    assert not ApiToken.objects.filter(user=w.custodian).exists()
    r = adm.post("/users/cust/tokens", {"name": "records sync", "days": "30"})
    assert r.status_code == 201
    key = re.search(r'id="api-token" value="(bct_[^"]+)"', r.content.decode()).group(1)
    tok = ApiToken.objects.get(user=w.custodian)
    assert tok.key_sha256 == hashlib.sha256(key.encode()).hexdigest()
    assert timedelta(days=29, hours=23) < tok.expires_at - datetime.now(timezone.utc) <= timedelta(days=30)
    page = adm.get("/users/cust/").content.decode()
    assert "records sync" in page and key not in page  # shown once
    assert Client().get("/api/evidence/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    # Another account's page cannot revoke it (404, audited), nor can a made-up id.
    assert adm.post(f"/users/off.a/tokens/{tok.id}/revoke", {"reason": "x"}).status_code == 404
    assert adm.get("/users/cust/tokens/not-a-token/revoke").status_code == 404
    assert ApiToken.objects.get(pk=tok.pk).revoked_at is None
    # Confirm first, then revoke.
    assert "cannot be undone" in adm.get(f"/users/cust/tokens/{tok.id}/revoke").content.decode()
    r = adm.post(f"/users/cust/tokens/{tok.id}/revoke", {"reason": "integration retired"})
    assert r.status_code == 302
    assert Client().get("/api/evidence/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code in (401, 403)
    assert adm.post(f"/users/cust/tokens/{tok.id}/revoke", {"reason": "again"}).status_code == 409
    assert _entries(action="account.token_create", outcome="ok", actor="adm").count() == 1
    assert _entries(action="account.token_revoke", outcome="ok", actor="adm").get().detail["reason"] == \
        "integration retired"
    assert _entries(action="account.token_create", outcome="denied", actor="adm").count() == 6
    # The change-log on the account page names both.
    page = adm.get("/users/cust/").content.decode()
    assert "Created an API token" in page and "Revoked an API token" in page


def test_account_page_shows_details_and_change_log(tmp_path):
    w = World(tmp_path)
    client_for(w.other_officer)
    adm = client_for(w.admin)
    assert adm.post("/users/off.b/role", {"role": "detective", "reason": "transfer to CID"}).status_code == 302
    page = adm.get("/users/off.b/").content.decode()
    for text in ("Changed an account&#x27;s role", "transfer to CID", "officer → detective", "Axis user",
                 "Signed in", "Created an account"):
        assert text in page, text
    assert adm.get(f"/users/{w.other_officer.id}/").status_code == 200  # by id too
    assert adm.get("/users/nobody-here/").status_code == 404
    assert _entries(action="account.view", outcome="denied", object_id="nobody-here").exists()
    assert _entries(action="account.view", outcome="ok", actor="adm", object_id=str(w.other_officer.id)).exists()


# ---------------------------------------------------------------- the command line
def test_cli_list_disable_enable_and_enrol_link(tmp_path, capsys):
    from bodycam.cli import main

    w = World(tmp_path)
    capsys.readouterr()
    assert main(["user", "list", "--role", "officer"]) == 0
    out = capsys.readouterr().out
    assert "USERNAME" in out and "off.a" in out and "off.b" in out and "sgt" not in out and "2 account(s)" in out
    assert main(["user", "list", "--json", "--q", "off.b"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["username"] for r in rows] == ["off.b"] and rows[0]["mfa"] is True and rows[0]["squad"] == "B"
    assert main(["user", "list", "--status", "gone"]) == 2
    assert main(["user", "disable", "off.b", "--reason", "left"]) == 0
    assert "disabled" in capsys.readouterr().out and not User.objects.get(username="off.b").is_active
    assert main(["user", "list", "--status", "disabled", "--json"]) == 0
    assert [r["username"] for r in json.loads(capsys.readouterr().out)] == ["off.b"]
    assert main(["user", "disable", "off.b", "--reason", "again"]) == 2
    assert main(["user", "enable", "off.b", "--reason", "back"]) == 0
    assert User.objects.get(username="off.b").is_active
    assert _entries(action="account.disable", actor="cli", outcome="ok").get().detail["reason"] == "left"
    # A new account without a password gets a link; so does `user enrol-link`.
    assert main(["user", "add", "nina", "--role", "officer", "--first-name", "Nina", "--squad", "A",
                 "--url", "https://bwc.example.org"]) == 0
    out = capsys.readouterr().out
    first = re.search(r"https://bwc\.example\.org(/enrol/\S+/)", out).group(1)
    assert User.objects.get(username="nina").squad == w.squad_a
    assert main(["user", "enrol-link", "nina", "--reason", "first one lost"]) == 0
    second = re.search(r"(/enrol/\S+/)", capsys.readouterr().out).group(1)
    assert Client().get(first).status_code == 404
    assert _enrol(second)[0].status_code == 302
    assert User.objects.get(username="nina").check_password(NEW_PASSWORD)
    assert main(["user", "enrol-link", "nobody"]) == 2
