"""NUL characters in any text a client sends: a clear 400 before any view, on both engines
(PostgreSQL refuses NUL in every string, so a lookup deep inside a view was a 500), with
nothing changed. Bytes of uploads are not text and pass."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from bodycam.custody.models import AuditEntry

from .access_helpers import World, client_for

pytestmark = pytest.mark.django_db


def test_nul_anywhere_in_text_is_a_400_that_changes_nothing(tmp_path):
    w = World(tmp_path)
    before = AuditEntry.objects.count()
    anon = Client()
    r = anon.post("/login/", {"username": "off\x00icer", "password": "x", "acknowledge": "yes"})
    assert r.status_code == 400 and b"NUL" in r.content
    assert anon.get("/cases/C%00-1/").status_code == 400
    det = client_for(w.detective)
    csrf = {"HTTP_X_CSRFTOKEN": det.cookies["csrftoken"].value}
    after_sign_in = AuditEntry.objects.count()
    r = det.get("/api/search?q=north%00bound")
    assert r.status_code == 400 and "NUL" in r.json()["error"]
    r = det.patch(f"/api/evidence/{w.clip.id}/", json.dumps({"note": "seen\u0000"}),
                 content_type="application/json", **csrf)
    assert r.status_code == 400 and "NUL" in r.json()["error"]
    r = det.patch(f"/api/evidence/{w.clip.id}/", json.dumps({"tags": ["a", {"x\u0000": 1}]}),
                 content_type="application/json", **csrf)
    assert r.status_code == 400
    assert AuditEntry.objects.count() == after_sign_in > before  # refused before any view: nothing written
    # The same text without NUL, and a body that merely contains the six characters \u0000, go through.
    r = det.patch(f"/api/evidence/{w.clip.id}/", json.dumps({"note": "typed \\u0000 literally"}),
                 content_type="application/json", **csrf)
    assert r.status_code == 200, r.content
    assert det.get("/api/search?q=northbound").status_code == 200
