"""E-mail notifications (issue 24) against a real SMTP server (aiosmtpd) on 127.0.0.1 started
by the tests: the mails arrive, hold links to the app and no evidence, each event is mailed
once, each mail is audited (recipient and kind, not the body), and a person's opt-out holds."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime, timedelta, timezone

import pytest
from django.test import Client

from bodycam.custody.models import AuditEntry
from bodycam.notify.models import OptOut, Sent

from .access_helpers import World, client_for, make_user
from .live import free_port

aiosmtpd = pytest.importorskip("aiosmtpd.controller")

BASE = "https://bodycam.example.org"


class Inbox:
    """aiosmtpd handler: every message the server accepted."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpts, m in self.messages if address in rcpts]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = aiosmtpd.Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.NOTIFY_SMTP = {"host": "127.0.0.1", "port": controller.port, "starttls": False, "ssl": False,
                            "user": "", "password": "", "from": "bodycam@example.org", "timeout": 10}
    settings.PUBLIC_URL = BASE
    settings.JOBS_INLINE = True
    yield inbox
    controller.stop()


def body(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def with_addresses(w: World) -> None:
    for u in w.users.values():
        u.email = f"{u.username}@example.org"
        u.save(update_fields=["email"])


def assert_no_evidence(text: str, w: World) -> None:
    clip, rec = w.clip, w.clip.recording
    for secret in (clip.sha256, clip.object_name, rec.container_name, rec.officer.name or "\x00",
                   str(rec.officer.axis_user_id), w.officer.username, "SECRET-NOTE", str(rec.id)):
        assert secret not in text, secret


@pytest.mark.django_db
def test_share_received_is_mailed_once_with_a_link_and_audited(smtp, tmp_path, django_capture_on_commit_callbacks):
    from bodycam.evidence.models import Note

    w = World(tmp_path)
    with_addresses(w)
    Note.objects.create(recording=w.clip.recording, author=w.custodian, text="SECRET-NOTE about the suspect")
    ada2 = make_user("ada2", "prosecutor")
    ada2.email = "ada2@example.org"
    ada2.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        r = client_for(w.custodian).post(f"/api/evidence/{w.clip.id}/shares", {"recipient": "ada2"},
                                         content_type="application/json")
    assert r.status_code == 201, r.content
    mails = smtp.to("ada2@example.org")
    assert len(mails) == 1, [m["Subject"] for _, m in smtp.messages]
    msg = mails[0]
    assert msg["From"] == "bodycam@example.org" and msg["Subject"] == "[bodycam] Footage was shared with you"
    text = body(msg)
    assert f"{BASE}/evidence/{w.clip.id}/" in text and f"{BASE}/notifications/" in text
    assert "cust shared footage with you" in text
    assert_no_evidence(text, w)
    # audited: recipient and kind, never the body
    entry = AuditEntry.objects.get(action="notify.mail", object_id="ada2")
    assert entry.actor == "job:notify" and entry.outcome == "ok"
    assert entry.detail["kind"] == "share.received" and entry.detail["to"] == "ada2@example.org"
    assert "Footage" not in str(entry.detail) and BASE not in str(entry.detail)
    # that job also mailed the World's earlier share to ada; the periodic sweep later sends
    # neither again
    assert len(smtp.to("ada@example.org")) == 1
    from bodycam.jobs.services import submit

    job = submit("notify.sweep", inline=True)
    assert job.status == "succeeded" and job.result["sent"] == 0, job.result
    assert len(smtp.to("ada2@example.org")) == 1 and len(smtp.to("ada@example.org")) == 1
    assert Sent.objects.filter(outcome="sent").count() == 2


@pytest.mark.django_db
def test_opt_out_on_the_settings_page_is_honoured(smtp, tmp_path, django_capture_on_commit_callbacks):
    w = World(tmp_path)
    with_addresses(w)
    c = client_for(w.prosecutor)
    page = c.get("/notifications/")
    assert page.status_code == 200 and b'value="share.received" checked' in page.content
    r = c.post("/notifications/", {"save": "1", "email": "ada@example.org"})  # nothing ticked: all off
    assert r.status_code == 302
    assert set(OptOut.objects.filter(user=w.prosecutor).values_list("kind", flat=True)) == {"share.received"}
    entry = AuditEntry.objects.filter(action="notify.preferences").last()
    assert entry.actor == "ada" and entry.detail["off"] == ["share.received"]
    assert b'value="share.received" checked' not in c.get("/notifications/").content
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(w.custodian).post(f"/api/evidence/{w.other_clip.id}/shares", {"recipient": "ada"},
                                            content_type="application/json").status_code == 201
    from bodycam.notify.services import sweep

    assert sweep()["opted_out"] >= 1
    assert smtp.to("ada@example.org") == [] and not AuditEntry.objects.filter(action="notify.mail").exists()
    # ticked again: the shares still recent are mailed at the next sweep
    assert c.post("/notifications/", {"save": "1", "email": "ada@example.org",
                                                                "receive": ["share.received"]}).status_code == 302
    assert sweep()["sent"] == 2 and len(smtp.to("ada@example.org")) == 2


@pytest.mark.django_db
def test_settings_page_refuses_bad_input_and_shows_only_the_roles_kinds(smtp, tmp_path):
    w = World(tmp_path)
    c = client_for(w.custodian)
    before = AuditEntry.objects.filter(action="notify.preferences").count()
    r = c.post("/notifications/", {"email": "c@example.org"})  # not the form: not "everything off"
    assert r.status_code == 400 and b"nothing to save" in r.content
    r = c.post("/notifications/", {"save": "1", "email": "not an address", "receive": ["custody.alert"]})
    assert r.status_code == 400 and b"not an e-mail address" in r.content
    r = c.post("/notifications/", {"save": "1", "email": "c@example.org", "receive": ["no.such.kind"]})
    assert r.status_code == 400 and b"unknown notification kind" in r.content
    r = c.post("/notifications/", {"save": "1", "email": "c@example.org", "receive": ["share.received"]})  # not hers
    assert r.status_code == 400
    assert AuditEntry.objects.filter(action="notify.preferences").count() == before
    assert not OptOut.objects.exists()
    w.custodian.refresh_from_db()
    assert w.custodian.email == ""
    page = c.get("/notifications/").content.decode()
    for kind in ("records.deadline", "retention.approval", "custody.alert", "camera.undocked"):
        assert f'value="{kind}"' in page
    assert 'value="share.received"' not in page
    assert b"receives no notifications" in client_for(w.officer).get("/notifications/").content
    assert Client().get("/notifications/").status_code == 302  # signed-in only


@pytest.mark.django_db
def test_periodic_sweep_mails_deadlines_approvals_alerts_and_undocked_cameras(smtp, tmp_path, settings):
    from bodycam.custody.services import raise_alert
    from bodycam.evidence.models import Clip
    from bodycam.jobs.services import submit
    from bodycam.records.models import RecordsRequest
    from bodycam.retention.models import DeletionEntry
    from bodycam.retention.policy import settings_row

    w = World(tmp_path)
    with_addresses(w)
    now = datetime.now(timezone.utc)
    RecordsRequest.objects.create(number="R-2026-0007", requester="A Journalist", received_on=date.today(), deadline=date.today() + timedelta(days=2),
                                  created_by=w.custodian)
    RecordsRequest.objects.create(number="R-2026-0008", requester="Later", received_on=date.today(), deadline=date.today() + timedelta(days=30),
                                  created_by=w.custodian)
    row = settings_row()
    row.require_approval = True
    row.save()
    DeletionEntry.objects.create(recording=w.other_clip.recording, expired_at=now - timedelta(days=1), queued_at=now,
                                 purge_after=now)
    raise_alert("fixity.missing", f"stored object {w.clip.sha256} is missing")
    raise_alert("media.playback", "not a fixity or storage alert")
    Clip.objects.filter(pk=w.other_clip.pk).update(ingested_at=now - timedelta(days=settings.CAMERA_STALE_DAYS + 3))

    job = submit("notify.sweep", inline=True)
    assert job.status == "succeeded", job.error
    subjects = {a: sorted(m["Subject"] for m in smtp.to(f"{a}@example.org")) for a in ("cust", "adm", "off.a")}
    serial = w.other_clip.recording.device.serial
    assert subjects["cust"] == sorted([
        "[bodycam] A public-records request is due soon", "[bodycam] Deletions are waiting for approval",
        "[bodycam] Critical alert: fixity.missing", f"[bodycam] Camera {serial} has not docked for 7+ days"])
    assert subjects["adm"] == sorted(["[bodycam] Critical alert: fixity.missing",
                                      f"[bodycam] Camera {serial} has not docked for 7+ days"])
    assert subjects["off.a"] == []
    texts = {m["Subject"]: body(m) for m in smtp.to("cust@example.org")}
    assert f"{BASE}/records/R-2026-0007/" in texts["[bodycam] A public-records request is due soon"]
    assert "R-2026-0008" not in "".join(texts.values())
    assert f"{BASE}/retention/" in texts["[bodycam] Deletions are waiting for approval"]
    assert f"{BASE}/evidence/?device={serial}" in texts[f"[bodycam] Camera {serial} has not docked for 7+ days"]
    for text in texts.values():
        assert_no_evidence(text, w)  # the alert's message names the object's hash: not mailed
    kinds = sorted(e.detail["kind"] for e in AuditEntry.objects.filter(action="notify.mail", object_id="cust"))
    assert kinds == ["camera.undocked", "custody.alert", "records.deadline", "retention.approval"]
    # nothing new: nothing sent again
    n = len(smtp.messages)
    assert submit("notify.sweep", inline=True).result["sent"] == 0 and len(smtp.messages) == n


@pytest.mark.django_db
def test_no_smtp_server_configured_or_reachable(settings, tmp_path):
    from bodycam.jobs.services import submit
    from bodycam.notify.services import sweep

    w = World(tmp_path)
    with_addresses(w)
    settings.NOTIFY_SMTP = dict(settings.NOTIFY_SMTP, host="")
    assert sweep()["sent"] == 0 and not Sent.objects.exists()
    # configured but down: the job fails with the reason; nothing is marked sent (tried again later)
    settings.NOTIFY_SMTP = dict(settings.NOTIFY_SMTP, host="127.0.0.1", port=free_port(), starttls=False, timeout=5)
    job = submit("notify.sweep", inline=True)
    assert job.status == "failed" and "cannot reach the SMTP server" in job.error
    assert not Sent.objects.exists() and not AuditEntry.objects.filter(action="notify.mail").exists()


@pytest.mark.django_db
def test_access_requests_are_mailed_to_deciders_and_the_answer_to_the_requester(smtp, tmp_path,
                                                                                django_capture_on_commit_callbacks):
    from bodycam.access.models import Squad

    w = World(tmp_path)
    with_addresses(w)
    sgt_b = make_user("sgt.b", "supervisor")
    sgt_b.email = "sgt.b@example.org"
    sgt_b.save(update_fields=["email"])
    Squad.objects.get(name="B").supervisors.add(sgt_b)
    det = client_for(w.detective)
    with django_capture_on_commit_callbacks(execute=True):
        r = det.post("/access-requests/new", {"case": "C-1", "recording": [str(w.other_clip.recording_id)],
                                              "reason": "seen at the scene",
                                              "csrfmiddlewaretoken": det.cookies["csrftoken"].value})
    assert r.status_code == 302, r.content[:300]
    # the squad's supervisor and the custodian are told; the other squad's supervisor is not
    for to in ("sgt.b@example.org", "cust@example.org"):
        (msg,) = smtp.to(to)
        assert msg["Subject"] == "[bodycam] Access requests await your decision"
        assert f"{BASE}/access-requests/" in body(msg)
        assert_no_evidence(body(msg), w)
        assert w.other_clip.recording.evidence_number not in body(msg)
    assert not smtp.to("sgt@example.org")
    from bodycam.access.models import AccessRequest

    ar = AccessRequest.objects.get()
    sgt = client_for(sgt_b)
    with django_capture_on_commit_callbacks(execute=True):
        r = sgt.post(f"/access-requests/{ar.id}/", {"decision": "approve", "days": "3",
                                                    "csrfmiddlewaretoken": sgt.cookies["csrftoken"].value})
    assert r.status_code == 302
    (msg,) = smtp.to("det@example.org")
    assert msg["Subject"] == "[bodycam] Your access request was approved"
    assert f"{BASE}/access-requests/{ar.id}/" in body(msg)
    assert_no_evidence(body(msg), w)
    assert AuditEntry.objects.filter(action="notify.mail", object_id="det", detail__kind="access.decided").exists()
