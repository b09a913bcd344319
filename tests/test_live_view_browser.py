"""Live view in headless Chromium, under the pages' real Content-Security-Policy: a real
camera (``bodycam camera run``, barcode source: each frame shows its number as 20 black and
white columns) records and streams; the officer's supervisor sees who is on the air and
where (positions move, a watch-me request is highlighted), opens the player, and the test
reads the frame numbers out of the page's <video> through a canvas. Stopping the recording
ends the stream on the page. Screenshots: test-artifacts/web/live-*.png."""

from __future__ import annotations

import json

import pytest

pw = pytest.importorskip("playwright.sync_api")

from .browser import BROWSER_TEST, launch, shot, sign_in, wait_js  # noqa: E402
from .live_view import start_site, wait_for  # noqa: E402

pytestmark = BROWSER_TEST

# The frame number drawn by the barcode source (bodycam.device.sources.barcode_frames), read
# from the page's video: bit k is column k of 20, white = 1, sampled on the middle row.
READ_FRAME = """() => {
  const v = document.getElementById("live-video");
  if (!v || v.readyState < 2 || !v.videoWidth) return -1;
  const c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext("2d");
  g.drawImage(v, 0, 0);
  const row = g.getImageData(0, Math.floor(c.height / 2), c.width, 1).data;
  let n = 0;
  for (let k = 0; k < 20; k++) {
    const x = Math.floor((k + 0.5) * c.width / 20);
    if (row[4 * x] > 128) n |= 1 << k;
  }
  return n;
}"""
NO_SIDEWAYS = "document.documentElement.scrollWidth <= window.innerWidth"


def both_widths(page, name):
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate(NO_SIDEWAYS), f"{name} scrolls sideways at {width} px"
        shot(page, f"live-{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_supervisor_sees_who_is_on_the_air_where_and_watches_live(tmp_path):
    server, cam = start_site(tmp_path, [[59.3300, 18.0600], [59.3330, 18.0700], [59.3380, 18.0720]])
    try:
        wait_for(lambda: cam.events("live.publishing"), what="the camera publishes")
        cam.ctl("watchme")
        wait_for(lambda: server.audit_rows("action = 'live.watchme'"), what="the watch-me request arrives")
        with pw.sync_playwright() as p:
            browser = launch(p)
            ctx, page = sign_in(browser, server, "sgt.live", bypass_csp=False)
            page.click("text=On the air")
            row = page.locator("#onair-table tbody tr").first
            assert "Officer Live" in row.inner_text() and "Watch me" in row.inner_text()
            assert "watchme" in row.get_attribute("class")
            wait_js(page, "document.querySelectorAll('#onair-map circle.dot.watchme').length === 1")
            # positions keep coming: the page's next refresh shows the camera further along
            first = row.locator("td").nth(3).inner_text()
            wait_js(page, f"!document.querySelector('#onair-table tbody tr td:nth-child(4)').innerText"
                          f".startsWith({json.dumps(first.splitlines()[0])})", timeout=60)
            assert page.locator("#onair-map polyline.trail").count() == 1
            both_widths(page, "onair")

            page.click("#onair-table a:text('Watch')")
            page.wait_for_url("**/live/*/")
            wait_js(page, f"({READ_FRAME})() >= 0", timeout=90)
            a = page.evaluate(READ_FRAME)
            wait_js(page, f"({READ_FRAME})() > {a}", timeout=60)
            b = page.evaluate(READ_FRAME)
            assert 0 <= a < b, (a, b)  # frames of the camera, decoded by the browser, moving on
            assert "Live" in page.locator("#live-state").inner_text()
            both_widths(page, "player")
            assert server.audit_rows("action = 'live.watch' AND actor = 'sgt.live' AND outcome = 'ok'")

            # the recording stops: so does the live view
            cam.ctl("stop")
            wait_js(page, "document.getElementById('live-state').textContent.includes('recording has stopped')",
                    timeout=90)
            shot(page, "live-player-ended")
            wait_for(lambda: server.audit_rows("action = 'live.watch.end' AND actor = 'sgt.live'"),
                     what="the end of the viewing is audited")
            ctx.close()
            browser.close()
    finally:
        cam.stop()
        server.stop()
