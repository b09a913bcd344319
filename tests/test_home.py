"""The home page (``/``, issue 23): each role's queues of work, their rules, and the one
access check deciding every count and row (a queue never counts or shows what its user may
not see). Each evidence queue is a search: following its link shows the same count."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from bodycam.access.models import Restriction, User
from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Bookmark, Category, Officer, Recording
from bodycam.search.services import reindex
from bodycam.web import home

from .access_helpers import World, client_for, ingest_clip_for

pytestmark = pytest.mark.django_db


def queues(user) -> dict:
    return {q.key: q for q in home.queues_for(user)}


def count_at(client, link: str) -> int:
    html = client.get(link).content.decode()
    return int(re.search(r'<span id="result-count">(\d+)', html).group(1))


def clip_of(w: World, tmp_path, account: User):
    return ingest_clip_for(Officer.objects.get(account=account), tmp_path)


def test_every_role_gets_its_queues_and_one_audit_entry(tmp_path):
    w = World(tmp_path)
    want = {
        "officer": ["mine-uncategorized", "mine-untitled"],
        "supervisor": ["squad-uncategorized", "squad-flagged", "review-sample", "compliance"],
        "detective": ["case-footage", "my-access-requests", "my-shares"],
        "custodian": ["records-due", "deletion-queue", "upcoming-deletions", "holds", "my-shares", "alerts"],
        "prosecutor": ["shared-cases", "shared-items"],
        "admin": ["alerts", "failed-jobs", "storage", "locked-accounts"],
        "auditor": ["chain"],
    }
    for role, keys in want.items():
        user = w.users[role]
        client = client_for(user)
        before = AuditEntry.objects.count()
        r = client.get("/")
        assert r.status_code == 200, role
        html = r.content.decode()
        assert re.findall(r'<section class="queue" id="queue-([\w-]+)"', html) == keys, role
        entries = list(AuditEntry.objects.filter(seq__gt=before, actor=user.username).values_list("action", flat=True))
        assert entries == ["home.view"], (role, entries)  # one entry, not one per queue
        assert '<a href="/">Home</a>' in html and 'href="/evidence/">Evidence</a>' in html
    # Signed out: to the sign-in page, which comes back to the home page.
    from django.test import Client

    r = Client().get("/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_officer_queues_are_their_own_recent_footage_without_category_or_title(tmp_path):
    w = World(tmp_path)
    second = clip_of(w, tmp_path, w.officer)
    old = clip_of(w, tmp_path, w.officer)
    Recording.objects.filter(pk=old.recording_id).update(trigger_on_time=timezone.now() - timedelta(days=30))
    old.__class__.objects.filter(pk=old.pk).update(start_time=timezone.now() - timedelta(days=30))
    reindex(old.recording_id)
    q = queues(w.officer)
    # Three recordings of theirs, one a month old: two in each queue; the other officer's never.
    assert q["mine-uncategorized"].count == 2 and q["mine-untitled"].count == 2
    shown = {r["url"] for r in q["mine-untitled"].rows}
    assert shown == {f"/evidence/{w.clip.id}/", f"/evidence/{second.id}/"}
    # A category takes it off the first queue, a title off the second.
    second.recording.categories.add(Category.objects.create(axis_id="77", name="Traffic stop 2"))
    Recording.objects.filter(pk=w.clip.recording_id).update(title="Stop on Main St")
    q = queues(w.officer)
    assert [r["url"] for r in q["mine-uncategorized"].rows] == [f"/evidence/{w.clip.id}/"]
    assert [r["url"] for r in q["mine-untitled"].rows] == [f"/evidence/{second.id}/"]
    # The link is the search page with the same filters: the same count.
    client = client_for(w.officer)
    for key in ("mine-uncategorized", "mine-untitled"):
        assert q[key].link.startswith("/evidence/?") and "from=" in q[key].link
        assert count_at(client, q[key].link) == q[key].count == 1
    assert "titled=no" in q["mine-untitled"].link and "category=Uncategorized" in q["mine-uncategorized"].link
    # The other officer's home counts none of it.
    other = queues(w.other_officer)
    assert other["mine-untitled"].count == 1 and other["mine-untitled"].rows[0]["url"] == f"/evidence/{w.other_clip.id}/"


def test_supervisor_queues_count_only_what_the_access_check_lets_them_see(tmp_path):
    w = World(tmp_path)
    restricted = clip_of(w, tmp_path, w.officer)
    client = client_for(w.supervisor)
    before = queues(w.supervisor)["squad-uncategorized"]
    assert before.count == 2  # officer A's two recordings (squad A), not officer B's (squad B)
    Restriction.objects.create(recording=restricted.recording, reason="juvenile")
    after = queues(w.supervisor)["squad-uncategorized"]
    assert after.count == 1 and [r["url"] for r in after.rows] == [f"/evidence/{w.clip.id}/"]
    assert count_at(client, after.link) == 1
    html = client.get("/").content.decode()
    assert str(restricted.id) not in html and restricted.recording.evidence_number not in html
    # Flagged moments: recordings with a camera bookmark.
    assert queues(w.supervisor)["squad-flagged"].count == 0
    Bookmark.objects.create(recording=w.clip.recording, text="suspect ran")
    Bookmark.objects.create(recording=restricted.recording, text="hidden")
    Bookmark.objects.create(recording=w.other_clip.recording, text="other squad")
    flagged = queues(w.supervisor)["squad-flagged"]
    assert flagged.count == 1 and flagged.rows[0]["url"] == f"/evidence/{w.clip.id}/"
    assert "bookmarked=yes" in flagged.link and count_at(client, flagged.link) == 1
    # Use of force: a queue once the agency has that category.
    uof = Category.objects.create(axis_id="66", name=home.USE_OF_FORCE)
    w.clip.recording.categories.add(uof)
    q = queues(w.supervisor)
    assert q["squad-use-of-force"].count == 1 and q["squad-uncategorized"].count == 0


def test_review_sample_is_stable_for_the_day_and_only_visible(tmp_path):
    from bodycam.retention.models import RetentionSettings

    w = World(tmp_path)
    extra = [clip_of(w, tmp_path, w.officer) for _ in range(3)]
    RetentionSettings.objects.update_or_create(id=1, defaults={"review_sample_size": 2})
    first = queues(w.supervisor)["review-sample"]
    assert first.count == 2 and first.unit == "recording"
    visible = {f"/evidence/{c.id}/" for c in [w.clip, *extra]}
    assert {r["url"] for r in first.rows} <= visible
    for _ in range(3):  # a reload does not reshuffle
        assert [r["url"] for r in queues(w.supervisor)["review-sample"].rows] == [r["url"] for r in first.rows]
    # A restricted recording never enters the sample.
    for c in extra:
        Restriction.objects.create(recording=c.recording, reason="IA")
    assert [r["url"] for r in queues(w.supervisor)["review-sample"].rows] == [f"/evidence/{w.clip.id}/"]


def test_compliance_says_honestly_when_there_is_nothing_to_measure(tmp_path):
    from bodycam.retention import cad, policy

    w = World(tmp_path)
    q = queues(w.supervisor)["compliance"]
    assert q.count == 0 and not q.rows and "No dispatch call type is marked" in q.empty
    policy.apply(policy.parse({"compliance": {"required_call_types": ["DISTURBANCE"], "late_activation_s": 60}}),
                 actor="test")
    q = queues(w.supervisor)["compliance"]
    assert "No dispatch call of the last 7 days" in q.empty
    # A call officer A (badge 101) arrived at ten minutes before the camera started: late.
    start = w.clip.recording.trigger_on_time
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    cad.import_incidents(("[" + ",".join(
        f'{{"incident_number": "{n}", "call_type": "DISTURBANCE", "received_at": "{iso(start - timedelta(minutes=12))}",'
        f' "arrived_at": "{iso(start - timedelta(minutes=10))}", "cleared_at": "{iso(start + timedelta(minutes=5))}",'
        f' "badges": ["{b}"]}}' for n, b in (("CAD-1", "101"), ("CAD-2", "102"))) + "]").encode(), "json",
        source="test", actor="test")
    q = queues(w.supervisor)["compliance"]
    assert q.count == 1 and "1 late (CAD-1)" in q.rows[0]["meta"] and "CAD-2" not in str(q.rows)  # B: other squad
    assert q.link == "/retention/compliance/"


def test_detective_cases_with_new_footage_and_shares_made(tmp_path):
    from bodycam.cases.models import Case
    from bodycam.release.models import Share, ShareLink

    w = World(tmp_path)
    q = queues(w.detective)
    assert q["case-footage"].count == 1 and q["case-footage"].rows[0]["number"] == "C-1"
    assert q["case-footage"].rows[0]["meta"] == "1 new item"
    client = client_for(w.detective)
    assert count_at(client, q["case-footage"].rows[0]["url"]) == 1
    # A case they are not on is not theirs to see, however new its footage.
    Case.objects.create(number="C-5").recordings.add(w.other_clip.recording)
    assert [r["number"] for r in queues(w.detective)["case-footage"].rows] == ["C-1"]
    assert q["my-shares"].count == 0 and "would appear here" in q["my-shares"].empty
    # Shares they made: soonest to expire first; a revoked one is gone; others' are not theirs.
    now = timezone.now()
    later = Share.objects.create(recording=w.clip.recording, recipient=w.prosecutor, created_by=w.detective,
                                 expires_at=now + timedelta(days=30))
    ShareLink.objects.create(token_sha256="a" * 64, case=Case.objects.get(number="C-1"), label="defence counsel",
                             created_by=w.detective, expires_at=now + timedelta(days=2))
    ShareLink.objects.create(token_sha256="b" * 64, recording=w.other_clip.recording, label="not visible",
                             created_by=w.detective, expires_at=now + timedelta(days=1))
    Share.objects.create(recording=w.clip.recording, recipient=w.prosecutor, created_by=w.detective,
                         revoked_at=now)
    shares = queues(w.detective)["my-shares"]
    assert shares.count == 2
    assert [r["meta"] for r in shares.rows] == ["link for defence counsel", "shared with ada"]
    assert [r["tone"] for r in shares.rows] == ["warn", ""]  # expires within 7 days
    assert shares.rows[0]["url"] == "/cases/C-1/" and shares.rows[1]["url"] == f"/evidence/{w.clip.id}/"
    assert shares.link == "/evidence/?shared=mine" and count_at(client, shares.link) == 1
    Share.objects.filter(pk=later.pk).update(revoked_at=now)
    assert queues(w.detective)["my-shares"].count == 1
    # Nobody else's shares: the custodian's (World's share) is on the custodian's home only.
    assert queues(w.custodian)["my-shares"].count == 1
    # Search: "shared" takes "mine" only; an officer's "mine" finds nothing.
    assert client.get("/evidence/?shared=yours").status_code == 400
    assert count_at(client_for(w.officer), "/evidence/?shared=mine") == 0


def test_custodian_queues_records_deletions_holds_alerts(tmp_path):
    from bodycam.custody.services import raise_alert
    from bodycam.records.models import RecordsRequest
    from bodycam.retention import services as retention
    from bodycam.retention.models import DeletionEntry

    w = World(tmp_path)
    q = queues(w.custodian)
    for key in ("records-due", "deletion-queue", "upcoming-deletions", "holds", "alerts"):
        assert q[key].count == 0 and not q[key].rows and "would appear here" in q[key].empty, key
    today = date.today()
    for number, days, status in (("R-3", 9, "open"), ("R-1", -1, "submitted"), ("R-2", 2, "open"),
                                 ("R-4", 1, "released")):
        RecordsRequest.objects.create(number=number, requester=f"Paper {number}", scope="x", received_on=today,
                                      deadline=today + timedelta(days=days), status=status, created_by=w.custodian)
    retention.place_hold("Lawsuit 9", "claim", "cust", recordings=[w.clip.recording.container_name])
    DeletionEntry.objects.create(recording=w.other_clip.recording, expired_at=timezone.now(),
                                 queued_at=timezone.now(), purge_after=timezone.now() + timedelta(days=30))
    raise_alert("fixity.mismatch", "blob abc changed")
    q = queues(w.custodian)
    rows = q["records-due"].rows
    assert q["records-due"].count == 3 and [r["number"] for r in rows] == ["R-1", "R-2", "R-3"]
    assert rows[0]["meta"].startswith("overdue by 1 day") and rows[0]["tone"] == "bad"
    assert rows[1]["meta"].startswith("due in 2 days") and rows[1]["tone"] == "warn" and rows[2]["tone"] == ""
    assert rows[0]["url"] == "/records/R-1/"
    assert q["holds"].count == 1 and q["holds"].rows[0]["number"] == "Lawsuit 9"
    assert q["deletion-queue"].count == 1 and q["deletion-queue"].rows[0]["number"] == \
        w.other_clip.recording.evidence_number
    assert q["alerts"].count == 1 and q["alerts"].rows[0]["title"] == "blob abc changed"
    # Approval required: the queue counts only what awaits it.
    from bodycam.retention.models import RetentionSettings

    RetentionSettings.objects.update_or_create(id=1, defaults={"require_approval": True})
    q = queues(w.custodian)["deletion-queue"]
    assert q.title == "Deletion queue awaiting approval" and q.count == 1
    DeletionEntry.objects.update(approved_at=timezone.now(), approved_by="cust")
    assert queues(w.custodian)["deletion-queue"].count == 0


def test_auditor_sees_the_chain_state(tmp_path, capsys):
    from bodycam.cli import main
    from bodycam.custody.chain import create_checkpoint

    w = World(tmp_path)
    chain = queues(w.auditor)["chain"]
    verify, checkpoint, witness = chain.rows[:3]
    assert verify["title"].startswith("none recorded yet") and checkpoint["title"] == "none signed yet"
    assert chain.link == "/audit/" and witness["number"] == "Witness file"
    create_checkpoint(actor="test")
    main(["audit", "verify"])  # by default a verification leaves the chain as it found it
    assert not AuditEntry.objects.filter(action="audit.verify").exists()
    main(["audit", "verify", "--record"])  # recorded: audit.verify
    verify, checkpoint, _ = queues(w.auditor)["chain"].rows[:3]
    assert verify["title"].startswith("intact") and verify["when"] is not None
    assert checkpoint["title"].startswith("signed at entry") and checkpoint["meta"].endswith("entries since")
    assert AuditEntry.objects.filter(action="audit.verify", actor="cli", outcome="ok").count() == 1


def test_admin_sees_failed_jobs_and_locked_accounts(tmp_path):
    from bodycam.jobs.models import Job

    w = World(tmp_path)
    q = queues(w.admin)
    assert q["failed-jobs"].count == 0 and q["locked-accounts"].count == 0 and q["storage"].count == 0
    job = Job.objects.create(kind="media.proxy", status=Job.Status.FAILED, error="Traceback\nffmpeg exited 1",
                             finished_at=timezone.now())
    User.objects.filter(pk=w.officer.pk).update(locked_at=timezone.now())
    q = queues(w.admin)
    assert q["failed-jobs"].count == 1 and q["failed-jobs"].rows[0] == {
        "url": f"/jobs/{job.id}/", "number": "media.proxy", "title": "ffmpeg exited 1", "when": job.finished_at,
        "when_label": "failed", "tone": "bad"}
    assert q["failed-jobs"].link == "/jobs/?status=failed"
    assert [r["number"] for r in q["locked-accounts"].rows] == ["off.a"]


def test_prosecutor_home_lists_only_what_is_shared(tmp_path):
    from bodycam.release.models import CaseShare

    w = World(tmp_path)
    q = queues(w.prosecutor)
    assert q["shared-cases"].count == 0 and q["shared-items"].count == 1  # World shares officer A's item
    CaseShare.objects.create(case_id=w.clip.recording.cases.get().id, recipient=w.prosecutor, created_by=w.custodian)
    q = queues(w.prosecutor)
    assert [r["number"] for r in q["shared-cases"].rows] == ["C-1"]
    assert [r["url"] for r in q["shared-items"].rows] == [f"/evidence/{w.clip.id}/"]


def test_new_search_filters_titled_and_bookmarked(tmp_path):
    w = World(tmp_path)
    client = client_for(w.custodian)
    Recording.objects.filter(pk=w.clip.recording_id).update(title="Named")
    Bookmark.objects.create(recording=w.other_clip.recording, text="mark")
    assert count_at(client, "/evidence/?titled=yes") == 1 and count_at(client, "/evidence/?titled=no") == 1
    assert count_at(client, "/evidence/?bookmarked=yes") == 1 and count_at(client, "/evidence/?bookmarked=no") == 1
    assert f"/evidence/{w.other_clip.id}/" in client.get("/evidence/?bookmarked=yes").content.decode()
    for bad in ("titled=maybe", "bookmarked=2"):
        r = client.get("/evidence/?" + bad)
        assert r.status_code == 400 and "must be yes, no or any" in r.content.decode()
