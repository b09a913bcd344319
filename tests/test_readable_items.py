"""Items people can read (issue 23): evidence numbers, titles, identity columns and flags,
local time in the agency's zone, and stills shown as photos inside their recording.

Real ingest (``ingest.services``, the camera's path, and a real ``bodycam serve`` driven by
python-swiftclient for concurrent creation), the real pages through signed-in Django clients.
Both engines (the PostgreSQL pass: ``-p tests.testenv``)."""

from __future__ import annotations

import io
import os
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from bodycam.custody.models import AuditEntry
from bodycam.evidence.defaults import ensure_default_categories
from bodycam.evidence.models import Category, Clip, Device, Officer, Recording

from . import axis
from .access_helpers import World, client_for

pytestmark = pytest.mark.catalogue

LA = "America/Los_Angeles"
MICROSECONDS = re.compile(r"\d\d:\d\d:\d\d[.,]\d")  # 07:23:58.123 or 07:23:58.123456
RAW_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")  # ISO as text (fine only inside datetime= attributes)


def ingest(officer: Officer, tmp_path, at: datetime, seconds: float = 2, trigger: str = "Button",
           serial: str | None = None, fps: int = 10, name_suffix: str = "1.mp4") -> Clip:
    """One recording of one clip, through the camera's ingest path."""
    from bodycam.ingest import services
    from bodycam.media.synth import make_clip

    device = Device.objects.filter(serial=serial).first() if serial else None
    device = device or Device.objects.create(serial=serial or f"D{uuid.uuid4().hex[:6]}")
    name = f"{officer.axis_user_id}_{device.serial}_{at:%Y%m%dT%H%M%SZ}"
    stop = at + timedelta(seconds=seconds)
    services.put_recording(name, {"TriggerOn": trigger, "StartTimeISO": at.isoformat(),
                                  "StopTimeISO": stop.isoformat()}, "test", "", replace=True)
    path = make_clip(str(tmp_path / f"{uuid.uuid4().hex}.mp4"), seconds=seconds, width=320, height=180, fps=fps,
                     audio=trigger != "Still")
    with open(path, "rb") as f:
        services.put_object(name, f"{at:%Y%m%d_%H%M%S}_{name_suffix}", f, os.path.getsize(path), None,
                            {"StartTimeISO": at.isoformat(), "StopTimeISO": stop.isoformat()}, "test", "")
    return Clip.objects.select_related("recording").get(recording__container_name=name)


def officer_of(user) -> Officer:
    return Officer.objects.get(account=user)


def page(client, url, status=200) -> str:
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.content[:400])
    return r.content.decode()


def visible_text(html: str) -> str:
    """The page as read: tags (and their attributes) and script data removed; a file format's
    examples (``<code class="format">``, e.g. the CAD import's time format) are not times shown."""
    html = re.sub(r'<script.*?</script>|<code class="format">.*?</code>', "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture
def world(tmp_path, settings):
    settings.AGENCY_TIME_ZONE = LA
    ensure_default_categories()
    return World(tmp_path)


# ---------------------------------------------------------------- evidence numbers
@pytest.mark.django_db
def test_evidence_numbers_follow_the_agency_pattern_one_sequence_per_year(tmp_path, settings):
    from .access_helpers import make_user

    settings.AGENCY_TIME_ZONE = LA
    off = officer_of(make_user("num.o", "officer"))
    a = ingest(off, tmp_path, datetime(2025, 12, 5, 15, 23, 58, tzinfo=timezone.utc)).recording
    b = ingest(off, tmp_path, datetime(2025, 12, 5, 16, 0, 0, tzinfo=timezone.utc)).recording
    # 07:30 UTC on 1 Jan 2026 is still 31 Dec 2025 in Los Angeles: the year is the agency's.
    c = ingest(off, tmp_path, datetime(2026, 1, 1, 7, 30, tzinfo=timezone.utc)).recording
    d = ingest(off, tmp_path, datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)).recording
    assert [a.evidence_number, b.evidence_number, c.evidence_number, d.evidence_number] == \
        ["2025-000001", "2025-000002", "2025-000003", "2026-000001"]
    # The number is given once: later changes (metadata, completion) keep it.
    from bodycam.ingest import services

    services.put_recording(a.container_name, {"Status": "Complete"}, "test", "", replace=False)
    a.refresh_from_db()
    assert a.evidence_number == "2025-000001"
    settings.EVIDENCE_NUMBER_PATTERN = "BPD{yy}{month}-{seq:04}"
    e = ingest(off, tmp_path, datetime(2026, 11, 6, 12, 0, tzinfo=timezone.utc)).recording
    assert e.evidence_number == "BPD2611-0001"


def test_bad_patterns_are_refused():
    from bodycam.evidence.identity import PatternError, parse_pattern

    for bad in ("{year}", "{year}-{seq}-{seq}", "{case}-{seq}", "{seq:x>}{", "{seq:.2f}"):
        with pytest.raises(PatternError):
            parse_pattern(bad)


@pytest.mark.django_db(transaction=True)
def test_the_migration_numbers_existing_recordings_in_order_of_start_time():
    executor = MigrationExecutor(connection)
    before = [("evidence", "0004_bookmark_tags")]
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps
        Officer_, Device_, Recording_ = (old.get_model("evidence", m) for m in ("Officer", "Device", "Recording"))
        off = Officer_.objects.create(axis_user_id=uuid.uuid4(), name="o")
        dev = Device_.objects.create(serial="MIG-N")
        # Created out of order; one has no start time (its trigger time counts).
        for name, start, trigger in [("late", "2026-03-01T10:00:00Z", "2026-03-01T10:00:05Z"),
                                     ("first", "2026-01-02T08:00:00Z", "2026-01-02T08:00:30Z"),
                                     ("middle", None, "2026-02-01T00:00:00Z"),
                                     ("older", "2025-12-31T23:00:00Z", "2025-12-31T23:00:00Z")]:
            Recording_.objects.create(container_name=name, officer=off, device=dev, start_time=start,
                                      trigger_on_time=trigger)
    finally:
        call_command("migrate", verbosity=0)
    numbers = dict(Recording.objects.values_list("container_name", "evidence_number"))
    assert numbers == {"older": "2025-000001", "first": "2026-000001", "middle": "2026-000002",
                       "late": "2026-000003"}
    # New recordings continue the sequences the migration left.
    rec = Recording.objects.create(container_name="new", officer=Officer.objects.get(name="o"),
                                   device=Device.objects.get(serial="MIG-N"),
                                   trigger_on_time=datetime(2026, 6, 1, tzinfo=timezone.utc))
    assert rec.evidence_number == "2026-000004"


def test_numbers_are_unique_when_cameras_upload_at_once(live_server_factory):
    """Twenty-four containers created at once by eight connections to a real server (gunicorn,
    two processes of eight threads): every recording gets its own number, none skipped."""
    import swiftclient

    live = live_server_factory()
    live.stop()
    live.start(workers=2, threads=8)
    user_id, serial = axis.register(live.swift())
    t0 = datetime(2026, 12, 5, 15, 0, tzinfo=timezone.utc)
    names = []

    def create(i):
        conn = live.swift()
        name, headers = axis.recording(user_id, serial, t0 + timedelta(minutes=i))
        for _ in range(5):
            try:
                conn.put_container(name, headers=headers)
                break
            except swiftclient.ClientException as exc:  # 503: all upload slots busy; try again
                if exc.http_status != 503:
                    raise
        names.append(name)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(24)))
    rows = live.sql("SELECT container_name, evidence_number FROM evidence_recording")
    assert sorted(n for n, _ in rows) == sorted(names)
    numbers = sorted(num for _, num in rows)
    assert numbers == [f"2026-{i:06d}" for i in range(1, 25)]


# ---------------------------------------------------------------- titles
@pytest.mark.django_db
def test_default_title_from_category_incident_and_local_time(world, tmp_path):
    from bodycam.evidence.identity import display_title
    from bodycam.retention.models import CadIncident, CadLink

    clip = ingest(officer_of(world.officer), tmp_path, datetime(2026, 12, 5, 15, 23, 58, tzinfo=timezone.utc))
    rec = clip.recording
    assert display_title(rec) == "Recording · Sat 5 Dec 07:23"
    inc = CadIncident.objects.create(number="26-004711", call_type="Suspicious vehicle", location="Main St",
                                     received_at=datetime(2026, 12, 5, 15, 20, tzinfo=timezone.utc))
    CadLink.objects.create(incident=inc, recording=rec, method="manual", created_by="t",
                           created_at=datetime(2026, 12, 5, 16, tzinfo=timezone.utc))
    assert display_title(rec) == "Suspicious vehicle · Main St · Sat 5 Dec 07:23"
    rec.categories.add(Category.objects.get(name="Traffic stop"))
    assert display_title(rec) == "Traffic stop · Main St · Sat 5 Dec 07:23"
    # The search text follows: the default title's words find it (the CAD link reindexed it).
    cust = client_for(world.custodian)
    found = cust.get("/api/search", {"q": "suspicious main"}).json()["results"]
    assert [r["id"] for r in found] == [str(clip.id)]


@pytest.mark.django_db
def test_title_edit_is_audited_and_needs_the_edit_right(world, tmp_path):
    clip = world.clip
    officer = client_for(world.officer)
    # The owner edits on the item page: one audit entry, before and after.
    r = officer.post(f"/evidence/{clip.id}/", {"action": "title", "title": "  Stop on  Main St, driver fled "})
    assert r.status_code == 302, r.content[:300]
    rec = Recording.objects.get(pk=clip.recording_id)
    assert rec.title == "Stop on Main St, driver fled"
    entry = AuditEntry.objects.filter(action="evidence.edit", actor="off.a").latest("seq")
    assert (entry.detail["before"], entry.detail["after"]) == ({"title": ""}, {"title": "Stop on Main St, driver fled"})
    assert "Stop on Main St, driver fled" in page(officer, f"/evidence/{clip.id}/")
    # Bad input: 400 with the reason, nothing changed.
    r = officer.patch(f"/api/evidence/{clip.id}/", {"title": "x" * 201}, content_type="application/json")
    assert r.status_code == 400 and "200" in r.json()["error"]
    r = officer.patch(f"/api/evidence/{clip.id}/", {"title": "bell\x07"}, content_type="application/json")
    assert r.status_code == 400
    assert Recording.objects.get(pk=rec.pk).title == "Stop on Main St, driver fled"
    # Those who may see it but not edit it (a prosecutor it is shared with), and those who may
    # not see it (an auditor, the other squad's officer), are refused by the one access check.
    for user, status in [(world.prosecutor, 403), (world.auditor, 404), (world.other_officer, 404)]:
        before = AuditEntry.objects.filter(outcome="denied").count()
        r = client_for(user).patch(f"/api/evidence/{clip.id}/", {"title": "mine"}, content_type="application/json")
        assert r.status_code == status, (user.username, r.status_code)
        assert AuditEntry.objects.filter(outcome="denied").count() == before + 1
    assert Recording.objects.get(pk=rec.pk).title == "Stop on Main St, driver fled"
    # "" goes back to the default title.
    r = officer.patch(f"/api/evidence/{clip.id}/", {"title": ""}, content_type="application/json")
    assert r.status_code == 200 and r.json()["title"].startswith("Recording · ")


# ---------------------------------------------------------------- search by number and title
@pytest.mark.django_db
def test_search_finds_recordings_by_evidence_number_and_title(world, tmp_path):
    from bodycam.evidence.models import EvidenceSequence

    EvidenceSequence.objects.update(last=4210)  # as at an agency some months into the year
    clip = ingest(officer_of(world.officer), tmp_path, datetime(2026, 12, 5, 15, 0, tzinfo=timezone.utc))
    number = clip.recording.evidence_number
    assert number == "2026-004211"
    officer = client_for(world.officer)
    officer.patch(f"/api/evidence/{clip.id}/", {"title": "Pursuit northbound on Route 9"},
                  content_type="application/json")
    cust = client_for(world.custodian)
    for q in (number, "004211", "4211", "pursuit route", "northb"):
        got = [r["id"] for r in cust.get("/api/search", {"q": q}).json()["results"]]
        assert got == [str(clip.id)], (q, got)
    # The page shows the number and the title as the result's link.
    html = page(cust, "/evidence/?" + f"q={number}")
    assert re.search(rf'class="item-link"[^>]*><span class="evno">{number}</span> <span class="title">'
                     r'Pursuit northbound on Route 9</span>', html)
    # Someone who may not see it finds nothing by its number or title (and no error).
    other = client_for(world.other_officer)
    assert other.get("/api/search", {"q": number}).status_code == 200
    for q in (number, "pursuit"):
        assert other.get("/api/search", {"q": q}).json()["results"] == []


# ---------------------------------------------------------------- columns and flags
@pytest.mark.django_db
def test_results_and_item_header_show_identity_columns_and_flags(world, tmp_path):
    from bodycam.access.models import Restriction
    from bodycam.retention.services import place_hold

    rec = world.clip.recording
    rec.categories.add(Category.objects.get(name="Traffic stop"))
    place_hold("Lawsuit 7", "litigation", actor="cust", recordings=[rec])
    from bodycam.search.services import index_text

    index_text(rec.id, "transcript", "step out of the car")
    cust = client_for(world.custodian)
    html = page(cust, "/evidence/")
    row = re.search(rf'<tr>(?:(?!</tr>).)*{world.clip.id}(?:(?!</tr>).)*</tr>', html, re.S).group(0)
    for want in (rec.evidence_number if rec.evidence_number else "", "Traffic stop · ", "#101", "C-1",
                 "flag-hold", "flag-transcript", "flag-shared", world.clip.recording.device.serial):
        assert want in row, want
    assert "flag-restricted" not in row
    # The detective sees the case and the share; the officer sees neither (as on the item page).
    head = page(client_for(world.officer), f"/evidence/{world.clip.id}/")
    assert 'id="evidence-number"' in head and "Traffic stop" in head and "flag-hold" in head
    assert "flag-shared" not in head and ">C-1<" not in head
    Restriction.objects.create(recording=rec, reason="IA")
    rec.restriction.allowed.add(world.custodian)
    head = page(cust, f"/evidence/{world.clip.id}/")
    assert "flag-restricted" in head and "C-1" in head and "flag-shared" in head


# ---------------------------------------------------------------- local time
def assert_readable_times(html: str, url: str):
    """No fractions of a second in what a person reads (text, hover titles, form values);
    machine data for the page's scripts (data-* attributes, JSON blocks) may keep them."""
    shown = re.sub(r'\sdata-[\w-]+="[^"]*"', "", re.sub(r"<script.*?</script>", "", html, flags=re.S))
    assert not MICROSECONDS.search(shown), (url, MICROSECONDS.search(shown).group(0))
    text = visible_text(html)
    assert not RAW_UTC.search(text), (url, RAW_UTC.search(text).group(0))


@pytest.mark.django_db
def test_pages_show_times_in_the_agency_zone_with_utc_on_hover(world, tmp_path):
    from bodycam.jobs.services import submit
    from bodycam.retention.models import CadIncident

    clip = ingest(officer_of(world.officer), tmp_path, datetime(2026, 12, 5, 15, 23, 58, 123000,
                                                                tzinfo=timezone.utc))
    officer = client_for(world.officer)
    officer.post(f"/evidence/{clip.id}/", {"note": "seen"})
    html = page(officer, f"/evidence/{clip.id}/")
    assert ('<time datetime="2026-12-05T15:23:58Z" title="2026-12-05 15:23:58 UTC">'
            "Sat 5 Dec 2026, 07:23:58 PST</time>") in html
    # Every page that shows a time, as a role that sees it.
    CadIncident.objects.create(number="26-1", call_type="Theft", received_at=datetime(2026, 12, 5, 15, 0, 0, 999,
                                                                                      tzinfo=timezone.utc))
    submit("media.thumbnail", params={"clip_id": str(clip.id)}, object_type="clip", object_id=str(clip.id),
           created_by=world.custodian, inline=False)
    cust, det, aud, adm = (client_for(u) for u in (world.custodian, world.detective, world.auditor, world.admin))
    cust.post(f"/evidence/{world.clip.id}/", {"action": "link", "days": "7", "label": "ADA"})
    pages = [(officer, "/evidence/"), (officer, f"/evidence/{clip.id}/"), (cust, f"/evidence/{world.clip.id}/"),
             (cust, f"/timeline/?incident={clip.recording_id}"), (det, "/cases/"), (det, "/cases/C-1/"),
             (aud, "/audit/"), (adm, "/users/"), (adm, "/jobs/"), (cust, "/retention/"),
             (cust, "/retention/cad/"), (cust, f"/records/clip/{clip.id}/transcript/")]
    cust.post("/records/", {"requester": "Press", "scope": "the stop", "received_on": "2026-12-01"})
    from bodycam.records.models import RecordsRequest

    pages += [(cust, "/records/"), (cust, f"/records/{RecordsRequest.objects.get().number}/")]
    from bodycam.jobs.models import Job

    pages.append((adm, f"/jobs/{Job.objects.latest('created_at').id}/"))
    checked = 0
    for client, url in pages:
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        html = r.content.decode()
        assert_readable_times(html, url)
        for m in re.finditer(r'<time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', html):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m.group(1)), (url, m.group(0))
            assert m.group(2).endswith(" UTC") and m.group(3).endswith(("PST", "PDT")) or \
                re.fullmatch(r"\w{3} \d{1,2} \w{3}( \d{4})?", m.group(3)), (url, m.group(0))
        checked += 1
    assert checked >= 12
    # The API and exports stay in UTC (ISO 8601 with Z).
    data = officer.get(f"/api/evidence/{clip.id}/").json()
    assert data["start"].endswith("Z") and data["start"].startswith("2026-12-05T15:23:58")


@pytest.mark.django_db
def test_search_dates_are_days_in_the_agency_zone(world, tmp_path):
    # 07:30 UTC on 5 Dec is 23:30 on 4 Dec in Los Angeles.
    clip = ingest(officer_of(world.officer), tmp_path, datetime(2026, 12, 5, 7, 30, tzinfo=timezone.utc))
    cust = client_for(world.custodian)

    def ids(**q):
        r = cust.get("/api/search", q)
        assert r.status_code == 200, r.content
        return {x["id"] for x in r.json()["results"]}

    assert str(clip.id) in ids(**{"from": "2026-12-04", "to": "2026-12-04"})
    assert str(clip.id) not in ids(**{"from": "2026-12-05", "to": "2026-12-05"})
    assert str(clip.id) in ids(**{"from": "2026-12-04T23:00", "to": "2026-12-04T23:59"})  # local, no offset
    assert str(clip.id) in ids(**{"from": "2026-12-05T07:00Z", "to": "2026-12-05T08:00Z"})  # explicit UTC
    assert cust.get("/api/search", {"from": "2026-13-01"}).status_code == 400


# ---------------------------------------------------------------- stills
@pytest.mark.django_db
def test_a_still_is_a_photo_inside_the_recording_it_was_taken_during(world, tmp_path, settings):
    from PIL import Image

    settings.JOBS_INLINE = True
    me = officer_of(world.officer)
    t0 = datetime(2026, 12, 5, 15, 0, tzinfo=timezone.utc)
    video = ingest(me, tmp_path, t0, seconds=6, serial="BWC-S1")
    still = ingest(me, tmp_path, t0 + timedelta(seconds=3), seconds=1, trigger="Still", serial="BWC-S1", fps=1,
                   name_suffix="7_still.mp4")
    officer = client_for(world.officer)
    html = page(officer, f"/evidence/{still.id}/")
    assert f'src="/api/evidence/{still.id}/image.jpg"' in html and "<video" not in html
    assert re.search(r'<img src="[^"]+" alt="Still photo ', html)
    assert f'id="taken-during" href="/evidence/{video.id}/"' in html
    r = officer.get(f"/api/evidence/{still.id}/image.jpg")
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(b"".join(r.streaming_content))).size == (320, 180)  # full size, not a thumbnail
    assert AuditEntry.objects.filter(action="evidence.image", object_id=str(still.id)).exists()
    html = page(officer, f"/evidence/{video.id}/")
    assert 'id="photos"' in html and f'href="/evidence/{still.id}/"' in html and "<video" in html
    # Search lists it as a photo.
    assert re.search(rf'{still.id}/"><span class="evno">[^<]+</span> <span class="title">Photo · ',
                     page(officer, "/evidence/"))
    # Whoever may not see the photo is not shown it inside a recording they may see.
    from bodycam.access.models import Restriction

    Restriction.objects.create(recording=still.recording, reason="IA")
    assert f"/evidence/{still.id}/" not in page(client_for(world.supervisor), f"/evidence/{video.id}/")
