"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) for the web tests:
launch options, signing in through the login + TOTP pages, screenshots."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("BODYCAM_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"
                                / "web"))
PASSWORD = "patrol-demo-2026"  # the demo accounts' password
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--autoplay-policy=no-user-gesture-required"]

# Marks for a module of browser tests: slow, on both engines, skipped without Chromium.
BROWSER_TEST = [pytest.mark.slow, pytest.mark.catalogue,
                pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs /usr/bin/chromium")]


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)


def shot(page, name):
    """A full-page screenshot for people to look at (an artifact, never an assertion): taken once
    the page has loaded, and tried a second time if Chromium, slowed by a loaded machine, gives up
    on the first."""
    from playwright.sync_api import Error

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state()
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    except Error:
        page.wait_for_load_state()
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(browser, site, username, viewport=(1280, 800), bypass_csp=True):
    """A fresh browser context signed in as a demo account (password, then the current TOTP code).

    ``bypass_csp``: Playwright's ``page.wait_for_function`` polls its predicate with ``eval``
    inside the page, which the pages' Content-Security-Policy forbids (no 'unsafe-eval'), so
    contexts bypass the CSP unless asked not to; ``tests/test_csp_live.py`` runs the pages
    under the real policy (and waits with ``wait_js`` below instead)."""
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, accept_downloads=True,
                              bypass_csp=bypass_csp)
    # Navigation waits are not speed checks: a server whose worker is transcribing (the demo)
    # may take long to answer on a loaded 2-core machine.
    ctx.set_default_navigation_timeout(120_000)
    page = ctx.new_page()
    page.goto(site.url + "/")
    assert "/login/" in page.url
    page.check("input[name=acknowledge]")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/mfa/**")
    for attempt in range(2):
        code = site.cli("demo-totp", username).stdout.split()[1]
        page.fill("input[name=code]", code)
        with page.expect_navigation():
            page.click("button[type=submit]")
        if attempt or "/mfa/" not in page.url:
            break
        # A code is accepted once: this account signed in moments ago (another test) in the same
        # 30 s step, so the page asks again. The next step's code is a new one.
        time.sleep(30.5 - time.time() % 30)
    page.wait_for_url(site.url + "/")
    return ctx, page


def wait_js(page, expression: str, timeout: float = 30):
    """Wait until the JS ``expression`` is truthy, polling with ``page.evaluate`` (run by the
    browser's debugger, which the page's CSP does not govern, unlike ``wait_for_function``)."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true within {timeout} s: {expression}"
        time.sleep(0.1)


# The elements that stick out past the window's right edge, innermost first (for the message).
WIDER_THAN_WINDOW = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
               && ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 0.5))
  .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.getAttribute('class') ? '.' + e.getAttribute('class') : '')
                        + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')"""


def no_sideways_scroll(page, what):
    """The page is no wider than the window (a phone never scrolls sideways). Waits for the page
    to load first: a click that navigates returns before the new document exists. (Headless
    Chromium hides scrollbars, so the window's width is the page's viewport.)"""
    page.wait_for_load_state()
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], (f"{what}: the page is {width[0]} px wide in a {width[1]} px window; "
                                  f"{page.evaluate(WIDER_THAN_WINDOW)}")


PAGE_WIDTHS = {"phone": (390, 844), "desktop": (1280, 800)}


def both_widths(page, name, prefix=""):
    """Look at the current page at 390 and 1280 px (ending at 1280): no sideways scroll at
    either, and a screenshot of each (``{prefix}{name}-phone.png``, ``-desktop.png``)."""
    for size, (w, h) in PAGE_WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        no_sideways_scroll(page, f"{name} {size}")
        shot(page, f"{prefix}{name}-{size}")
