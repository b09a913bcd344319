"""The pages under the Content-Security-Policy (issue 20, item 17), in headless Chromium
against a real ``bodycam serve`` with the demo incident: no page logs a CSP violation, the
scripts run (the search page's "select all", moved out of an inline onclick, the item
player, the timeline), and the headers arrive as the browser sees them."""

from __future__ import annotations

import pytest

pw = pytest.importorskip("playwright.sync_api")

from .browser import BROWSER_TEST, sign_in, wait_js  # noqa: E402  (after importorskip)
from .live import demo_site  # noqa: E402

pytestmark = BROWSER_TEST


site = demo_site("csp")


def test_pages_run_their_scripts_under_the_csp(site, browser):
    ctx, page = sign_in(browser, site, "custodian", bypass_csp=False)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: violations.append(f"page error: {e}"))

    resp = page.goto(site.url + "/evidence/")
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    assert resp.headers["cache-control"] == "no-store"
    boxes = page.locator("input[name=clip]")
    assert boxes.count() >= 2
    page.click("#select-all")
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    page.click("#select-all")
    assert not any(boxes.nth(i).is_checked() for i in range(boxes.count()))

    # The item page: its script reads the data-* attributes and drives the player.
    page.click("a.item-link >> nth=0")
    page.wait_for_selector("video")
    wait_js(page, "document.querySelector('video').readyState >= 1")
    clip = page.url.rstrip("/").rsplit("/", 1)[1]
    # The case timeline: one transport for every lane.
    page.goto(site.url + "/timeline/?case=" + site.sql("SELECT number FROM access_case LIMIT 1")[0][0])
    wait_js(page, "document.querySelectorAll('video').length >= 2 && "
                  "[...document.querySelectorAll('video')].every(v => v.readyState >= 1)")
    for path in ("/", "/cases/", "/retention/", "/records/", f"/records/clip/{clip}/transcript/",
                 f"/records/clip/{clip}/redact/", "/jobs/"):
        page.goto(site.url + path)
    assert violations == [], violations
    ctx.close()
