"""The declared audit vocabulary (custody/actions.py): every action src/ writes is declared,
record() refuses an undeclared one, readers show labels and read every edit shape."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bodycam.custody import actions
from bodycam.custody.actions import ACTIONS, GROUPS, PATTERNS, UndeclaredAction
from bodycam.custody.models import AuditEntry
from bodycam.custody.services import record

from .auditscan import Index

SRC = Path(__file__).resolve().parent.parent / "src"


@pytest.fixture(scope="module")
def scan():
    index = Index(SRC)
    names, templates, problems = index.actions()
    return index, names, templates, problems


def test_every_action_src_writes_is_declared(scan):
    _, names, templates, problems = scan
    assert len(names) > 100  # the scan follows record, record_request, audit_denied, require, authorize...
    undeclared = {n: where for n, where in names.items() if n not in ACTIONS}
    assert not undeclared, f"declare these in src/bodycam/custody/actions.py: {undeclared}"
    declared_patterns = {p.split("{")[0] + "{}" + p.split("}", 1)[1] for p in PATTERNS}
    assert set(templates) <= declared_patterns, \
        f"names built at run time must be declared in actions.PATTERNS: {templates}"
    assert not problems, f"audit action arguments the scan cannot read: {problems}"


def test_the_scan_follows_every_audit_writer(scan):
    index = scan[0]
    assert not index.unmatched(), "record/record_request/audit_denied calls the scan did not follow"
    # the helpers it found by following parameters include the gate and the item check
    assert ("bodycam.access.policy", "require") in index.sinks
    assert ("bodycam.access.services", "authorize") in index.sinks


def test_the_scan_finds_names_built_at_run_time(scan):
    names = scan[1]
    # f"media.derivative.{kind}" with kind = Derivative.Kind.*; "ingest.signature." + status;
    # f"records.{action}" through _check_role; require's permission when no action is given
    for name in ("media.derivative.proxy", "media.derivative.thumbnail", "ingest.signature.valid",
                 "ingest.signature.invalid", "records.list", "records.view", "evidence.thumbnail",
                 "case.close", "case.reopen", "retention.cancelled", "retention.recovered", "audit.read"):
        assert name in names, name
    # a permission passed beside an explicit action is not an action
    assert "evidence.categories.remove" not in names and "accounts.manage" not in names


def test_a_scan_of_an_undeclared_action_fails(tmp_path):
    pkg = tmp_path / "bodycam"
    (pkg / "custody").mkdir(parents=True)
    (pkg / "feature").mkdir()
    (pkg / "custody" / "services.py").write_text("def record(action, *, actor='system'):\n    pass\n")
    (pkg / "feature" / "services.py").write_text(
        "from ..custody.services import record\n"
        "KIND = 'media.derivative.proxy'\n"
        "def _audit(what, verb='opened'):\n"
        "    record(f'feature.{what}.{verb}')\n"
        "def go(kind):\n"
        "    record(KIND)\n"
        "    record('feature.made_up' if kind else 'evidence.view')\n"
        "    _audit('thing')\n"
        "    record('x.' + kind.upper())\n")
    names, templates, problems = Index(tmp_path).actions()
    assert set(names) == {"media.derivative.proxy", "feature.made_up", "evidence.view", "feature.thing.opened"}
    assert [n for n in names if n not in ACTIONS] == ["feature.made_up", "feature.thing.opened"]
    assert set(templates) == {"x.{}"}


def test_declarations_are_complete():
    for name, a in ACTIONS.items():
        assert a.name == name and a.label and a.group in GROUPS, name
        assert name == name.strip().lower() and " " not in name
    for pattern, expansions in PATTERNS.items():
        head, tail = pattern.split("{")[0], pattern.split("}", 1)[1]
        for e in expansions:
            assert head + e + tail in ACTIONS, f"{pattern}: {head + e + tail} not declared"
    from bodycam.access.services import CLIP_ACTIONS

    assert {f"evidence.{a}" for a in CLIP_ACTIONS} <= set(ACTIONS)  # authorize's default action


@pytest.mark.django_db
def test_record_refuses_an_undeclared_action_in_strict_mode(settings):
    settings.AUDIT_STRICT = True
    with pytest.raises(UndeclaredAction, match="evidence.peek"):
        record("evidence.peek", actor="someone")
    assert not AuditEntry.objects.filter(action="evidence.peek").exists()
    assert record("evidence.view", actor="someone").action == "evidence.view"


@pytest.mark.django_db
def test_record_in_production_writes_an_undeclared_action_and_logs_it(settings, caplog):
    settings.AUDIT_STRICT = False
    with caplog.at_level(logging.ERROR, logger="bodycam.custody"):
        e = record("evidence.peek", actor="someone")
    assert AuditEntry.objects.get(seq=e.seq).action == "evidence.peek"  # never lost
    assert "undeclared audit action 'evidence.peek'" in caplog.text


def test_labels_and_groups():
    assert actions.label("evidence.view") == "Viewed the item"
    assert actions.label("evidence.download") == "Downloaded the item"
    assert actions.group("retention.purge") == "retention"
    assert actions.label("some.old_name") == "some.old_name" and actions.group("some.old_name") == ""


def test_changes_reads_every_edit_shape():
    # the declared shape
    assert actions.changes(actions.edit_detail({"role": "officer"}, {"role": "detective"}, reason="r")) == \
        {"role": ("officer", "detective")}
    # entries written before it: a role change's scalars, an item edit's per-field pairs,
    # a retention policy's changes list
    assert actions.changes({"username": "u", "before": "officer", "after": "detective"}) == \
        {"value": ("officer", "detective")}
    old_edit = {"recording": "r", "note": {"id": "n", "text": "t"}, "tags": {"before": ["a"], "after": ["a", "b"]},
                "categories": {"before": ["DUI"], "after": [], "added": [], "removed": ["DUI"],
                               "retention_days": {"before": 1095, "after": 730}, "shortens_retention": True}}
    assert actions.changes(old_edit) == {"tags": (["a"], ["a", "b"]), "categories": (["DUI"], []),
                                         "retention_days": (1095, 730)}
    assert actions.changes({"changes": [{"setting": "approval", "from": False, "to": True},
                                        {"category": "DUI", "from": 730, "to": 1095, "change": "extended"}]}) == \
        {"approval": (False, True), "category DUI": (730, 1095)}
    assert actions.changes(None) == {} and actions.changes({"reason": "x"}) == {}


@pytest.mark.django_db
def test_an_edit_is_written_in_the_declared_shape_and_readers_show_labels_and_changes(tmp_path):
    from .access_helpers import World, client_for

    w = World(tmp_path)
    clip = w.clip
    off, aud, det = client_for(w.officer), client_for(w.auditor), client_for(w.detective)
    # an entry written before the rule, in the old per-field shape (entries are never rewritten)
    record("evidence.edit", actor="off.a", object_type="clip", object_id=str(clip.id),
           detail={"tags": {"before": [], "after": ["old"]}})
    r = off.post(f"/evidence/{clip.id}/", {"note": "arrived on scene", "tags": "traffic, dui"})
    assert r.status_code == 302
    new = AuditEntry.objects.filter(action="evidence.edit", actor="off.a").last()
    assert new.detail["before"] == {"tags": []} and new.detail["after"] == {"tags": ["dui", "traffic"]}
    assert "tags" not in new.detail and new.detail["note"]["text"] == "arrived on scene"
    assert off.get(f"/evidence/{clip.id}/").status_code == 200

    rep = det.get(f"/api/evidence/{clip.id}/custody.json").json()
    edits = [e for e in rep["events"] if e["action"] == "evidence.edit"]
    assert [e["changes"] for e in edits] == [{"tags": {"before": [], "after": ["old"]}},
                                             {"tags": {"before": [], "after": ["dui", "traffic"]}}]
    assert {e["label"] for e in edits} == {actions.label("evidence.edit")}
    view = next(e for e in rep["events"] if e["action"] == "evidence.view")
    assert view["label"] == "Viewed the item" and view["group"] == "access"
    pdf = det.get(f"/api/evidence/{clip.id}/custody.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    page = aud.get("/audit/?action=evidence.")
    assert page.status_code == 200
    assert b"Changed the item (note, tags, categories)" in page.content and b"evidence.edit" in page.content
    entries = aud.get("/api/audit/?action=evidence.edit").json()["entries"]
    assert entries and all(e["label"] == actions.label("evidence.edit") for e in entries)


@pytest.mark.django_db
def test_a_role_change_is_written_in_the_declared_shape(tmp_path):
    from bodycam.access import auth

    from .access_helpers import World

    w = World(tmp_path)
    auth.set_role(w.officer, "detective", actor=w.admin, reason="promoted")
    e = AuditEntry.objects.filter(action="account.role_change", outcome="ok").last()
    assert (e.detail["before"], e.detail["after"]) == ({"role": "officer"}, {"role": "detective"})
    assert actions.changes(e.detail) == {"role": ("officer", "detective")}
