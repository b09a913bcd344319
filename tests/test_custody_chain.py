"""The audit chain: untouched verifies; editing, deleting, reordering or truncating rows
directly in the database makes ``bodycam audit verify`` fail at that entry; checkpoints
and witness files; nothing in the ORM/API edits entries; custody report contents."""

import json

import pytest
from django.db import connection

from bodycam.cli import main
from bodycam.custody.chain import create_checkpoint, verify_chain
from bodycam.custody.models import AuditEntry, AuditImmutable, Checkpoint
from bodycam.custody.services import entry_digest, hashed_fields, record

from .access_helpers import World, client_for

pytestmark = pytest.mark.django_db


def fill(n=10):
    for i in range(n):
        record("fixity.check", actor=f"user{i}", object_type="clip", object_id=f"c{i}", detail={"i": i})


def verify(capsys, *extra):
    rc = main(["audit", "verify", "--json", *extra])
    return rc, json.loads(capsys.readouterr().out)


def sql(q, *params):
    with connection.cursor() as cur:
        cur.execute(q, params)


def test_untouched_chain_verifies(capsys):
    fill()
    create_checkpoint()
    rc, out = verify(capsys)
    assert rc == 0 and out["ok"] and out["entries"] == 11 and out["checkpoints"] == 1
    rc = main(["audit", "verify"])
    assert rc == 0 and "audit chain OK" in capsys.readouterr().out


def test_edited_row_fails_at_that_entry(capsys):
    fill()
    sql("UPDATE custody_auditentry SET actor = 'someone-else' WHERE seq = 4")
    rc, out = verify(capsys)
    assert rc == 1 and out["first_problem"]["seq"] == 4 and out["first_problem"]["kind"] == "altered"
    rc = main(["audit", "verify"])
    assert rc == 1 and "AUDIT CHAIN BROKEN at entry 4" in capsys.readouterr().out


def test_edited_detail_and_outcome_fail(capsys):
    fill()
    sql("UPDATE custody_auditentry SET detail = '{\"i\": 99}' WHERE seq = 7")
    rc, out = verify(capsys)
    assert rc == 1 and out["first_problem"]["seq"] == 7


def test_deleted_row_fails_at_that_entry(capsys):
    fill()
    sql("DELETE FROM custody_auditentry WHERE seq = 5")
    rc, out = verify(capsys)
    assert rc == 1 and out["first_problem"]["seq"] == 5 and out["first_problem"]["kind"] == "removed"


def test_reordered_rows_fail_at_the_first_moved_entry(capsys):
    fill()
    sql("UPDATE custody_auditentry SET seq = -1 WHERE seq = 3")
    sql("UPDATE custody_auditentry SET seq = 3 WHERE seq = 6")
    sql("UPDATE custody_auditentry SET seq = 6 WHERE seq = -1")
    rc, out = verify(capsys)
    assert rc == 1 and out["first_problem"]["seq"] == 3


def test_rewritten_chain_and_truncation_caught_by_checkpoints(capsys, tmp_path):
    fill(6)
    witness = tmp_path / "witness.jsonl"
    create_checkpoint(witness=witness)        # covers entries 1-6
    fill(2)
    # an attacker who recomputes every hash after editing entry 2 keeps the chain self-consistent...
    sql("UPDATE custody_auditentry SET actor = 'forged' WHERE seq = 2")
    prev = None
    for e in AuditEntry.objects.order_by("seq"):
        if prev is not None:
            e.prev_hash = prev
        e.entry_hash = entry_digest(hashed_fields(e))
        sql("UPDATE custody_auditentry SET prev_hash = %s, entry_hash = %s WHERE seq = %s", e.prev_hash, e.entry_hash,
            e.seq)
        prev = e.entry_hash
    rc, out = verify(capsys)
    # ...but the signed checkpoint at size 6 no longer matches
    assert rc == 1 and out["first_problem"]["seq"] == 6 and "checkpoint" in out["first_problem"]["message"]
    # and if they also delete the checkpoint row, the witness file still catches it
    sql("DELETE FROM custody_checkpoint")
    rc, out = verify(capsys)
    # the database alone now looks consistent, but nothing outside it vouched for it (the
    # configured witness was never written here): exit 3, not 0 (issue 20, item 14)
    assert rc == 3 and out["ok"] and not out["witnessed"]
    rc, out = verify(capsys, "--witness", str(witness))
    assert rc == 1 and "witness" in out["first_problem"]["message"]


def test_truncated_tail_fails(capsys):
    fill(8)
    create_checkpoint()
    sql("DELETE FROM custody_auditentry WHERE seq >= 7")
    rc, out = verify(capsys)
    assert rc == 1 and out["first_problem"]["kind"] == "truncated" and out["first_problem"]["seq"] == 7


def test_forged_checkpoint_signature_fails(capsys, tmp_path):
    fill(3)
    cp = create_checkpoint()
    sql("UPDATE custody_checkpoint SET head_hash = %s WHERE id = %s", "0" * 64, cp.id.hex)
    rc, out = verify(capsys)
    assert rc == 1 and "bad signature" in out["first_problem"]["message"]
    witness = tmp_path / "w.jsonl"
    witness.write_text("not json\n")
    assert main(["audit", "verify", "--witness", str(witness)]) == 2


def test_orm_cannot_edit_or_delete_entries():
    e = record("fixity.check")
    e.actor = "other"
    with pytest.raises(AuditImmutable):
        e.save()
    with pytest.raises(AuditImmutable):
        e.delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(seq=e.seq).update(actor="y")
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.all().delete()
    assert verify_chain().ok


def test_export_and_checkpoint_commands(capsys, tmp_path):
    fill(3)
    witness = tmp_path / "w.jsonl"
    assert main(["audit", "checkpoint", "--witness", str(witness)]) == 0
    cp = json.loads(capsys.readouterr().out)
    assert cp["size"] == 3 and json.loads(witness.read_text().splitlines()[0]) == cp
    out = tmp_path / "audit.jsonl"
    assert main(["audit", "export", "--out", str(out)]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    entries = [x for x in lines if x["type"] == "entry"]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert entries[-1]["action"] == "audit.export"
    assert any(x["type"] == "checkpoint" for x in lines) and lines[-1]["type"] == "server_key"
    # each exported entry re-hashes offline
    for e in entries:
        fields = {k: v for k, v in e.items() if k not in ("type", "entry_hash")}
        assert entry_digest(fields) == e["entry_hash"]


def test_periodic_checkpoint_job():
    from bodycam.jobs.tasks import audit_checkpoint

    fill(2)
    result = audit_checkpoint.apply().get()
    assert result["size"] == 2 and Checkpoint.objects.count() == 1
    assert AuditEntry.objects.last().action == "audit.checkpoint"


def test_views_and_downloads_appear_in_custody_report_in_order(tmp_path):
    w = World(tmp_path)
    clip = w.clip
    officer, detective, custodian = client_for(w.officer), client_for(w.detective), client_for(w.custodian)
    assert officer.get(f"/api/evidence/{clip.id}/").status_code == 200
    assert detective.get(f"/api/evidence/{clip.id}/download").status_code == 200
    assert custodian.get(f"/api/evidence/{clip.id}/stream").status_code == 200
    assert client_for(w.other_officer).get(f"/api/evidence/{clip.id}/").status_code == 404
    create_checkpoint()
    r = detective.get(f"/api/evidence/{clip.id}/custody.json")
    assert r.status_code == 200
    rep = r.json()
    events = [(e["action"], e["actor"], e["outcome"]) for e in rep["events"]]
    wanted = [("evidence.view", "off.a", "ok"), ("evidence.download", "det", "ok"), ("evidence.play", "cust", "ok"),
              ("evidence.view", "off.b", "denied"), ("custody.report", "det", "ok")]
    positions = [events.index(x) for x in wanted]
    assert positions == sorted(positions), events
    assert events[0][0] == "ingest.recording.create"
    assert events.index(next(x for x in events if x[0] == "ingest.object.stored")) < positions[0]
    seqs = [e["seq"] for e in rep["events"]]
    assert seqs == sorted(seqs)
    assert rep["ingest"]["sha256"] == clip.sha256 and rep["ingest"]["stored_matches"] is True
    assert rep["ingest"]["audit_sha256_matches"] is True
    assert rep["verification"]["events_hash_ok"] and rep["verification"]["latest_checkpoint"]["signature_ok"]
    assert rep["device_signature"]["result"] == clip.signature
    # PDF for those who may see the item; nothing for those who may not
    pdf = officer.get(f"/api/evidence/{clip.id}/custody.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client_for(w.other_officer).get(f"/api/evidence/{clip.id}/custody.pdf").status_code == 404
    assert client_for(w.auditor).get(f"/api/evidence/{clip.id}/custody.json").status_code == 200


def test_auditor_reads_the_log_and_reading_is_audited(tmp_path):
    w = World(tmp_path)
    aud = client_for(w.auditor)
    r = aud.get("/api/audit/?limit=5")
    assert r.status_code == 200 and len(r.json()["entries"]) == 5
    assert AuditEntry.objects.filter(action="audit.read", actor="aud", object_type="audit_log").exists()
    off = client_for(w.officer)
    assert off.get("/api/audit/").status_code == 403
    assert AuditEntry.objects.filter(action="audit.read", actor="off.a", outcome="denied").exists()
    # no endpoint edits or deletes entries
    seq = AuditEntry.objects.first().seq
    for method in ("put", "patch", "delete"):
        resp = getattr(aud, method)(f"/api/audit/{seq}", HTTP_X_CSRFTOKEN=aud.cookies["csrftoken"].value)
        assert resp.status_code in (404, 405)
    assert aud.post("/api/audit/", HTTP_X_CSRFTOKEN=aud.cookies["csrftoken"].value).status_code == 405
    assert verify_chain().ok


def test_web_pages_item_and_audit_log(tmp_path):
    w = World(tmp_path)
    off = client_for(w.officer)
    page = off.get(f"/evidence/{w.clip.id}/")
    assert page.status_code == 200 and b"/stream" in page.content and b"custody.pdf" in page.content
    r = off.post(f"/evidence/{w.clip.id}/", {"note": "arrived on scene", "tags": "traffic, dui"})
    assert r.status_code == 302
    assert b"arrived on scene" in off.get(f"/evidence/{w.clip.id}/").content
    e = AuditEntry.objects.filter(action="evidence.edit", actor="off.a").last()
    assert e.detail["note"]["text"] == "arrived on scene" and e.detail["after"]["tags"] == ["dui", "traffic"]
    assert client_for(w.other_officer).get(f"/evidence/{w.clip.id}/").status_code == 404
    assert off.get("/audit/").status_code == 403
    aud = client_for(w.auditor)
    page = aud.get("/audit/?action=evidence.edit")
    assert page.status_code == 200 and b"evidence.edit" in page.content
    assert aud.get("/audit/?after=x").status_code == 200
    det = client_for(w.detective)
    r = det.post(f"/evidence/{w.clip.id}/", {"action": "share", "recipient": "ada", "allow_download": "yes", "days": "30"})
    assert r.status_code == 302
    assert b"ada by det" in det.get(f"/evidence/{w.clip.id}/").content
    r = det.post(f"/evidence/{w.clip.id}/", {"action": "share", "recipient": "off.b"})
    assert r.status_code == 400 and b"prosecutor" in r.content
    assert b"Share with a prosecutor" not in off.get(f"/evidence/{w.clip.id}/").content
