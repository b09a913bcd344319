"""Items people can read, in headless Chromium (Playwright) against a real ``bodycam serve``
with the demo incident, the agency in Los Angeles, and a still photo the officer took during
his body-camera recording (sent as a camera sends one: a one-frame clip, ``TriggerOn: Still``).

Search results and the item page show the evidence number, title, officer and badge, device,
category, case and flags; times are local with UTC on hover; the still is a photo inside its
recording; a title is edited on the page; no page scrolls sideways at 390 or 1280 px.
Screenshots: $BODYCAM_ARTIFACTS (default test-artifacts/web/), readable-*.png."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

pw = pytest.importorskip("playwright.sync_api")

from . import axis  # noqa: E402
from .browser import BROWSER_TEST, PAGE_WIDTHS, no_sideways_scroll, shot, sign_in  # noqa: E402
from .live import demo_site  # noqa: E402

pytestmark = BROWSER_TEST
NUMBER = re.compile(r"^\d{4}-\d{6}$")


def _as_utc(value) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    return datetime.fromisoformat(str(value).replace(" ", "T")).astimezone(timezone.utc)


def add_still(server):
    """garcia's body camera recording, and a still he took 4 s into it."""
    from bodycam.media.synth import make_clip

    (user_id, start), = server.sql(
        "SELECT o.axis_user_id, r.start_time FROM evidence_recording r JOIN evidence_device d ON d.id = r.device_id "
        "JOIN evidence_officer o ON o.id = r.officer_id WHERE d.serial = 'BWC-1001' ORDER BY r.start_time LIMIT 1")
    at = _as_utc(start).replace(microsecond=0) + timedelta(seconds=4)
    conn = server.swift()
    name, headers = axis.recording(str(uuid.UUID(str(user_id))), "BWC-1001", at, seconds=0)
    headers.update({"X-Container-Meta-TriggerOn": "Still", "X-Container-Meta-TriggerOff": "Still"})
    conn.put_container(name, headers=headers)
    path = make_clip(str(server.data_dir.parent / f"{server.data_dir.name}-still.mp4"), seconds=1, fps=1, width=640, height=360,
                     audio=False)
    with open(path, "rb") as f:
        conn.put_object(name, axis.clip_name(at, 7).replace(".mp4", "_still.mp4"), f,
                        headers=axis.clip_headers(at, 1))
    conn.post_container(name, {"X-Container-Meta-Status": "Complete"})
    server.still_container = name


site = demo_site("readable", {"BODYCAM_TIME_ZONE": "America/Los_Angeles"}, ready=add_still)


def check_times(page, what):
    times = page.locator("main time")
    assert times.count() > 0, what
    for i in range(times.count()):
        t = times.nth(i)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t.get_attribute("datetime")), what
        assert t.get_attribute("title").endswith(" UTC"), what
        assert re.search(r"\b(PST|PDT)$|^\w{3} \d{1,2} \w{3}", t.inner_text()), (what, t.inner_text())
    assert not re.search(r"\d\d:\d\d:\d\d\.\d", page.locator("main").inner_text()), what


def test_results_and_items_read_like_evidence(site, browser):
    ctx, page = sign_in(browser, site, "garcia")
    found = {}
    for size, (w, h) in PAGE_WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.goto(site.url + "/evidence/")
        numbers = page.locator("a.item-link .evno").all_inner_texts()
        assert numbers and all(NUMBER.match(n) for n in numbers), numbers
        assert len(numbers) == len(set(numbers)), numbers  # one row per recording (issue 23)
        titles = page.locator("a.item-link .title").all_inner_texts()
        assert all(" · " in t for t in titles), titles
        assert "Photo · " in " ".join(titles)
        check_times(page, f"search {size}")
        no_sideways_scroll(page, f"search {size}")
        shot(page, f"readable-search-{size}")
        for link in page.locator("a.item-link").all():
            found[link.locator(".title").inner_text()] = (link.locator(".evno").inner_text(),
                                                          link.get_attribute("href"))
    still_title = next(t for t in found if t.startswith("Photo · "))
    still_number, still_href = found[still_title]
    # Search by evidence number, then by a word of a title.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.fill("input[name=q]", still_number)
    page.click("form.filters button[type=submit]")
    assert page.locator("#result-count").inner_text() == "1"
    assert page.locator("a.item-link .evno").inner_text() == still_number
    # The still: a photo (full size, not the 320 px thumbnail), no player, inside its recording.
    for size, (w, h) in PAGE_WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.goto(site.url + still_href)
        assert page.locator("video").count() == 0
        img = page.locator("figure.photo img")
        page.wait_for_function("() => { const i = document.querySelector('figure.photo img'); "
                               "return i && i.complete && i.naturalWidth > 0; }")
        assert img.evaluate("i => i.naturalWidth") == 640
        assert page.locator("#evidence-number").inner_text() == still_number
        check_times(page, f"still {size}")
        no_sideways_scroll(page, f"still {size}")
        shot(page, f"readable-still-{size}")
    recording_href = page.locator("#taken-during").get_attribute("href")
    # The recording it was taken during lists it as a photo, and plays as a video.
    for size, (w, h) in PAGE_WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.goto(site.url + recording_href)
        assert page.locator("video#player").count() == 1
        photo = page.locator(f'#photos a[href="{still_href}"] img')
        assert photo.count() == 1
        page.wait_for_function("() => [...document.querySelectorAll('#photos img')].every(i => i.complete && "
                               "i.naturalWidth > 0)")
        assert NUMBER.match(page.locator("#evidence-number").inner_text())
        facts = page.locator(".facts").inner_text()
        assert "BWC-1001" in facts and "Officer" in facts
        check_times(page, f"item {size}")
        no_sideways_scroll(page, f"item {size}")
        shot(page, f"readable-item-{size}")
    # The owner sets a title on the page; search finds it by a word of it.
    page.fill("#title-form input[name=title]", "Felony stop on Harbor Blvd, driver detained")
    page.click("#title-form button[type=submit]")
    assert page.locator("#item-title").inner_text() == "Felony stop on Harbor Blvd, driver detained"
    page.goto(site.url + "/evidence/?q=harbor+detained")
    assert page.locator("#result-count").inner_text() != "0"
    assert "Felony stop on Harbor Blvd" in page.locator("a.item-link .title").first.inner_text()
    ctx.close()


def test_custodian_sees_cases_and_flags_at_both_widths(site, browser):
    ctx, page = sign_in(browser, site, "custodian")
    for size, (w, h) in PAGE_WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.goto(site.url + "/evidence/")
        table = page.locator("table.results").inner_text()
        assert "2026-000417" in table  # the demo case, in the Case column
        check_times(page, f"custodian search {size}")
        no_sideways_scroll(page, f"custodian search {size}")
        shot(page, f"readable-search-custodian-{size}")
    ctx.close()


def test_share_link_cad_and_compliance_pages_list_recordings_at_both_widths(site, browser):
    """A share link's page, the CAD incidents page and the compliance report name recordings
    (evidence number and title, officer, local start, length), never a camera file; at 390 and
    1280 px without sideways scroll. Screenshots: readable-lists-*.png."""
    from .browser import both_widths

    ctx, page = sign_in(browser, site, "det.muller")
    page.goto(site.url + "/cases/2026-000417/")
    page.locator("a.item-link").first.click()
    number = page.locator(".item-head h1 .evno").inner_text().strip()
    page.fill("#link-form input[name=label]", "ADA Smith")
    page.check("#link-form input[name=allow_download]")
    page.click("#link-form button[type=submit]")
    url = page.locator("#new-link").inner_text().strip()
    ctx.close()
    anon = browser.new_context(viewport={"width": 1280, "height": 800})
    lp = anon.new_page()
    lp.goto(url)
    heading = lp.locator("section.recording h2").first.inner_text()
    assert NUMBER.match(number) and number in heading, (number, heading)
    text = lp.locator("main").inner_text()
    assert ".mp4" not in text and ".mkv" not in text, text
    check_times(lp, "share link")
    both_widths(lp, "share-link", "readable-lists-")
    anon.close()

    ctx, page = sign_in(browser, site, "custodian")
    for path, name in (("/retention/compliance/", "compliance"), ("/retention/cad/", "cad")):
        page.goto(site.url + path)
        text = page.locator("main").inner_text()
        assert ".mp4" not in text and not re.search(r"\d{4}-\d\d-\d\dT\d\d:", text), (path, text[:500])
        both_widths(page, name, "readable-lists-")
    assert page.locator("#incidents .recording .evno").count() > 0  # the demo's linked recordings
    ctx.close()
