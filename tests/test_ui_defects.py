"""Defects a new user hit touring the web app (issue 20, items 18-21): the Uncategorized
filter, bookmarks on the right clip, one tag concept, and the address the server serves.

Real ingest (``ingest.services``, the camera's path) with real H.264 clips, the real views
through a signed-in Django client, and real ``bodycam`` processes for the address."""

from __future__ import annotations

import importlib
import json
import re

import pytest
from django.apps import apps as django_apps

from bodycam.evidence.defaults import ensure_default_categories
from bodycam.evidence.models import Category, Officer, Tag

from .access_helpers import World, client_for, ingest_clip_for, two_clip_recording

pytestmark = pytest.mark.django_db


def ids(resp) -> set[str]:
    assert resp.status_code == 200, resp.content[:500]
    return {r["id"] for r in resp.json()["results"]}


def page_ids(resp) -> set[str]:
    assert resp.status_code == 200, resp.content[:500]
    return set(re.findall(r'class="item-link" href="/evidence/([0-9a-f-]{36})/"', resp.content.decode()))


@pytest.fixture
def world(tmp_path):
    ensure_default_categories()
    return World(tmp_path)


# ---------------------------------------------------------------- item 18: Uncategorized
def test_uncategorized_filter_finds_items_without_a_category(world, tmp_path):
    cust = client_for(world.custodian)
    bare, traffic = str(world.clip.id), str(world.other_clip.id)   # no category / "Traffic stop"
    world.other_clip.recording.categories.add(Category.objects.get(name="Traffic stop"))
    only_uncat = ingest_clip_for(Officer.objects.get(account=world.officer), tmp_path)
    only_uncat.recording.categories.add(Category.objects.get(name="Uncategorized"))
    both = ingest_clip_for(Officer.objects.get(account=world.officer), tmp_path)
    both.recording.categories.add(*Category.objects.filter(name__in=["Uncategorized", "Arrest"]))
    uncategorized = {bare, str(only_uncat.id)}

    assert ids(cust.get("/api/search?category=Uncategorized")) == uncategorized
    assert page_ids(cust.get("/evidence/?category=Uncategorized")) == uncategorized
    assert ids(cust.get("/api/search?category=Uncategorized&q=" + world.clip.recording.device.serial)) == {bare}
    # Other categories are unchanged.
    assert ids(cust.get("/api/search?category=Traffic+stop")) == {traffic}
    assert ids(cust.get("/api/search?category=Arrest")) == {str(both.id)}
    # Categorizing takes an item off the list at once; the officer sees only their own.
    world.clip.recording.categories.add(Category.objects.get(name="Citation"))
    assert ids(cust.get("/api/search?category=Uncategorized")) == {str(only_uncat.id)}
    assert ids(client_for(world.other_officer).get("/api/search?category=Uncategorized")) == set()


# ---------------------------------------------------------------- item 19: bookmarks on their clip
def test_bookmark_is_on_the_clip_whose_span_holds_it(world, tmp_path):
    officer = Officer.objects.get(account=world.officer)
    first, second = two_clip_recording(officer, tmp_path, bookmarks=[
        (11.0, "driver stepped out", "Plate:ABC123"), (10.0, "at the joint", ""), (3.5, "lights on", ""),
        (-4.0, "before recording", ""), (27.0, "after recording", "")])
    off = client_for(world.officer)
    page1 = off.get(f"/evidence/{first.id}/").content.decode()
    page2 = off.get(f"/evidence/{second.id}/").content.decode()
    # (Issue 23: either clip's page shows the whole recording on one timeline, so every
    # bookmark is on both, at its clip's offset on the recording plus its time in the clip.)
    d1, total = first.duration_s, first.duration_s + second.duration_s
    for page in (page1, page2):
        at = {t: float(a) for a, t in re.findall(r'class="marker" data-at="([-0-9.]+)" title="([^"]+)"', page)}
        assert at["driver stepped out"] == pytest.approx(d1 + 1.0, abs=0.002)
        assert at["at the joint"] == pytest.approx(d1, abs=0.002)       # [start, stop): the later clip
        assert at["lights on"] == pytest.approx(3.5)
        assert at["before recording"] == 0.0 and at["after recording"] == pytest.approx(total, abs=0.002)
        # Every marker lies within the recording (the bar).
        assert all(0 <= m <= total + 0.001 for m in at.values()), at
        assert 'style="left' not in page  # placed by item.js (no inline style: the CSP)
        assert page.count("(made outside the recorded span: shown at its nearer end)") == 2

    from bodycam.evidence.services import clip_bookmarks

    on_first = {b["text"]: b for b in clip_bookmarks(first)}
    on_second = {b["text"]: b for b in clip_bookmarks(second)}
    assert set(on_first) == {"lights on", "before recording"}
    assert set(on_second) == {"driver stepped out", "at the joint", "after recording"}
    assert on_second["driver stepped out"]["at"] == pytest.approx(1.0)  # relative to its own clip
    assert on_second["at the joint"]["at"] == pytest.approx(0.0)        # [start, stop): the later clip
    assert on_first["lights on"]["at"] == pytest.approx(3.5)
    # Outside every clip: on the nearest, at its nearer end, said so.
    assert on_first["before recording"]["at"] == 0.0 and on_first["before recording"]["outside"]
    assert on_second["after recording"]["at"] == pytest.approx(second.duration_s)
    assert on_second["after recording"]["outside"] and not on_second["driver stepped out"]["outside"]


def test_bookmarks_follow_clip_durations_when_clips_have_no_times(world, tmp_path):
    officer = Officer.objects.get(account=world.officer)
    first, second = two_clip_recording(officer, tmp_path, bookmarks=[(11.0, "driver stepped out", "")],
                                       with_times=False)
    assert first.start_time is None
    off = client_for(world.officer)
    # On the second clip (which follows the first one's length), at 11 s on the recording's timeline.
    for clip in (first, second):
        page = off.get(f"/evidence/{clip.id}/").content.decode()
        at = float(re.search(r'class="marker" data-at="([-0-9.]+)"', page).group(1))
        assert at == pytest.approx(11.0, abs=0.01)
    from bodycam.evidence.services import clip_bookmarks

    assert not clip_bookmarks(first)
    assert clip_bookmarks(second)[0]["at"] == pytest.approx(11.0 - first.duration_s, abs=0.01)


# ---------------------------------------------------------------- item 20: one tag concept
def test_camera_bookmark_tags_are_recording_tags(world, tmp_path):
    officer = Officer.objects.get(account=world.officer)
    first, second = two_clip_recording(officer, tmp_path, bookmarks=[
        (11.0, "driver stepped out", "Plate:ABC123;Priority")])
    rec = first.recording
    both = {str(first.id), str(second.id)}
    cust = client_for(world.custodian)
    # One filter finds the camera's tags, as the free text does.
    assert ids(cust.get("/api/search?q=ABC123")) == both
    assert ids(cust.get("/api/search?tag=Plate:ABC123")) == both
    assert ids(cust.get("/api/search?tag=Priority")) == both
    assert page_ids(cust.get("/evidence/?tag=Plate%3AABC123")) == {str(first.id)}  # the page lists recordings (issue 23)
    # The item shows them as its tags (not "Tags —" beside the bookmark's tag).
    detail = cust.get(f"/api/evidence/{first.id}/").json()
    assert set(detail["tags"]) == {"Plate:ABC123", "Priority"}
    page = cust.get(f"/evidence/{first.id}/").content.decode()
    row = re.search(r'<td id="tags">(.*?)</td>', page).group(1)
    assert "Plate:ABC123" in row and "(camera)" in row

    # A person's tags join them; editing never removes the camera's (they are in the bookmark).
    off = client_for(world.officer)
    assert off.post(f"/evidence/{first.id}/", {"tags": "felony"}).status_code == 302
    assert set(Tag.objects.filter(recording=rec).values_list("name", flat=True)) == {"felony", "Plate:ABC123",
                                                                                   "Priority"}
    assert ids(cust.get("/api/search?tag=felony")) == both
    r = off.patch(f"/api/evidence/{first.id}/", json.dumps({"tags": []}), content_type="application/json")
    assert r.status_code == 200 and set(r.json()["tags"]) == {"Plate:ABC123", "Priority"}
    assert ids(cust.get("/api/search?tag=felony")) == set()
    assert ids(cust.get("/api/search?tag=Plate:ABC123")) == both
    # Naming a camera tag again is no error (and no second row).
    r = off.patch(f"/api/evidence/{first.id}/", json.dumps({"tags": ["Plate:ABC123", "k9"]}),
                  content_type="application/json")
    assert r.status_code == 200 and sorted(r.json()["tags"]) == ["Plate:ABC123", "Priority", "k9"]
    # The edit field holds the person's tags only.
    page = off.get(f"/evidence/{first.id}/").content.decode()
    assert 'name="tags" value="k9"' in page


def test_bookmarks_stored_before_the_fix_get_their_tags(world, tmp_path):
    """The data migration gives bookmarks already in the catalogue their tags."""
    officer = Officer.objects.get(account=world.officer)
    first, _ = two_clip_recording(officer, tmp_path, bookmarks=[(1.0, "x", "Plate:XYZ9;Bare")])
    Tag.objects.filter(recording=first.recording).delete()  # as on a catalogue from before
    migration = importlib.import_module("bodycam.evidence.migrations.0004_bookmark_tags")
    migration.bookmark_tags(django_apps, None)
    migration.bookmark_tags(django_apps, None)  # idempotent
    assert sorted(Tag.objects.filter(recording=first.recording).values_list("name", flat=True)) == ["Bare",
                                                                                                  "Plate:XYZ9"]


# ---------------------------------------------------------------- item 21: the address served
@pytest.mark.catalogue
def test_connection_file_names_the_address_served(live):
    """`bodycam serve` on a port other than 8000: the connection file made afterwards names it."""
    conn = json.loads(live.cli("connection-file", "--site", "Test PD").stdout)
    assert conn["AuthenticationTokenURI"] == [f"{live.url}/auth/v1.0"]
    # The dock really reaches the server through it: a token for the file's credentials.
    import requests

    r = requests.get(conn["AuthenticationTokenURI"][0], headers={"X-Auth-User": conn["BlobAPIUserName"],
                                                                 "X-Auth-Key": conn["BlobAPIKey"]}, timeout=10)
    assert r.status_code in (200, 204) and r.headers.get("X-Auth-Token")


@pytest.mark.catalogue
def test_public_url_setting_and_url_option_win(live):
    env_public = {**live.env, "BODYCAM_PUBLIC_URL": "https://evidence.example.org/"}
    import subprocess
    import sys

    def cli(*args, env=env_public):
        return subprocess.run([sys.executable, "-m", "bodycam.cli", *args], env=env, capture_output=True, text=True,
                              timeout=120)

    res = cli("connection-file")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["AuthenticationTokenURI"] == ["https://evidence.example.org/auth/v1.0"]
    res = cli("connection-file", "--url", "http://10.0.0.5:9000")
    assert json.loads(res.stdout)["AuthenticationTokenURI"] == ["http://10.0.0.5:9000/auth/v1.0"]
    bad = cli("connection-file", env={**live.env, "BODYCAM_PUBLIC_URL": "evidence.example.org"})
    assert bad.returncode == 2 and "BODYCAM_PUBLIC_URL must be an http:// or https://" in bad.stderr
    assert not bad.stdout
