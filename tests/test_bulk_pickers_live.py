"""Acting on items where they are (issue 23), in headless Chromium against a real ``bodycam
serve`` with the demo: a custodian searches, selects items, runs a bulk categorize and a bulk
add-to-case through their confirmation pages and reads the summaries; adds an item to a records
request with the search-as-you-type picker (no id typed); opens an item's History tab; clicks a
transcript line and the player seeks there. Each page at 390 and 1280 px without sideways
scrolling. Screenshots: $BODYCAM_ARTIFACTS (default test-artifacts/web/), act-*.png."""

from __future__ import annotations

import subprocess
import sys
from functools import partial

import pytest

pw = pytest.importorskip("playwright.sync_api")

from .browser import BROWSER_TEST, both_widths, sign_in  # noqa: E402
from .live import demo_site  # noqa: E402

pytestmark = BROWSER_TEST
each_width = partial(both_widths, prefix="act-")  # screenshots act-<page>-<width>.png
site = demo_site("act")


def add_transcript(site, clip_id: str) -> None:
    """A transcript of the clip, as the transcription job would store it (the demo only queues them)."""
    code = ("import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'bodycam.settings'); django.setup()\n"
            "from bodycam.media.models import Transcript\n"
            f"Transcript.objects.update_or_create(clip_id='{clip_id}', defaults=dict(model='test', language='en', "
            "machine=[], segments=[{'start': 0.0, 'end': 1.0, 'text': 'Dispatch, show me out on a traffic stop.'}, "
            "{'start': 2.5, 'end': 4.0, 'text': 'Driver, turn the engine off please.'}]))\n")
    subprocess.run([sys.executable, "-c", code], env=site.env, check=True, timeout=120)


def select_two(page, site):
    page.goto(site.url + "/evidence/")
    boxes = page.locator("input[name=clip]")
    assert boxes.count() >= 2
    boxes.nth(0).check()
    boxes.nth(1).check()


def test_custodian_acts_on_items_where_they_are(site, browser):
    ctx, page = sign_in(browser, site, "custodian")
    # Bulk categorize: the confirmation names the items and asks for the category (none chosen for you).
    select_two(page, site)
    each_width(page, "search")
    page.click("#bulk-categorize")
    page.wait_for_selector("#bulk-confirm")
    assert page.locator("#bulk-category").input_value() == ""
    assert page.locator(".bulk-items li").count() == 2
    page.select_option("#bulk-category", "Traffic stop")
    each_width(page, "confirm-categorize")
    page.click("#bulk-confirm-yes")
    page.wait_for_selector("#bulk-summary")
    n = [int(page.locator(f"#n-{k}").inner_text()) for k in ("changed", "already", "refused")]
    assert sum(n) == 2 and n[2] == 0, n
    each_width(page, "summary-categorize")
    # Bulk add to case: the case chosen from a list (number and title), then the summary.
    select_two(page, site)
    page.click("#bulk-add_to_case")
    page.wait_for_selector("#bulk-case")
    page.select_option("#bulk-case", index=1)
    case = page.locator("#bulk-case").input_value()
    page.click("#bulk-confirm-yes")
    page.wait_for_selector("#bulk-summary")
    assert case in page.locator("#bulk-summary").inner_text()
    assert int(page.locator("#n-changed").inner_text()) + int(page.locator("#n-already").inner_text()) == 2
    each_width(page, "summary-case")
    # The records request page: the picker finds an item by its evidence number; no id is typed.
    page.goto(site.url + "/evidence/")
    first = page.locator("a.item-link").nth(2)
    number, href = first.locator(".evno").inner_text(), first.get_attribute("href")
    clip_id = href.strip("/").split("/")[-1]
    page.goto(site.url + "/records/")
    page.locator("table a").first.click()
    page.wait_for_selector("#add-item .picker-q")
    # Type only once the picker's script has set it up (it marks its box data-ready):
    # text typed before that would never be searched.
    page.wait_for_selector("#add-item [data-picker][data-ready]", state="attached")
    page.fill("#add-item .picker-q", number)
    page.wait_for_selector(f'#add-item .picker-option[data-id="{clip_id}"]', timeout=120_000)
    each_width(page, "picker")
    page.click(f'#add-item .picker-option[data-id="{clip_id}"]')
    assert number in page.locator("#add-item .picker-chosen").inner_text()
    page.click("#add-item-button")
    page.wait_for_selector(f'#items a[href="/evidence/{clip_id}/"]')
    # The item: a transcript line seeks the player; the History tab lists what happened, in words.
    add_transcript(site, clip_id)
    page.goto(site.url + href)
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.click('#transcript-lines button[data-at="2.5"]')
    page.wait_for_function("() => Math.abs(document.getElementById('player').currentTime - 2.5) < 0.3")
    each_width(page, "item")
    page.click("#history-tab")
    page.wait_for_selector("#history-table")
    text = page.locator("#history-table").inner_text()
    assert "custodian" in text and "Started playback" in text
    assert page.locator("#history-table tbody tr").count() >= 2 and "Viewed the item" in text
    each_width(page, "history")
    ctx.close()
