"""Issue 20, item 14: the audit witness is on by default. Against a real ``bodycam serve``
and its catalogue, the two attacks the probe found now make ``bodycam audit verify`` fail,
naming why: deleting the entries written after the last checkpoint, and rewriting the chain
with recomputed hashes (even re-signed with the key from the data dir) after deleting the
checkpoint table. With the witness turned off, verify says so loudly (exit 3); a witness that
cannot be written keeps the checkpoint, raises an alert and never fails a request. The
periodic checkpoint runs within minutes of new entries and not while the chain is idle."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import requests

pytestmark = pytest.mark.catalogue  # also runs in the PostgreSQL pass


def _token(live, tmp_path) -> str:
    pw = tmp_path / "pw"
    pw.write_text("long-enough-passphrase-7")
    live.cli("user", "add", "cust", "--role", "custodian", "--password-file", str(pw))
    return json.loads(live.cli("token", "create", "cust", "--name", "sync").stdout)["token"]


def _use_api(live, token, n=3):
    for _ in range(n):  # each request is one audit entry (evidence.list), written by the server
        r = requests.get(live.url + "/api/evidence/", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 200


def _witness(live):
    return live.data_dir.parent / f"{live.data_dir.name}-witness" / "audit-witness.jsonl"


def _verify(live, *extra):
    res = live.cli("audit", "verify", "--json", *extra, check=False)
    return res.returncode, json.loads(res.stdout), res.stderr


def _max_seq(live) -> int:
    return live.sql("SELECT max(seq) FROM custody_auditentry")[0][0]


def test_default_witness_is_outside_the_data_dir_and_sees_every_entry(live, tmp_path):
    token = _token(live, tmp_path)
    _use_api(live, token)
    witness = _witness(live)
    assert witness.is_file() and live.data_dir not in witness.parents
    heads = [json.loads(x) for x in witness.read_text().splitlines()]
    seqs = {h["seq"] for h in heads if "entry_hash" in h}
    assert seqs == set(range(1, _max_seq(live) + 1))  # the CLI's entries and the server's
    rc, out, _ = _verify(live)
    assert rc == 0 and out["ok"] and out["witnessed"] and out["witness_files"] == [str(witness)]
    assert out["witness_heads"] == _max_seq(live)


def test_deleting_entries_after_the_last_checkpoint_fails_verify(live, tmp_path):
    token = _token(live, tmp_path)
    _use_api(live, token)
    live.cli("audit", "checkpoint")                  # what the scheduler does
    size = live.sql("SELECT max(size) FROM custody_checkpoint")[0][0]
    _use_api(live, token, 4)                         # newer than the last checkpoint
    newest = _max_seq(live)
    assert _verify(live)[0] == 0
    # The attack: remove what was done since the last checkpoint (its own entry is size + 1).
    live.sql("DELETE FROM custody_auditentry WHERE seq > ?", size + 1)
    rc, out, _ = _verify(live)
    assert rc == 1 and not out["ok"]
    first = out["first_problem"]
    assert first["kind"] == "truncated" and first["seq"] == size + 2
    assert "witness" in first["message"] and f"entries {size + 2}-{newest} removed" in first["message"]
    res = live.cli("audit", "verify", check=False)
    assert res.returncode == 1 and f"AUDIT CHAIN BROKEN at entry {size + 2}" in res.stdout


REWRITE = textwrap.dedent("""
    import base64, sys
    import django
    django.setup()
    from django.db import connection
    from bodycam.custody.chain import checkpoint_message, server_key
    from bodycam.custody.models import AuditEntry, Checkpoint
    from bodycam.custody.services import entry_digest, hashed_fields, now_ms
    from bodycam.provenance.keys import public_b64
    from bodycam.timefmt import isoformat

    seq = int(sys.argv[1])
    with connection.cursor() as cur:
        cur.execute("UPDATE custody_auditentry SET actor = 'someone-else' WHERE seq = %s", [seq])
        prev = None
        for e in AuditEntry.objects.order_by("seq"):
            if prev is not None:
                e.prev_hash = prev
            e.entry_hash = entry_digest(hashed_fields(e))
            cur.execute("UPDATE custody_auditentry SET prev_hash = %s, entry_hash = %s WHERE seq = %s",
                        [e.prev_hash, e.entry_hash, e.seq])
            prev = e.entry_hash
        cur.execute("DELETE FROM custody_checkpoint")
    # ...and re-sign the forged head with the server key, which sits in the data dir
    key, at = server_key(), now_ms()
    size = AuditEntry.objects.order_by("-seq").first()
    sig = key.sign(checkpoint_message(size.seq, size.entry_hash, isoformat(at)))
    Checkpoint.objects.create(size=size.seq, head_hash=size.entry_hash, at=at, public_key=public_b64(key),
                              signature=base64.b64encode(sig).decode())
""")


def test_rewritten_rehashed_chain_without_its_checkpoints_fails_verify(live, tmp_path):
    token = _token(live, tmp_path)
    _use_api(live, token)
    live.cli("audit", "checkpoint")
    _use_api(live, token, 2)
    target = live.sql("SELECT min(seq) FROM custody_auditentry WHERE action = 'evidence.list'")[0][0]
    subprocess.run([sys.executable, "-c", REWRITE, str(target)], env={**live.env, "DJANGO_SETTINGS_MODULE": "bodycam.settings"},
                   check=True, timeout=120)
    assert live.sql("SELECT count(*) FROM custody_checkpoint")[0][0] == 1  # only the forged one
    # The database alone is self-consistent again (hashes, links, a checkpoint signed with the
    # server key), but the witness saw the original hashes and checkpoint.
    rc, out, _ = _verify(live)
    assert rc == 1 and not out["ok"]
    first = out["first_problem"]
    assert first["seq"] == target and first["kind"] == "altered" and "witness" in first["message"], first
    assert any("checkpoint" in p["message"] and "rewritten" in p["message"] for p in out["problems"])


def test_no_witness_configured_says_so_loudly(live_server_factory, tmp_path):
    live = live_server_factory(BODYCAM_AUDIT_WITNESS_FILE="none")
    token = _token(live, tmp_path)
    _use_api(live, token)
    res = live.cli("audit", "verify", check=False)
    assert res.returncode == 3, res
    assert "AUDIT CHAIN NOT WITNESSED" in res.stderr and "BODYCAM_AUDIT_WITNESS_FILE=none" in res.stderr
    assert "witness: NONE" in res.stdout
    rc, out, _ = _verify(live)
    assert rc == 3 and out["ok"] and not out["witnessed"] and "no audit witness is configured" in out["unwitnessed"]
    # a copy kept elsewhere can still be given explicitly
    other = tmp_path / "copy.jsonl"
    other.write_text("")
    rc, out, _ = _verify(live, "--witness", str(other))
    assert rc == 0 and out["witnessed"]


def test_unwritable_witness_keeps_the_checkpoint_alerts_once_and_never_fails_a_request(live_server_factory,
                                                                                        tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the witness directory should be\n")
    witness = blocker / "audit-witness.jsonl"
    live = live_server_factory(BODYCAM_AUDIT_WITNESS_FILE=str(witness))
    token = _token(live, tmp_path)
    _use_api(live, token)  # requests still answer 200 (heads that cannot be written are logged)
    res = live.cli("audit", "checkpoint", check=False)
    assert res.returncode == 1 and "NOT witnessed" in res.stderr
    assert json.loads(res.stdout)["size"] >= 1
    assert live.sql("SELECT count(*) FROM custody_checkpoint")[0][0] == 1  # kept in the database
    live.cli("audit", "checkpoint", check=False)
    alerts = [a for a in live.cli_json("alerts") if a["kind"] == "audit.witness"]
    assert len(alerts) == 1 and str(witness) in alerts[0]["message"]  # one alert while it is open
    row = live.sql("SELECT outcome, detail FROM custody_auditentry WHERE action = 'audit.checkpoint' "
                   "ORDER BY seq DESC LIMIT 1")[0]
    assert row[0] == "error" and "witness_error" in json.loads(row[1])
    rc, out, err = _verify(live)
    assert rc == 3 and out["ok"] and not out["witnessed"] and "does not exist" in out["unwitnessed"]
    assert "2 checkpoint(s) in the database are not in the witness" in err


@pytest.mark.django_db
def test_checkpoint_job_runs_within_minutes_and_only_after_new_entries():
    from bodycam.custody.models import AuditEntry, Checkpoint
    from bodycam.custody.services import record
    from bodycam.jobs.celery_app import app
    from bodycam.jobs.tasks import audit_checkpoint

    assert app.conf.beat_schedule["audit-checkpoint"]["schedule"] <= 300  # minutes, not an hour
    record("fixity.check")
    assert audit_checkpoint.apply().get()["size"] == 1
    assert "skipped" in audit_checkpoint.apply().get()  # idle: only its own entry since
    assert Checkpoint.objects.count() == 1
    record("fixity.check")
    assert audit_checkpoint.apply().get()["size"] == 3
    assert Checkpoint.objects.count() == 2 and AuditEntry.objects.last().action == "audit.checkpoint"


@pytest.mark.django_db(transaction=True)
def test_heads_are_written_only_for_committed_entries(settings, tmp_path):
    from django.db import transaction

    from bodycam.custody.chain import verify_chain
    from bodycam.custody.services import record
    from bodycam.custody.witness import read

    settings.AUDIT_WITNESS_FILE = str(tmp_path / "w" / "audit-witness.jsonl")
    kept = record("fixity.check")
    with pytest.raises(RuntimeError), transaction.atomic():
        record("fixity.check")
        raise RuntimeError("the caller's transaction fails")
    _, heads = read(settings.AUDIT_WITNESS_FILE)
    assert heads == [{"seq": kept.seq, "entry_hash": kept.entry_hash}]
    assert verify_chain().ok and verify_chain().witnessed


@pytest.mark.django_db
def test_witness_inside_the_data_dir_is_warned_about(settings, capsys):
    from bodycam.cli import main
    from bodycam.custody.chain import create_checkpoint

    settings.AUDIT_WITNESS_FILE = str(settings.DATA_DIR / "audit-witness.jsonl")
    try:
        create_checkpoint()
        assert main(["audit", "verify"]) == 0
        assert "inside the data directory" in capsys.readouterr().err
    finally:
        (settings.DATA_DIR / "audit-witness.jsonl").unlink(missing_ok=True)
