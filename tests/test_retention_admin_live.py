"""Retention administration in headless Chromium (Playwright) against a real ``bodycam serve``
with the demo agency (issue 24): a custodian opens Retention from the nav, changes a
category's period through the preview ("N items would now expire on ...") and the
confirmation with a reason, looks at the required call types, downloads the CAD sample file
from the import page and imports it through the upload form. Every page is looked at 390 and
1280 px (no sideways scroll). Screenshots: $BODYCAM_ARTIFACTS (default test-artifacts/web/),
retention-admin-*.png."""

from __future__ import annotations

import json
import re

import pytest

pw = pytest.importorskip("playwright.sync_api")

from .browser import BROWSER_TEST, both_widths, sign_in  # noqa: E402
from .live import demo_site  # noqa: E402

pytestmark = BROWSER_TEST


site = demo_site("retadmin", {"BODYCAM_MEDIA_AUTO_PLAYBACK": "0", "BODYCAM_TIME_ZONE": "America/Los_Angeles"},
                 small=True)


def look(page, name):
    both_widths(page, name, prefix="retention-admin-")


def test_custodian_changes_a_period_through_the_preview_and_imports_the_cad_sample(site, browser, tmp_path):
    ctx, page = sign_in(browser, site, "custodian")
    page.click("header nav a:text('Retention')")
    page.click("p.tabs a:text('Categories')")
    assert page.url.endswith("/retention/categories/")
    look(page, "categories")
    # The category with the most items (its period decides for at least one of them).
    rows = page.locator("#categories tbody tr")
    counts = {rows.nth(i).get_attribute("data-category"): int(re.match(r"\d+", rows.nth(i).locator("td.items")
                                                                         .inner_text()).group())
              for i in range(rows.count())}
    name = max((n for n in counts if n != "Uncategorized"), key=lambda n: counts[n])
    assert counts[name] > 0, counts
    row = page.locator(f"#categories tr[data-category='{name}']")
    days = int(re.match(r"\d+", row.locator("td.period").inner_text()).group())
    row.locator("input[name=days]").fill(str(days + 365))
    row.locator("button:text('Preview')").click()
    page.wait_for_url("**/retention/categories/change?*")
    summary = page.locator("#preview-summary").inner_text()
    assert re.search(r"\d+ items? would now expire on ", summary), summary
    assert page.locator("#earliest time").count() == 1  # the agency's time, through |when
    look(page, "preview")
    page.fill("#confirm-change input[name=reason]", "state schedule GS-2 2026")
    page.check("#confirm-change input[name=confirm]")
    page.click("#confirm-change button")
    page.wait_for_url("**/retention/categories/?changed=*")
    assert f"{days + 365} days" in page.locator(f"#categories tr[data-category='{name}'] td.period").inner_text()
    rows = site.audit_rows("action = 'retention.category_period' AND actor = 'custodian'")
    assert len(rows) == 1 and "state schedule GS-2 2026" in rows[0][3]
    detail = json.loads(rows[0][3])
    assert detail["changes"][0]["to"] == days + 365 and detail["preview"]["changed"] >= 1

    page.click("p.tabs a:text('Required call types')")
    assert page.url.endswith("/retention/call-types/")
    assert page.locator("#required tbody tr").count() >= 1
    look(page, "call-types")

    # The CAD import page: the format, the sample file (downloaded), imported through the form.
    page.click("p.tabs a:text('Dispatch (CAD)')")
    assert page.url.endswith("/retention/cad/")
    page.click("#cad-format summary")
    assert "incident_number" in page.locator("#cad-columns").inner_text()
    look(page, "cad")
    with page.expect_download() as got:
        page.click("#cad-sample")
    sample = tmp_path / "cad-sample.csv"
    got.value.save_as(sample)
    assert sample.read_text().startswith("incident_number,call_type,received_at")
    page.set_input_files("#cad-import input[name=file]", str(sample))
    page.click("#cad-import button")
    page.wait_for_selector("#import-result")
    assert "Imported 2 incident(s)" in page.locator("#import-result").inner_text()
    assert page.locator("#incidents tr", has_text="26-000123").count() == 1
    look(page, "cad-imported")
    ctx.close()
    assert site.audit_rows("action = 'cad.import' AND actor = 'custodian' AND outcome = 'ok'")
