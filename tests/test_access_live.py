"""End to end against a real ``bodycam serve``: sign in with enrolment over HTTP, use the
API, then tamper with the catalogue database and watch ``bodycam audit verify`` exit 1."""

import json
import re

import pytest
import requests

from bodycam.access import totp

pytestmark = pytest.mark.catalogue  # also runs in the PostgreSQL pass


def sign_in(live, username, password):
    s = requests.Session()
    page = s.get(live.url + "/login/")
    assert "System-use notification" in page.text
    r = s.post(live.url + "/login/", data={"username": username, "password": password, "acknowledge": "yes",
                                            "csrfmiddlewaretoken": s.cookies["csrftoken"]},
               headers={"Referer": live.url + "/login/"}, allow_redirects=False)
    assert r.status_code == 302, r.text[:500]
    page = s.get(live.url + "/mfa/").text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    r = s.post(live.url + "/mfa/", data={"code": totp.code_at(secret), "csrfmiddlewaretoken": s.cookies["csrftoken"]},
               headers={"Referer": live.url + "/mfa/"}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/", r.text[:500]
    return s


def test_live_sign_in_api_and_tamper_detection(live, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("long-enough-passphrase-7")
    live.cli("user", "add", "cust", "--role", "custodian", "--password-file", str(pw))
    live.cli("user", "add", "aud", "--role", "auditor", "--password-file", str(pw))
    s = sign_in(live, "cust", pw.read_text())
    assert s.get(live.url + "/api/evidence/").json()["total"] == 0
    assert s.get(live.url + "/").status_code == 200
    # an auditor asks for a checkpoint over the API (CSRF header required)
    a = sign_in(live, "aud", pw.read_text())
    r = a.post(live.url + "/api/audit/checkpoint", headers={"X-CSRFToken": a.cookies["csrftoken"],
                                                             "Referer": live.url + "/"})
    assert r.status_code == 201, r.text
    token = json.loads(live.cli("token", "create", "cust", "--name", "sync").stdout)["token"]
    assert requests.get(live.url + "/api/evidence/", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    assert live.cli("audit", "verify").returncode == 0
    seq = live.sql("SELECT seq FROM custody_auditentry WHERE action = 'auth.login' ORDER BY seq LIMIT 1")[0][0]
    live.sql("UPDATE custody_auditentry SET outcome = 'failed' WHERE seq = ?", seq)
    res = live.cli("audit", "verify", "--json", check=False)
    assert res.returncode == 1
    assert json.loads(res.stdout)["first_problem"]["seq"] == seq
    res = live.cli("audit", "verify", check=False)
    assert res.returncode == 1 and f"entry {seq}" in res.stdout
