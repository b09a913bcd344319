"""One item per recording (issue 23), in headless Chromium (Playwright) against a real
``bodycam serve`` with the demo: the officer's search lists each recording once; his body
camera's recording (two clips, with a pre-event buffer) plays across the clip boundary as one
video on one bar (the second clip's own proxy takes over), and a click on the bar seeks into the
second clip; the detective's case lists recordings; no page scrolls sideways at 390 or 1280 px.
Screenshots: $BODYCAM_ARTIFACTS (default test-artifacts/web/), one-recording-*.png."""

from __future__ import annotations

import pytest

pw = pytest.importorskip("playwright.sync_api")

from .browser import BROWSER_TEST, PAGE_WIDTHS, no_sideways_scroll, shot, sign_in  # noqa: E402
from .live import demo_site  # noqa: E402

pytestmark = BROWSER_TEST


site = demo_site("onerec", small=True)


def state(page) -> dict:
    return page.evaluate("() => window.bodycamPlayer.state()")


def test_a_two_clip_recording_plays_as_one_video_on_one_bar(site, browser):
    ctx, page = sign_in(browser, site, "garcia")
    # The results: one row per recording (each evidence number once), lengths of whole recordings.
    for size, (w, h) in PAGE_WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.goto(site.url + "/evidence/")
        numbers = page.locator("a.item-link .evno").all_inner_texts()
        assert numbers and len(numbers) == len(set(numbers)), numbers
        assert page.locator("#result-count").inner_text() == str(len(numbers))
        no_sideways_scroll(page, f"search {size}")
        shot(page, f"one-recording-search-{size}")
    row = page.locator("table.results tbody tr", has=page.locator("small.clips", has_text="(2 clips)")).first
    href = row.locator("a.item-link").get_attribute("href")
    page.goto(site.url + href)
    page.wait_for_function("() => window.bodycamPlayer && document.getElementById('player').readyState >= 1")
    clips = page.locator("#clips a.clip-link")
    assert clips.count() == 2
    first_id, second_id = (clips.nth(i).get_attribute("href").strip("/").split("/")[-1] for i in range(2))
    assert href.strip("/").split("/")[-1] == first_id  # the result opens the recording at its first clip
    assert page.locator("#markers .boundary").count() == 1 and page.locator("#pre-event").count() == 1
    s = state(page)
    assert s["index"] == 0 and f"/api/evidence/{first_id}/" in s["src"]
    boundary = float(page.locator("#markers .boundary").get_attribute("data-at"))
    total = s["duration"]
    assert 0 < boundary < total
    # Play across the boundary: the recording's time passes the first clip's end and the second
    # clip's proxy is the one playing.
    page.evaluate(f"() => window.bodycamPlayer.seek({boundary - 1.0})")
    page.wait_for_function(f"() => Math.abs(window.bodycamPlayer.state().t - {boundary - 1.0}) < 0.3")
    page.click("#play")
    page.wait_for_function(f"""() => {{ const s = window.bodycamPlayer.state();
        return s.index === 1 && !s.paused && s.t > {boundary + 0.5}; }}""", timeout=30_000)
    s = state(page)
    assert s["clip"] == second_id and s["src"].endswith(f"/api/evidence/{second_id}/proxy"), s
    assert page.locator("#clip-now").inner_text() == "clip 2 of 2"
    shot(page, "one-recording-playing")
    # Back to the first clip, paused; then a click on the bar, three quarters into the second clip.
    page.evaluate("() => { document.getElementById('player').pause(); window.bodycamPlayer.seek(1.0); }")
    page.wait_for_function("() => { const s = window.bodycamPlayer.state(); return s.index === 0 && s.t < 2; }")
    target = boundary + 0.75 * (total - boundary)
    box = page.locator("#markers").bounding_box()
    x = box["x"] + box["width"] * target / total
    y = box["y"] + box["height"] / 2
    # (a bookmark marker under the pointer would seek to the bookmark: step aside from one)
    while page.evaluate(f"() => !!document.elementFromPoint({x}, {y}).closest('.marker')"):
        x -= 4
    target = (x - box["x"]) / box["width"] * total
    page.mouse.click(x, y)
    page.wait_for_function(f"""() => {{ const s = window.bodycamPlayer.state();
        return s.index === 1 && Math.abs(s.t - {target}) < 0.5; }}""")
    assert state(page)["clip"] == second_id
    # Each clip's playback was its own, audited as before.
    for clip_id in (first_id, second_id):
        assert site.audit_rows("actor = ? AND action = 'evidence.play' AND object_id = ?", "garcia", clip_id)
    # The second clip's old address: the same recording, that clip selected and loaded.
    for size, (w, h) in PAGE_WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.goto(site.url + f"/evidence/{second_id}/")
        page.wait_for_function("() => window.bodycamPlayer && document.getElementById('player').readyState >= 1")
        s = state(page)
        assert s["index"] == 1 and s["clip"] == second_id and s["t"] >= boundary - 0.01
        assert page.locator("#clips a[aria-current]").get_attribute("href") == f"/evidence/{second_id}/"
        no_sideways_scroll(page, f"item {size}")
        shot(page, f"one-recording-item-{size}")
    ctx.close()
    # The detective's case lists its recordings, one row each, readable.
    ctx, page = sign_in(browser, site, "det.muller")
    for size, (w, h) in PAGE_WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.goto(site.url + "/cases/2026-000417/")
        numbers = page.locator("#case-recordings a.item-link .evno").all_inner_texts()
        assert numbers and len(numbers) == len(set(numbers)), numbers
        assert "(2 clips)" in page.locator("#case-recordings").inner_text()
        no_sideways_scroll(page, f"case {size}")
        shot(page, f"one-recording-case-{size}")
    ctx.close()
