"""The demo (issue 25) does what the README's five-minute tour promises, loaded with
``bodycam demo --no-serve --small`` into a real server's data directory (both engines):

* the traffic stop: three cameras (the patrol car's and two body cameras) started by one
  light-bar signal, synchronised (overlapping times), one dispatch incident, one case, every
  clip signed and verified, GNSS tracks;
* every queue has its work: uncategorized items for the supervisor, a records request near
  its deadline, the deletion queue, a legal hold, a restricted item, a critical-incident lock,
  dispatch links, a late activation in the compliance report, stills, a plate bookmark;
* the prosecutor sees the case shared with them (and nothing else); the existing pages list
  the queues to the roles that work them;
* the background jobs, run by a real worker: the face analysis of the driver's clip finds the
  face (CenterFace), the English transcript has its key words, the Spanish one is detected as
  Spanish with an English translation (faster-whisper);
* loading again changes nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from bodycam import demoscene
from bodycam.media.transcribe import normalise_words

from .browser import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.catalogue]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from .live import LiveServer

    # Playback copies are not what these tests check; the transcripts and face analysis are.
    # The module signs in a dozen times from 127.0.0.1 within a minute: the per-address sign-in
    # limit (tested in test_access_login.py) is raised so a fast run is not refused.
    server = LiveServer(tmp_path_factory.mktemp("demo"), {"BODYCAM_MEDIA_AUTO_PLAYBACK": "0",
                                                          "BODYCAM_LOGIN_RATE": "1000", "BODYCAM_MFA_RATE": "1000"})
    out = server.cli("demo", "--no-serve", "--small", "--port", str(server.port)).stdout
    assert "demo data loaded" in out and f"log in at {server.url}/login/" in out, out
    server.start()
    yield server
    server.stop()


def sign_in(site, username: str) -> requests.Session:
    """Password, then the demo account's current TOTP code (as a person would)."""
    s = requests.Session()
    s.get(site.url + "/login/")
    r = s.post(site.url + "/login/", data={"username": username, "password": PASSWORD, "acknowledge": "yes",
                                            "csrfmiddlewaretoken": s.cookies["csrftoken"]},
               headers={"Referer": site.url + "/login/"}, allow_redirects=False)
    assert r.status_code == 302, r.text[:300]
    s.get(site.url + "/mfa/")
    code = site.cli("demo-totp", username).stdout.split()[1]
    r = s.post(site.url + "/mfa/", data={"code": code, "csrfmiddlewaretoken": s.cookies["csrftoken"]},
               headers={"Referer": site.url + "/mfa/"}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/", r.text[:300]
    return s


def when(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).replace(tzinfo=timezone.utc) \
        if "+" not in str(value)[10:] else datetime.fromisoformat(str(value))


def counts(site) -> dict:
    tables = ["access_user", "evidence_device", "evidence_recording", "evidence_clip", "retention_cadincident",
              "retention_cadlink", "access_case", "release_caseshare", "records_recordsrequest",
              "retention_legalhold", "retention_deletionentry", "access_restriction", "access_criticalincidentlock",
              "jobs_job", "access_totpdevice", "media_redaction"]
    return {t: site.sql(f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables}


def test_traffic_stop_three_synchronised_cameras_one_incident(site):
    rows = site.sql("SELECT r.id, d.serial, d.kind, r.trigger_on_time, r.stop_time, r.metadata FROM evidence_recording r "
                    "JOIN evidence_device d ON d.id = r.device_id WHERE r.trigger_on = 'SignalLightBar'")
    assert sorted(r[1] for r in rows) == ["BWC-1001", "BWC-1002", "CAR-17"]
    assert {r[2] for r in rows} == {"vehicle", "body"}
    # One light bar: the same moment on every camera, and their footage overlaps.
    starts = [when(r[3]) for r in rows]
    assert max(starts) - min(starts) <= timedelta(seconds=1)
    spans = []
    for rec_id, *_ in rows:
        clips = site.sql("SELECT start_time, stop_time, signature FROM evidence_clip WHERE recording_id = ?", rec_id)
        assert clips and all(c[2] == "valid" for c in clips)  # signed by the camera, verified at ingest
        spans.append((min(when(c[0]) for c in clips), max(when(c[1]) for c in clips)))
    assert max(s for s, _ in spans) + timedelta(seconds=5) < min(e for _, e in spans)
    # The unit whose signal started each camera: the patrol car, heard over BLE.
    assert all(json.loads(r[5]).get("TriggerOnUnit") == "17" if isinstance(r[5], str) else r[5]["TriggerOnUnit"] == "17"
               for r in rows)
    ids = [r[0] for r in rows]
    # One dispatch incident, one case, and a GNSS track on each.
    inc = site.sql("SELECT DISTINCT i.number FROM retention_cadlink l JOIN retention_cadincident i ON i.id = l.incident_id "
                   f"WHERE l.recording_id IN ({', '.join('?' * len(ids))})", *ids)
    assert inc == [("CAD-26-0917",)]
    case = site.sql("SELECT c.number FROM access_case_recordings cr JOIN access_case c ON c.id = cr.case_id "
                    f"WHERE cr.recording_id IN ({', '.join('?' * len(ids))})", *ids)
    assert [c[0] for c in case] == ["2026-000417"] * 3
    for rec_id in ids:
        assert site.sql("SELECT COUNT(*) FROM evidence_gnsspoint WHERE recording_id = ?", rec_id)[0][0] >= 5
    bookmarks = site.sql("SELECT text, tags FROM evidence_bookmark")
    assert any(t == "driver stepped out" and "ABC123" in str(tags) for t, tags in bookmarks)
    assert site.sql("SELECT COUNT(*) FROM evidence_recording WHERE trigger_on = 'Still'")[0][0] >= 1


def test_every_queue_has_work_and_the_pages_list_it(site):
    # Supervisor: uncategorized recordings of the squad (novak's call; the CAD import set the others).
    uncategorized = site.sql(
        "SELECT u.username FROM evidence_recording r JOIN evidence_officer o ON o.id = r.officer_id "
        "JOIN access_user u ON u.id = o.account_id JOIN access_squad s ON s.id = u.squad_id "
        "WHERE s.name = 'Patrol A' AND r.deleted_at IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM evidence_recording_categories rc WHERE rc.recording_id = r.id)")
    assert uncategorized
    # Records request: open, its deadline two days away.
    [(number, deadline, status)] = site.sql("SELECT number, deadline, status FROM records_recordsrequest")
    assert status == "open"
    days = (datetime.fromisoformat(str(deadline)).date() - datetime.now(timezone.utc).date()).days
    assert 0 < days <= 3
    assert site.sql("SELECT COUNT(*) FROM records_requestitem")[0][0] == 1
    assert site.sql("SELECT COUNT(*) FROM retention_deletionentry WHERE state = 'pending'")[0][0] >= 1
    assert site.sql("SELECT COUNT(*) FROM retention_legalhold_recordings")[0][0] >= 1
    assert site.sql("SELECT COUNT(*) FROM access_restriction")[0][0] == 1
    assert site.sql("SELECT COUNT(*) FROM access_criticalincidentlock WHERE released_at IS NULL")[0][0] == 1
    assert site.sql("SELECT COUNT(*) FROM retention_cadincident")[0][0] == 4
    assert site.sql("SELECT COUNT(*) FROM jobs_job WHERE kind IN ('media.transcribe', 'media.redact.analyze')")[0][0] == 3

    # The compliance report finds the late activation.
    rep = json.loads(site.cli("compliance", "--json").stdout)
    assert rep["totals"]["late"] >= 1 and rep["totals"]["required"] >= 4

    cust = sign_in(site, "custodian")
    assert number in cust.get(site.url + "/records/").text
    overview = cust.get(site.url + "/retention/").text
    assert "Civil claim 26-114" in overview
    sup = sign_in(site, "sgt.okafor")
    page = sup.get(site.url + "/retention/compliance/").text
    assert "novak" in page

    # The prosecutor sees the shared case and its three cameras, nothing else.
    pro = sign_in(site, "ada.park")
    assert "2026-000417" in pro.get(site.url + "/cases/").text
    case = pro.get(site.url + "/cases/2026-000417/")
    assert case.status_code == 200 and all(s in case.text for s in ("BWC-1001", "BWC-1002", "CAR-17"))
    seen = pro.get(site.url + "/api/evidence/").json()
    assert seen["total"] == 6  # the three cameras' clips (two each)
    # The officer locked out of their own use-of-force footage does not see it.
    silva = sign_in(site, "silva")
    assert silva.get(site.url + "/api/evidence/").json()["total"] == 0


# Each role's home page on the demo: the queues that must have work (issue 23's home pages).
HOMES = {
    "garcia": ["mine-untitled"],
    "sgt.okafor": ["squad-uncategorized", "squad-flagged", "review-sample", "compliance"],
    "det.muller": ["case-footage", "my-shares"],
    "custodian": ["records-due", "deletion-queue", "holds"],
    "ada.park": ["shared-cases", "shared-items"],
    "admin": ["locked-accounts"],
    "auditor": ["chain"],
}


def test_every_role_home_lists_its_work(site, browser):
    """Signing in lands on the home page; each role's queues have work on the demo, at 1280
    and 390 px without sideways scrolling; every queue's link opens (the search page's at
    390 px without sideways scrolling) and every row's link answers. Screenshots:
    test-artifacts/home/. Linked pages of other apps that are wider than 390 px are listed
    in test-artifacts/home/wide-pages.txt (their phone layout is not this page's)."""
    from .browser import ARTIFACTS
    from .browser import sign_in as browser_sign_in

    out = ARTIFACTS / "home"
    out.mkdir(parents=True, exist_ok=True)
    fits = "document.documentElement.scrollWidth <= window.innerWidth"
    problems, wide = [], []  # every page that fails, not only the first
    for user, busy in HOMES.items():
        ctx, page = browser_sign_in(browser, site, user, viewport=(1280, 800))
        assert page.url == site.url + "/" and "What needs doing" in page.content(), user
        for w, h in ((1280, 800), (390, 844)):
            page.set_viewport_size({"width": w, "height": h})
            page.goto(site.url + "/")
            for key in busy:
                queue = page.locator(f"#queue-{key}")
                assert int(queue.locator(".count .n").inner_text().rstrip("+")) > 0, (user, key)
                assert queue.locator(".rows li").count() > 0, (user, key)
            assert page.evaluate(fits), (user, w)
            page.screenshot(path=str(out / f"home-{user}-{w}.png"), full_page=True)
        if user == "auditor":
            assert "intact, witnessed" in page.locator("#queue-chain").inner_text()
        more = page.eval_on_selector_all("section.queue .more a", "els => els.map(e => e.getAttribute('href'))")
        rows = page.eval_on_selector_all("section.queue .rows a", "els => els.map(e => e.getAttribute('href'))")
        assert more, user
        for href in sorted(set(more)):
            if page.goto(site.url + href).status != 200:
                problems.append((user, href, "status"))
            elif not page.evaluate(fits):
                (problems if href.startswith("/evidence/") else wide).append((user, href, "wider than 390 px"))
        for href in sorted(set(rows) - set(more)):
            if page.request.get(site.url + href).status != 200:
                problems.append((user, href, "status"))
        ctx.close()
    (out / "wide-pages.txt").write_text("".join(f"{u} {h}\n" for u, h, _ in wide))
    assert not problems, problems


def test_background_jobs_find_faces_and_transcribe_both_languages(site):
    """A real worker (Celery, the default filesystem broker) runs the queued jobs."""
    worker = subprocess.Popen([sys.executable, "-m", "bodycam.cli", "worker", "--no-beat"], env=site.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 540
        while time.time() < deadline:
            jobs = site.sql("SELECT kind, status, error FROM jobs_job WHERE kind IN ('media.transcribe', "
                            "'media.redact.analyze')")
            if all(s in ("succeeded", "failed") for _, s, _ in jobs):
                break
            time.sleep(2)
        assert all(s == "succeeded" for _, s, _ in jobs), jobs
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()

    # Face analysis of the driver's clip: CenterFace found her (a face track in the plan).
    [(plan, status)] = site.sql("SELECT plan, status FROM media_redaction")
    plan = json.loads(plan) if isinstance(plan, str) else plan
    assert status == "review" and len(plan["tracks"]) >= 1, plan.get("tracks")
    # English: the key words; Spanish: detected, with an English machine translation.
    rows = site.sql("SELECT t.language, t.segments, tr.segments FROM media_transcript t "
                    "LEFT JOIN media_translation tr ON tr.transcript_id = t.id")
    by_lang = {lang: (json.loads(seg) if isinstance(seg, str) else seg,
                      json.loads(trs) if isinstance(trs, str) else trs) for lang, seg, trs in rows}
    assert set(by_lang) == {"en", "es"}, list(by_lang)
    english = normalise_words(" ".join(s["text"] for s in by_lang["en"][0]))
    assert set(demoscene.ENGLISH_KEYWORDS) <= set(english), english
    spanish = normalise_words(" ".join(s["text"] for s in by_lang["es"][0]))
    assert {"licencia", "señor"} & set(spanish), spanish
    translated = normalise_words(" ".join(s["text"] for s in by_lang["es"][1]))
    assert {"license", "licence", "driver", "driver's", "vehicle", "need"} & set(translated), translated


def test_loading_again_changes_nothing(site):
    before = counts(site)
    out = site.cli("demo", "--no-serve", "--small").stdout
    assert "demo data already loaded" in out
    assert counts(site) == before


# One page per role for the README's "Five-minute tour": (file, account, address, text the page shows).
TOUR = [
    ("tour-officer", "garcia", "/evidence/", "BWC-1001"),
    ("tour-supervisor", "sgt.okafor", "/retention/compliance/", "novak"),
    ("tour-detective", "det.muller", "/timeline/?case=2026-000417", "CAR-17"),
    ("tour-custodian", "custodian", "/records/{request}/", "Harbor Gazette"),
    ("tour-prosecutor", "ada.park", "/cases/2026-000417/", "2026-000417"),
    ("tour-admin", "admin", "/jobs/", "media.transcribe"),
    ("tour-auditor", "auditor", "/audit/?action=release.case_share", "release.case_share"),  # newest first: filter
]


def test_tour_pages_for_every_role(site, browser):
    """The README's screenshots, made from the demo data (after the worker ran the jobs):
    into test-artifacts, or into docs/img with TOUR_SCREENSHOTS=1
    (scripts/tour-screenshots.sh), as small palette PNGs."""
    import os
    from pathlib import Path

    from PIL import Image

    from .browser import ARTIFACTS
    from .browser import sign_in as browser_sign_in

    out = Path(__file__).resolve().parent.parent / "docs" / "img" if os.environ.get("TOUR_SCREENSHOTS") \
        else ARTIFACTS / "tour"
    out.mkdir(parents=True, exist_ok=True)
    request = site.sql("SELECT number FROM records_recordsrequest")[0][0]
    for name, user, path, shows in TOUR:
        ctx, page = browser_sign_in(browser, site, user, viewport=(1100, 700))
        page.goto(site.url + path.format(request=request))
        assert shows in page.content(), (user, path)
        png = out / f"{name}.png"
        page.screenshot(path=str(png))
        Image.open(png).convert("RGB").quantize(colors=64).save(png, optimize=True)
        ctx.close()
