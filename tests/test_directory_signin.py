"""Directory sign-in (issue 24) against real servers started here on 127.0.0.1: OpenLDAP
``slapd`` (throw-away config, an LDIF of users and groups, StartTLS with a CA made here) and
node ``oidc-provider`` (tests/oidc). No mock of either protocol: bodycam binds and searches
with python-ldap, and runs the OpenID code flow with PKCE through the provider's own pages
with a real HTTP client following its redirects (and Chromium in the browser test).

Both engines: ``django_db`` (and the live server of the browser test gets its own database)."""

from __future__ import annotations

import json
import os
import re
import shutil
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests
from django.test import Client

from bodycam.access.models import DirectoryLink, TotpDevice, User
from bodycam.custody.models import AuditEntry

from .access_helpers import client_for, current_code, make_user, sign_in
from .directory_servers import BASE, PASSWORD, OidcProvider, Slapd

# django_db on each in-process test (not module-wide: the browser test's Playwright loop and the
# test database's teardown do not mix; its live server has a database of its own).
DB = pytest.mark.django_db
pytestmark = [pytest.mark.skipif(not shutil.which("slapd") and not os.path.exists("/usr/sbin/slapd"),
                                 reason="needs slapd (scripts/install.sh --test)")]


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    server = Slapd(tmp_path_factory.mktemp("slapd")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    server = OidcProvider(tmp_path_factory.mktemp("oidc"), ["http://testserver/login/oidc/callback"]).start()
    yield server
    server.stop()


@pytest.fixture
def ldap_on(settings, slapd):
    for k, v in slapd.settings().items():
        setattr(settings, k, v)
    return slapd


@pytest.fixture
def oidc_on(settings, idp):
    for k, v in idp.settings().items():
        setattr(settings, k, v)
    return idp


def logins(**match) -> list[dict]:
    """auth.login audit entries (detail) whose detail has these values."""
    out = []
    for e in AuditEntry.objects.filter(action="auth.login").order_by("seq"):
        d = dict(e.detail, actor=e.actor, outcome=e.outcome)
        if all(d.get(k) == v for k, v in match.items()):
            out.append(d)
    return out


def ldap_password(client: Client, username: str, password: str = PASSWORD):
    return client.post("/login/", {"username": username, "password": password, "acknowledge": "yes"})


def finish_totp(client: Client, username: str):
    """The second factor for a directory account (its authenticator provisioned for the test)."""
    from bodycam.access.auth import enrol_with_secret

    user = User.objects.get(username=username)
    if not TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
        enrol_with_secret(user, actor="test")
    r = client.post("/mfa/", {"code": current_code(user)})
    assert r.status_code == 302 and not r["Location"].startswith("/login"), (r.status_code, r.content[:300])
    return r


# -- LDAP / Active Directory ------------------------------------------------------------------------

@DB
def test_ldap_sign_in_maps_groups_to_roles_and_asks_totp(ldap_on):
    c = Client()
    r = ldap_password(c, "olivia")
    assert r.status_code == 302 and r["Location"].startswith("/mfa/")
    olivia = User.objects.get(username="olivia")
    assert olivia.role == "officer" and not olivia.has_usable_password()
    link = DirectoryLink.objects.get(user=olivia)
    assert link.source == "ldap" and re.fullmatch(r"[0-9a-f-]{36}", link.subject)  # entryUUID
    assert f"cn=bodycam-officers,ou=groups,{BASE}" in link.groups
    assert c.get("/").status_code == 302  # not signed in before the second factor
    finish_totp(c, "olivia")
    assert c.get("/").status_code == 200
    done = logins(stage="complete", actor="olivia")
    assert done[-1]["method"] == "ldap" and done[-1]["mfa"] == "totp"
    created = AuditEntry.objects.get(action="account.create", object_id=str(olivia.id))
    assert created.actor == "directory:ldap" and created.detail["role"] == "officer"

    # dave is in both groups: the first pair of BODYCAM_LDAP_GROUP_ROLES (detectives, by full DN) wins
    c2 = Client()
    assert ldap_password(c2, "dave").status_code == 302
    assert User.objects.get(username="dave").role == "detective"


@DB
def test_ldap_role_follows_the_directory_at_each_sign_in_audited(ldap_on):
    assert ldap_password(Client(), "dave").status_code == 302
    dave = User.objects.get(username="dave")
    assert dave.role == "detective"
    ldap_on.ldapmodify(f"dn: cn=bodycam-detectives,ou=groups,{BASE}\nchangetype: modify\ndelete: member\n"
                       f"member: uid=dave,ou=people,{BASE}\n")
    try:
        assert ldap_password(Client(), "dave").status_code == 302
        dave.refresh_from_db()
        assert dave.role == "officer"
        change = AuditEntry.objects.filter(action="account.role_change", object_id=str(dave.id)).latest("seq")
        assert change.actor == "directory:ldap" and change.outcome == "ok"
        assert change.detail["before"] == {"role": "detective"} and change.detail["after"] == {"role": "officer"}
        assert "bodycam-officers" in change.detail["reason"]
    finally:
        ldap_on.ldapmodify(f"dn: cn=bodycam-detectives,ou=groups,{BASE}\nchangetype: modify\nadd: member\n"
                           f"member: uid=dave,ou=people,{BASE}\n")


@DB
def test_ldap_disabled_account_is_refused(ldap_on):
    r = ldap_password(Client(), "disa")  # userAccountControl 514: ACCOUNTDISABLE
    assert r.status_code == 401 and b"Wrong username or password" in r.content
    assert not User.objects.filter(username="disa").exists()
    assert logins(actor="disa")[-1]["reason"] == "account disabled in the directory"
    assert logins(actor="disa")[-1]["method"] == "ldap"
    # an enabled AD account (512) is let in
    assert ldap_password(Client(), "ursula").status_code == 302


@DB
def test_ldap_user_in_no_mapped_group_or_outside_the_required_group_is_refused(ldap_on, settings):
    r = ldap_password(Client(), "nora")  # in other-staff only
    assert r.status_code == 401 and b"not in any group" in r.content
    assert not User.objects.filter(username="nora").exists()
    e = logins(actor="nora")[-1]
    assert e["outcome"] == "denied" and e["reason"] == "no mapped directory group" and e["method"] == "ldap"

    settings.LDAP_REQUIRE_GROUP = "bodycam-detectives"
    r = ldap_password(Client(), "olivia")
    assert r.status_code == 401
    assert logins(actor="olivia")[-1]["reason"] == "not in the group BODYCAM_LDAP_REQUIRE_GROUP names"
    assert not User.objects.filter(username="olivia").exists()


@DB
def test_ldap_wrong_password_empty_password_and_filter_injection_are_refused(ldap_on):
    assert ldap_password(Client(), "olivia", "wrong-password").status_code == 401
    assert logins(actor="olivia")[-1]["reason"] == "wrong password"
    assert ldap_password(Client(), "olivia", "").status_code == 401  # an "unauthenticated bind" never signs in
    assert ldap_password(Client(), "*", PASSWORD).status_code == 401
    assert ldap_password(Client(), "olivia)(uid=*", PASSWORD).status_code == 401
    assert not User.objects.filter(username="olivia").exists()


@DB
def test_ldap_over_starttls_checks_the_certificate(ldap_on, settings, tmp_path):
    settings.LDAP_STARTTLS = True
    settings.LDAP_CA_FILE = str(ldap_on.ca)
    c = Client()
    assert ldap_password(c, "olivia").status_code == 302
    finish_totp(c, "olivia")
    # a server certificate the configured CA did not sign: no sign-in, audited as an error
    from .directory_servers import make_ca

    other_ca, _, _ = make_ca(tmp_path)
    settings.LDAP_CA_FILE = str(other_ca)
    r = ldap_password(Client(), "dave")
    assert r.status_code == 401 and b"directory could not be reached" in r.content
    e = AuditEntry.objects.filter(action="auth.login", actor="dave").latest("seq")
    assert e.outcome == "error" and e.detail["method"] == "ldap" and "LDAP error" in e.detail["reason"]


@DB
def test_local_break_glass_account_still_signs_in_and_is_never_taken_over(ldap_on, settings):
    admin = make_user("olivia", "admin")  # a local account with a directory user's name
    c = sign_in(Client(), admin)  # the local password, not the directory's
    assert c.get("/users/").status_code == 200
    assert ldap_password(Client(), "olivia", PASSWORD).status_code == 401  # the directory password is not it
    assert not DirectoryLink.objects.filter(user=admin).exists()
    admin.refresh_from_db()
    assert admin.role == "admin"
    # the directory down: local accounts still sign in
    settings.LDAP_URL = "ldap://127.0.0.1:1"
    sign_in(Client(), make_user("breakglass", "admin"))


@DB
def test_directory_role_is_not_editable_locally(ldap_on):
    c = Client()
    assert ldap_password(c, "olivia").status_code == 302
    admin = make_user("root-admin", "admin")
    ac = client_for(admin)
    r = ac.post("/api/users/olivia/role", data=json.dumps({"role": "custodian", "reason": "promotion"}),
                content_type="application/json")
    assert r.status_code == 409 and "directory" in r.json()["error"]
    assert User.objects.get(username="olivia").role == "officer"
    e = AuditEntry.objects.filter(action="account.role_change").latest("seq")
    assert e.outcome == "denied" and e.actor == "root-admin"
    page = ac.get("/users/").content.decode()
    assert "directory (LDAP)" in page and "from directory groups" in page


# -- OpenID Connect -------------------------------------------------------------------------------

def oidc_round_trip(client: Client, idp: OidcProvider, login: str, password: str = PASSWORD):
    """The login page's SSO button, the provider's own login page (a real HTTP client following
    its redirects), and the callback back into bodycam. Returns bodycam's answer to the callback."""
    page = client.get("/login/").content.decode()
    assert "Sign in with Example IdP" in page
    r = client.post("/login/oidc/", {"acknowledge": "yes", "next": "/"})
    assert r.status_code == 302, r.content[:300]
    auth_url = r["Location"]
    q = parse_qs(urlparse(auth_url).query)
    assert auth_url.startswith(idp.issuer + "/auth") and q["code_challenge_method"] == ["S256"]
    assert q["response_type"] == ["code"] and q["state"] and q["nonce"] and q["code_challenge"]
    s = requests.Session()
    r = s.get(auth_url, timeout=10)
    action = re.search(r'action="([^"]+)"', r.text).group(1)
    r = s.post(urljoin(r.url, action), data={"login": login, "password": password}, allow_redirects=False,
               timeout=10)
    for _ in range(10):
        assert r.status_code in (302, 303), (r.status_code, r.text[:300])
        loc = urljoin(r.url, r.headers["Location"])
        if loc.startswith("http://testserver/"):
            break
        r = s.get(loc, allow_redirects=False, timeout=10)
    assert loc.startswith("http://testserver/login/oidc/callback?")
    return client.get(loc[len("http://testserver"):])


@DB
def test_oidc_sign_in_with_idp_mfa_skips_totp(oidc_on):
    c = Client()
    r = oidc_round_trip(c, oidc_on, "alice")
    assert r.status_code == 302 and r["Location"] == "/"
    assert c.get("/").status_code == 200  # signed in, no /mfa/ step
    alice = User.objects.get(username="alice")
    assert alice.role == "custodian" and not TotpDevice.objects.filter(user=alice).exists()
    link = DirectoryLink.objects.get(user=alice)
    assert link.source == "oidc" and link.issuer == oidc_on.issuer and link.subject == "alice"
    e = logins(stage="complete", actor="alice")[-1]
    assert e["method"] == "oidc" and e["mfa"] == "idp" and e["mfa_evidence"]["amr"] == ["pwd", "mfa"]
    assert e["banner_acknowledged"]


@DB
def test_oidc_without_idp_mfa_asks_totp_and_acr_listed_counts(oidc_on):
    c = Client()
    r = oidc_round_trip(c, oidc_on, "bob")
    assert r.status_code == 302 and r["Location"].startswith("/mfa/")
    assert c.get("/").status_code == 302  # not signed in yet
    bob = User.objects.get(username="bob")
    assert bob.role == "officer"  # "Bodycam-Officers": group names match without regard to case
    assert c.get("/mfa/").status_code == 200  # enrolment page for a first sign-in
    finish_totp(c, "bob")
    assert c.get("/").status_code == 200
    e = logins(stage="complete", actor="bob")[-1]
    assert e["method"] == "oidc" and e["mfa"] == "totp"

    c2 = Client()
    r = oidc_round_trip(c2, oidc_on, "erin")  # acr urn:example:phr is in BODYCAM_OIDC_MFA_ACR
    assert r.status_code == 302 and r["Location"] == "/"
    assert User.objects.get(username="erin").role == "detective"
    assert logins(stage="complete", actor="erin")[-1]["mfa_evidence"]["acr"] == "urn:example:phr"


@DB
def test_oidc_user_in_no_mapped_group_is_refused(oidc_on):
    c = Client()
    r = oidc_round_trip(c, oidc_on, "carol")
    assert r.status_code == 403 and b"not in any group" in r.content
    assert not User.objects.filter(username="carol").exists()
    assert c.get("/").status_code == 302
    e = logins(actor="carol")[-1]
    assert e["outcome"] == "denied" and e["method"] == "oidc" and e["reason"] == "no mapped directory group"


@DB
def test_oidc_disabled_account_refused_by_the_idp(oidc_on):
    c = Client()
    r = oidc_round_trip(c, oidc_on, "dan")
    assert r.status_code == 403
    assert not User.objects.filter(username="dan").exists()
    e = logins(method="oidc", outcome="denied")[-1]
    assert e["reason"].startswith("provider refused: access_denied")


@DB
def test_oidc_callback_needs_this_sessions_state(oidc_on):
    # a callback this browser did not start (no flow under way): refused, audited
    r = Client().get("/login/oidc/callback?code=abc&state=forged")
    assert r.status_code == 400
    assert logins(method="oidc")[-1]["outcome"] == "denied"
    # a flow under way, but a forged state
    c = Client()
    assert c.post("/login/oidc/", {"acknowledge": "yes"}).status_code == 302
    r = c.get("/login/oidc/callback?code=abc&state=forged")
    assert r.status_code == 403
    assert "state does not match" in logins(method="oidc")[-1]["reason"]
    # the acknowledgement is required for the SSO button too
    r = Client().post("/login/oidc/", {"next": "/"})
    assert r.status_code == 400


@DB
def test_oidc_role_change_and_local_disable_apply_at_next_sign_in(oidc_on, settings):
    c = Client()
    assert oidc_round_trip(c, oidc_on, "alice")["Location"] == "/"
    alice = User.objects.get(username="alice")
    settings.OIDC_GROUP_ROLES = "bodycam-custodians=auditor"
    assert oidc_round_trip(Client(), oidc_on, "alice")["Location"] == "/"
    alice.refresh_from_db()
    assert alice.role == "auditor"
    change = AuditEntry.objects.filter(action="account.role_change", object_id=str(alice.id)).latest("seq")
    assert (change.actor, change.detail["before"], change.detail["after"]) == \
        ("directory:oidc", {"role": "custodian"}, {"role": "auditor"})
    User.objects.filter(pk=alice.pk).update(is_active=False)
    r = oidc_round_trip(Client(), oidc_on, "alice")
    assert r.status_code == 403
    assert logins(actor="alice")[-1]["reason"] == "account disabled in bodycam"


@DB
def test_group_role_mapping_parse():
    from django.core.exceptions import ImproperlyConfigured

    from bodycam.access.directory import parse_group_roles, role_for

    m = parse_group_roles(f"cn=Det,ou=groups,{BASE}=detective; officers = officer;", "X")
    assert m == [(f"cn=Det,ou=groups,{BASE}", "detective"), ("officers", "officer")]
    assert role_for([f"CN=det,OU=groups,{BASE}"], m) == ("detective", f"cn=Det,ou=groups,{BASE}")
    assert role_for([f"cn=officers,ou=x,{BASE}"], m)[0] == "officer"  # by the group's cn
    assert role_for(["staff"], m) == (None, "")
    for bad in ("officers", "officers=chief", "=officer"):
        with pytest.raises(ImproperlyConfigured):
            parse_group_roles(bad, "X")


# -- in the browser, against a real `bodycam serve` ------------------------------------------------

def _enrol_in_page(page, site_url: str) -> None:
    """A first sign-in's authenticator enrolment, as a person with an app would do it."""
    from bodycam.access import totp

    page.wait_for_url("**/mfa/**")
    page.fill("input[name=code]", totp.code_at(page.inner_text("#totp-secret")))
    page.click("form[action='/mfa/'] button[type=submit]")
    page.wait_for_url(site_url + "/")


@pytest.mark.slow
@pytest.mark.catalogue
@pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="needs /usr/bin/chromium")
def test_browser_sso_button_ldap_form_and_users_page(slapd, tmp_path, browser):
    from .browser import no_sideways_scroll, shot
    from .directory_servers import CLIENT_ID, CLIENT_SECRET
    from .live import LiveServer

    site = LiveServer(tmp_path / "site")
    provider = OidcProvider(tmp_path, [site.url + "/login/oidc/callback"]).start()
    env = {"BODYCAM_" + k: ("1" if v is True else "" if v is False else v)
           for k, v in {**slapd.settings(), **provider.settings()}.items()}
    assert env["BODYCAM_OIDC_CLIENT_ID"] == CLIENT_ID and env["BODYCAM_OIDC_CLIENT_SECRET"] == CLIENT_SECRET
    site.env.update(env)
    site.start()
    try:
        (tmp_path / "pw").write_text("break-glass-admin-2026\n")
        site.cli("user", "add", "chief", "--role", "admin", "--password-file", str(tmp_path / "pw"))
        for width in (390, 1280):
            ctx = browser.new_context(viewport={"width": width, "height": 800})
            page = ctx.new_page()
            page.goto(site.url + "/login/")
            button = page.get_by_role("button", name="Sign in with Example IdP")
            assert button.is_visible()
            no_sideways_scroll(page, page.url)
            shot(page, f"directory-login-{width}")
            ctx.close()

        # OpenID Connect: the button, the provider's page, back signed in (the IdP did MFA)
        ctx = browser.new_context(viewport={"width": 390, "height": 800})
        page = ctx.new_page()
        page.goto(site.url + "/login/")
        page.check("input[name=acknowledge]")
        page.click("text=Sign in with Example IdP")
        page.wait_for_url(provider.issuer + "/interaction/**")
        page.fill("#login", "alice")
        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.wait_for_url(site.url + "/")  # signed in, no TOTP step
        shot(page, "directory-oidc-signed-in-390")
        ctx.close()

        # LDAP: the ordinary form, then TOTP (enrolment at the first sign-in)
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        page = ctx.new_page()
        page.goto(site.url + "/login/")
        page.check("input[name=acknowledge]")
        page.fill("input[name=username]", "olivia")
        page.fill("input[name=password]", PASSWORD)
        page.click("text=Continue")
        _enrol_in_page(page, site.url)
        ctx.close()

        # The break-glass admin (local password) sees who the directory manages
        for width in (1280, 390):
            ctx = browser.new_context(viewport={"width": width, "height": 900})
            page = ctx.new_page()
            page.goto(site.url + "/login/")
            page.check("input[name=acknowledge]")
            page.fill("input[name=username]", "chief")
            page.fill("input[name=password]", "break-glass-admin-2026")
            page.click("text=Continue")
            if width == 1280:
                _enrol_in_page(page, site.url)
            else:
                from bodycam.access import totp

                page.wait_for_url("**/mfa/**")
                secret = site.sql("SELECT secret FROM access_totpdevice t JOIN access_user u ON u.id = t.user_id "
                                  "WHERE u.username = 'chief'")[0][0]
                page.fill("input[name=code]", totp.code_at(secret, __import__("time").time() + 30))
                page.click("form[action='/mfa/'] button[type=submit]")
                page.wait_for_url(site.url + "/")
            page.goto(site.url + "/users/")
            rows = {r.locator("td").first.inner_text(): r for r in page.locator("tbody tr").all()}
            alice = next(r for name, r in rows.items() if name.startswith("alice"))
            assert "directory (OpenID Connect)" in alice.inner_text() and "from directory groups" in alice.inner_text()
            assert alice.locator("select[name=role]").count() == 0
            olivia = next(r for name, r in rows.items() if name.startswith("olivia"))
            assert "directory (LDAP)" in olivia.inner_text()
            shot(page, f"directory-users-{width}")
            no_sideways_scroll(page, page.url)
            ctx.close()
        done = {(a, json.loads(d)["method"], json.loads(d)["mfa"]) for a, _, _, d in
                site.audit_rows("action = 'auth.login' AND outcome = 'ok'")}
        assert {("alice", "oidc", "idp"), ("olivia", "ldap", "totp"), ("chief", "password", "totp")} <= done
    finally:
        site.stop()
        provider.stop()
