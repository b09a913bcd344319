"""Sign-in security: banner, MFA required (and enrolment), lockout, rate limits, session
expiry, CSRF, cookie flags, API tokens, RFC 6238 vectors."""

import hashlib
import json
import time

import pytest
from django.test import Client

from bodycam.access import totp
from bodycam.access.auth import create_token, revoke_token
from bodycam.access.middleware import AUTH_AT, SEEN_AT
from bodycam.access.models import TotpDevice, User
from bodycam.custody.models import AuditEntry

from .access_helpers import PASSWORD, client_for, current_code, make_user, sign_in

pytestmark = pytest.mark.django_db


def password_step(client, username, password=PASSWORD, ack=True):
    data = {"username": username, "password": password}
    if ack:
        data["acknowledge"] = "yes"
    return client.post("/login/", data)


def test_rfc6238_test_vectors():
    key = b"12345678901234567890"
    for t, want in [(59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924"), (2000000000, "69279037")]:
        assert totp.hotp(key, t // 30, digits=8, digest=hashlib.sha1) == want
    secret = totp.new_secret()
    assert totp.match_step(secret, totp.code_at(secret, 1000), t=1000) == 1000 // 30
    assert totp.match_step(secret, totp.code_at(secret, 1000 - 30), t=1000) is not None  # one step of drift
    assert totp.match_step(secret, totp.code_at(secret, 1000 - 90), t=1000) is None
    assert totp.match_step(secret, "abcdef", t=1000) is None
    assert totp.otpauth_uri(secret, "a.b").startswith("otpauth://totp/bodycam%3Aa.b?secret=" + secret)


def test_banner_shown_and_must_be_acknowledged():
    user = make_user("off", "officer")
    c = Client()
    page = c.get("/login/").content.decode()
    assert "System-use notification" in page and "monitored" in page and 'name="acknowledge"' in page
    r = password_step(c, user.username, ack=False)
    assert r.status_code == 400 and b"acknowledge" in r.content
    assert "_auth_user_id" not in c.session and "bc_pending" not in c.session
    sign_in(c, user)
    login = AuditEntry.objects.filter(action="auth.login", actor="off", outcome="ok").last()
    assert login.detail["stage"] == "complete" and login.detail["banner_acknowledged"]


def test_mfa_is_required_password_alone_gets_nothing():
    user = make_user("off", "officer")
    c = Client()
    assert password_step(c, user.username).status_code == 302
    # password done, second factor not: still anonymous everywhere
    assert c.get("/").status_code == 302 and c.get("/")["Location"].startswith("/login/")
    assert c.get("/api/evidence/").status_code in (401, 403)
    r = c.post("/mfa/", {"code": "000000"})
    assert r.status_code == 401 and c.get("/").status_code == 302
    # a session made without the MFA step (e.g. force_login) is thrown out by the middleware
    c2 = Client()
    c2.force_login(user)
    r = c2.get("/")
    assert r.status_code == 302 and "ended" in r["Location"]
    assert AuditEntry.objects.filter(action="auth.session_end", detail__reason="no second factor").exists()
    # with the code: in
    r = c.post("/mfa/", {"code": current_code(user)})
    assert r.status_code == 302 and c.get("/").status_code == 200


def test_enrolment_flow_for_a_new_account():
    user = make_user("new", "detective", enrol=False)
    c = Client()
    password_step(c, user.username)
    page = c.get("/mfa/").content.decode()
    assert "Set up your authenticator" in page and "<svg" in page
    secret = TotpDevice.objects.get(user=user).secret
    assert secret in page and TotpDevice.objects.get(user=user).confirmed_at is None
    used = totp.code_at(secret)
    r = c.post("/mfa/", {"code": used})
    assert r.status_code == 302 and c.get("/").status_code == 200
    assert TotpDevice.objects.get(user=user).confirmed_at is not None
    assert AuditEntry.objects.filter(action="account.mfa_enrol", actor="new").exists()
    # the code just used cannot be replayed
    c3 = Client()
    password_step(c3, user.username)
    r = c3.post("/mfa/", {"code": used})
    assert r.status_code == 401 and b"Wrong or expired code" in r.content
    assert AuditEntry.objects.filter(action="auth.login", actor="new", outcome="failed",
                                     detail__reason="code already used").exists() or \
        AuditEntry.objects.filter(action="auth.login", actor="new", outcome="failed").exists()


def test_five_failures_lock_until_admin_unlocks():
    user = make_user("off", "officer")
    admin = make_user("adm", "admin")
    c = Client()
    for _ in range(5):
        assert password_step(c, user.username, password="wrong-password-1").status_code == 401
    user.refresh_from_db()
    assert user.locked_at is not None
    assert AuditEntry.objects.filter(action="account.lock", object_id=str(user.id)).count() == 1
    assert AuditEntry.objects.filter(action="auth.login", actor="off", outcome="failed").count() == 5
    # the right password no longer works, and the message does not say why
    r = password_step(c, user.username)
    assert r.status_code == 401 and b"Wrong username or password" in r.content
    # a non-admin cannot unlock
    other = client_for(make_user("sgt", "supervisor"))
    r = other.post(f"/api/users/{user.username}/unlock", HTTP_X_CSRFTOKEN=other.cookies["csrftoken"].value)
    assert r.status_code == 403
    # ...and cannot learn which accounts exist: a made-up name gets the same audited 403
    for path in ("/api/users/nobody-here/unlock", "/api/users/nobody-here/role"):
        r = other.post(path, HTTP_X_CSRFTOKEN=other.cookies["csrftoken"].value)
        assert r.status_code == 403, path
    assert AuditEntry.objects.filter(actor="sgt", outcome="denied", object_id="nobody-here").count() == 2
    # the admin can
    a = client_for(admin)
    r = a.post(f"/api/users/{user.username}/unlock", HTTP_X_CSRFTOKEN=a.cookies["csrftoken"].value)
    assert r.status_code == 200
    assert AuditEntry.objects.filter(action="account.unlock", actor="adm", object_id=str(user.id)).exists()
    sign_in(Client(), user)


def test_totp_failures_count_toward_lockout():
    user = make_user("off", "officer")
    c = Client()
    password_step(c, user.username)
    for _ in range(5):
        r = c.post("/mfa/", {"code": "000000" if current_code(user) != "000000" else "111111"})
    assert r.status_code == 302 and "locked" in r["Location"]
    user.refresh_from_db()
    assert user.locked_at is not None


def test_rate_limit_on_login_and_mfa(settings):
    c = Client()
    codes = [password_step(c, f"nobody{i}", password="x" * 9).status_code for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    assert AuditEntry.objects.filter(action="auth.rate_limited").count() == 2
    user = make_user("off", "officer")
    c2 = Client(REMOTE_ADDR="10.9.9.9")
    password_step(c2, user.username)
    settings.MFA_RATE = (3, 60)
    statuses = [c2.post("/mfa/", {"code": "12345x"}).status_code for _ in range(4)]
    assert statuses[-1] == 429


def test_session_idle_and_absolute_expiry():
    user = make_user("off", "officer")
    c = client_for(user)
    assert c.get("/").status_code == 200
    s = c.session
    s[SEEN_AT] = time.time() - 31 * 60
    s.save()
    r = c.get("/")
    assert r.status_code == 302 and "idle" in r["Location"]
    assert c.get("/api/evidence/").status_code in (401, 403)
    assert AuditEntry.objects.filter(action="auth.session_end", detail__reason="idle timeout").exists()

    c = client_for(make_user("off2", "officer"))
    s = c.session
    s[AUTH_AT] = time.time() - 12 * 3600 - 5
    s.save()
    r = c.get("/api/evidence/")
    assert r.status_code == 401 and "12 hour" in r.json()["error"]
    # activity keeps an idle session alive (last seen moves forward)
    c = client_for(make_user("off3", "officer"))
    s = c.session
    s[SEEN_AT] = time.time() - 29 * 60
    s.save()
    assert c.get("/").status_code == 200
    assert time.time() - c.session[SEEN_AT] < 5


def test_csrf_is_enforced_and_rejections_audited():
    user = make_user("cust", "custodian")
    c = Client(enforce_csrf_checks=True)
    r = c.post("/login/", {"username": "cust", "password": PASSWORD, "acknowledge": "yes"})
    assert r.status_code == 403
    assert AuditEntry.objects.filter(action="security.csrf_rejected").exists()
    # signed in properly, an API write without the token is refused
    c.get("/login/")
    tok = c.cookies["csrftoken"].value
    r = c.post("/login/", {"username": "cust", "password": PASSWORD, "acknowledge": "yes",
                           "csrfmiddlewaretoken": tok})
    assert r.status_code == 302
    c.post("/mfa/", {"code": current_code(user), "csrfmiddlewaretoken": c.cookies["csrftoken"].value})
    assert c.get("/api/evidence/").status_code == 200
    r = c.post("/logout/")
    assert r.status_code == 403  # no token
    r = c.post("/api/audit/checkpoint")
    assert r.status_code == 403 and "CSRF" in r.json()["error"]


def test_cookie_flags():
    user = make_user("off", "officer")
    c = Client()
    r = c.get("/login/", secure=True)
    assert r.cookies["csrftoken"]["secure"] and r.cookies["csrftoken"]["samesite"] == "Lax"
    r = c.post("/login/", {"username": "off", "password": PASSWORD, "acknowledge": "yes"}, secure=True)
    r = c.post("/mfa/", {"code": current_code(user)}, secure=True)
    sid = r.cookies["sessionid"]
    assert sid["secure"] and sid["httponly"] and sid["samesite"] == "Lax"
    assert c.get("/login/").headers["X-Frame-Options"] == "DENY"


def test_api_tokens_for_integrations():
    user = make_user("dems-sync", "custodian", enrol=False)
    tok, key = create_token(user, "nightly sync", days=30)
    c = Client()
    assert c.get("/api/evidence/").status_code in (401, 403)
    r = c.get("/api/evidence/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert r.status_code == 200
    assert AuditEntry.objects.filter(action="evidence.list", actor="dems-sync").last().detail["session"] == f"t:{tok.id}"
    assert c.get("/api/evidence/", HTTP_AUTHORIZATION="Bearer bct_nope").status_code == 401
    assert c.get("/api/evidence/", HTTP_AUTHORIZATION="Bearer").status_code == 401
    revoke_token(str(tok.id))
    assert c.get("/api/evidence/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    # only the hash is stored
    assert key not in json.dumps(list(type(tok).objects.values("key_sha256")))


def test_role_change_is_admin_only_and_audited():
    target = make_user("off", "officer")
    admin = client_for(make_user("adm", "admin"))
    r = admin.post("/api/users/off/role", json.dumps({"role": "detective", "reason": "transfer to CID"}),
                   content_type="application/json", HTTP_X_CSRFTOKEN=admin.cookies["csrftoken"].value)
    assert r.status_code == 200 and User.objects.get(pk=target.pk).role == "detective"
    e = AuditEntry.objects.filter(action="account.role_change").last()
    assert e.actor == "adm" and e.detail["before"] == {"role": "officer"} and e.detail["after"] == {"role": "detective"}
    assert e.detail["reason"] == "transfer to CID"
    r = admin.post("/api/users/off/role", json.dumps({"role": "king", "reason": "x"}), content_type="application/json",
                   HTTP_X_CSRFTOKEN=admin.cookies["csrftoken"].value)
    assert r.status_code == 400
