"""Retention administration on the web (issue 24), through real sign-in and the real views:
categories and their periods (never below the floors; previewed with the sweep's own expiry
rule, then confirmed with a reason), retiring a category, the call types compliance requires,
and the CAD import page (format from the importer's own column list, a sample that imports as
is, every bad row reported and nothing imported). Every change and refusal is audited."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from bodycam.custody.models import AuditEntry
from bodycam.evidence.defaults import ensure_default_categories
from bodycam.evidence.models import Category, Officer
from bodycam.evidence.templatetags.when import when_text
from bodycam.retention import cad
from bodycam.retention import categories as cats
from bodycam.retention import policy as pol
from bodycam.retention.models import CadIncident, LegalHold
from bodycam.timefmt import iso_seconds

from .access_helpers import client_for, make_user
from .retention_helpers import device, row

pytestmark = pytest.mark.django_db
CHANGE = "/retention/categories/change"


@pytest.fixture
def cust():
    ensure_default_categories()
    return client_for(make_user("cust", "custodian"))


def post(client, url, data):
    return client.post(url, data | {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def entries(action, outcome="ok"):
    return list(AuditEntry.objects.filter(action=action, outcome=outcome).order_by("seq"))


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def days_of(name):
    return Category.objects.get(name=name).retention_days


def test_preview_numbers_floors_and_confirm(cust):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    off, dev = Officer.objects.create(axis_user_id="00000000-0000-4000-8000-000000000001", name="o", user_key="7"), \
        device("BWC-9")
    ago = lambda d: now - timedelta(days=d)  # noqa: E731
    r1 = row(off, dev, ago(400), 60, ["Traffic stop"])                       # 730 -> 500: expires sooner
    r2 = row(off, dev, ago(600), 60, ["Traffic stop"])                       # past the new expiry: due
    row(off, dev, ago(10), 60, ["Traffic stop", "Arrest"])                   # Arrest (1095) decides: unchanged
    kept = row(off, dev, ago(20), 60, ["Traffic stop"])
    kept.retain_until = now + timedelta(days=2000)                            # kept-until decides: unchanged
    kept.save()
    r7 = row(off, dev, ago(700), 60, ["Traffic stop"])                       # due, but a legal hold keeps it
    row(off, dev, ago(30), 60, ["Arrest"])                                   # not Traffic stop: not counted
    gone = row(off, dev, ago(40), 60, ["Traffic stop"])
    gone.deleted_at = now                                                     # in the deletion queue: not counted
    gone.save()
    hold = LegalHold.objects.create(name="H", reason="suit", placed_by="cust", placed_at=now)
    hold.recordings.add(r7)

    p = cats.preview_period("Traffic stop", 500)
    assert (p["items"], p["changed"], p["unchanged"], p["sooner"], p["later"]) == (5, 3, 2, 3, 0)
    assert p["earliest"] == iso_seconds(r7.trigger_on_time + timedelta(days=500))
    assert p["latest"] == iso_seconds(r1.trigger_on_time + timedelta(days=500))
    assert (p["due_now"], p["due_blocked"]) == (2, 1)
    assert r2.id  # (r2 is the unblocked due one)

    page = cust.get(CHANGE, {"category": "Traffic stop", "days": "500"})
    body = page.content.decode()
    assert page.status_code == 200 and days_of("Traffic stop") == 730  # a preview changes nothing
    summary = f"3 items would now expire on {when_text(p['earliest'], 'date')} to {when_text(p['latest'], 'date')}"
    assert summary in text_of(body), body[body.find("preview-summary"):][:400]
    assert 'id="n-due">2' in body and "except 1 that a legal hold" in body
    assert entries("retention.category_preview")[-1].detail["changed"] == 3

    # Never below the floor, whatever the step: 400 with the reason, nothing changed, audited.
    for name, days, says in (("Traffic stop", "300", "below its minimum of 365"),
                             ("Homicide", "100", "must be kept indefinitely"),
                             ("Uncategorized", "59", "below its minimum of 60")):
        before = days_of(name)
        r = cust.get(CHANGE, {"category": name, "days": days})
        assert r.status_code == 400 and says in r.content.decode() and 'id="confirm-change"' not in r.content.decode()
        r = post(cust, CHANGE, {"category": name, "days": days, "reason": "budget", "confirm": "yes"})
        assert r.status_code == 400 and says in r.content.decode() and days_of(name) == before
        assert entries("retention.category_period", "denied")[-1].detail["reason"].startswith("category " + name)
    assert cust.get(CHANGE, {"category": "Nope", "days": "500"}).status_code == 404
    assert cust.get(CHANGE, {"category": "Traffic stop", "days": "730"}).status_code == 409  # no change
    assert cust.get(CHANGE, {"category": "Traffic stop", "days": "5x"}).status_code == 400

    # The confirmation: without it the preview again; without a reason 400; both: changed.
    form = {"category": "Traffic stop", "days": "500", "before": "730"}
    r = post(cust, CHANGE, form | {"reason": "new state schedule"})
    assert r.status_code == 200 and 'id="confirm-change"' in r.content.decode() and days_of("Traffic stop") == 730
    r = post(cust, CHANGE, form | {"confirm": "yes", "reason": " "})
    assert r.status_code == 400 and "give a reason" in r.content.decode() and summary in text_of(r.content.decode())
    assert days_of("Traffic stop") == 730
    r = post(cust, CHANGE, form | {"confirm": "yes", "reason": "new state schedule"})
    assert r.status_code == 302 and days_of("Traffic stop") == 500
    e = entries("retention.category_period")[-1]
    assert e.actor == "cust" and e.detail["reason"] == "new state schedule"
    assert e.detail["changes"] == [{"category": "Traffic stop", "from": 730, "to": 500, "change": "shortened"}]
    assert e.detail["preview"]["changed"] == 3 and e.detail["preview"]["due_now"] == 2
    # A preview made before someone else's change is refused: preview again.
    r = post(cust, CHANGE, {"category": "Traffic stop", "days": "600", "before": "730", "confirm": "yes",
                            "reason": "stale"})
    assert r.status_code == 409 and days_of("Traffic stop") == 500
    # Extending to indefinite: every item of it is kept for ever (indefinite beats any number).
    p = cats.preview_period("Traffic stop", None)
    assert (p["indefinite"], p["later"], p["earliest"]) == (5, 5, None)
    # Uncategorized's period covers the items without a category too.
    row(off, dev, ago(5), 60)
    assert cats.preview_period("Uncategorized", 400)["items"] == 1


def test_list_create_retire_restore(cust):
    off, dev = Officer.objects.create(axis_user_id="00000000-0000-4000-8000-000000000002", name="o", user_key="8"), \
        device("BWC-8")
    now = datetime.now(timezone.utc)
    rec = row(off, dev, now - timedelta(days=3), 60, ["Arrest"])
    row(off, dev, now - timedelta(days=4), 60, ["Arrest"])
    row(off, dev, now - timedelta(days=5), 60)
    page = cust.get("/retention/categories/").content.decode()
    arrest = page[page.find('data-category="Arrest"'):][:600]
    assert "1095 days" in arrest and 'data-label="Items">2' in arrest and "730 days" in arrest
    unc = page[page.find('data-category="Uncategorized"'):][:600]
    assert "(1 without a category)" in unc

    # Create: a reason, a unique name, days at or above its own minimum.
    new = {"name": "K9 deployment", "days": "900", "floor": "400", "reason": "K9 unit starts"}
    for bad, status in (({"reason": ""}, 400), ({"days": "300"}, 400), ({"name": "arrest"}, 409),
                        ({"floor": "-1"}, 400), ({"name": ""}, 400)):
        r = post(cust, "/retention/categories/", new | bad)
        assert r.status_code == status, (bad, r.status_code)
        assert not Category.objects.filter(name="K9 deployment").exists()
    assert len(entries("retention.category_create", "denied")) == 5
    assert post(cust, "/retention/categories/", new).status_code == 302
    k9 = Category.objects.get(name="K9 deployment")
    assert (k9.retention_days, k9.min_retention_days, k9.active) == (900, 400, True)
    assert entries("retention.category_create")[-1].detail["reason"] == "K9 unit starts"
    assert cust.get(CHANGE, {"category": "K9 deployment", "days": "399"}).status_code == 400  # its own floor

    # Retire asks first (reason + confirmation); items keep the category and its period.
    assert cust.get("/retention/categories/retire", {"category": "Arrest"}).status_code == 200
    assert post(cust, "/retention/categories/retire", {"category": "Arrest", "reason": "merged"}).status_code == 200
    assert Category.objects.get(name="Arrest").active
    assert post(cust, "/retention/categories/retire", {"category": "Arrest", "confirm": "yes"}).status_code == 400
    assert post(cust, "/retention/categories/retire", {"category": "Arrest", "confirm": "yes", "reason": "merged"}
                ).status_code == 302
    assert not Category.objects.get(name="Arrest").active
    assert list(rec.categories.values_list("name", flat=True)) == ["Arrest"]
    from bodycam.ingest.services import categories_json

    assert "Arrest" not in {c["Name"] for c in json.loads(categories_json())}  # cameras no longer offered it
    e = entries("retention.category_retire")[-1]
    assert e.detail["before"] == {"active": True} and e.detail["after"] == {"active": False}
    assert e.detail["reason"] == "merged" and e.detail["items"] == 2
    assert post(cust, "/retention/categories/retire", {"category": "Arrest", "confirm": "yes", "reason": "x"}
                ).status_code == 409
    assert post(cust, "/retention/categories/retire", {"category": "Uncategorized", "confirm": "yes",
                                                       "reason": "x"}).status_code == 400
    assert 'class="retired"' in cust.get("/retention/categories/").content.decode()
    assert post(cust, "/retention/categories/restore", {"category": "Arrest", "confirm": "yes", "reason": "back"}
                ).status_code == 302
    assert Category.objects.get(name="Arrest").active and entries("retention.category_restore")


def test_required_call_types_change_the_compliance_report(cust):
    make_user("off.c", "officer", badge="3318")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    t = (now - timedelta(days=1)).isoformat()
    cad.import_incidents(f"incident_number,call_type,received_at,badges\n26-9,DISTURBANCE,{t},3318\n".encode())
    report = lambda: cust.get("/retention/compliance/?format=json").json()  # noqa: E731
    assert report()["totals"]["required"] == 0
    page = cust.get("/retention/call-types/").content.decode()
    assert '<option value="DISTURBANCE">DISTURBANCE (1 incident)</option>' in page  # seen in imports, offered
    assert post(cust, "/retention/call-types/", {"action": "add", "call_type": "DISTURBANCE"}).status_code == 400
    assert post(cust, "/retention/call-types/", {"action": "add", "call_type": "", "new_call_type": "",
                                                 "reason": "x"}).status_code == 400
    assert pol.settings_row().required_call_types == []
    assert post(cust, "/retention/call-types/", {"action": "add", "call_type": "DISTURBANCE",
                                                 "reason": "chief's order 12"}).status_code == 302
    rep = report()
    assert rep["required_call_types"] == ["DISTURBANCE"]
    assert rep["totals"]["required"] == 1 and rep["missed_incidents"] == ["26-9"]
    # A type typed by hand is stored as the import stores call types (capitals).
    assert post(cust, "/retention/call-types/", {"action": "add", "new_call_type": "traffic stop",
                                                 "reason": "policy 4.2"}).status_code == 302
    assert pol.settings_row().required_call_types == ["DISTURBANCE", "TRAFFIC STOP"]
    assert post(cust, "/retention/call-types/", {"action": "add", "call_type": "DISTURBANCE",
                                                 "reason": "again"}).status_code == 409
    assert post(cust, "/retention/call-types/", {"action": "remove", "call_type": "DISTURBANCE",
                                                 "reason": "order withdrawn"}).status_code == 302
    assert report()["totals"]["required"] == 0
    e = entries("retention.call_types")[-1]
    assert e.detail["before"] == {"required_call_types": ["DISTURBANCE", "TRAFFIC STOP"]}
    assert e.detail["after"] == {"required_call_types": ["TRAFFIC STOP"]} and e.detail["reason"] == "order withdrawn"
    assert len(entries("retention.call_types", "denied")) == 3


def test_cad_sample_round_trips_and_bad_rows_import_nothing(cust):
    page = cust.get("/retention/cad/").content.decode()
    for col in cad.COLUMNS:  # the format on the page is the importer's own list
        assert f"<code>{col.name}</code>" in page
    assert "has no time zone" not in page and "a time without a zone is refused" in page
    r = cust.get("/retention/cad/sample.csv")
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    sample = r.content
    header = next(csv.reader(io.StringIO(sample.decode())))
    assert tuple(header) == cad.COLUMN_NAMES
    assert entries("cad.sample")[-1].actor == "cust"
    up = cust.post("/retention/cad/", {"file": io.BytesIO(sample), "csrfmiddlewaretoken": cust.cookies["csrftoken"].value})
    assert up.status_code == 200 and 'id="import-result"' in up.content.decode()
    assert "Imported 2 incident(s) (2 new, 0 updated)" in up.content.decode()
    first = CadIncident.objects.get(number=cad.COLUMNS[0].example)
    by_name = {c.name: c for c in cad.COLUMNS}
    assert first.call_type == by_name["call_type"].example and first.location == by_name["location"].example
    assert first.badges == by_name["badges"].example.split(";") and first.units == [by_name["units"].example]
    assert first.received_at == datetime.fromisoformat(by_name["received_at"].example.replace("Z", "+00:00"))
    second = CadIncident.objects.get(number=cad.COLUMNS[0].example2)
    assert second.received_at == datetime.fromisoformat(by_name["received_at"].example2)  # its own zone kept
    # JSON with the same keys imports too (badges as lists).
    doc = [{"incident_number": "26-7", "call_type": "x", "received_at": "2026-03-03T01:00:00Z", "badges": ["1"]}]
    assert cad.import_incidents(json.dumps(doc).encode())["created"] == 1

    # A file with bad rows: every bad row listed with its line, nothing imported, audited.
    n = CadIncident.objects.count()
    bad = ("incident_number,call_type,received_at,cleared_at\n"
           "26-100,THEFT,2026-03-02T06:01:10,\n"                       # row 1: no zone
           "26-101,THEFT,2026-03-02T06:01:10Z,\n"                      # row 2: fine
           ",THEFT,2026-03-02T06:01:10Z,2026-03-01T00:00:00Z\n"        # row 3: no number
           "26-102,THEFT,2026-03-02T06:01:10Z,2026-03-01T00:00:00Z\n")  # row 4: cleared before received
    r = cust.post("/retention/cad/", {"file": io.BytesIO(bad.encode()), "csrfmiddlewaretoken":
                                      cust.cookies["csrftoken"].value})
    body = r.content.decode()
    assert r.status_code == 400 and "3 bad rows, nothing was imported" in body
    table = body[body.find('id="row-errors"'):body.find("</table>", body.find('id="row-errors"'))]
    assert "<td>1</td><td>2</td><td>received_at &#x27;2026-03-02T06:01:10&#x27; has no time zone" in table
    assert "<td>3</td><td>4</td><td>incident_number is required" in table
    assert "<td>4</td><td>5</td><td>cleared_at is before received_at" in table and "<tr><td>2</td>" not in table
    assert CadIncident.objects.count() == n and not CadIncident.objects.filter(number="26-101").exists()
    denied = entries("cad.import", "denied")[-1]
    assert "row 3 (line 4)" in denied.detail["reason"]


# ---------------------------------------------------------------- the role x page matrix
# Own table (issue 24, retention administration). GET and an empty-form POST per role
# (columns: officer supervisor detective custodian prosecutor admin auditor; "-" no POST).
# A refusal writes exactly one denied entry; a 200 is audited as a view; nothing changes.
ROLES = ("officer", "supervisor", "detective", "custodian", "prosecutor", "admin", "auditor")
RETENTION_ADMIN_PAGES = {
    # page                                                  GET                             POST (empty)
    "/retention/categories/":                              ("403 403 403 200 403 200 200", "403 403 403 400 403 403 403"),
    "/retention/categories/change?category=Arrest&days=2000": ("403 403 403 200 403 403 403", "403 403 403 400 403 403 403"),
    "/retention/categories/retire?category=Arrest":        ("403 403 403 200 403 403 403", "403 403 403 404 403 403 403"),
    "/retention/categories/restore?category=Arrest":       ("403 403 403 200 403 403 403", "403 403 403 404 403 403 403"),
    "/retention/call-types/":                              ("403 403 403 200 403 200 200", "403 403 403 400 403 403 403"),
    "/retention/cad/":                                     ("403 403 403 200 403 200 200", "403 403 403 400 403 403 403"),
    "/retention/cad/sample.csv":                           ("403 403 403 200 403 200 200", "- - - - - - -"),
}


def test_every_role_times_every_retention_admin_page():
    ensure_default_categories()
    users = {r: make_user(f"u.{r}", r) for r in ROLES}
    from .test_fuzz_routes import routes

    mine = {"/" + r for r in routes() if r.startswith(("retention/categories", "retention/call-types",
                                                        "retention/cad/"))}
    assert mine == {p.split("?")[0] for p in RETENTION_ADMIN_PAGES}, mine
    state = lambda: (sorted(Category.objects.values_list("name", "retention_days", "active")),  # noqa: E731
                     pol.settings_row().required_call_types, CadIncident.objects.count())
    start = state()
    failures = []
    for i, role in enumerate(ROLES):
        client = client_for(users[role])
        for page, (gets, posts) in RETENTION_ADMIN_PAGES.items():
            for method, want in (("GET", gets.split()[i]), ("POST", posts.split()[i])):
                if want == "-":
                    continue
                before = AuditEntry.objects.count()
                r = client.get(page) if method == "GET" else post(client, page.split("?")[0], {})
                cell = f"{role} x {method} {page}: got {r.status_code}, expected {want}"
                if r.status_code != int(want):
                    failures.append(cell)
                    continue
                rows = AuditEntry.objects.filter(seq__gt=before, actor=users[role].username)
                if want != "200" and rows.filter(outcome="denied").count() != 1:
                    failures.append(cell + f": not audited once as denied {list(rows.values_list('action', 'outcome'))}")
                if want == "200" and not rows.filter(outcome="ok").exists():
                    failures.append(cell + ": the view was not audited")
    assert not failures, "\n".join(failures)
    assert state() == start
