"""Issue 23 in headless Chromium against a real ``bodycam serve`` (demo data, jobs inline):
a custodian's records request (remove an item, release one as it is, a second custodian
approves, a delivery link the requester opens without an account, a correspondence entry)
and an auditor's audit page (filters, paging to the end, Verify chain, Export and its
download), every page at 390 and 1280 px without sideways scrolling.
Screenshots: $BODYCAM_ARTIFACTS (default test-artifacts/web/), records-*.png, audit-*.png."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

pw = pytest.importorskip("playwright.sync_api")

from .browser import BROWSER_TEST, PASSWORD, both_widths, sign_in  # noqa: E402
from .live import demo_site  # noqa: E402

pytestmark = BROWSER_TEST


def second_custodian(server):
    """A second custodian (the demo agency has one): approval is by another person."""
    subprocess.run([sys.executable, "-c", (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'bodycam.settings'); django.setup()\n"
        "from bodycam.access.accounts import add_user\nfrom bodycam.access.auth import enrol_with_secret\n"
        f"u = add_user('records.lee', 'custodian', {PASSWORD!r}, actor='test')\n"
        "enrol_with_secret(u, label='demo', actor='test')\n")], env=server.env, check=True)


site = demo_site("records", {"BODYCAM_TIME_ZONE": "America/Los_Angeles"}, small=True, prepare=second_custodian)


def test_custodian_request_and_auditor_log_in_the_browser(site, browser, tmp_path):
    number = site.sql("SELECT number FROM records_recordsrequest")[0][0]
    ctx, page = sign_in(browser, site, "custodian")
    page.goto(site.url + "/records/")
    both_widths(page, "records-list")
    page.click(f"text={number}")
    url = page.url
    # A second item, picked by its evidence number (the picker; no id is typed), then removed.
    (other, evno), = site.sql("SELECT c.id, r.evidence_number FROM evidence_clip c "
                              "JOIN evidence_recording r ON r.id = c.recording_id "
                              "JOIN evidence_device d ON d.id = r.device_id WHERE d.serial = 'BWC-1001' "
                              "ORDER BY c.start_time LIMIT 1")
    # Type only once the picker's script has set it up (it marks its box data-ready):
    # text typed before that would never be searched.
    page.wait_for_selector("#add-item [data-picker][data-ready]", state="attached")
    page.fill("#add-item .picker-q", evno)
    # the picker offers the recording by its evidence number (one of its clips)
    page.wait_for_selector("#add-item .picker-option", timeout=120_000)
    page.locator("#add-item .picker-option").first.click()
    page.click("#add-item-button")
    rows = page.locator("#items tbody tr[data-item]")
    assert rows.count() == 2
    second = rows.nth(1)
    second.locator("details.remove-form summary").click()
    second.locator("details.remove-form input[name=reason]").fill("outside the requested hours")
    second.locator("text=Remove item").click()
    assert page.locator("#items tbody tr[data-item]").count() == 1
    assert "outside the requested hours" in page.locator("#removed").inner_text()
    # The remaining item is released as it is, with the reason; then submitted.
    first = page.locator("#items tbody tr[data-item]").first
    first.locator("details.as-is-form summary").click()
    first.locator("details.as-is-form input[name=reason]").fill("no faces or plates: a parked car")
    first.locator("button:has-text('Release as it is')").click()
    assert "as it is" in page.locator("#items").inner_text()
    page.click("#submit")
    assert page.locator("#status").inner_text() == "submitted"
    assert page.locator("#awaiting").is_visible() and page.locator("#approve").count() == 0
    # A correspondence entry with its letter.
    letter = tmp_path / "acknowledgement.txt"
    letter.write_text("We received your request.")
    page.fill("#new-correspondence textarea[name=summary]", "Acknowledged receipt by e-mail")
    page.set_input_files("#new-correspondence input[name=file]", str(letter))
    page.click("#log-correspondence")
    assert "Acknowledged receipt by e-mail" in page.locator("#correspondence").inner_text()
    assert page.locator("#correspondence a:has-text('acknowledgement.txt')").count() == 1
    both_widths(page, "records-request-submitted")
    ctx.close()

    # Another custodian approves (asked to confirm), then makes the package.
    ctx2, page2 = sign_in(browser, site, "records.lee")
    page2.goto(url)
    page2.fill("input[name=note]", "nothing exempt")
    page2.click("#approve")
    assert "Approve the release" in page2.locator("#question").inner_text()
    both_widths(page2, "records-confirm")
    page2.click("#confirm")
    assert page2.locator("#status").inner_text() == "approved"
    assert "records.lee" in page2.locator("#decision").inner_text()
    page2.click("#release")
    page2.click("#confirm")
    page2.wait_for_selector("#package")
    assert page2.locator("#status").inner_text() == "released"
    page2.fill("#new-delivery input[name=days]", "7")
    page2.click("#make-link")
    link = page2.locator("#new-link code").inner_text().strip()
    assert "/r/" in link
    both_widths(page2, "records-released")
    ctx2.close()

    # The requester, without an account, downloads through the link.
    anon = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    apage = anon.new_page()
    apage.goto(link)
    assert "/r/l/" in apage.url
    both_widths(apage, "records-delivery")
    with apage.expect_download() as dl:
        apage.click("#delivery-download")
    data = open(dl.value.path(), "rb").read()
    (sha,), = site.sql("SELECT package_sha256 FROM records_recordsrequest WHERE number = ?", number)
    assert hashlib.sha256(data).hexdigest() == sha
    anon.close()

    # The auditor: filter, page to the end, verify the chain, export and download.
    actx, au = sign_in(browser, site, "auditor")
    au.goto(site.url + "/audit/")
    both_widths(au, "audit-log")
    au.select_option("select[name=person]", "custodian")
    au.select_option("select[name=action]", "group:records")
    au.click("#apply-filter")
    text = au.locator("#entries").inner_text()
    assert "Removed an item from a records request" in text and "Marked an item to release as it is" in text
    assert au.locator("#entries details").count() > 0 and not au.locator("#entries dd.agent").first.is_visible()
    au.goto(au.url + "&limit=3")
    pages = 1
    while au.locator("#next").count():
        au.click("#next")
        pages += 1
        assert pages < 30, "paging does not end"
    assert au.locator("#end").is_visible() and pages > 1
    both_widths(au, "audit-last-page")
    au.click("#verify")
    au.wait_for_selector("#verify-result")
    assert au.locator("#job progress").count() == 1 and au.locator("#verify-result.ok").count() == 1
    both_widths(au, "audit-verified")
    au.select_option("select[name=format]", "jsonl")
    au.click("#export")
    au.wait_for_selector("#export-download")
    assert au.locator("#job progress").get_attribute("value") == "1.0"
    with au.expect_download() as dl:
        au.click("#export-download")
    lines = [json.loads(x) for x in open(dl.value.path(), encoding="utf-8").read().splitlines()]
    assert lines and {x["actor"] for x in lines} == {"custodian"} and all(x["action"].startswith("records.")
                                                                          for x in lines)
    both_widths(au, "audit-exported")
    actx.close()
