"""The audit page (issue 23): newest first, pages that end (an auditor's own reads never
extend them), filters by person, action, object and local dates, readable object names,
Verify chain and Export as jobs (progress, then the verdict or the download), auditors only."""

import csv
import io
import json
import re
from datetime import date, datetime, timedelta, timezone

import pytest

from bodycam.custody.models import AuditEntry, AuditExport
from bodycam.custody.services import record

from .access_helpers import World, client_for

pytestmark = pytest.mark.django_db


def _post(c, url, data):
    return c.post(url, data, HTTP_X_CSRFTOKEN=c.cookies["csrftoken"].value)


def _seqs(html: str) -> list[int]:
    body = html.split('<table id="entries">', 1)[1].split("</table>", 1)[0]
    return [int(x) for x in re.findall(r"<tr><td>(\d+)</td>", body)]


def test_newest_first_and_paging_ends_despite_own_reads(tmp_path):
    w = World(tmp_path)
    for i in range(120):
        record("evidence.view", actor="det", object_type="clip", object_id=str(w.clip.id))
    aud = client_for(w.auditor)
    head = AuditEntry.objects.order_by("-seq").first().seq
    page = aud.get("/audit/?action=evidence.view&limit=50").content.decode()
    seqs = _seqs(page)
    assert seqs == sorted(seqs, reverse=True) and seqs[0] == max(
        AuditEntry.objects.filter(action="evidence.view", seq__lte=head).values_list("seq", flat=True))
    seen, pages = list(seqs), 1
    while (m := re.search(r'id="next" href="([^"]+)"', page)):
        page = aud.get("/audit/" + m.group(1).replace("&amp;", "&")).content.decode()
        seen += _seqs(page)
        pages += 1
        assert pages < 10, "paging does not end"
    assert 'id="end"' in page
    want = list(AuditEntry.objects.filter(action="evidence.view", seq__lte=head).order_by("-seq")
                .values_list("seq", flat=True))
    assert seen == want  # every entry once, newest first, nothing written since
    # Unfiltered: the auditor's own audit.read entries (one per page view) never extend the paging.
    page = aud.get("/audit/?limit=100").content.decode()
    upto = int(re.search(r"up to entry #(\d+)", page).group(1))
    n = 0
    while (m := re.search(r'id="next" href="([^"]+)"', page)):
        page = aud.get("/audit/" + m.group(1).replace("&amp;", "&")).content.decode()
        assert max(_seqs(page)) <= upto
        n += 1
        assert n < 10
    assert 'id="end"' in page and min(_seqs(page)) == 1
    reads = AuditEntry.objects.filter(action="audit.read", actor="aud", seq__gt=upto)
    assert reads.count() == n + 1  # each page view audited, none listed


def test_filters_person_action_group_object_and_local_dates(tmp_path, settings):
    settings.AGENCY_TIME_ZONE = "America/Los_Angeles"
    w = World(tmp_path)
    aud = client_for(w.auditor)
    det, cust = client_for(w.detective), client_for(w.custodian)
    det.get(f"/evidence/{w.clip.id}/")
    cust.get(f"/evidence/{w.other_clip.id}/")
    rec = w.clip.recording
    # person
    page = aud.get("/audit/?person=det").content.decode()
    assert _seqs(page) and all(AuditEntry.objects.get(seq=s).actor == "det" for s in _seqs(page))
    # action, and a whole group
    page = aud.get("/audit/?action=evidence.view").content.decode()
    assert {AuditEntry.objects.get(seq=s).action for s in _seqs(page)} == {"evidence.view"}
    page = aud.get("/audit/?action=group:security").content.decode()
    assert {AuditEntry.objects.get(seq=s).action for s in _seqs(page)} <= {"auth.login", "account.mfa_enrol",
                                                                            "auth.logout", "auth.session_end"}
    assert "auth.login" in page and "Signed in" in page
    # object by its evidence number: the item's entries, shown with a readable name linking to its entries
    page = aud.get(f"/audit/?object={rec.evidence_number}").content.decode()
    objs = {(e.object_type, e.object_id) for e in AuditEntry.objects.filter(seq__in=_seqs(page))}
    assert objs and all(o[1] in (str(w.clip.id), str(rec.id)) or o[1].startswith(str(rec.id)) for o in objs)
    assert rec.evidence_number in page and f"object_id={w.clip.id}" in page
    # object by case number and username
    from bodycam.cases.models import Case

    record("case.view", actor="det", object_type="case", object_id=str(Case.objects.get(number="C-1").id))
    page = aud.get("/audit/?object=C-1").content.decode()
    assert "Case C-1" in page and len(_seqs(page)) == 1
    page = aud.get("/audit/?object=off.a").content.decode()
    assert _seqs(page) and {AuditEntry.objects.get(seq=s).object_type for s in _seqs(page)} == {"user"}
    # local dates: an entry at 23:30 Los Angeles time on 1 March is on 1 March, not 2 March (UTC)
    from unittest import mock  # entries are never updated: write one at a fixed time

    at = datetime(2026, 3, 2, 7, 30, tzinfo=timezone.utc)  # 1 March 23:30 PST
    with mock.patch("bodycam.custody.services.now_ms", return_value=at):
        late = record("evidence.view", actor="late.night", object_type="clip", object_id=str(w.clip.id))
    assert _seqs(aud.get("/audit/?person=late.night&since=2026-03-01&until=2026-03-01").content.decode()) == [late.seq]
    assert _seqs(aud.get("/audit/?person=late.night&since=2026-03-02&until=2026-03-02").content.decode()) == []
    # bad filters: 400 with the reason, beside the form
    for q in ("since=yesterday", "action=no.such", "since=2026-03-02&until=2026-03-01"):
        r = aud.get(f"/audit/?{q}")
        assert r.status_code == 400 and 'role="alert"' in r.content.decode(), q


def test_user_agents_are_folded_away(tmp_path):
    w = World(tmp_path)
    aud = client_for(w.auditor)
    c = client_for(w.detective)
    c.get(f"/evidence/{w.clip.id}/", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) VeryLongAgentString")
    page = aud.get("/audit/?person=det").content.decode()
    row = page.split("VeryLongAgentString")[0].rsplit("<tr>", 1)[1]
    assert "<details>" in row and '<dd class="agent">' in row


def test_verify_chain_job_shows_the_verdict(tmp_path, settings):
    settings.JOBS_INLINE = True
    w = World(tmp_path)
    aud = client_for(w.auditor)
    r = _post(aud, "/audit/", {"do": "verify"})
    assert r.status_code == 302 and "job=" in r["Location"]
    page = aud.get(r["Location"]).content.decode()
    assert 'id="job"' in page and "<progress" in page and 'id="verify-result" class="ok"' in page
    e = AuditEntry.objects.filter(action="audit.verify").get()
    assert e.outcome == "ok" and e.detail["ok"] is True and e.actor == "job:web.audit_verify"
    assert AuditEntry.objects.filter(action="audit.verify_start", actor="aud").count() == 1
    job_id = re.search(r"job=([0-9a-f-]+)", r["Location"]).group(1)
    s = aud.get(f"/api/jobs/{job_id}").json()
    assert s["status"] == "succeeded" and s["progress"] == 1.0 and s["result"]["ok"] is True


def test_verify_chain_job_reports_tampering(tmp_path, settings):
    from django.db import connection

    settings.JOBS_INLINE = True
    w = World(tmp_path)
    aud = client_for(w.auditor)
    victim = AuditEntry.objects.filter(action="evidence.view").first() or AuditEntry.objects.order_by("seq")[3]
    with connection.cursor() as cur:
        cur.execute("UPDATE custody_auditentry SET actor = %s WHERE seq = %s", ["someone.else", victim.seq])
    r = _post(aud, "/audit/", {"do": "verify"})
    page = aud.get(r["Location"]).content.decode()
    assert 'id="verify-result" class="error"' in page and f"entry {victim.seq}" in page
    assert AuditEntry.objects.get(action="audit.verify").outcome == "failed"


def test_export_contents_are_the_filtered_entries_and_download_is_audited(tmp_path, settings):
    settings.JOBS_INLINE = True
    w = World(tmp_path)
    aud = client_for(w.auditor)
    client_for(w.detective).get(f"/evidence/{w.clip.id}/")
    page = aud.get("/audit/?action=evidence.view").content.decode()
    upto = int(re.search(r"up to entry #(\d+)", page).group(1))
    record("evidence.view", actor="det", object_type="clip", object_id=str(w.clip.id))  # after upto: not exported
    r = _post(aud, "/audit/", {"do": "export", "format": "csv", "upto": upto})
    assert r.status_code == 302
    r = _post(aud, "/audit/", {"do": "export", "format": "jsonl", "upto": upto, "action": "evidence.view"})
    assert r.status_code == 302
    assert AuditExport.objects.get(filters={"action": "evidence.view"}).entries == \
        AuditEntry.objects.filter(action="evidence.view", seq__lte=upto).count()
    # the filters travel with the form the page renders
    form = {"do": "export", "format": "jsonl", "upto": str(upto)}
    r2 = aud.post("/audit/", form | {"person": "det"}, HTTP_X_CSRFTOKEN=aud.cookies["csrftoken"].value)
    assert r2.status_code == 302
    exp = AuditExport.objects.get(format="jsonl", filters={"person": "det"})
    want = list(AuditEntry.objects.filter(actor="det", seq__lte=upto).order_by("seq"))
    page = aud.get(r2["Location"]).content.decode()
    assert 'id="export-download"' in page
    resp = aud.get(f"/audit/exports/{exp.id}/")
    assert resp.status_code == 200
    lines = [json.loads(x) for x in b"".join(resp.streaming_content).decode().splitlines()]
    assert [x["seq"] for x in lines] == [e.seq for e in want] and exp.entries == len(want)
    assert all(x["entry_hash"] == e.entry_hash and x["label"] for x, e in zip(lines, want))
    assert AuditEntry.objects.filter(action="audit.export_download", actor="aud", object_sha256=exp.sha256).exists()
    assert AuditEntry.objects.filter(action="audit.export_file", object_sha256=exp.sha256).exists()
    assert AuditEntry.objects.filter(action="audit.export_start", actor="aud").count() == 3
    # CSV: a header and one row per entry up to upto (unfiltered export)
    csv_exp = AuditExport.objects.filter(format="csv").first()
    data = b"".join(aud.get(f"/audit/exports/{csv_exp.id}/").streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(data)))
    assert [int(x["seq"]) for x in rows] == list(range(1, upto + 1))
    assert json.loads(rows[0]["detail"]) == AuditEntry.objects.get(seq=1).detail
    # The export is catalogued (fixity, orphan sweep), a bad format is refused, others may not download.
    from bodycam.custody.fixity import catalogue_hashes

    assert catalogue_hashes()[exp.sha256][0]["kind"] == "audit_export"
    assert _post(aud, "/audit/", {"do": "export", "format": "xml"}).status_code == 400
    assert client_for(w.custodian).get(f"/audit/exports/{exp.id}/").status_code == 403
    assert aud.get("/audit/exports/not-an-id/").status_code == 404


def test_only_auditors_read_verify_and_export(tmp_path, settings):
    settings.JOBS_INLINE = True
    w = World(tmp_path)
    for role, user in w.users.items():
        c = client_for(user)
        get, verify = c.get("/audit/"), _post(c, "/audit/", {"do": "verify"})
        export = _post(c, "/audit/", {"do": "export", "format": "csv"})
        if role == "auditor":
            assert (get.status_code, verify.status_code, export.status_code) == (200, 302, 302)
        else:
            assert (get.status_code, verify.status_code, export.status_code) == (403, 403, 403), role
            for action in ("audit.read", "audit.verify_start", "audit.export_start"):
                assert AuditEntry.objects.filter(action=action, actor=user.username, outcome="denied").exists(), \
                    (role, action)
    assert AuditExport.objects.count() == 1


def test_the_page_says_what_would_appear_when_nothing_matches(tmp_path):
    w = World(tmp_path)
    page = client_for(w.auditor).get(f"/audit/?person=nobody.at.all&since={date.today() + timedelta(days=1)}")
    assert "No entries match these filters" in page.content.decode()
