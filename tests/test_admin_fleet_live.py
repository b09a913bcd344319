"""Administration in headless Chromium (Playwright) against a real ``bodycam serve`` with the
demo agency (issue 24): an admin registers a camera by uploading the key file the camera
produced, retires it after the confirm page, and creates a squad; a custodian locks a
critical incident found with the picker and releases it after the confirm page. Every page
is looked at 390 and 1280 px (no sideways scroll). Screenshots: $BODYCAM_ARTIFACTS (default
test-artifacts/web/), admin-*.png."""

from __future__ import annotations

from functools import partial

import pytest

pw = pytest.importorskip("playwright.sync_api")

from . import browser as shared  # noqa: E402
from .browser import BROWSER_TEST, sign_in  # noqa: E402
from .live import demo_site  # noqa: E402

pytestmark = BROWSER_TEST
site = demo_site("admin", {"BODYCAM_TIME_ZONE": "America/Los_Angeles"}, small=True)
both_widths = partial(shared.both_widths, prefix="admin-")  # screenshots admin-<page>-<width>.png


def test_admin_registers_retires_a_camera_and_creates_a_squad_custodian_locks_and_releases(site, browser, tmp_path):
    from bodycam.device.storage import DeviceStorage

    # The key file a new camera makes (`bodycam camera init` writes keys/device.pub).
    cam = DeviceStorage(tmp_path / "cam").ensure()
    cam.key()
    key_path = cam.keys_dir / "device.pub"
    key_b64 = key_path.read_text().strip()

    ctx, page = sign_in(browser, site, "admin")
    page.click("header nav a:text('Cameras')")
    assert page.url.endswith("/admin/cameras/")
    assert page.locator("table.fleet").inner_text().count("BWC-") >= 5
    both_widths(page, "cameras")
    page.fill("input[name=serial]", "BWC-2001")
    page.select_option("select[name=kind]", "body")
    page.fill("input[name=model]", "W110")
    page.set_input_files("input[name=public_key]", str(key_path))
    garcia = page.locator("select[name=officer] option", has_text="(garcia)").first.get_attribute("value")
    page.select_option("select[name=officer]", value=garcia)
    page.fill("input[name=reason]", "new hire kit")
    page.click("button:text('Register camera')")
    page.wait_for_url("**/admin/cameras/BWC-2001/")
    facts = page.locator("dl.facts").inner_text()
    assert key_b64 in facts and "garcia" in facts and "never" in facts
    both_widths(page, "camera")
    page.click("a:text('Retire this camera')")
    page.wait_for_url("**/admin/cameras/BWC-2001/retire")
    assert "Retire camera BWC-2001?" in page.locator("h1").inner_text()
    both_widths(page, "camera-retire")
    page.fill("input[name=reason]", "cracked housing")
    page.check("input[name=confirm]")
    page.click("button:text('Retire camera')")
    page.wait_for_url("**/admin/cameras/BWC-2001/")
    assert "retired" in page.locator("h1").inner_text()
    assert "cracked housing" in page.locator("dl.facts").inner_text()
    assert key_b64 in page.locator("dl.facts").inner_text()  # the key stays for verification
    page.goto(site.url + "/admin/cameras/")
    assert "BWC-2001" in page.locator("#retired-h + ul").inner_text()

    # a squad: supervisor and members ticked
    page.click("header nav a:text('Squads')")
    assert page.url.endswith("/admin/squads/")
    both_widths(page, "squads")
    page.fill("input[name=name]", "Patrol C")
    page.check("input[name=supervisors][value='sgt.reyes']")
    page.check("input[name=members][value='kim']")
    page.check("input[name=members][value='obrien']")
    page.fill("input[name=reason]", "night shift starts")
    page.click("button:text('Create squad')")
    page.wait_for_url("**/admin/squads/*/")
    assert page.locator("input[name=members][value='kim']").is_checked()
    both_widths(page, "squad")
    page.goto(site.url + "/admin/squads/")
    row = page.locator("tr", has_text="Patrol C").inner_text()
    assert "sgt.reyes" in row and "kim" in row and "obrien" in row
    rows = site.audit_rows("action IN ('device.create', 'device.retire', 'access.squad') AND actor = 'admin'")
    assert {r[1] for r in rows} == {"device.create", "device.retire", "access.squad"}, rows
    assert all("reason" in r[3] for r in rows)
    ctx.close()

    # the custodian: lock an incident found by its evidence number, then release it
    (number,), = site.sql(
        "SELECT r.evidence_number FROM evidence_recording r JOIN evidence_device d ON d.id = r.device_id "
        "WHERE d.serial = 'BWC-1002' ORDER BY r.start_time LIMIT 1")
    ctx, page = sign_in(browser, site, "custodian")
    page.click("header nav a:text('Access rules')")
    assert page.url.endswith("/admin/rules/")
    both_widths(page, "rules")
    page.click("a:text('Lock a critical incident')")
    page.fill("form.search input[name=q]", number)
    page.click("form.search button")
    picks = page.locator("fieldset.picks input[name=recording]")
    assert picks.count() == 1 and number in page.locator("fieldset.picks").inner_text()
    both_widths(page, "rule-lock")
    picks.first.check()
    page.check("fieldset.people input[value='chen']")
    page.fill("form.admin-form input[name=reason]", "officer-involved shooting")
    page.click("form.admin-form button:text('Lock')")
    page.wait_for_url("**/admin/rules/")
    row = page.locator("tr", has_text=number)
    assert row.count() == 1 and "chen" in row.inner_text()
    row.locator("a:text('Release')").click()
    page.wait_for_url("**/admin/rules/locks/*/release")
    both_widths(page, "rule-release")
    page.fill("input[name=reason]", "statement taken")
    page.check("input[name=confirm]")
    page.click("button:text('Release lock')")
    page.wait_for_url("**/admin/rules/")
    assert page.locator("tr", has_text=number).count() == 0
    ctx.close()
    rows = site.audit_rows("action IN ('access.incident_lock', 'access.incident_release') AND actor = 'custodian'")
    reasons = " ".join(r[3] for r in rows)
    assert "officer-involved shooting" in reasons and "statement taken" in reasons
