"""Schema moves keep every table and row (issue 15).

Case/CaseFile moved from ``access`` to ``cases``, Note/Tag to ``evidence``, Share to ``release``:
state-only migrations, the tables keep their names. A catalogue created at the old migration
state migrates forward with no schema change and every row readable through the new owners.
Runs on both engines (PostgreSQL pass: ``-p tests.testenv``)."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.catalogue]

OLD = [("access", "0003_case_status_incident"), ("release", "0001_initial"), ("retention", "0001_initial"),
       ("evidence", "0002_retention_fields")]
# Tables that migrations after the moves create (rolling back to OLD drops them, rightly).
LATER_TABLES = {"retention_blobpurge", "access_directorylink", "evidence_evidencesequence", "access_enrolmentlink",
                "access_accessrequest", "records_correspondence", "records_deliverylink", "custody_auditexport",
                "live_livesession", "live_liveposition", "live_commandstaff", "media_analysis", "media_plateread"}
# Columns that migrations after the moves add (issue 23: evidence numbers and titles).
# Issue 24: a camera's assignment and retirement (evidence 0006_device_fleet).
LATER_COLUMNS = {("evidence_recording", "evidence_number"), ("evidence_recording", "title"),
                 ("evidence_device", "assigned_officer_id"), ("evidence_device", "vehicle"),
                 ("evidence_device", "retired_at"), ("evidence_device", "retired_reason")}
MOVED_TABLES = ["access_case", "access_case_detectives", "access_case_recordings", "access_casefile",
                "access_note", "access_tag", "access_share"]


def _schema() -> dict:
    with connection.cursor() as cur:
        tables = sorted(t for t in connection.introspection.table_names(cur)
                        if not t.startswith("django_") and t not in LATER_TABLES)
        return {t: sorted((c.name, c.type_code) for c in connection.introspection.get_table_description(cur, t)
                          if (t, c.name) not in LATER_COLUMNS)
                for t in tables}


def _constraints(table: str) -> dict:
    with connection.cursor() as cur:
        return {k: (v["columns"], v["foreign_key"], v["unique"])
                for k, v in connection.introspection.get_constraints(cur, table).items()}


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_old_catalogue_migrates_forward_keeping_rows():
    latest = _schema()
    constraints = {t: _constraints(t) for t in MOVED_TABLES}
    try:
        old = _migrate(OLD)
        assert _schema() == latest  # the moves never touched the database
        User = old.get_model("access", "User")
        Recording = old.get_model("evidence", "Recording")
        Officer = old.get_model("evidence", "Officer")
        Device = old.get_model("evidence", "Device")
        det = User.objects.create(username="det-m", role="detective")
        pro = User.objects.create(username="pro-m", role="prosecutor")
        off = Officer.objects.create(axis_user_id=uuid.uuid4(), name="o")
        dev = Device.objects.create(serial="MIG-1", name="MIG-1")
        rec = Recording.objects.create(container_name="mig-rec", officer=off, device=dev,
                                       trigger_on_time="2026-01-01T00:00:00Z")
        case = old.get_model("access", "Case").objects.create(number="MIG-C1", incident_number="26-1")
        case.detectives.add(det)
        case.recordings.add(rec)
        old.get_model("access", "CaseFile").objects.create(case=case, name="r.pdf", sha256="a" * 64, size=3)
        old.get_model("access", "Note").objects.create(recording=rec, author=det, text="seen")
        old.get_model("access", "Tag").objects.create(recording=rec, name="dui")
        share = old.get_model("access", "Share").objects.create(recording=rec, recipient=pro, created_by=det)
        old.get_model("release", "ShareTerms").objects.create(share=share, no_reshare=True)
        old.get_model("release", "CaseShare").objects.create(case=case, recipient=pro, created_by=det)
        old.get_model("retention", "LegalHold").objects.create(case=case, name="h", reason="lit", placed_by="t",
                                                               placed_at="2026-01-01T00:00:00Z")
    finally:
        call_command("migrate", verbosity=0)  # forward to the latest state, whatever happened above

    assert _schema() == latest
    assert {t: _constraints(t) for t in MOVED_TABLES} == constraints
    from bodycam.cases.models import Case, CaseFile
    from bodycam.evidence.models import Note, Recording, Tag
    from bodycam.release.models import CaseShare, Share, ShareTerms
    from bodycam.retention.models import LegalHold

    case = Case.objects.get(number="MIG-C1")
    assert list(case.detectives.values_list("username", flat=True)) == ["det-m"]
    assert list(case.recordings.values_list("container_name", flat=True)) == ["mig-rec"]
    assert CaseFile.objects.get(case=case).name == "r.pdf"
    rec = Recording.objects.get(container_name="mig-rec")
    assert [n.text for n in Note.objects.filter(recording=rec)] == ["seen"]
    assert [t.name for t in Tag.objects.filter(recording=rec)] == ["dui"]
    assert ShareTerms.objects.get(share=Share.objects.get(recording=rec)).no_reshare is True
    assert CaseShare.objects.get(case=case).recipient.username == "pro-m"
    assert LegalHold.objects.get(case=case).reason == "lit"
    # The reverse accessors still reach the moved tables.
    assert rec.cases.get() == case and rec.shares.count() == 1 and rec.tags.count() == 1


def test_no_pending_model_changes():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_moves_are_state_only():
    """The move migrations emit no SQL on this engine."""
    from io import StringIO

    for app, name in [("cases", "0001_initial"), ("evidence", "0003_note_tag_from_access"),
                      ("release", "0002_share_from_access"), ("retention", "0002_hold_case_in_cases"),
                      ("access", "0004_models_moved_out")]:
        out = StringIO()
        call_command("sqlmigrate", app, name, stdout=out)
        sql = [ln for ln in out.getvalue().splitlines() if ln.strip() and not ln.startswith("--")
               and ln.strip().upper() not in ("BEGIN;", "COMMIT;")]
        assert sql == [], (app, name, sql)
