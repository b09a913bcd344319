"""The retention pages in headless Chromium against a real ``bodycam serve`` with the demo
footage: a custodian finds the deletion queue from the nav, recovers an item, is refused
a too-short category, sees the storage charts; a detective closes a case and attaches a
file. Screenshots go to $BODYCAM_ARTIFACTS (default test-artifacts/web/)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from .browser import BROWSER_TEST, shot, sign_in
from .live import demo_site

pw = pytest.importorskip("playwright.sync_api")

pytestmark = BROWSER_TEST


def sweep_800_days_ahead(server):
    """The retention sweep as if 800 days had passed: the deletion queue has items to recover."""
    later = (datetime.now(timezone.utc) + timedelta(days=800)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = server.cli("retention", "sweep", "--now", later).stdout
    assert "queue " in out and "queue 0," not in out, out  # items outside the open case expired


site = demo_site("ret", {"BODYCAM_MEDIA_AUTO_PLAYBACK": "0"}, prepare=sweep_800_days_ahead)


def audit(site, action):
    return [tuple(r) for r in site.sql("SELECT actor, outcome FROM custody_auditentry WHERE action = ?", action)]


def test_custodian_recovers_from_deletion_queue(site, browser):
    ctx, page = sign_in(browser, site, "custodian")
    page.click("nav >> text=Retention")
    page.wait_for_selector("#queue")
    rows = page.locator("#queue form.recover")
    before = rows.count()
    assert before >= 1
    shot(page, "retention")
    rows.first.locator("input[name=reason]").fill("internal affairs review")
    rows.first.locator("button").click()
    page.wait_for_load_state()
    assert page.locator("#queue form.recover").count() == before - 1
    assert ("custodian", "ok") in audit(site, "retention.recovered")
    # Shortening below a category's minimum is refused on the page.
    row = page.locator("#categories tr", has_text="Traffic stop")
    row.locator("input[name=days]").fill("10")
    row.locator("button").click()
    assert "below its minimum" in page.locator("#retention-error").inner_text()
    page.click("text=Storage & cost")
    page.wait_for_selector("svg rect")
    assert "projected next 12 months" in page.locator("#cost").inner_text()
    shot(page, "retention-storage")
    ctx.close()


def test_detective_closes_case_and_attaches_file(site, browser, tmp_path):
    ctx, page = sign_in(browser, site, "det.muller")
    page.goto(site.url + "/cases/")
    page.click("text=2026-000417")
    assert page.locator("#case-status").inner_text() == "open"
    page.fill("#case-status-form input[name=incident_number]", "26-000417")
    page.click("#case-status-form button[value=closed]")
    page.click("#confirm-status")  # closing asks first (issue 24)
    page.wait_for_selector("#case-status")
    assert page.locator("#case-status").inner_text() == "closed"
    report = tmp_path / "supplement.txt"
    report.write_text("Supplemental report: witness statement.\n")
    page.set_input_files("#case-file-form input[type=file]", str(report))
    page.fill("#case-file-form input[name=description]", "witness statement")
    page.click("#case-file-form button")
    page.wait_for_selector("#case-files >> text=supplement.txt")
    shot(page, "case-files")
    with page.expect_download() as dl:
        page.click("#case-files >> text=supplement.txt")
    assert open(dl.value.path()).read() == report.read_text()
    assert ("det.muller", "ok") in audit(site, "case.close")
    assert ("det.muller", "ok") in audit(site, "case.file_download")
    ctx.close()
