"""Lists people read (issue 23): a share link's page, the dispatch (CAD) incidents page, the
incident timeline, court exports and the compliance report name **recordings** as search
results do (evidence number and title, officer, local start, length), never a camera's file
name or a container name; a clip stays reachable from its recording. The detective's home page
lists their access requests awaiting others. Real ingest, real pages through signed-in Django
clients; both engines (``-p tests.testenv``)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from bodycam.access.models import AccessRequest
from bodycam.cases.models import Case
from bodycam.evidence.identity import labels
from bodycam.evidence.models import Officer
from bodycam.retention import cad
from bodycam.timefmt import readable

from .access_helpers import World, client_for, two_clip_recording

pytestmark = pytest.mark.django_db

LA = "America/Los_Angeles"
RAW_ISO = re.compile(r"\d{4}-\d\d-\d\d(T\d\d:\d\d)?")


def visible_text(html: str) -> str:
    """What a person reads: no tags, no attributes, no script."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", html, flags=re.S))


def post(client, url, data):
    return client.post(url, data | {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})


@pytest.fixture
def w(tmp_path, settings):
    settings.AGENCY_TIME_ZONE = LA
    return World(tmp_path)


def about(clip) -> dict:
    return labels([clip.recording])[clip.recording_id]


def test_share_link_page_lists_recordings_with_their_clips_inside(w, tmp_path):
    first, second = two_clip_recording(Officer.objects.get(account=w.officer), tmp_path, clip_s=1.0)
    Case.objects.get(number="C-1").recordings.add(first.recording)
    det = client_for(w.detective)
    r = det.post("/api/cases/C-1/links", {"days": 3, "label": "ADA Smith", "allow_download": True},
                 content_type="application/json")
    assert r.status_code == 201, r.content
    anon = Client()
    html = anon.get(r.json()["url"].replace("http://testserver", ""), follow=True).content.decode()
    text = visible_text(html)
    for clip in (w.clip, first):
        f = about(clip)
        assert f["number"] and f["number"] in text and f["title"] in text and f["officer"] in text
        assert clip.object_name not in text and clip.recording.container_name not in text
        assert str(clip.id) not in text and str(clip.recording_id) not in text
    # One section per recording; the two-clip recording plays as its two parts, each downloadable.
    assert html.count('<section class="recording"') == 2
    assert "Part 1 of 2" in text and "Part 2 of 2" in text and "2 parts" in text
    for clip in (first, second):
        assert f"/media/{clip.id}" in html and f"/download/{clip.id}" in html
    assert not RAW_ISO.search(text)  # times as people read them (UTC on hover only)


def test_court_export_names_recordings_by_evidence_number(w):
    cust = client_for(w.custodian)
    r = cust.get(f"/api/evidence/{w.clip.id}/export")
    assert r.status_code == 200
    f = about(w.clip)
    assert f'evidence-export-{f["number"]}.zip' in r["Content-Disposition"]
    z = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    info = json.loads(z.read("export.json"))
    assert info["title"] == f"Recording {f['number']} · {f['title']}"
    assert [(i["evidence_number"], i["title"]) for i in info["items"]] == [(f["number"], f["title"])]
    verify = z.read("VERIFY.txt").decode()
    contents = verify.split("Recordings in this export", 1)[1].split("What is inside", 1)[0]
    assert f"{f['number']}  {f['title']}" in contents and f"officer {f['officer']}" in contents
    assert readable(f["started"], LA, "minute") in contents and " UTC" in contents  # UTC, local in brackets
    assert info["items"][0]["original"] in contents  # and the files that are the recording


def test_cad_page_lists_linked_recordings_readably_and_only_opens_visible_ones(w):
    rec = w.clip.recording
    t = rec.trigger_on_time
    cad.import_incidents((f"incident_number,call_type,received_at,cleared_at,badges\n"
                          f"26-7,TRAFFIC STOP,{(t - timedelta(minutes=5)).isoformat()},"
                          f"{(t + timedelta(minutes=30)).isoformat()},101\n").encode())
    f = about(w.clip)
    html = client_for(w.custodian).get("/retention/cad/").content.decode()
    text = visible_text(html)
    assert f["number"] in text and f["title"] in text and f["officer"] in text
    assert rec.container_name not in text and w.clip.object_name not in text
    assert f'href="/evidence/{w.clip.id}/"' in html  # the recording's page: its clips from there
    # An auditor reads the CAD page but sees no evidence: the number only, no link, no title.
    aud = client_for(w.auditor).get("/retention/cad/").content.decode()
    assert f["number"] in aud and "you may not open it" in aud
    assert f'href="/evidence/{w.clip.id}/"' not in aud and f["title"] not in aud
    assert rec.container_name not in visible_text(aud)


def test_incident_timeline_lanes_are_recordings(w):
    html = client_for(w.custodian).get(f"/timeline/?incident={w.clip.recording_id}").content.decode()
    text = visible_text(html)
    for clip in (w.clip, w.other_clip):  # overlapping runs: one incident
        f = about(clip)
        assert f["number"] in text and f["title"] in text
        assert clip.object_name not in html.split("data-timeline")[0]  # not even on hover
        assert f'href="/evidence/{clip.id}/"' in html


def test_compliance_period_is_local_days_and_the_sample_names_recordings(w):
    sgt = client_for(w.supervisor)
    zone = ZoneInfo(LA)
    today = datetime.now(timezone.utc).astimezone(zone).date()
    since = today - timedelta(days=2)
    url = f"/retention/compliance/?from={since}&to={today}"
    html = sgt.get(url).content.decode()
    text = visible_text(html)
    period = visible_text(re.search(r'<p id="period">(.*?) · ', html, re.S).group(1)).split()
    assert period == f"{readable(datetime.combine(since, time(12), zone), LA, 'date')} – " \
                     f"{readable(datetime.combine(today, time(12), zone), LA, 'date')}".split()
    assert not RAW_ISO.search(text.split("Random review sample")[0].split("JSON")[1])
    assert f'value="{since}"' in html  # the form keeps the days as typed
    # Both ends are days of the agency's zone, "to" included: the period ends at the next local midnight.
    rep = sgt.get(url + "&format=json").json()
    assert datetime.fromisoformat(rep["from"].replace("Z", "+00:00")) == datetime.combine(since, time(0), zone)
    assert datetime.fromisoformat(rep["to"].replace("Z", "+00:00")) == datetime.combine(today + timedelta(days=1),
                                                                                        time(0), zone)
    # The review sample: squad A's recording by evidence number and title, linked; no container.
    sample = html.split('<ul id="sample">')[1].split("</ul>")[0]
    f = about(w.clip)
    assert f["number"] in sample and f["title"] in sample and f["officer"] in sample
    assert f'href="/evidence/{w.clip.id}/"' in sample
    assert w.clip.recording.container_name not in text


def test_detective_home_lists_their_access_requests_awaiting_others(w):
    det = client_for(w.detective)
    empty = det.get("/").content.decode()
    assert 'id="queue-my-access-requests"' in empty and "would appear here" in empty.split(
        'id="queue-my-access-requests"')[1].split("</section>")[0]
    ar = AccessRequest.objects.create(requester=w.detective, recording=w.other_clip.recording,
                                      case=Case.objects.get(number="C-1"), reason="the suspect's car")
    f = about(w.other_clip)
    queue = det.get("/").content.decode().split('id="queue-my-access-requests"')[1].split("</section>")[0]
    assert f'href="/access-requests/{ar.id}/"' in queue and f["number"] in queue and f["title"] in queue
    assert "for case C-1" in queue and w.other_clip.recording.container_name not in queue
    assert det.get(f"/access-requests/{ar.id}/").status_code == 200  # the link opens the request
    # Approved (by the custodian): no longer awaiting anyone.
    r = post(client_for(w.custodian), f"/access-requests/{ar.id}/", {"decision": "approve", "days": "7"})
    assert r.status_code == 302, r.content[:300]
    queue = det.get("/").content.decode().split('id="queue-my-access-requests"')[1].split("</section>")[0]
    assert f'/access-requests/{ar.id}/' not in queue and "would appear here" in queue
    # Others' requests are not on it; nor is the queue on the home of anyone who does not ask for access.
    assert 'queue-my-access-requests' not in client_for(w.supervisor).get("/").content.decode()
