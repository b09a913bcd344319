"""A detective's day with cases, in headless Chromium against a real ``bodycam serve`` with the
demo: det.ito opens a case, asks for access to another officer's recording (novak, Patrol A)
from a metadata-only list, the squad's supervisor (sgt.okafor) approves it on his queue,
det.ito adds it to the case and plays it. Every page is looked at 390 and 1280 px wide, with
no sideways scrolling. Screenshots: $BODYCAM_ARTIFACTS (default test-artifacts/web/), cases-*.png."""

from __future__ import annotations

import re
from functools import partial

import pytest

from .browser import BROWSER_TEST, both_widths, sign_in, wait_js
from .live import demo_site

pw = pytest.importorskip("playwright.sync_api")

pytestmark = BROWSER_TEST
look = partial(both_widths, prefix="cases-")  # screenshots cases-<page>-<width>.png
site = demo_site("cases")


def audit(site, action):
    return [tuple(r) for r in site.sql("SELECT actor, outcome FROM custody_auditentry WHERE action = ?", action)]


def test_detective_opens_case_requests_access_supervisor_approves_detective_adds_and_plays(site, browser):
    det_ctx, det = sign_in(browser, site, "det.ito")
    # open a case (the number comes from the agency's pattern)
    det.click("nav >> text=Cases")
    det.click("#new-case")
    number = det.locator("input[name=number]").get_attribute("placeholder")
    assert re.fullmatch(r"C\d{4}-0001", number), number
    look(det, "new")
    det.fill("input[name=title]", "Pharmacy burglary, Elm St")
    det.fill("input[name=incident_number]", "26-5150")
    det.click("button:has-text('Open case')")
    det.wait_for_selector("#case-facts")
    assert det.locator("h1").inner_text() == f"Case {number}: Pharmacy burglary, Elm St"
    assert "No recordings you may see in this case yet" in det.locator("#case-recordings").inner_text()
    look(det, "case-empty")

    # ask for novak's footage: metadata only, no pictures
    det.click("#request-access")
    label = det.evaluate("() => [...document.querySelectorAll('select[name=officer] option')]"
                         ".map(o => o.textContent).find(t => t.includes('2874'))")
    det.select_option("select[name=officer]", label=label)
    det.click("#request-search button[type=submit]")
    det.wait_for_selector("#request-results")
    assert det.locator("#request-results img, #request-results video").count() == 0
    look(det, "request-search")
    first = det.locator("#request-results input[name=recording]").first
    evno = first.locator("xpath=ancestor::tr").locator(".evno").inner_text()
    first.check()
    assert det.locator("select[name=case]").input_value() == number
    det.fill("textarea[name=reason]", "a car matching the suspect's passes the stop")
    det.click("#ask")
    det.wait_for_selector("#asked")
    assert "pending" in det.locator("#mine-table").inner_text()
    look(det, "requests-detective")
    # not visible before approval
    det.goto(site.url + f"/evidence/?q={evno}")
    assert det.locator("#result-count").inner_text() == "0"

    # the squad's supervisor decides on his queue
    sgt_ctx, sgt = sign_in(browser, site, "sgt.okafor")
    sgt.click("nav >> text=Access requests")
    row = sgt.locator("#awaiting-table tr", has_text=evno)
    assert "det.ito" in row.inner_text()
    look(sgt, "queue-supervisor")
    row.locator("a.decide").click()
    sgt.wait_for_selector("#approve-form")
    look(sgt, "decide")
    sgt.fill("#approve-form input[name=days]", "7")
    sgt.click("#approve")
    sgt.wait_for_selector("#awaiting-table")
    assert evno not in sgt.locator("#awaiting-table").inner_text()
    sgt_ctx.close()

    # the detective is told, adds it to the case and plays it
    det.goto(site.url + "/access-requests/")
    mine = det.locator("#mine-table tr", has_text=evno)
    assert "approved" in mine.inner_text() and "sgt.okafor" in mine.inner_text()
    mine.locator("a", has_text="Open").click()
    det.wait_for_selector("#add-to-case")
    look(det, "request-approved")
    det.click("#add-to-case button")
    det.wait_for_selector("#case-recordings")
    assert evno in det.locator("#case-recordings").inner_text()
    look(det, "case")
    det.click("#history-tab")
    history = det.locator("#case-history").inner_text()
    assert "Opened a new case" in history and "Added recordings to the case" in history and evno in history
    look(det, "history")
    det.goto(site.url + f"/cases/{number}/")
    det.locator("#case-recordings a.item-link", has_text=evno).click()
    det.wait_for_selector("video#player")
    det.evaluate("() => { const v = document.querySelector('video#player'); v.muted = true; v.play(); }")
    wait_js(det, "document.querySelector('video#player').currentTime > 0.2", timeout=60)
    look(det, "item")
    det_ctx.close()

    assert ("det.ito", "ok") in audit(site, "case.create")
    assert ("det.ito", "ok") in audit(site, "access.request")
    assert ("sgt.okafor", "ok") in audit(site, "access.request.approve")
    assert ("det.ito", "ok") in audit(site, "case.add_recordings")
    assert ("det.ito", "ok") in audit(site, "evidence.play")
