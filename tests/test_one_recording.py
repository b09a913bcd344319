"""One item per recording (issue 23): the search page lists recordings, one row each (its
first clip's link), through the one access check; a clip's old address shows its recording
with that clip selected; the item page puts the recording's clips on one timeline (clip
boundaries, pre-event buffer, bookmarks, GNSS on the recording's time); in/out is on that
timeline; a bulk "add to a records request" adds every clip of the recording.

Real ingest (the camera's path) of real H.264 clips, real views through a signed-in client."""

from __future__ import annotations

import json
import re

import pytest

from bodycam.access.models import Restriction
from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Officer
from bodycam.jobs.models import Job
from bodycam.records.models import RecordsRequest, RequestItem

from .access_helpers import World, client_for, two_clip_recording

pytestmark = pytest.mark.django_db


def rows(resp) -> list[str]:
    """The clip ids the search page links its rows to, in order."""
    assert resp.status_code == 200, resp.content[:500]
    return re.findall(r'class="item-link" href="/evidence/([0-9a-f-]{36})/"', resp.content.decode())


def timeline(page: str) -> dict:
    raw = re.search(r'data-timeline="([^"]*)"', page).group(1)
    return json.loads(raw.replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture
def w(tmp_path):
    w = World(tmp_path)
    w.first, w.second = two_clip_recording(Officer.objects.get(account=w.officer), tmp_path, clip_s=3.0,
                                           prebuffer=2.0, bookmarks=[(4.0, "driver stepped out", "Plate:ABC123")])
    return w


def test_search_page_lists_one_row_per_recording(w):
    cust = client_for(w.custodian)
    shown = rows(cust.get("/evidence/"))
    # Three recordings (one of two clips): three rows, the two-clip one by its first clip.
    assert sorted(shown) == sorted([str(w.first.id), str(w.clip.id), str(w.other_clip.id)])
    page = cust.get("/evidence/").content.decode()
    assert '<span id="result-count">3</span> recordings found' in page
    length = w.first.duration_s + w.second.duration_s  # the recording's length, not a clip's
    assert f'{length:.1f} s <small class="clips">(2 clips)</small>' in page
    assert f'name="clip" value="{w.second.id}"' not in page  # bulk sends one clip per recording
    # Text and filters still find it, once.
    assert rows(cust.get("/evidence/?q=ABC123")) == [str(w.first.id)]
    assert rows(cust.get("/evidence/?tag=Plate%3AABC123")) == [str(w.first.id)]
    # "Longest" sorts recordings by their length (6 s of two clips before the 1 s ones).
    assert rows(cust.get("/evidence/?sort=longest"))[0] == str(w.first.id)
    # The officer sees their own recordings only; the other officer none of these.
    assert sorted(rows(client_for(w.officer).get("/evidence/"))) == sorted([str(w.first.id), str(w.clip.id)])
    assert rows(client_for(w.other_officer).get("/evidence/")) == [str(w.other_clip.id)]
    # The search is audited with what was shown, as recordings.
    entry = AuditEntry.objects.filter(action="evidence.search", actor="cust").order_by("-seq").first()
    assert entry.detail["per"] == "recording" and str(w.second.id) not in entry.detail["shown"]
    # The REST API keeps listing clips (its items are clips: /api/evidence/<clip>/...).
    api = {r["id"] for r in cust.get("/api/search?q=ABC123").json()["results"]}
    assert api == {str(w.first.id), str(w.second.id)}


def test_pages_of_recordings_never_repeat_or_skip(w, tmp_path):
    officer = Officer.objects.get(account=w.officer)
    more = [two_clip_recording(officer, tmp_path, clip_s=1.0)[0] for _ in range(3)]
    cust = client_for(w.custodian)
    for sort in ("newest", "oldest", "officer", "device", "longest"):
        seen = []
        for n in (1, 2, 3, 4):
            seen += rows(cust.get(f"/evidence/?sort={sort}&per_page=2&page={n}"))
        assert sorted(seen) == sorted([str(c.id) for c in [w.first, w.clip, w.other_clip, *more]]), sort


def test_a_recording_the_user_may_not_see_is_not_listed(w):
    """Who may see what is decided per recording (restriction, lock, grant, share, case): a
    recording's clips are all visible or none, so no row shows part of a recording. A
    restricted recording is not listed for those not named, and neither clip's page opens."""
    restriction = Restriction.objects.create(recording=w.first.recording, reason="victim statement")
    cust, off = client_for(w.custodian), client_for(w.officer)
    assert str(w.first.id) not in rows(cust.get("/evidence/")) and str(w.second.id) not in rows(cust.get("/evidence/"))
    assert rows(off.get("/evidence/")) == [str(w.clip.id)]
    for clip in (w.first, w.second):
        assert cust.get(f"/evidence/{clip.id}/").status_code == 404
    restriction.allowed.add(w.custodian)  # a named person sees it: one row
    assert rows(cust.get("/evidence/")).count(str(w.first.id)) == 1


def test_old_clip_address_shows_the_recording_with_that_clip_selected(w):
    off = client_for(w.officer)
    first = off.get(f"/evidence/{w.first.id}/").content.decode()
    r = off.get(f"/evidence/{w.second.id}/")
    assert r.status_code == 200
    page = r.content.decode()
    # Both clips listed and linked; the second is the selected one, and the player starts on it.
    for clip in (w.first, w.second):
        assert f'class="clip-link" href="/evidence/{clip.id}/"' in page
    assert f'href="/evidence/{w.second.id}/" aria-current="true"' in page
    assert f'src="/api/evidence/{w.second.id}/' in page and f'data-clip="{w.second.id}"' in page
    tl, tl_first = timeline(page), timeline(first)
    assert [s["id"] for s in tl["segments"]] == [str(w.first.id), str(w.second.id)] and tl["start"] == 1
    assert tl_first["start"] == 0 and tl_first["segments"] == tl["segments"]
    assert [s["offset"] for s in tl["segments"]] == [0.0, pytest.approx(w.first.duration_s)]
    assert tl["duration"] == pytest.approx(w.first.duration_s + w.second.duration_s)
    for s in tl["segments"]:  # each clip plays from its own source: its own access check and audit
        assert s["src"] in (f"/api/evidence/{s['id']}/proxy", f"/api/evidence/{s['id']}/stream")
    # The bookmark on the recording's time (4 s from the first frame: 1 s into the second clip,
    # which starts where the first one's frames end), the clip boundary and the pre-event buffer
    # (2 s before the trigger) on the bar; the same on both pages.
    for p in (page, first):
        mark = float(re.search(r'class="marker" data-at="([0-9.]+)"', p).group(1))
        assert mark == pytest.approx(w.first.duration_s + 1.0, abs=0.002)
        assert f">{mark:.1f} s</button> driver stepped out" in p
        assert f'class="boundary" data-at="{round(w.first.duration_s, 3)}"' in p
        assert 'id="pre-event" data-at="0" data-end="2.0"' in p
    # Viewing either address is audited on that clip, as before.
    assert AuditEntry.objects.filter(action="evidence.view", actor="off.a", object_id=str(w.second.id)).exists()
    # Someone who may not see the recording gets 404 at either address (and the refusal is audited).
    assert client_for(w.other_officer).get(f"/evidence/{w.second.id}/").status_code == 404


def test_in_and_out_are_on_the_recording_time(w, settings):
    settings.BODYCAM_JOBS_INLINE = False
    off = client_for(w.officer)
    url = f"/evidence/{w.first.id}/"
    d = w.first.duration_s
    # In the second clip: the excerpt is cut from it, in its own seconds.
    assert off.post(url, {"action": "excerpt", "in": f"{d + 0.5}", "out": f"{d + 2.0}"}).status_code == 302
    job = Job.objects.get(kind="media.excerpt")
    assert job.params["clip_id"] == str(w.second.id)
    assert job.params["start"] == pytest.approx(0.5) and job.params["end"] == pytest.approx(2.0)
    # Across the boundary: refused with the clips' spans, nothing queued.
    r = off.post(url, {"action": "excerpt", "in": "1.0", "out": f"{d + 1.0}"})
    assert r.status_code == 400 and "an excerpt is cut from one clip" in r.content.decode()
    r = off.post(url, {"action": "excerpt", "in": "soon", "out": "2"})
    assert r.status_code == 400 and "seconds from the start of the recording" in r.content.decode()
    assert Job.objects.filter(kind="media.excerpt").count() == 1


def test_bulk_add_to_request_adds_every_clip_of_the_recording(w):
    cust = client_for(w.custodian)
    req = RecordsRequest.objects.create(number="R-9", requester="Press", scope="the stop", received_on="2026-01-05",
                                        deadline="2026-02-05", created_by=w.custodian)
    r = cust.post("/evidence/bulk", {"action": "add_to_request", "clip": [str(w.first.id)], "request": req.number,
                                     "confirm": "yes", "back": "/"})
    assert r.status_code == 200
    assert set(RequestItem.objects.filter(request=req).values_list("clip_id", flat=True)) == {w.first.id, w.second.id}
    # Again: nothing new, said so.
    cust.post("/evidence/bulk", {"action": "add_to_request", "clip": [str(w.first.id)], "request": req.number,
                                 "confirm": "yes", "back": "/"})
    assert RequestItem.objects.filter(request=req).count() == 2


def test_case_page_lists_one_row_per_recording(w):
    from bodycam.cases.models import Case

    case = Case.objects.get(number="C-1")
    case.recordings.add(w.first.recording)
    det = client_for(w.detective)
    page = det.get("/cases/C-1/").content.decode()
    table = page[page.index('id="case-recordings"'):page.index("</table>", page.index('id="case-recordings"'))]
    linked = re.findall(r'class="item-link" href="/evidence/([0-9a-f-]{36})/"', table)
    assert sorted(linked) == sorted([str(w.first.id), str(w.clip.id)])  # two recordings, one row each
    assert w.first.recording.evidence_number in table and "(2 clips)" in table
    # The one access check decides the list: a restricted recording is not listed.
    Restriction.objects.create(recording=w.first.recording, reason="internal affairs")
    page = det.get("/cases/C-1/").content.decode()
    assert str(w.first.id) not in page and str(w.clip.id) in page
