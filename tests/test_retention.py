"""Retention with a controlled clock: the longest category wins, holds and open cases block
deletion, the grace period allows recovery, floors cannot be undercut, every purge is
audited and leaves a tombstone with the hash, and nothing is purged when the clock jumps
backward or the policy file is invalid. Real clips through the real ingest path; blobs in
a real local store."""

import hashlib
from datetime import timedelta

import pytest

from bodycam.access.models import Role
from bodycam.access.services import visible_clips
from bodycam.cases.models import Case
from bodycam.cases.services import set_case_status
from bodycam.cli import main
from bodycam.custody.chain import verify_chain
from bodycam.custody.models import Alert, AuditEntry
from bodycam.evidence.defaults import ensure_default_categories
from bodycam.evidence.models import Category, Recording
from bodycam.media.models import Derivative
from bodycam.media.synth import make_clip
from bodycam.retention import policy as pol
from bodycam.retention import services as ret
from bodycam.retention.models import DeletionEntry, Tombstone
from bodycam.search.models import SearchDocument
from bodycam.search.services import index_text
from bodycam.storage import get_store

from .access_helpers import make_user
from .retention_helpers import device, ingest, officer, utc

pytestmark = pytest.mark.django_db

T0 = utc(2026, 1, 10, 12, 0, 0)
DAY = timedelta(days=1)
SEC = timedelta(seconds=1)


@pytest.fixture
def world(tmp_path):
    ensure_default_categories()
    off = officer("Officer Reyes", "4711")
    cam = device("BWC-1")
    clip_a = make_clip(str(tmp_path / "a.mp4"), seconds=1)
    clip_b = make_clip(str(tmp_path / "b.mp4"), seconds=1, width=320, height=240)
    return {"off": off, "cam": cam, "clip_a": clip_a, "clip_b": clip_b, "tmp": tmp_path}


def sha_of(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def add_derivative(rec, data: bytes) -> Derivative:
    import io

    store = get_store()
    inc = store.receive(io.BytesIO(data), len(data))
    store.commit(inc)
    clip = rec.clips.first()
    # Distinct settings per blob: one derivative per (clip, kind, settings) is a constraint.
    return Derivative.objects.create(clip=clip, parent_sha256=clip.sha256, kind="thumbnail", sha256=inc.sha256,
                                     size=len(data), content_type="image/jpeg", params={"test_blob": inc.sha256})


def test_longest_category_wins_grace_purge_tombstone_and_audit(world):
    w = world
    uncategorized = ingest(w["off"], w["cam"], T0, w["clip_a"])
    twice = ingest(w["off"], device("BWC-2"), T0 + SEC, w["clip_a"])  # same bytes, another item
    arrest = ingest(w["off"], w["cam"], T0 + 2 * SEC, w["clip_b"], categories=["Traffic stop", "Arrest"])
    homicide = ingest(w["off"], device("BWC-3"), T0 + 3 * SEC, w["clip_b"], categories=["Traffic stop", "Homicide"])
    thumb = add_derivative(uncategorized, b"\xff\xd8 thumbnail of the uncategorized item")
    index_text(uncategorized.id, "transcript", "the suspect ran north")
    Recording.objects.filter(pk=twice.pk).update(trigger_on_time=T0 + 731 * DAY)  # expires a day after the arrest item
    cust = make_user("cust", Role.CUSTODIAN)
    assert ret.retention_info(arrest)["retention_days"] == 1095  # the longest of 730 and 1095
    assert ret.retention_info(homicide)["expires_at"] is None

    # One second before the year is up nothing moves; at the second it does.
    rep = ret.sweep(now=T0 + 365 * DAY - SEC)
    assert rep["queued"] == [] and rep["purged"] == []
    rep = ret.sweep(now=T0 + 365 * DAY)
    assert [q["container"] for q in rep["queued"]] == [uncategorized.container_name]
    assert rep["queued"][0]["categories"] == ["Uncategorized"]
    # In the grace period: hidden from everyone, bytes still there, recoverable.
    assert not visible_clips(cust).filter(recording=uncategorized).exists()
    assert get_store().exists(sha_of(w["clip_a"])) and get_store().exists(thumb.sha256)
    assert ret.sweep(now=T0 + 395 * DAY - SEC)["purged"] == []
    rep = ret.sweep(now=T0 + 395 * DAY)
    assert [p["container"] for p in rep["purged"]] == [uncategorized.container_name]
    # The shared original stays (another live item has the same bytes); the thumbnail goes.
    assert get_store().exists(sha_of(w["clip_a"])) and not get_store().exists(thumb.sha256)
    assert not Derivative.objects.filter(clip__recording=uncategorized).exists()
    assert not SearchDocument.objects.filter(recording=uncategorized).exists()
    tomb = Tombstone.objects.get(recording=uncategorized)
    assert tomb.objects_json[0]["sha256"] == sha_of(w["clip_a"]) and tomb.categories == ["Uncategorized"]
    assert tomb.recorded_at == T0 and tomb.blobs_kept == [sha_of(w["clip_a"])]
    uncategorized.refresh_from_db()
    assert uncategorized.purged_at == T0 + 395 * DAY and uncategorized.clips.get().sha256 == sha_of(w["clip_a"])
    # Recovery after the purge is impossible, and says why.
    with pytest.raises(ret.RetentionError, match="already purged"):
        ret.recover(uncategorized.container_name, "cust", reason="too late")

    # The arrest item leaves at exactly three years (the longest category), the homicide one never.
    assert ret.sweep(now=T0 + 2 * SEC + 1095 * DAY - SEC)["queued"] == []
    rep = ret.sweep(now=T0 + 2 * SEC + 1095 * DAY)
    assert [q["container"] for q in rep["queued"]] == [arrest.container_name]
    rep = ret.sweep(now=T0 + 1200 * DAY)
    assert [p["container"] for p in rep["purged"]] == [arrest.container_name]
    assert [q["container"] for q in rep["queued"]] == [twice.container_name]
    assert get_store().exists(sha_of(w["clip_a"]))  # the other copy is in its grace period
    rep = ret.sweep(now=T0 + 1300 * DAY)
    assert [p["container"] for p in rep["purged"]] == [twice.container_name]
    # Now no live item names clip A: its blob is gone. Clip B is still the homicide item's.
    assert not get_store().exists(sha_of(w["clip_a"])) and get_store().exists(sha_of(w["clip_b"]))
    assert ret.sweep(now=T0 + 100 * 365 * DAY)["queued"] == []
    assert visible_clips(cust).filter(recording=homicide).exists()

    # Every purge is one audit entry naming the hash; the chain still verifies; fsck is clean.
    purges = AuditEntry.objects.filter(action="retention.purge")
    assert purges.count() == Tombstone.objects.count() == 3
    assert {e.object_sha256 for e in purges} == {sha_of(w["clip_a"]), sha_of(w["clip_b"])}
    assert verify_chain().ok
    from bodycam.custody.fixity import check_all

    assert check_all()[1] == []


def test_holds_and_open_cases_block_purge_until_released(world):
    w = world
    held = ingest(w["off"], w["cam"], T0, w["clip_a"])
    in_case = ingest(w["off"], device("BWC-2"), T0, w["clip_b"])
    case = Case.objects.create(number="C-77", incident_number="26-000123")
    case.recordings.add(in_case)
    hold = ret.place_hold("Smith v. City", "litigation", "cli", recordings=[held.container_name])
    assert ret.sweep(now=T0 + 3000 * DAY)["queued"] == []
    assert ret.retention_info(held)["blocked_by"] == ["legal hold Smith v. City"]
    assert ret.retention_info(in_case)["blocked_by"] == ["open case C-77"]
    # Closing the case lets retention run again; a hold on the case blocks it again.
    set_case_status(case, "closed", "cli")
    rep = ret.sweep(now=T0 + 3001 * DAY)
    assert [q["container"] for q in rep["queued"]] == [in_case.container_name]
    ret.place_hold("Grand jury", "subpoena", "cli", case="C-77")  # during the grace period
    assert DeletionEntry.objects.get(recording=in_case).state == "cancelled"
    assert ret.sweep(now=T0 + 3100 * DAY)["purged"] == []
    ret.release_hold(hold.id, "cli", reason="settled")
    rep = ret.sweep(now=T0 + 3101 * DAY)
    assert [q["container"] for q in rep["queued"]] == [held.container_name]
    # A hold placed after the item was queued but before the purge wins at purge time too.
    DeletionEntry.objects.filter(recording=held).update(purge_after=T0 + 3102 * DAY)
    from bodycam.retention.models import LegalHold

    h2 = LegalHold.objects.create(name="late", reason="r", placed_by="cli", placed_at=T0)
    h2.recordings.add(held)  # bypasses place_hold's own cancellation
    rep = ret.sweep(now=T0 + 3200 * DAY)
    assert rep["purged"] == [] and rep["cancelled"][0]["why"].startswith("blocked: legal hold late")
    assert get_store().exists(sha_of(w["clip_a"])) and get_store().exists(sha_of(w["clip_b"]))
    assert not Tombstone.objects.exists()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"retention.hold", "retention.hold_release", "case.close", "retention.cancelled"} <= actions


def test_recovery_in_grace_period_and_approval(world):
    w = world
    rec = ingest(w["off"], w["cam"], T0, w["clip_a"])
    cust = make_user("cust", Role.CUSTODIAN)
    ret.sweep(now=T0 + 366 * DAY)
    assert not visible_clips(cust).filter(recording=rec).exists()
    with pytest.raises(ret.RetentionError, match="reason"):
        ret.recover(rec.container_name, "cust", reason=" ")
    rec = ret.recover(rec.container_name, "cust", days=30, reason="IA asked to keep it", now=T0 + 367 * DAY)
    assert visible_clips(cust).filter(recording=rec).exists() and rec.deleted_at is None
    assert DeletionEntry.objects.get(recording=rec).state == "recovered"
    # Recovery keeps it at least 30 more days (retain_until).
    until = rec.retain_until
    assert until == T0 + 397 * DAY
    assert ret.sweep(now=until - SEC)["queued"] == []
    # With approval required, the purge waits for a custodian.
    pol.apply(pol.parse({"require_approval": True, "grace_days": 10}), actor="cli")
    assert len(ret.sweep(now=until)["queued"]) == 1
    rep = ret.sweep(now=until + 11 * DAY)
    assert rep["purged"] == [] and len(rep["awaiting_approval"]) == 1
    assert Alert.objects.filter(kind="retention.upcoming").exists()  # the notification
    assert ret.approve([rec.container_name], "cust") == 1
    assert len(ret.sweep(now=until + 12 * DAY)["purged"]) == 1
    assert not get_store().exists(sha_of(w["clip_a"]))


def test_floors_policy_file_and_clock_safety(world, capsys):
    w = world
    rec = ingest(w["off"], w["cam"], T0, w["clip_a"], categories=["Traffic stop"])
    # Shortening below a floor is refused; extending is free; lowering a floor is refused.
    with pytest.raises(pol.RetentionPolicyError, match="below its minimum of 365"):
        pol.set_category_retention("Traffic stop", 100, actor="cli")
    with pytest.raises(pol.RetentionPolicyError, match="indefinitely"):
        pol.set_category_retention("Homicide", 36500, actor="cli")
    with pytest.raises(pol.RetentionPolicyError, match="below its minimum of 60"):
        pol.set_category_retention("Uncategorized", 59, actor="cli")
    with pytest.raises(pol.RetentionPolicyError, match="cannot be lowered"):
        pol.apply(pol.parse({"categories": {"Traffic stop": {"days": 400, "min_days": 100}}}))
    assert main(["retention", "category", "Traffic stop", "--days", "200"]) == 2
    assert "below its minimum" in capsys.readouterr().err
    assert Category.objects.get(name="Traffic stop").retention_days == 730
    assert main(["retention", "category", "Traffic stop", "--days", "1460"]) == 0
    assert Category.objects.get(name="Traffic stop").retention_days == 1460
    assert AuditEntry.objects.filter(action="retention.policy").count() == 1  # refusals change nothing

    # A policy file: validated whole; a bad one refuses the sweep and purges nothing.
    good = w["tmp"] / "policy.yaml"
    good.write_text("grace_days: 7\ncategories:\n  Traffic stop: 365\n  K9 deployment: {days: 900, min_days: 800}\n"
                    "call_type_categories: {TRAFFIC STOP: Traffic stop}\n"
                    "compliance: {required_call_types: [traffic stop, '911']}\n")
    assert main(["retention", "policy", "validate", str(good)]) == 0
    assert main(["retention", "sweep", "--policy", str(good), "--now", "2027-01-11T00:00:00Z"]) == 0
    assert Category.objects.get(name="Traffic stop").retention_days == 365  # shortened, above its floor
    assert Category.objects.get(name="K9 deployment").min_retention_days == 800
    assert pol.settings_row().required_call_types == ["911", "TRAFFIC STOP"]
    assert DeletionEntry.objects.filter(recording=rec, state="pending").exists()
    bad = w["tmp"] / "bad.yaml"
    for text in ("grace_days: -3\n", "categories: {Traffic stop: 30}\n", "categories: [oops\n", "nonsense: 1\n"):
        bad.write_text(text)
        capsys.readouterr()
        assert main(["retention", "sweep", "--policy", str(bad), "--now", "2027-03-01T00:00:00Z"]) == 2
        assert "invalid, nothing was deleted" in capsys.readouterr().err
    assert not Tombstone.objects.exists() and get_store().exists(sha_of(w["clip_a"]))
    assert Alert.objects.filter(kind="retention.policy_invalid").count() == 4
    with pytest.raises(ret.RetentionError, match="invalid"):
        ret.sweep(now=utc(2027, 3, 1), policy_file=str(w["tmp"] / "missing.yaml"))

    # The clock jumps backward: refused with an alert, nothing purged (even though due).
    assert main(["retention", "sweep", "--now", "2027-01-10T00:00:00Z"]) == 2
    assert "clock is behind the last sweep" in capsys.readouterr().err
    assert Alert.objects.filter(kind="retention.clock_backward").exists()
    assert AuditEntry.objects.filter(action="retention.sweep", outcome="failed",
                                     detail__reason="clock backward").exists()
    assert not Tombstone.objects.exists()
    assert main(["retention", "sweep", "--dry-run", "--json", "--now", "2027-02-01T00:00:00Z"]) == 0
    assert '"container": "%s"' % rec.container_name in capsys.readouterr().out
    assert not Tombstone.objects.exists()  # a dry run changes nothing
    assert main(["retention", "sweep", "--now", "2027-02-01T00:00:00Z"]) == 0
    assert Tombstone.objects.filter(recording=rec).exists() and not get_store().exists(sha_of(w["clip_a"]))
    assert main(["retention", "sweep", "--now", "not-a-time"]) == 2
    other = ingest(w["off"], device("BWC-9"), T0, w["clip_b"])
    assert main(["retention", "extend", other.container_name, "--until", "2030-01-01", "--reason", "IA"]) == 0
    assert main(["retention", "extend", other.container_name, "--until", "2029-01-01", "--reason", "IA"]) == 2
    assert "never shortened" in capsys.readouterr().err
    assert main(["retention", "sweep", "--now", "2029-12-31T00:00:00Z"]) == 0
    assert not DeletionEntry.objects.filter(recording=other).exists()
    assert main(["retention", "sweep", "--now", "2030-01-01T00:00:00Z"]) == 0
    assert DeletionEntry.objects.filter(recording=other, state="pending").exists()
    assert main(["retention", "tombstones"]) == 0
    assert sha_of(w["clip_a"]) in capsys.readouterr().out


def test_daily_sweep_job(world):
    from datetime import datetime, timezone

    from bodycam.jobs.services import submit
    from bodycam.retention.models import RetentionSettings

    rec = ingest(world["off"], world["cam"], T0, world["clip_a"])
    Recording.objects.filter(pk=rec.pk).update(trigger_on_time=datetime.now(timezone.utc) - 400 * DAY)
    job = submit("retention.sweep", object_type="retention", inline=True)
    assert job.status == "succeeded" and job.result["queued"] == 1
    RetentionSettings.objects.filter(id=1).update(last_sweep_at=T0 + 100 * 365 * DAY)
    job = submit("retention.sweep", object_type="retention", inline=True)
    assert job.status == "failed" and "clock is behind" in job.error


def test_purged_item_is_not_reindexed_nor_served_by_a_link(world):
    from bodycam.release.models import ShareLink
    from bodycam.release.services import link_clips
    from bodycam.search.services import reindex_all

    rec = ingest(world["off"], world["cam"], T0, world["clip_a"])
    case = Case.objects.create(number="C-9", status="closed")
    case.recordings.add(rec)
    link = ShareLink.objects.create(case=case, token_sha256="0" * 64, expires_at=T0 + 9999 * DAY,
                                    created_by=make_user("cust", Role.CUSTODIAN))
    assert link_clips(link).count() == 1
    ret.sweep(now=T0 + 366 * DAY)
    assert link_clips(link).count() == 0  # in the grace period: hidden from links too
    ret.sweep(now=T0 + 400 * DAY)
    reindex_all()
    assert not SearchDocument.objects.filter(recording=rec).exists()
    # The ingest endpoint accepts nothing more for it, and does not serve it.
    from bodycam.ingest import errors, services

    with pytest.raises(errors.Forbidden, match="retention"):
        services.open_recording(rec.container_name)  # what every PUT, POST and HEAD opens first


def test_records_request_blocks_and_transcripts_redactions_are_purged(world):
    from datetime import date

    from bodycam.media.models import Redaction, Transcript, Translation
    from bodycam.records.models import RecordsRequest, RequestItem

    rec = ingest(world["off"], world["cam"], T0, world["clip_a"])
    clip = rec.clips.get()
    cust = make_user("cust", Role.CUSTODIAN)
    vtt = add_derivative(rec, b"WEBVTT\n\n00:00.000 --> 00:01.000\nstop the car\n")
    red_out = add_derivative(rec, b"redacted copy bytes")
    t = Transcript.objects.create(clip=clip, parent_sha256=clip.sha256, model="tiny.en", machine=[], segments=[],
                                  vtt=vtt)
    mt_vtt = add_derivative(rec, b"WEBVTT\n\nNOTE Machine translation\n\n00:00.000 --> 00:01.000\nstop the car\n")
    Translation.objects.create(clip=clip, transcript=t, parent_sha256=clip.sha256, model="whisper-base",
                               source_languages=["es"], segments=[], vtt=mt_vtt)
    red = Redaction.objects.create(clip=clip, parent_sha256=clip.sha256, plan={}, output=red_out, created_by=cust)
    req = RecordsRequest.objects.create(number="PRR-1", requester="press", scope="all", received_on=date(2026, 1, 20),
                                        deadline=date(2026, 2, 20), created_by=cust)
    RequestItem.objects.create(request=req, clip=clip, redaction=red, added_by=cust)
    assert ret.sweep(now=T0 + 400 * DAY)["queued"] == []
    assert ret.retention_info(rec)["blocked_by"] == ["pending records request PRR-1"]
    RecordsRequest.objects.filter(pk=req.pk).update(status="released")
    ret.sweep(now=T0 + 401 * DAY)
    rep = ret.sweep(now=T0 + 440 * DAY)
    assert [p["container"] for p in rep["purged"]] == [rec.container_name]
    assert not Transcript.objects.filter(clip=clip).exists() and not Translation.objects.filter(clip=clip).exists()
    assert not get_store().exists(mt_vtt.sha256)
    red.refresh_from_db()
    assert red.output is None  # the redaction row (named by the released request) stays, its bytes go
    assert not get_store().exists(vtt.sha256) and not get_store().exists(red_out.sha256)
    assert not get_store().exists(clip.sha256)
    from bodycam.custody.fixity import check_all

    assert check_all()[1] == []
