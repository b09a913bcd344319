"""The redaction editor in headless Chromium against a real ``bodycam serve`` (demo
footage): a custodian opens an item, starts a redaction, draws a manual box on the video,
sees the chosen method drawn over the video (live preview: fill, pixelate; off again),
gives reasons, adds a muted audio range, and makes the C2PA-signed redacted copy; an
officer gets no editor."""

from __future__ import annotations

import json

import pytest

from .browser import BROWSER_TEST, shot, sign_in
from .live import demo_site

pw = pytest.importorskip("playwright.sync_api")
pytestmark = BROWSER_TEST


site = demo_site("redact-web")


def test_custodian_redacts_in_the_editor(site, browser):
    ctx, page = sign_in(browser, site, "custodian")
    page.goto(site.url + "/evidence/")  # sign-in lands on the home page; Evidence is the search
    page.locator("a.item-link").first.click()
    page.wait_for_selector("#player")
    clip_id = page.url.rstrip("/").split("/")[-1]
    page.click("#redact-link")
    page.click("#new-redaction")
    page.wait_for_url("**/records/redaction/**")
    assert page.locator("#status").inner_text() == "review"  # faces searched (none in the test pattern)
    page.wait_for_function("document.getElementById('v').readyState >= 2")
    auto = page.locator(".track").count()  # detector hits on the test pattern, if any: false positives
    # Draw a manual box on the video (e.g. a licence plate), 0.2 s - 1.5 s.
    box = page.locator("#overlay").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.1)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4, steps=5)
    page.mouse.up()
    page.fill("#mb-from", "0.2")
    page.fill("#mb-to", "1.5")
    page.select_option("#mb-label", "plate")
    page.fill("#mb-reason", "licence plate of a bystander")
    page.click("#mb-add")
    assert page.locator(".track").count() == auto + 1 and "plate" in page.locator(".track").last.inner_text()
    # Remove the false positives: turn the automatic tracks off (kept in the plan, not redacted).
    for i in range(auto):
        page.locator(".track input[type=checkbox]").nth(i).uncheck()
    # Live preview: the chosen method drawn over the video inside the box, before any render.
    probe = ("() => { const c = document.getElementById('overlay'), x = c.getContext('2d');"
             " const d = x.getImageData(Math.round(c.width * 0.25), Math.round(c.height * 0.25), 1, 1).data;"
             " return Array.from(d); }")
    page.evaluate("() => { const v = document.getElementById('v'); v.pause(); v.currentTime = 0.8; }")
    page.wait_for_function("Math.abs(document.getElementById('v').currentTime - 0.8) < 0.05")
    page.select_option("#method", "fill")
    assert page.evaluate(probe) == [0, 0, 0, 255]  # solid black, opaque
    page.select_option("#method", "pixelate")
    pixel = page.evaluate(probe)
    assert pixel[3] == 255  # the video's own (pixelated) picture is drawn there
    shot(page, "redaction-preview")
    page.uncheck("#preview")
    assert page.evaluate(probe)[3] < 100  # off: only the translucent box marker
    page.check("#preview")
    for width in (390, 1280):  # no sideways scrolling on a phone or a desktop
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), width
        shot(page, f"redaction-editor-{width}")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.fill("#ar-from", "0.5")
    page.fill("#ar-to", "1.0")
    page.click("#ar-add")
    assert "mute 0.50–1.00 s" in page.locator("#audio").inner_text()
    # Without a reason for the audio range the server refuses, and says why.
    page.click("#render")
    page.wait_for_function("document.getElementById('error').textContent.includes('reason')")
    page.fill("#reason", "privacy of a minor")
    page.click("#render")
    page.wait_for_selector("#output", timeout=120000)
    assert page.locator("#status").inner_text() == "done"
    shot(page, "redaction-editor")
    href = page.locator("#output").get_attribute("href")
    resp = page.request.get(site.url + href + "?download=1")
    assert resp.status == 200
    path = site.data_dir / "redacted.mp4"
    path.write_bytes(resp.body())
    res = site.cli("c2pa-verify", str(path), check=False)
    assert res.returncode == 0 and "licence plate of a bystander" in res.stdout and "privacy of a minor" in res.stdout
    rows = [(a, b, c, d if isinstance(d, dict) else json.loads(d)) for a, b, c, d in
            site.audit_rows("action LIKE 'evidence.redaction.%' AND object_id = ?", clip_id)]
    assert {"evidence.redaction.start", "evidence.redaction.edit", "evidence.redaction.render"} <= {r[1] for r in rows}
    assert any(r[1] == "evidence.redaction.render" and "reason" not in r[3] for r in rows)
    edits = [r[3] for r in rows if r[1] == "evidence.redaction.edit" and "disabled" in r[3]]
    assert edits and len(edits[-1]["disabled"]) == auto and edits[-1]["added"] in (0, 1)
    # Back on the list the new copy is there; an officer gets no redaction editor.
    page.goto(f"{site.url}/records/clip/{clip_id}/redact/")
    assert "done" in page.locator("#redactions").inner_text()
    ctx.close()
    ctx, page = sign_in(browser, site, "garcia")
    page.goto(f"{site.url}/records/clip/{clip_id}/redact/")
    assert page.locator("#redactions").count() == 0 and ("may not redact" in page.content()
                                                          or "not visible" in page.content())
    ctx.close()
