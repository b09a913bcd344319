"""Search: full text over metadata, notes, tags and any plugged-in source (transcripts),
filters, sorting, pages, bad input; always inside what the user may see."""

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bodycam.access.models import Grant
from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Attachment, GnssPoint
from bodycam.search.services import index_text

from .access_helpers import World, client_for

pytestmark = pytest.mark.django_db


def ids(resp):
    assert resp.status_code == 200, resp.content
    return {r["id"] for r in resp.json()["results"]}


def test_full_text_filters_sorting_and_visibility(tmp_path):
    w = World(tmp_path)
    a, b = str(w.clip.id), str(w.other_clip.id)
    off = client_for(w.officer)
    assert off.post(f"/evidence/{a}/", {"note": "Suspect fled northbound", "tags": "felony, K9"}).status_code == 302
    index_text(w.other_clip.recording_id, "transcript", "he went northbound on Main Street")  # a plugged-in source
    cust = client_for(w.custodian)

    assert ids(cust.get("/api/search?q=northbound")) == {a, b}          # note and transcript
    assert ids(cust.get("/api/search?q=north")) == {a, b}               # prefix
    assert ids(cust.get("/api/search?q=suspect+fled")) == {a}           # every word
    assert ids(cust.get("/api/search?q=fled+street")) == set()
    assert ids(cust.get("/api/search?q=k9")) == {a}                     # tags are indexed
    assert ids(cust.get("/api/search?q=northbound&transcript=yes")) == {b}
    assert ids(cust.get("/api/search?transcript=no")) == {a}
    assert ids(cust.get(f"/api/search?q={w.clip.recording.device.serial}")) == {a}  # metadata
    assert ids(cust.get("/api/search?tag=felony")) == {a}
    assert ids(cust.get("/api/search?case=C-1")) == {a}
    assert ids(cust.get(f"/api/search?device={w.other_clip.recording.device.serial}")) == {b}
    assert ids(cust.get("/api/search?officer=off.b")) == {b}
    day = w.clip.recording.trigger_on_time.date()
    assert ids(cust.get(f"/api/search?from={day}&to={day}")) == {a, b}
    assert ids(cust.get(f"/api/search?from={day + timedelta(days=1)}")) == set()
    # The officer's search never reaches beyond their own footage.
    assert ids(off.get("/api/search?q=northbound")) == {a}
    # Notes/tags edits reindex at once (tag removed -> no longer found).
    off.post(f"/evidence/{a}/", {"tags": "felony"})
    assert ids(cust.get("/api/search?q=k9")) == set()

    # Sorting and pages.
    newest = cust.get("/api/search?sort=newest&per_page=1").json()
    assert newest["total"] == 2 and newest["pages"] == 2 and len(newest["results"]) == 1
    second = cust.get("/api/search?sort=newest&per_page=1&page=2").json()["results"][0]["id"]
    assert {newest["results"][0]["id"], second} == {a, b}
    oldest = cust.get("/api/search?sort=oldest&per_page=1").json()["results"][0]["id"]
    assert oldest == second

    # Location: a GNSS fix near the first recording only.
    att = Attachment.objects.create(recording=w.clip.recording, object_name="gps.json", kind="gnss", sha256="0" * 64,
                                    md5="0" * 32, size=1)
    for i, (lat, lon) in enumerate([(52.5200, 13.4050), (52.5205, 13.4060)]):
        GnssPoint.objects.create(recording=w.clip.recording, attachment=att, seq=i, latitude=lat, longitude=lon,
                                 seconds_from_start=i * 0.5, at=w.clip.recording.trigger_on_time)
    assert ids(cust.get("/api/search?lat=52.5210&lon=13.4050&radius=200")) == {a}
    assert ids(cust.get("/api/search?lat=52.5300&lon=13.4050&radius=200")) == set()  # ~1.1 km away
    page = off.get(f"/evidence/{a}/").content.decode()
    assert 'id="map"' in page and "52.52" in page  # offline GNSS plot, no tiles

    # Bad input: 400 with a reason, audited, never a 500.
    for query, words in [("from=2026-13-45", "from must be"), ("sort=size", "sort must be"),
                         ("lat=52", "needs both"), ("lat=91&lon=0", "lat must be"), ("q=" + "x" * 201, "longer"),
                         ("q=!!!", "no words"), ("page=-1", "whole number"), ("transcript=maybe", "yes, no"),
                         ("incident=not-an-id", "recording id"), ("from=2026-02-02&to=2026-01-01", "after")]:
        r = cust.get("/api/search?" + query)
        assert r.status_code == 400 and words in r.json()["error"], (query, r.content)
        assert cust.get("/evidence/?" + query).status_code == 400
    assert AuditEntry.objects.filter(action="evidence.search", outcome="denied").count() >= 20
    # The search page renders results with the same filters.
    html = cust.get("/evidence/?q=northbound&sort=oldest").content.decode()
    assert '<span id="result-count">2</span>' in html and "Next" not in html
    entry = AuditEntry.objects.filter(action="evidence.search", actor="cust", outcome="ok").last()
    assert entry.detail["query"]["q"] == "northbound" and set(entry.detail["shown"]) == {a, b}


def test_one_search_judges_access_once(tmp_path):
    """The user's reach (role, grants, shares) is computed once per search: every query of
    the search (where it starts, the access check, the count) asks about grants as of the
    same instant, so a grant expiring mid-search cannot count in one query and not another."""
    w = World(tmp_path)
    a, b = str(w.clip.id), str(w.other_clip.id)
    Grant.objects.create(user=w.officer, recording=w.other_clip.recording, reason="assist",
                         expires_at=datetime.now(timezone.utc) + timedelta(days=1))
    index_text(w.clip.recording_id, "notes", "northbound")
    index_text(w.other_clip.recording_id, "notes", "northbound")
    off = client_for(w.officer)
    for query in ("q=northbound&per_page=1", "per_page=1", "q=northbound"):
        with CaptureQueriesContext(connection) as ctx:
            r = off.get("/api/search?" + query)
        assert r.status_code == 200 and r.json()["total"] == 2, (query, r.content)
        assert {x["id"] for x in r.json()["results"]} <= {a, b}
        instants = [t for q in ctx.captured_queries for t in re.findall(r"expires_at\"\s*>\s*'([^']+)'", q["sql"])]
        assert len(instants) >= 2 and len(set(instants)) == 1, (query, instants)


def test_bulk_actions_respect_roles(tmp_path):
    # Issue 23: a bulk action is a confirmation step, then item by item (per item, not all or
    # nothing: one refused item does not stop the others), then a summary; see tests/test_bulk_pickers.py.
    w = World(tmp_path)
    det = client_for(w.detective)
    a = str(w.clip.id)
    from bodycam.evidence.models import Category

    r = det.post("/evidence/bulk", {"clip": [a], "action": "categorize", "category": "No such category", "confirm": "yes"})
    assert r.status_code == 400 and not w.clip.recording.categories.exists()
    cat = Category.objects.create(axis_id="3", name="Traffic stop")
    r = det.post("/evidence/bulk", {"clip": [a], "action": "categorize", "category": cat.name, "back": "/?q=x"})
    assert r.status_code == 200 and not w.clip.recording.categories.exists()  # the confirmation: nothing yet
    r = det.post("/evidence/bulk", {"clip": [a], "action": "categorize", "category": cat.name, "back": "/?q=x",
                                    "confirm": "yes"})
    assert r.status_code == 200 and 'href="/?q=x"' in r.content.decode()
    assert cat.name in w.clip.recording.categories.values_list("name", flat=True)
    # Per item: one item the detective may not change (or not an id at all) is refused, audited; the other changes.
    other = Category.objects.create(axis_id="4", name="Use of force")
    for bad in (str(w.other_clip.id), "not-an-id"):
        r = det.post("/evidence/bulk", {"clip": [a, bad], "action": "categorize", "category": other.name,
                                        "confirm": "yes"})
        assert r.status_code == 200 and 'id="n-refused">1<' in r.content.decode(), bad
        assert not other.recordings.exclude(pk=w.clip.recording_id).exists()
    assert other.recordings.filter(pk=w.clip.recording_id).exists()
    assert AuditEntry.objects.filter(action="evidence.edit", outcome="denied", actor="det").count() == 2
    # The detective cannot reach officer B's clip, and may add only to their own cases.
    r = det.post("/evidence/bulk", {"clip": [str(w.other_clip.id)], "action": "add_to_case", "case": "C-1",
                                    "confirm": "yes"})
    assert r.status_code == 200 and 'id="n-refused">1<' in r.content.decode()
    assert not w.other_clip.recording.cases.exists()
    from bodycam.cases.models import Case

    Case.objects.create(number="C-OTHER")
    r = det.post("/evidence/bulk", {"clip": [a], "action": "add_to_case", "case": "C-OTHER", "confirm": "yes"})
    assert r.status_code == 403 and not Case.objects.get(number="C-OTHER").recordings.exists()
    cust = client_for(w.custodian)
    r = cust.post("/evidence/bulk", {"clip": [a, str(w.other_clip.id)], "action": "add_to_case", "case": "C-OTHER",
                                     "confirm": "yes"})
    assert r.status_code == 200 and Case.objects.get(number="C-OTHER").recordings.count() == 2
    assert cust.post("/evidence/bulk", {"action": "categorize"}).status_code == 400
    assert json.dumps(AuditEntry.objects.filter(action="case.add_recordings").last().detail["recordings_added"])


def test_incident_filter_needs_a_visible_anchor(tmp_path):
    w = World(tmp_path)
    cust, off_b = client_for(w.custodian), client_for(w.other_officer)
    rec = w.clip.recording_id
    assert ids(cust.get(f"/api/search?incident={rec}")) == {str(w.clip.id), str(w.other_clip.id)}
    assert ids(off_b.get(f"/api/search?incident={rec}")) == set()  # officer B may not anchor on A's recording
    assert ids(off_b.get(f"/api/search?incident={w.other_clip.recording_id}")) == {str(w.other_clip.id)}
