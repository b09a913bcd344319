"""The web application in headless Chromium (Playwright) against a real ``bodycam serve``
loaded with the demo incident (patrol car + two body cameras on one light bar, real
signed H.264 clips, proxies made by the playback job).

Screenshots of the main pages go to $BODYCAM_ARTIFACTS (default test-artifacts/web/).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

pw = pytest.importorskip("playwright.sync_api")

from .browser import BROWSER_TEST, shot, sign_in  # noqa: E402  (after importorskip)
from .live import demo_site  # noqa: E402

pytestmark = BROWSER_TEST


# Real footage through ingest; proxies/thumbnails made inline (the sign-in address the demo
# prints is checked by tests/test_demo.py).
site = demo_site("web")


def wait_playing(page, selector, past=0.5, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        t = page.eval_on_selector(selector, "v => v.currentTime")
        if t > past:
            return t
        time.sleep(0.1)
    raise AssertionError(f"{selector} did not advance past {past} s")


IN_STEP = """() => {
  // At least two players playing, all within 0.2 s of each other, for 10 checks in a row (1 s).
  const walls = window.bodycamTimeline.state().lanes.filter(l => l.wall !== null && !l.paused).map(l => l.wall);
  const ok = walls.length >= 2 && Math.max(...walls) - Math.min(...walls) < 0.2;
  window.inStepChecks = ok ? (window.inStepChecks || 0) + 1 : 0;
  return window.inStepChecks >= 10;
}"""


def wait_in_step(page, timeout_s: float = 60):
    """Poll until the timeline's players agree (see IN_STEP); a generous overall timeout."""
    page.evaluate("() => { window.inStepChecks = 0; }")
    page.wait_for_function(IN_STEP, polling=100, timeout=timeout_s * 1000)


def test_officer_searches_plays_seeks_and_sees_bookmark(site, browser):
    ctx, page = sign_in(browser, site, "garcia")
    page.goto(site.url + "/evidence/")  # sign-in lands on the home page; Evidence is the search
    # An officer sees their own two camera runs (patrol car + body camera), not chen's: two
    # recordings of two clips each, one row per recording (issue 23).
    assert page.locator("#result-count").inner_text() == "2"
    assert "BWC-1002" not in page.content()
    shot(page, "search")
    page.fill("input[name=q]", "plate abc12")  # bookmark tag, prefix match
    page.click("form.filters button[type=submit]")
    links = page.locator("a.item-link")
    assert page.locator("#result-count").inner_text() == "1"  # the body camera's recording
    assert page.locator("img.thumb").count() == 1
    # The player streams with Range requests (206). Listen before the item page loads: a short
    # proxy may be buffered whole by the first requests, and a seek then fetches nothing.
    ranges = []
    page.on("response", lambda r: ranges.append((r.status, r.request.headers.get("range"), r.headers.get(
        "content-range"))) if "/proxy" in r.url else None)
    links.first.click()
    page.wait_for_selector("#player")
    assert "driver stepped out" in page.locator("#bookmarks").inner_text()
    assert page.locator("#rendition").inner_text() == "proxy"
    page.click("#play")
    wait_playing(page, "#player", past=1.0)
    shot(page, "item")
    # Seek by the bookmark (on the recording's time, in its second clip): the player jumps there.
    marker = page.locator("#bookmarks button.seek").first
    at = float(marker.get_attribute("data-at"))
    page.eval_on_selector("#player", "v => v.pause()")
    far = page.eval_on_selector("#player", "v => v.duration") - 1.0
    page.eval_on_selector("#player", f"v => {{ v.currentTime = {far}; }}")
    page.wait_for_function(f"Math.abs(window.bodycamPlayer.state().t - {far}) < 0.3")
    marker.click()
    page.wait_for_function(f"Math.abs(window.bodycamPlayer.state().t - {at}) < 0.3")
    assert any(status == 206 and rng and cr for status, rng, cr in ranges), ranges
    # Playback start is audited, once per start, for this user.
    plays = site.audit_rows("actor = ? AND action = 'evidence.play'", "garcia")
    assert plays and all('"rendition": "proxy"' in d for *_, d in plays)
    # Tablet size: the same page is usable (player above details).
    page.set_viewport_size({"width": 820, "height": 1180})
    shot(page, "item-tablet")
    ctx.close()


def marker_inside_bar(page):
    """Each bookmark marker's box lies within the marker bar's box."""
    return page.evaluate("""() => {
      const bar = document.getElementById("markers").getBoundingClientRect();
      return [...document.querySelectorAll("#markers .marker")].map(m => m.getBoundingClientRect())
        .every(r => r.left >= bar.left - 0.5 && r.right <= bar.right + 0.5);
    }""")


def test_bookmark_on_its_clip_and_camera_tags(site, browser):
    """Issue 20, items 19 and 20: the body camera's run is two 10 s clips; its bookmark, made
    11 s after the run began, is on the second clip at 1.0 s, its marker on the bar; the
    bookmark's tag is a tag of the recording: the tag filter finds it, the item lists it.
    (Issue 23: the run is one result and one timeline: the bookmark at 1.0 s into the second
    clip is at the first clip's length + 1.0 s on the recording.)
    (The squad's supervisor: garcia signed in above, and a TOTP code is good once.)"""
    ctx, page = sign_in(browser, site, "sgt.okafor")
    page.goto(site.url + "/evidence/?tag=Plate%3AABC123")
    assert page.locator("#result-count").inner_text() == "1"
    page.locator("a.item-link").first.click()
    page.wait_for_selector("#player")
    assert "driver stepped out" in page.locator("#bookmarks").inner_text()
    assert "Plate:ABC123" in page.locator("#tags").inner_text()
    assert marker_inside_bar(page)
    boundary = float(page.locator("#markers .boundary").get_attribute("data-at"))
    seek = page.locator("#bookmarks button.seek").first
    assert seek.inner_text() == f"{boundary + 1.0:.1f} s"
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    page.locator("#markers .marker").first.click()
    page.wait_for_function(f"Math.abs(window.bodycamPlayer.state().t - {boundary + 1.0}) < 0.3 "
                           "&& window.bodycamPlayer.state().index === 1")
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 1.0) < 0.3")
    assert marker_inside_bar(page)
    shot(page, "item-bookmark")
    page.set_viewport_size({"width": 390, "height": 844})
    assert marker_inside_bar(page)
    shot(page, "item-bookmark-phone")
    ctx.close()


def test_detective_timeline_share_link_and_court_export(site, browser, tmp_path):
    ctx, page = sign_in(browser, site, "det.muller")
    page.goto(site.url + "/cases/")
    page.click("text=2026-000417")
    shot(page, "case")
    # Multi-camera timeline: three cameras of the light-bar incident, one transport.
    page.click("#case-timeline")
    page.wait_for_selector("video")
    assert page.locator("section.lane").count() == 3
    page.click("#tl-play")
    page.wait_for_function("window.bodycamTimeline.state().t > 2.5", timeout=20000)
    # The players converge on one clock and stay there; no bound on how fast (a loaded machine
    # is slow), only that they get there and hold it.
    wait_in_step(page)
    # Knocked off (the first playing player runs at double speed, another jumps 1.5 s ahead),
    # they are pulled back to the timeline's clock: every player is corrected, the first one
    # too, so the timeline keeps real time (it was the first player's clock: one player running
    # fast took every camera with it). Waiting for a slow player only ever slows the clock, so
    # "not faster than real time" holds however loaded the machine is.
    page.evaluate("""() => {
      const vs = [...document.querySelectorAll("section.lane video")].filter(v => !v.paused && v.currentSrc);
      vs[0].defaultPlaybackRate = vs[0].playbackRate = 2;  // (default: also for its next clip)
      vs[1].currentTime += 1.5;
    }""")
    speed = page.evaluate("""async () => {
      const t0 = window.bodycamTimeline.state().t, w0 = performance.now();
      await new Promise(done => setTimeout(done, 2000));
      return (window.bodycamTimeline.state().t - t0) / ((performance.now() - w0) / 1000);
    }""")
    assert speed < 1.2, speed
    wait_in_step(page)
    shot(page, "timeline")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "timeline-phone")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.click("#tl-play")

    # Share link (view + download) on an item, opened in a fresh browser with no session.
    page.goto(site.url + "/evidence/?q=driver")
    page.locator("a.item-link").first.click()
    page.fill("#link-form input[name=label]", "ADA Smith")
    page.check("#link-form input[name=allow_download]")
    page.click("#link-form button[type=submit]")
    url = page.locator("#new-link").inner_text().strip()
    assert "/s/" in url
    assert "ADA Smith" in page.locator("#shares").inner_text()
    anon = browser.new_context(viewport={"width": 1280, "height": 800})
    lp = anon.new_page()
    lp.goto(url)
    assert "Shared evidence" in lp.title()
    lp.eval_on_selector("video", "v => { v.muted = true; return v.play(); }")
    wait_playing(lp, "video", past=0.5)
    shot(lp, "share-link")
    link_plays = site.audit_rows("actor LIKE 'link:%' AND action = 'evidence.play'")
    assert link_plays
    anon.close()

    # Court export of the case, verified offline; one flipped byte fails it.
    page.goto(site.url + "/cases/2026-000417/")
    with page.expect_download() as dl:
        page.click("#case-export")
    export = tmp_path / "export.zip"
    dl.value.save_as(export)
    ok = subprocess.run([sys.executable, "-m", "bodycam.cli", "verify", str(export)], capture_output=True, text=True,
                        env={k: v for k, v in os.environ.items() if not k.startswith("BODYCAM_")})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VERIFIED" in ok.stdout and "6 with a valid camera signature" in ok.stdout
    data = bytearray(export.read_bytes())
    data[len(data) // 3] ^= 0x01  # inside an original video file
    bad = tmp_path / "tampered.zip"
    bad.write_bytes(bytes(data))
    res = subprocess.run([sys.executable, "-m", "bodycam.cli", "verify", str(bad)], capture_output=True, text=True)
    assert res.returncode == 1 and "NOT VERIFIED" in res.stdout, res.stdout + res.stderr
    ctx.close()
