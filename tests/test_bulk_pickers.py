"""Issue 23, acting on items where they are: the evidence picker (never offers what its user
may not see), bulk actions (a confirmation step, then item by item with a summary; refusals
audited), the item page's History tab and transcript lines, and the confirmation in front of
irreversible one-click actions (a POST without it changes nothing)."""

import pytest

from bodycam.cases.models import Case
from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Category
from bodycam.media.models import Transcript
from bodycam.records.models import RecordsRequest, RequestItem
from bodycam.release.models import Share, ShareLink
from bodycam.retention.models import LegalHold

from .access_helpers import World, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(tmp_path):
    return World(tmp_path)


def _new(before, **kw):
    return AuditEntry.objects.filter(seq__gt=before, **kw)


def _last_seq():
    e = AuditEntry.objects.order_by("-seq").first()
    return e.seq if e else 0


def _picked(client, q):
    r = client.get("/pick/evidence", {"q": q})
    assert r.status_code == 200, r.content[:200]
    return r.json()["results"]


# ---------------------------------------------------------------- the picker
def test_picker_never_offers_what_its_user_may_not_see(w):
    a, b = w.clip.recording, w.other_clip.recording
    off_a, cust = client_for(w.officer), client_for(w.custodian)
    # By evidence number: the custodian finds officer B's item; officer A does not (nor learns it exists).
    before = _last_seq()
    assert [r["id"] for r in _picked(cust, b.evidence_number)] == [str(w.other_clip.id)]
    assert _picked(off_a, b.evidence_number) == []
    # Each answer is a search through the one access check, audited as one.
    assert _new(before, action="evidence.search", actor="off.a").exists()
    # Officer A's own item, readable: number, title, officer name and badge, local time; no bytes or paths.
    row = _picked(off_a, a.evidence_number)[0]
    assert row["id"] == str(w.clip.id) and row["number"] == a.evidence_number and row["badge"] == "101"
    assert row["title"] and row["at"] and a.evidence_number in row["label"]
    assert "container" not in str(row) and a.container_name not in str(row)
    # By officer and by date (the day in the agency's zone): still only what each may see.
    assert str(w.other_clip.id) not in {r["id"] for r in _picked(off_a, "off.b")}  # (words may match A's own)
    assert str(w.other_clip.id) in {r["id"] for r in _picked(cust, "off.b")}
    day = (a.start_time or a.trigger_on_time).strftime("%Y-%m-%d")
    assert {r["id"] for r in _picked(off_a, day)} == {str(w.clip.id)}
    assert {r["id"] for r in _picked(cust, day)} >= {str(w.clip.id), str(w.other_clip.id)}
    # Roles that see nothing get nothing; bad input is a 400 with a reason; anonymous is sent to sign in.
    assert _picked(client_for(w.admin), a.evidence_number) == []
    assert _picked(client_for(w.prosecutor), b.evidence_number) == []
    assert cust.get("/pick/evidence", {"q": ""}).json()["results"] == []
    from django.test import Client

    assert Client().get("/pick/evidence", {"q": a.evidence_number}).status_code == 302


def test_records_request_page_uses_the_picker_with_and_without_script(w):
    cust = client_for(w.custodian)
    r = cust.post("/records/", {"requester": "Press", "scope": "all", "received_on": "2026-01-05"})
    number = RecordsRequest.objects.get().number
    url = f"/records/{number}/"
    page = cust.get(url).content.decode()
    assert 'data-picker="/pick/evidence"' in page and "Clip id" not in page and "search/picker.js" in page
    # No script: the evidence number typed in the text field is looked up (one match: that item).
    r = cust.post(url, {"action": "add_item", "clip_q": w.other_clip.recording.evidence_number})
    assert r.status_code == 302 and RequestItem.objects.filter(clip=w.other_clip).exists()
    # Several matches: the page again, with them to choose from, and nothing added.
    day = (w.clip.recording.start_time or w.clip.recording.trigger_on_time).strftime("%Y-%m-%d")
    r = cust.post(url, {"action": "add_item", "clip_q": day})
    assert r.status_code == 200 and "Several items match" in r.content.decode()
    assert f'value="{w.clip.id}"' in r.content.decode() and RequestItem.objects.count() == 1
    r = cust.post(url, {"action": "add_item", "clip_q": "no such words anywhere"})
    assert r.status_code == 400 and "no item you may see matches" in r.content.decode()
    # The picker's hidden id (script): added.
    assert cust.post(url, {"action": "add_item", "clip": str(w.clip.id)}).status_code == 302
    assert RequestItem.objects.count() == 2


def test_hold_form_picks_items_not_container_names(w):
    cust = client_for(w.custodian)
    page = cust.get("/retention/").content.decode()
    assert "one per line" not in page and 'data-picker="/pick/evidence"' in page
    r = cust.post("/retention/", {"action": "hold", "name": "H2", "reason": "claim", "clip": [str(w.other_clip.id)]})
    assert r.status_code == 302
    assert list(LegalHold.objects.get(name="H2").recordings.all()) == [w.other_clip.recording]
    r = cust.post("/retention/", {"action": "hold", "name": "H3", "reason": "claim", "case": "C-1"})
    assert r.status_code == 302 and LegalHold.objects.get(name="H3").case.number == "C-1"


# ---------------------------------------------------------------- bulk actions
def _bulk(client, action, clips, **fields):
    return client.post("/evidence/bulk", {"action": action, "clip": clips, "back": "/?q=x", **fields})


def test_every_bulk_action_asks_first_and_changes_nothing_until_confirmed(w):
    Category.objects.create(axis_id="9", name="Arrest")
    RecordsRequest.objects.create(number="R-1", requester="Press", scope="x", received_on="2026-01-05",
                                  deadline="2026-02-05", created_by=w.custodian)
    cust = client_for(w.custodian)
    clips = [str(w.clip.id), str(w.other_clip.id)]
    fields = {"categorize": {"category": "Arrest"}, "add_to_case": {"case": "C-1"}, "add_to_request": {"request": "R-1"},
              "hold": {"name": "H", "reason": "claim"}, "share": {"recipient": "ada", "days": "7"}}

    def state():
        return (Category.objects.get(name="Arrest").recordings.count(), Case.objects.get(number="C-1").recordings.count(),
                RequestItem.objects.count(), LegalHold.objects.count(), Share.objects.count(),
                AuditEntry.objects.filter(action__in=["evidence.edit", "case.add_recordings", "records.add_item",
                                                      "retention.hold", "evidence.share", "evidence.bulk"]).count())

    before = state()
    for action, extra in fields.items():
        r = _bulk(cust, action, clips, **extra)
        page = r.content.decode()
        assert r.status_code == 200 and 'id="bulk-confirm"' in page and 'name="confirm" value="yes"' in page, action
        assert w.clip.recording.evidence_number in page  # the items, readably
    assert state() == before
    # The category is chosen on the confirmation page: none preselected.
    page = _bulk(cust, "categorize", clips).content.decode()
    assert '<option value="">choose a category…</option>' in page and "selected" not in page.split("bulk-category")[1][:200]
    r = _bulk(cust, "categorize", clips, confirm="yes")
    assert r.status_code == 400 and "choose a category" in r.content.decode() and state() == before


def test_bulk_summary_counts_changed_already_and_refused_each_audited(w):
    Category.objects.create(axis_id="9", name="Arrest")
    det = client_for(w.detective)
    mine, theirs = str(w.clip.id), str(w.other_clip.id)  # the detective sees only officer A's (case C-1)
    before = _last_seq()
    r = _bulk(det, "categorize", [mine, theirs, mine], category="Arrest", confirm="yes")
    page = r.content.decode()
    assert r.status_code == 200
    assert 'id="n-changed">1<' in page and 'id="n-already">0<' in page and 'id="n-refused">1<' in page
    assert "An item you may not see" in page and w.other_clip.recording.evidence_number not in page
    assert list(Category.objects.get(name="Arrest").recordings.all()) == [w.clip.recording]
    assert _new(before, action="evidence.edit", outcome="ok", actor="det").count() == 1
    assert _new(before, action="evidence.edit", outcome="denied", actor="det").count() == 1
    bulk = _new(before, action="evidence.bulk", actor="det").get()
    assert bulk.detail["changed"] == 1 and bulk.detail["refused"] == 1 and bulk.detail["category"] == "Arrest"
    # Again: already so, nothing written for it.
    before = _last_seq()
    page = _bulk(det, "categorize", [mine], category="Arrest", confirm="yes").content.decode()
    assert 'id="n-already">1<' in page and not _new(before, action="evidence.edit").exists()
    # Add to case: C-1 holds officer A's recording already; a case the detective is not on is refused (403, audited).
    page = _bulk(det, "add_to_case", [mine], case="C-1", confirm="yes").content.decode()
    assert 'id="n-already">1<' in page
    Case.objects.create(number="C-2")
    before = _last_seq()
    assert _bulk(det, "add_to_case", [mine], case="C-2", confirm="yes").status_code == 403
    assert _new(before, action="case.add_recordings", outcome="denied").exists()
    assert not Case.objects.get(number="C-2").recordings.exists()
    # Share: the World's share with ada is live, so "already"; the detective's own new share to another prosecutor.
    from .access_helpers import make_user

    make_user("ada2", "prosecutor")
    page = _bulk(det, "share", [mine], recipient="ada", confirm="yes").content.decode()
    assert 'id="n-already">1<' in page
    page = _bulk(det, "share", [mine, theirs], recipient="ada2", days="7", allow_download="yes",
                 confirm="yes").content.decode()
    assert 'id="n-changed">1<' in page and 'id="n-refused">1<' in page
    s = Share.objects.get(recipient__username="ada2")
    assert s.allow_download and s.expires_at and s.recording == w.clip.recording
    assert _bulk(det, "share", [mine], recipient="off.a", confirm="yes").status_code == 400  # not a prosecutor
    # Holds and records requests: custodians only (refused and audited for the detective).
    before = _last_seq()
    assert _bulk(det, "hold", [mine], name="H", reason="r", confirm="yes").status_code == 403
    assert _bulk(det, "add_to_request", [mine], request="R-1", confirm="yes").status_code in (403, 404)
    assert _new(before, outcome="denied", actor="det").count() == 2 and not LegalHold.objects.exists()


def test_custodian_bulk_hold_and_records_request(w):
    RecordsRequest.objects.create(number="R-1", requester="Press", scope="x", received_on="2026-01-05",
                                  deadline="2026-02-05", created_by=w.custodian)
    cust = client_for(w.custodian)
    clips = [str(w.clip.id), str(w.other_clip.id), "not-an-id"]
    page = _bulk(cust, "hold", clips, name="Smith v. City", reason="notice of claim", confirm="yes").content.decode()
    assert 'id="n-changed">2<' in page and 'id="n-refused">1<' in page
    hold = LegalHold.objects.get(name="Smith v. City")
    assert set(hold.recordings.all()) == {w.clip.recording, w.other_clip.recording} and hold.placed_by == "cust"
    page = _bulk(cust, "add_to_request", clips[:2], request="R-1", confirm="yes").content.decode()
    assert 'id="n-changed">2<' in page and RequestItem.objects.count() == 2
    page = _bulk(cust, "add_to_request", clips[:1], request="R-1", confirm="yes").content.decode()
    assert 'id="n-already">1<' in page and RequestItem.objects.count() == 2
    # The search page offers each action to the roles that may start it.
    page = cust.get("/evidence/").content.decode()
    for key in ("categorize", "add_to_case", "add_to_request", "hold", "share"):
        assert f'id="bulk-{key}"' in page, key
    off = client_for(w.officer).get("/evidence/").content.decode()
    assert 'id="bulk-categorize"' in off and 'id="bulk-hold"' not in off and 'id="bulk-share"' not in off


# ---------------------------------------------------------------- the item page
def test_item_history_tab_reads_in_words(w):
    det, off_b = client_for(w.detective), client_for(w.other_officer)
    w.detective.first_name, w.detective.last_name = "Dana", "Muller"
    w.detective.save()
    url = f"/evidence/{w.clip.id}/"
    det.post(url, {"action": "title", "title": "Stop on Main St"})
    page = det.get(url + "?tab=history").content.decode()
    assert 'id="history-table"' in page and "Dana Muller (det)" in page
    assert "title: — → Stop on Main St" in page and "<time datetime=" in page
    assert 'id="player"' not in page  # the history tab, not the player
    assert _new(0, action="audit.read", actor="det", object_id=str(w.clip.id)).exists()
    assert off_b.get(url + "?tab=history").status_code == 404  # who may not see the item sees no history
    # Cases, records requests and holds from the item page: through the bulk confirmation, no ids typed.
    page = client_for(w.custodian).get(url).content.decode()
    assert 'id="act-add_to_case"' in page and 'id="act-add_to_request"' in page and 'id="act-hold"' in page
    assert "Prosecutor username" not in page and '<option value="ada">' in page


def test_transcript_lines_seek_the_player(w):
    Transcript.objects.create(clip=w.clip, model="test", language="en", machine=[],
                              segments=[{"start": 0.0, "end": 0.4, "text": "Driver, step out."},
                                        {"start": 0.5, "end": 0.9, "text": "Hands where I can see them."}])
    page = client_for(w.officer).get(f"/evidence/{w.clip.id}/").content.decode()
    assert 'id="transcript-lines"' in page and 'class="seek line" data-at="0.5"' in page
    assert "Hands where I can see them." in page


# ---------------------------------------------------------------- irreversible actions ask first
def test_revoke_and_purge_approval_ask_first(w):
    cust = client_for(w.custodian)
    share = Share.objects.get(recipient=w.prosecutor)
    url = f"/evidence/{w.clip.id}/"
    r = cust.post(url, {"action": "revoke", "kind": "item", "share": str(share.id)})
    assert r.status_code == 200 and 'id="confirm-yes"' in r.content.decode()
    share.refresh_from_db()
    assert share.revoked_at is None
    assert cust.post(url, {"action": "revoke", "kind": "item", "share": str(share.id), "confirm": "yes"}).status_code == 302
    share.refresh_from_db()
    assert share.revoked_at is not None
    # A case's link, from the case page.
    assert cust.post("/cases/C-1/", {"action": "link", "days": "7", "label": "ADA"}).status_code == 200
    link = ShareLink.objects.get(label="ADA")
    r = cust.post("/cases/C-1/", {"action": "revoke", "kind": "link", "share": str(link.id)})
    assert r.status_code == 200 and ShareLink.objects.get(pk=link.pk).revoked_at is None
    cust.post("/cases/C-1/", {"action": "revoke", "kind": "link", "share": str(link.id), "confirm": "yes"})
    assert ShareLink.objects.get(pk=link.pk).revoked_at is not None
    # Approve a purge: the confirmation page first, the approval only after it.
    from datetime import timedelta

    from bodycam.retention import services as ret
    from bodycam.retention.models import DeletionEntry, RetentionSettings

    RetentionSettings.objects.update_or_create(pk=1, defaults={"require_approval": True})
    rec = w.other_clip.recording
    ret.sweep(now=rec.trigger_on_time + timedelta(days=366))
    entry = DeletionEntry.objects.get(recording=rec)
    r = cust.post("/retention/", {"action": "approve", "recording": str(rec.id)})
    assert r.status_code == 200 and "Approve the purge" in r.content.decode()
    assert DeletionEntry.objects.get(pk=entry.pk).approved_by in ("", None)
    assert cust.post("/retention/", {"action": "approve", "recording": str(rec.id), "confirm": "yes"}).status_code == 302
    assert DeletionEntry.objects.get(pk=entry.pk).approved_by == "cust"
