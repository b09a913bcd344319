"""Pages that work on a phone and look finished (issue 23): in headless Chromium against a real
``bodycam serve`` with the demo incident, each role's wide pages (retention, records, jobs,
audit, storage, notifications, the API docs) are no wider than the window at 390 and 1280 px;
the favicon is served under the pages' CSP; a missing page is the styled error page with the
navigation and a way home."""

from __future__ import annotations

import pytest

pw = pytest.importorskip("playwright.sync_api")

from .browser import BROWSER_TEST, PAGE_WIDTHS, WIDER_THAN_WINDOW, shot, sign_in  # noqa: E402  (after importorskip)
from .live import demo_site  # noqa: E402

pytestmark = BROWSER_TEST

# Who sees which page (docs/access.md): each page is looked at as every role listed.
PAGES = {
    "custodian": ["/retention/", "/retention/compliance/", "/records/", "/notifications/", "/api/docs/"],
    "admin": ["/retention/", "/jobs/", "/jobs/?status=failed", "/ops/storage/", "/notifications/"],
    "auditor": ["/audit/", "/retention/compliance/"],
    "sgt.okafor": ["/retention/compliance/"],
}

site = demo_site("phone")


def test_wide_pages_fit_a_phone_and_errors_keep_the_navigation(site, browser):
    too_wide = []
    for role, paths in PAGES.items():
        ctx, page = sign_in(browser, site, role, bypass_csp=False)
        for path in paths:
            resp = page.goto(site.url + path)
            assert resp.status == 200, (role, path, resp.status)
            if path == "/api/docs/":  # Swagger UI lays the operations out from its script
                page.wait_for_selector(".swagger-ui .opblock", timeout=60_000)
            name = f"phone-{role}-{path.strip('/').replace('/', '-').replace('?', '-').replace('=', '-') or 'home'}"
            for size, (w, h) in PAGE_WIDTHS.items():
                page.set_viewport_size({"width": w, "height": h})
                scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
                if scroll > inner:
                    too_wide.append(f"{role} {path} at {w} px: {scroll} px wide; {page.evaluate(WIDER_THAN_WINDOW)}")
                shot(page, f"{name}-{size}")
        if role == "custodian":
            # The favicon: linked from every page, served from 'self' (the CSP's img-src).
            href = page.get_attribute("link[rel=icon]", "href")
            icon = page.request.get(site.url + href)
            assert icon.status == 200 and icon.headers["content-type"].startswith("image/"), (href, icon.status)
            # A missing page: the styled error page, with the navigation and a way home.
            resp = page.goto(site.url + "/no-such-page/")
            assert resp.status == 404
            assert page.locator("header nav a[href='/']").count() == 1
            assert page.locator("main a[href='/']").count() == 1
            assert "Not found" in page.inner_text("main h1")
            page.set_viewport_size({"width": 390, "height": 844})
            shot(page, "phone-custodian-404-phone")
        ctx.close()
    assert too_wide == [], "\n".join(too_wide)
