"""Issue 20, access rules: nobody changes their own privileges (item 2), a person without the
download right never receives an original's bytes (item 3), officers may add categories but
never remove one or shorten retention (item 4), and a CSRF refusal on an API write names the
session's user (item 16). Real sign-in (password + TOTP) and the real views, both engines."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client

from bodycam.access.auth import AccountDenied, reset_mfa
from bodycam.access.models import TotpDevice, User
from bodycam.custody.models import AuditEntry

from .access_helpers import PASSWORD, World, client_for, current_code, make_user

pytestmark = pytest.mark.django_db


def _csrf(client) -> dict:
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


def _post_json(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json", **_csrf(client))


def _new(**filters):
    return AuditEntry.objects.filter(**filters)


# ---------------------------------------------------------------- item 2: one's own account
def test_admin_cannot_promote_themselves_and_the_refusal_is_audited(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    before = AuditEntry.objects.count()
    r = _post_json(adm, "/api/users/adm/role", {"role": "custodian", "reason": "I need to see everything"})
    assert r.status_code == 403 and "own" in r.json()["error"]
    assert User.objects.get(pk=w.admin.pk).role == "admin"
    denied = _new(seq__gt=before, action="account.role_change", actor="adm", outcome="denied")
    assert denied.count() == 1 and denied.get().object_id == str(w.admin.id)
    assert not _new(seq__gt=before, action="account.role_change", outcome="ok").exists()
    # ...so the admin still sees no evidence (docs: admins never see footage unless granted).
    assert adm.get("/api/evidence/").json()["total"] == 0
    assert adm.get(f"/api/evidence/{w.clip.id}/").status_code == 404
    # By id as well as by name: it is the account that counts, not how it is named.
    r = _post_json(adm, f"/api/users/{w.admin.id}/role", {"role": "custodian", "reason": "x"})
    assert r.status_code == 403 and User.objects.get(pk=w.admin.pk).role == "admin"


def test_admin_cannot_unlock_themselves_or_reset_their_own_mfa(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    before = AuditEntry.objects.count()
    r = adm.post("/api/users/adm/unlock", **_csrf(adm))
    assert r.status_code == 403
    assert _new(seq__gt=before, action="account.unlock", actor="adm", outcome="denied").count() == 1
    assert not _new(seq__gt=before, action="account.unlock", outcome="ok").exists()
    # The service refuses it whoever calls it (pages, API, a future endpoint).
    with pytest.raises(AccountDenied):
        reset_mfa(w.admin, actor=w.admin, source="test")
    assert TotpDevice.objects.filter(user=w.admin, confirmed_at__isnull=False).exists()
    assert _new(action="account.mfa_reset", actor="adm", outcome="denied").count() == 1
    # Another admin may do both (audited, ok).
    other = make_user("adm2", "admin")
    reset_mfa(w.admin, actor=other, source="test")
    assert not TotpDevice.objects.filter(user=w.admin).exists()
    assert _new(action="account.mfa_reset", actor="adm2", outcome="ok").count() == 1


def test_every_role_change_states_a_reason_which_is_audited(tmp_path):
    w = World(tmp_path)
    adm = client_for(w.admin)
    for body in ({"role": "detective"}, {"role": "detective", "reason": "   "}, {"role": "detective", "reason": 7},
                 {"role": "detective", "reason": "x" * 501}):
        r = _post_json(adm, "/api/users/off.b/role", body)
        assert r.status_code == 400 and "reason" in r.json()["error"], body
        assert User.objects.get(pk=w.other_officer.pk).role == "officer"
    assert _new(action="account.role_change", actor="adm", outcome="denied").count() == 4
    r = _post_json(adm, "/api/users/off.b/role", {"role": "detective", "reason": "transfer to CID, memo 2026-14"})
    assert r.status_code == 200 and r.json()["role"] == "detective"
    e = _new(action="account.role_change", outcome="ok").get()
    assert e.actor == "adm" and e.detail["reason"] == "transfer to CID, memo 2026-14"
    assert (e.detail["before"], e.detail["after"]) == ({"role": "officer"}, {"role": "detective"})


def test_users_page_refuses_own_role_and_asks_for_a_reason(tmp_path):
    # The Accounts pages (issue 24): the role form moved from the list to each account's page.
    w = World(tmp_path)
    adm = client_for(w.admin)
    page = adm.get("/users/off.b/").content.decode()
    assert 'name="reason"' in page and page.count('class="inline role-form"') == 1
    # No role form on one's own account page.
    assert 'role-form' not in adm.get("/users/adm/").content.decode()
    r = adm.post("/users/adm/role", {"role": "custodian", "reason": "because"})
    assert r.status_code == 403 and User.objects.get(pk=w.admin.pk).role == "admin"
    r = adm.post("/users/off.b/role", {"role": "supervisor"})
    assert r.status_code == 400 and User.objects.get(pk=w.other_officer.pk).role == "officer"
    r = adm.post("/users/off.b/role", {"role": "supervisor", "reason": "promoted"})
    assert r.status_code == 302 and User.objects.get(pk=w.other_officer.pk).role == "supervisor"
    assert _new(action="account.role_change", outcome="ok", actor="adm").get().detail["reason"] == "promoted"
    User.objects.filter(pk=w.admin.pk).update(locked_at=None)
    r = adm.post("/users/adm/unlock")
    assert r.status_code == 403


def test_cli_role_change_needs_a_reason(tmp_path, capsys):
    from bodycam.cli import main

    w = World(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["user", "set-role", "off.b", "detective"])
    assert exc.value.code == 2 and "--reason" in capsys.readouterr().err
    assert User.objects.get(pk=w.other_officer.pk).role == "officer"
    assert main(["user", "set-role", "off.b", "detective", "--reason", " "]) == 2
    assert User.objects.get(pk=w.other_officer.pk).role == "officer"
    assert main(["user", "set-role", "off.b", "detective", "--reason", "transfer to CID"]) == 0
    e = _new(action="account.role_change", outcome="ok").get()
    assert e.actor == "cli" and e.detail["reason"] == "transfer to CID"


# ---------------------------------------------------------------- item 16: CSRF refusal on the API
def test_csrf_refusal_on_an_api_write_names_the_sessions_user():
    user = make_user("cust", "custodian")
    c = Client(enforce_csrf_checks=True)
    c.get("/login/")
    r = c.post("/login/", {"username": "cust", "password": PASSWORD, "acknowledge": "yes",
                           "csrfmiddlewaretoken": c.cookies["csrftoken"].value})
    assert r.status_code == 302
    c.post("/mfa/", {"code": current_code(user), "csrfmiddlewaretoken": c.cookies["csrftoken"].value})
    before = AuditEntry.objects.count()
    r = c.post("/api/audit/checkpoint")  # session cookie, no X-CSRFToken
    assert r.status_code == 403 and "CSRF" in r.json()["error"]
    rows = list(_new(seq__gt=before))
    assert [(e.action, e.actor, e.outcome) for e in rows] == [("security.csrf_rejected", "cust", "denied")], \
        [(e.action, e.actor) for e in rows]
    assert rows[0].detail["session"] and rows[0].detail["path"] == "/api/audit/checkpoint"
    # A request with no session at all is still anonymous (and still one entry).
    before = AuditEntry.objects.count()
    assert Client(enforce_csrf_checks=True).post("/api/audit/checkpoint").status_code in (401, 403)
    assert [e.actor for e in _new(seq__gt=before)] == ["anonymous"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- item 4: categories and retention
def _cats(clip) -> list[str]:
    return sorted(clip.recording.categories.values_list("name", flat=True))


def _days(clip):
    from bodycam.retention.services import retention_info

    return retention_info(clip.recording)["retention_days"]


def _patch(client, clip, body):
    return client.patch(f"/api/evidence/{clip.id}/", json.dumps(body), content_type="application/json",
                        **_csrf(client))


@pytest.fixture
def cat_world(tmp_path):
    from bodycam.evidence.defaults import ensure_default_categories
    from bodycam.evidence.models import Category

    ensure_default_categories()
    w = World(tmp_path)
    w.clip.recording.categories.add(Category.objects.get(name="Traffic stop"))  # 730 days
    return w


def test_officer_cannot_replace_a_category_to_shorten_retention(cat_world):
    w = cat_world
    off = client_for(w.officer)
    assert _days(w.clip) == 730
    before = AuditEntry.objects.count()
    # The probe's request: "Traffic stop" (730 days) replaced by "Non-evidentiary" (365).
    r = _patch(off, w.clip, {"categories": ["Non-evidentiary"]})
    assert r.status_code == 403 and "supervisor or custodian" in r.json()["error"]
    assert _cats(w.clip) == ["Traffic stop"] and _days(w.clip) == 730
    denied = _new(seq__gt=before, action="evidence.edit", outcome="denied", actor="off.a")
    assert denied.count() == 1 and "Traffic stop" in denied.get().detail["reason"]
    assert not _new(seq__gt=before, action="evidence.edit", outcome="ok").exists()
    # Removing one even where retention grows (Arrest: 1095 days) is still a removal; so is
    # removing every category, with or without a reason.
    for body in ({"categories": ["Arrest"]}, {"categories": []}, {"categories": [], "reason": "mistake"}):
        assert _patch(off, w.clip, body).status_code == 403, body
    assert _cats(w.clip) == ["Traffic stop"]
    # Adding is the officer's to do (retention can only grow), audited with the change.
    r = _patch(off, w.clip, {"categories": ["Traffic stop", "Arrest"], "note": "suspect arrested"})
    assert r.status_code == 200 and r.json()["categories"] == ["Arrest", "Traffic stop"]
    assert _days(w.clip) == 1095
    e = _new(action="evidence.edit", outcome="ok", actor="off.a").get()
    assert e.detail["added"] == ["Arrest"] and e.detail["removed"] == []
    assert (e.detail["before"]["retention_days"], e.detail["after"]["retention_days"]) == (730, 1095)


def test_adding_a_shorter_category_to_uncategorized_footage_is_a_shortening(cat_world):
    from bodycam.evidence.models import Category

    w = cat_world
    Category.objects.filter(name="Non-evidentiary").update(retention_days=90)
    off = client_for(w.other_officer)  # officer B's clip has no category: Uncategorized, 365 days
    assert _days(w.other_clip) == 365
    r = _patch(off, w.other_clip, {"categories": ["Non-evidentiary"]})
    assert r.status_code == 403 and _cats(w.other_clip) == [] and _days(w.other_clip) == 365
    assert _new(action="evidence.edit", outcome="denied", actor="off.b").get().detail["reason"].endswith(
        "shorten retention")
    assert _patch(off, w.other_clip, {"categories": ["Arrest"]}).status_code == 200
    # The search page's bulk action adds only, and with the same rule, item by item (issue 23:
    # confirmed first, then per item with a summary, not all or nothing).
    cust = client_for(w.custodian)
    before = AuditEntry.objects.count()
    r = off.post("/evidence/bulk", {"clip": [str(w.other_clip.id)], "action": "categorize", "category": "Citation",
                                    "confirm": "yes"})
    assert r.status_code == 200 and _cats(w.other_clip) == ["Arrest", "Citation"]
    w.clip.recording.categories.clear()  # officer A's item: uncategorized again (365 days)
    # A custodian's bulk add that would shorten one item's retention (365 -> 90 days): the bulk
    # form carries no reason, so that item is refused (the reason shown, audited); the item it
    # would not shorten changes.
    r = cust.post("/evidence/bulk", {"clip": [str(w.other_clip.id), str(w.clip.id)], "action": "categorize",
                                     "category": "Non-evidentiary", "confirm": "yes"})
    assert r.status_code == 200 and "reason" in r.content.decode() and 'id="n-refused">1<' in r.content.decode()
    assert _cats(w.clip) == [] and _cats(w.other_clip) == ["Arrest", "Citation", "Non-evidentiary"]
    assert _days(w.clip) == 365
    denied = _new(seq__gt=before, action="evidence.edit", outcome="denied", actor="cust")
    assert denied.count() == 1  # the refusal is kept


def test_supervisor_and_custodian_remove_with_a_reason_detectives_do_not(cat_world):
    w = cat_world
    det, sgt = client_for(w.detective), client_for(w.supervisor)
    assert _patch(det, w.clip, {"categories": [], "reason": "not a traffic stop"}).status_code == 403
    for body in ({"categories": ["Non-evidentiary"]}, {"categories": ["Non-evidentiary"], "reason": " "},
                 {"categories": ["Non-evidentiary"], "reason": ["x"]}):
        r = _patch(sgt, w.clip, body)
        assert r.status_code == 400 and "reason" in r.json()["error"], body
        assert _cats(w.clip) == ["Traffic stop"]
    assert _new(action="evidence.edit", outcome="denied", actor="sgt").count() == 1  # the missing one (others: bad input)
    r = _patch(sgt, w.clip, {"categories": ["Non-evidentiary"], "reason": "CAD shows a welfare check, no stop"})
    assert r.status_code == 200 and _cats(w.clip) == ["Non-evidentiary"] and _days(w.clip) == 365
    e = _new(action="evidence.edit", outcome="ok", actor="sgt").get()
    assert e.detail["reason"] == "CAD shows a welfare check, no stop"
    assert e.detail["removed"] == ["Traffic stop"] and e.detail["shortens_retention"]
    assert (e.detail["before"]["retention_days"], e.detail["after"]["retention_days"]) == (730, 365)


def test_item_page_category_forms_follow_the_rule(cat_world):
    w = cat_world
    off, sgt = client_for(w.officer), client_for(w.supervisor)
    url = f"/evidence/{w.clip.id}/"
    page = off.get(url).content.decode()
    assert 'id="category-add"' in page and 'id="category-remove"' not in page
    r = off.post(url, {"action": "remove_category", "category": "Traffic stop", "reason": "wrong"})
    assert r.status_code == 403 and _cats(w.clip) == ["Traffic stop"]
    r = off.post(url, {"action": "add_category", "category": "Citation"})
    assert r.status_code == 302 and _cats(w.clip) == ["Citation", "Traffic stop"]
    page = sgt.get(url).content.decode()
    assert 'id="category-remove"' in page and 'name="reason"' in page
    r = sgt.post(url, {"action": "remove_category", "category": "Citation", "reason": ""})
    assert r.status_code == 400 and _cats(w.clip) == ["Citation", "Traffic stop"]
    r = sgt.post(url, {"action": "remove_category", "category": "Citation", "reason": "no citation was issued"})
    assert r.status_code == 302 and _cats(w.clip) == ["Traffic stop"]
    e = _new(action="evidence.edit", outcome="ok", actor="sgt").get()
    assert e.detail["reason"] == "no citation was issued" and e.detail["removed"] == ["Citation"]


# ---------------------------------------------------------------- item 3: the original's bytes
def _blob(sha: str) -> bytes:
    from bodycam.storage import get_store

    with get_store().open(sha) as f:
        return f.read()


def _body(r) -> bytes:
    return b"".join(r.streaming_content) if r.streaming else r.content


def _make_proxy(clip):
    from bodycam.jobs.services import submit
    from bodycam.media.models import Derivative

    submit("media.playback", params={"clip_id": str(clip.id)}, inline=True)  # real transcoding (PyAV)
    return Derivative.objects.get(clip=clip, kind="proxy")


def _view_only(w):
    from bodycam.release.models import Share

    Share.objects.filter(recipient=w.prosecutor).update(allow_download=False)


def _reassemble(client, url, size_hint: int) -> tuple[bytes, set]:
    """Five Range requests over the whole file, as the probe did."""
    step = size_hint // 5 + 1
    parts, totals = [], set()
    for i in range(5):
        r = client.get(url, HTTP_RANGE=f"bytes={i * step}-{(i + 1) * step - 1}")
        assert r.status_code == 206, r.status_code
        totals.add(r["Content-Range"].rsplit("/", 1)[1])
        parts.append(_body(r))
    return b"".join(parts), totals


def test_stream_never_gives_the_original_to_those_without_the_download_right(tmp_path):
    w = World(tmp_path)
    _view_only(w)
    original = _blob(w.clip.sha256)
    proxy = _make_proxy(w.clip)
    proxy_bytes = _blob(proxy.sha256)
    assert proxy_bytes != original
    url = f"/api/evidence/{w.clip.id}/stream"
    for who in (w.officer, w.supervisor, w.prosecutor):
        c = client_for(who)
        assert c.get(f"/api/evidence/{w.clip.id}/download").status_code == 403
        before = AuditEntry.objects.count()
        r = c.get(url)  # no Range: the whole file, which is the proxy
        body = _body(r)
        assert r.status_code == 200 and r["Content-Type"] == "video/mp4", who.username
        assert body == proxy_bytes and _sha(body) != w.clip.sha256, who.username
        # Range requests reassemble the proxy, never the original.
        joined, totals = _reassemble(c, url, len(original))
        assert joined == proxy_bytes and totals == {str(proxy.size)}, who.username
        plays = _new(seq__gt=before, action="evidence.play", actor=who.username)
        # Playback stays audited: at each start (the whole file, then the range from byte 0), not each seek.
        assert [(e.detail["rendition"], e.detail["derivative_sha256"]) for e in plays] == [("proxy", proxy.sha256)] * 2
    # Those who may download it still get the original, whole or in ranges.
    for who in (w.detective, w.custodian):
        c = client_for(who)
        assert _body(c.get(url)) == original
        joined, totals = _reassemble(c, url, len(original))
        assert joined == original and totals == {str(w.clip.size)}
    # A prosecutor whose share allows download gets the original too.
    from bodycam.release.models import Share

    Share.objects.filter(recipient=w.prosecutor).update(allow_download=True)
    assert _body(client_for(w.prosecutor).get(url)) == original


def test_no_proxy_yet_answers_503_preview_not_ready_never_the_original(tmp_path):
    w = World(tmp_path)  # jobs go to workers (none here): the ingest's playback job stays queued
    _view_only(w)
    url = f"/api/evidence/{w.clip.id}/stream"
    for who in (w.officer, w.prosecutor):
        c = client_for(who)
        for rng in (None, "bytes=0-", "bytes=0-99", "bytes=100-"):
            r = c.get(url, HTTP_RANGE=rng) if rng else c.get(url)
            assert r.status_code == 503 and "preview not ready" in r.json()["error"], (who.username, rng)
            assert int(r["Retry-After"]) > 0
        failed = _new(action="evidence.play", actor=who.username, outcome="failed")
        assert failed.count() == 4 and failed.first().detail["status"] == 503
        assert not _new(action="evidence.play", actor=who.username, outcome="ok").exists()
    # The item page still plays for the officer: no "Play the original", and says the copy is coming.
    page = client_for(w.officer).get(f"/evidence/{w.clip.id}/").content.decode()
    assert 'id="toggle-original"' not in page and 'id="preview-pending"' in page
    assert 'data-original=""' in page
    # The detective (may download) plays the original meanwhile.
    det = client_for(w.detective)
    assert det.get(url, HTTP_RANGE="bytes=0-99").status_code == 206
    assert 'data-original="/api/evidence/' in det.get(f"/evidence/{w.clip.id}/").content.decode()


def test_proxy_made_on_demand_where_jobs_run_inline(tmp_path, settings):
    settings.MEDIA_AUTO_PLAYBACK = False  # no proxy job at ingest
    w = World(tmp_path)
    settings.JOBS_INLINE = True
    from bodycam.jobs.models import Job
    from bodycam.media.models import Derivative

    assert not Derivative.objects.exists() and not Job.objects.exists()
    off = client_for(w.officer)
    r = off.get(f"/api/evidence/{w.clip.id}/stream")
    proxy = Derivative.objects.get(clip=w.clip, kind="proxy")
    assert r.status_code == 200 and _body(r) == _blob(proxy.sha256) != _blob(w.clip.sha256)
    job = Job.objects.get(kind="media.proxy")
    assert job.status == Job.Status.SUCCEEDED and job.created_by == w.officer
    # A second play reuses it; the page now plays the proxy and still offers no original.
    assert _body(off.get(f"/api/evidence/{w.clip.id}/stream")) == _blob(proxy.sha256)
    assert Job.objects.count() == 1
    page = off.get(f"/evidence/{w.clip.id}/").content.decode()
    assert f'src="/api/evidence/{w.clip.id}/proxy"' in page and "toggle-original" not in page


def test_view_only_link_never_gets_the_original(tmp_path):
    from bodycam.media.models import Derivative
    from bodycam.release.models import ShareLink

    w = World(tmp_path)
    det = client_for(w.detective)
    for allow in (False, True):
        r = _post_json(det, f"/api/evidence/{w.clip.id}/links", {"days": 1, "allow_download": allow})
        assert r.status_code == 201
        anon = Client()
        base = anon.get(r.json()["url"].replace("http://testserver", ""))["Location"]
        link = ShareLink.objects.get(allow_download=allow)
        m = anon.get(f"{base}media/{w.clip.id}", HTTP_RANGE="bytes=0-")
        if allow:  # view + download: the original may be played while there is no proxy
            assert m.status_code == 206 and _body(m) == _blob(w.clip.sha256)
        else:
            assert m.status_code == 503 and int(m["Retry-After"]) > 0
            assert _new(actor=f"link:{link.id}", action="evidence.play", outcome="failed").count() == 1
    assert not Derivative.objects.exists()

