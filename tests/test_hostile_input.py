"""Bad input a probe sent (issue 20, items 5 and 6): each a clear 4xx with a reason, never a
500, and nothing written. Real views through Django's test client (raise_request_exception
off: an uncaught exception answers 500 as in production), on both engines."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from bodycam.access.models import LoginAttempt
from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Note
from bodycam.release.models import Share

from .access_helpers import PASSWORD, World, client_for, make_user

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000  # Python's JSON parser recursed on it: RecursionError, a 500
DEEP_NUL = '{"a": "\\u0000", "b": ' + DEEP + "}"  # ...in NulCharactersMiddleware too


def quiet(client: Client) -> Client:
    client.raise_request_exception = False
    return client


def csrf(client: Client) -> dict:
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


def test_deeply_nested_json_is_a_400_on_every_kind_of_route_before_authentication(tmp_path):
    w = World(tmp_path)
    anon = quiet(Client())
    before = AuditEntry.objects.count()
    for path in ("/login/", "/mfa/", "/api/search", f"/api/evidence/{w.clip.id}/", "/auth/v1.0",
                 "/v1/AUTH_testpd/container"):
        for body in (DEEP, DEEP_NUL):
            r = anon.post(path, body, content_type="application/json")
            assert r.status_code == 400, (path, r.status_code)
            assert b"nests" in r.content and b"deeper than 32" in r.content, (path, r.content[:200])
    assert AuditEntry.objects.count() == before  # refused before any view: nothing written

    cust = quiet(client_for(w.custodian))
    signed_in = AuditEntry.objects.count()
    notes = Note.objects.count()
    for body in (DEEP, DEEP_NUL, '{"note": ' + "[" * 40 + "]" * 40 + "}"):
        r = cust.patch(f"/api/evidence/{w.clip.id}/", body, content_type="application/json", **csrf(cust))
        assert r.status_code == 400 and "deeper than 32" in r.json()["error"], r.content[:200]
    assert AuditEntry.objects.count() == signed_in and Note.objects.count() == notes
    # 32 levels are fine: the view answers (here: the note must be text).
    r = cust.patch(f"/api/evidence/{w.clip.id}/", '{"note": ' + "[" * 31 + "]" * 31 + "}",
                   content_type="application/json", **csrf(cust))
    assert r.status_code == 400 and "deeper" not in r.json()["error"]


def test_oversized_json_is_a_413_before_parsing(tmp_path, settings):
    w = World(tmp_path)
    cust = quiet(client_for(w.custodian))
    notes = Note.objects.count()
    big = json.dumps({"note": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    r = cust.patch(f"/api/evidence/{w.clip.id}/", big, content_type="application/json", **csrf(cust))
    assert r.status_code == 413 and "larger than" in r.json()["error"]
    assert quiet(Client()).post("/login/", big, content_type="application/json").status_code == 413
    assert Note.objects.count() == notes


def test_times_outside_the_calendar_are_a_400_in_search_and_compliance(tmp_path):
    w = World(tmp_path)
    cust = quiet(client_for(w.custodian))
    early, late = "0001-01-01T00:00:00%2B01:00", "9999-12-31T23:59:59-01:00"  # UTC before year 1 / after 9999
    for path in ("/api/search", "/evidence/", "/retention/compliance/"):
        for param in (f"from={early}", f"to={early}", f"to={late}", f"from={late}"):
            r = cust.get(f"{path}?{param}")
            assert r.status_code == 400, (path, param, r.status_code)
            assert b"1-9999" in r.content, (path, param, r.content[:300])
    # The compliance report's default period (30 days before "to") may not fall before year 1 either.
    r = cust.get("/retention/compliance/?to=0001-01-02")
    assert r.status_code == 400 and b"before year 1" in r.content
    # Edges that datetime holds still answer.
    assert cust.get("/api/search?from=0001-01-01T00:00:00Z&to=9999-12-31").status_code == 200
    assert cust.get("/retention/compliance/?from=2026-01-01&to=2026-02-01").status_code == 200


def test_huge_offsets_and_counts_are_a_400_or_ignored_never_a_500(tmp_path):
    w = World(tmp_path)
    cust = quiet(client_for(w.custodian))
    for param in ("offset", "limit"):
        for value in ("99999999999999999999", "-1", "²", "١"):
            r = cust.get(f"/api/evidence/?{param}={value}")
            assert r.status_code == 400 and "whole number" in r.json()["error"], (param, value, r.content)
    assert cust.get("/api/evidence/?offset=999999999999999999&limit=500").json()["results"] == []
    aud = quiet(client_for(w.auditor))
    for param in ("after", "limit"):
        r = aud.get(f"/api/audit/?{param}=99999999999999999999")
        assert r.status_code == 400 and "whole number" in r.json()["error"]
        assert aud.get(f"/audit/?{param}=99999999999999999999").status_code == 200  # the page: the default
    for path in ("/api/search", "/evidence/"):
        assert cust.get(f"{path}?page=99999999999999999999").status_code == 400


def test_a_lone_surrogate_as_share_recipient_or_any_json_text_is_a_400_that_shares_nothing(tmp_path):
    w = World(tmp_path)
    cust = quiet(client_for(w.custodian))
    shares, notes = Share.objects.count(), Note.objects.count()
    for path in (f"/api/evidence/{w.clip.id}/item-shares", f"/api/evidence/{w.clip.id}/shares"):
        for body in ('{"recipient": "\\ud800"}', '{"recipient": "ada\\udfff"}', '{"recipient": "ada", "x": ["\\ud83d"]}'):
            r = cust.post(path, body, content_type="application/json", **csrf(cust))
            assert r.status_code == 400 and "lone surrogate" in r.json()["error"], (path, body, r.content)
    r = cust.patch(f"/api/evidence/{w.clip.id}/", '{"note": "seen \\ud800"}', content_type="application/json",
                   **csrf(cust))
    assert r.status_code == 400
    # A surrogate pair is one real character (an emoji): accepted.
    r = cust.patch(f"/api/evidence/{w.clip.id}/", '{"note": "seen \\ud83d\\ude93"}', content_type="application/json",
                   **csrf(cust))
    assert r.status_code == 200, r.content
    assert Share.objects.count() == shares and Note.objects.count() == notes + 1


def test_the_release_service_itself_refuses_a_recipient_that_is_no_username(tmp_path):
    """Behind the middleware, the share service checks the recipient too (printable text)."""
    from django.test import RequestFactory

    from bodycam.release import services as rel
    from bodycam.release.services import BadInput

    w = World(tmp_path)
    request = RequestFactory().post("/")
    request.user = w.custodian
    shares = Share.objects.count()
    for name in ("\ud800", "ada\x07", "a" * 151):
        with pytest.raises(BadInput, match="must be a username"):
            rel.share_item(request, str(w.clip.id), {"recipient": name})
    assert Share.objects.count() == shares


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "۱۲۳۴۵۶", "¹²³⁴⁵⁶", "123⁴⁵⁶", "１２３４５６"])
def test_totp_codes_in_other_digits_are_a_wrong_code_not_a_500(code):
    user = make_user("tt", "officer")
    c = quiet(Client())
    r = c.post("/login/", {"username": user.username, "password": PASSWORD, "acknowledge": "yes"})
    assert r.status_code == 302
    r = c.post("/mfa/", {"code": code})
    assert r.status_code == 401 and b"Wrong or expired code" in r.content
    assert LoginAttempt.objects.filter(username=user.username, stage="totp", success=False).count() == 1


def test_starting_a_redaction_reads_its_body_or_refuses_it(tmp_path):
    """The fuzz walk found: step=1e999 (JSON for infinity) was a 500, and a JSON list, a form
    or unknown fields started a redaction with defaults (a row and a job nobody asked for)."""
    from bodycam.jobs.models import Job
    from bodycam.media.models import Redaction

    w = World(tmp_path)
    cust = quiet(client_for(w.custodian))
    rows, jobs = Redaction.objects.count(), Job.objects.count()
    url = f"/api/evidence/{w.clip.id}/redactions"
    for body, ctype in (('{"step": 1e999}', "application/json"), ("[1, 2]", "application/json"),
                        ('{"days": "12"}', "application/json"), ("step=5&x=1", "application/x-www-form-urlencoded")):
        r = cust.post(url, body, content_type=ctype, **csrf(cust))
        assert r.status_code == 400, (body, r.status_code, r.content)
    assert Redaction.objects.count() == rows and Job.objects.count() == jobs
    assert cust.post(url, '{"step": 5}', content_type="application/json", **csrf(cust)).status_code == 202
