"""Live view, fine-grained (Django test client, both engines): device-signed requests and
what they may store, the pages' permission and audit, the caps, command staff, positions as
the recording's metadata (linked when it is docked, gone at retention's purge).
The media path itself is tested end to end in test_live_view_live.py and the browser test."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Device, Officer
from bodycam.live.models import CommandStaff, LivePosition, LiveSession
from bodycam.provenance import signed_requests as sr
from bodycam.provenance.keys import load_or_create, public_b64

from .access_helpers import World, client_for, make_user

pytestmark = pytest.mark.django_db

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def site(tmp_path, settings):
    settings.LIVE_ENABLED = True
    w = World(tmp_path)
    key = load_or_create(tmp_path / "cam.key")
    Device.objects.create(serial="BWC-9", public_key=public_b64(key))
    officer = Officer.objects.get(account=w.officer)
    w.key, w.officer_row = key, officer
    w.container = f"{officer.axis_user_id}_BWC-9_{NOW:%Y%m%dT%H%M%SZ}"
    return w


def signed(client, key, method, path, body=b"", serial="BWC-9", content_type="application/json", **kw):
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in sr.sign(key, method, path, serial, body, **kw).items()}
    return client.generic(method, path, body, content_type=content_type, **headers)


def status(client, w, event, at=None, position=None, container=None, **extra):
    doc = {"event": event, "container": container or w.container, "at": (at or NOW).isoformat(), **extra}
    if position:
        doc["position"] = position
    return signed(client, w.key, "POST", "/live/v1/status", json.dumps(doc).encode())


def denied(action, actor=None):
    qs = AuditEntry.objects.filter(action=action, outcome="denied")
    return qs.filter(actor=actor) if actor else qs


def test_camera_announces_moves_asks_and_stops(site, client):
    w = site
    r = status(client, w, "start", position={"lat": 59.33, "lon": 18.06, "accuracy": 4}, trigger="SignalSiren")
    assert r.status_code == 200, r.content
    assert r.json()["video"] is True and r.json()["ice_servers"] == []
    s = LiveSession.objects.get()
    assert s.officer == w.officer_row and s.trigger == "SignalSiren" and s.ended_at is None
    for i in range(1, 4):
        assert status(client, w, "position", at=NOW + timedelta(seconds=10 * i),
                      position={"lat": 59.33 + i / 1000, "lon": 18.06}).status_code == 200
    assert status(client, w, "position", at=NOW + timedelta(seconds=45)).status_code == 200  # no fix: a heartbeat
    assert status(client, w, "watchme", at=NOW + timedelta(seconds=50)).status_code == 200
    assert status(client, w, "stop", at=NOW + timedelta(seconds=60), trigger="Button",
                  position={"lat": 59.34, "lon": 18.07}).status_code == 200
    s.refresh_from_db()
    assert s.ended_at == NOW + timedelta(seconds=60) and s.watchme_at == NOW + timedelta(seconds=50)
    assert list(LivePosition.objects.values_list("event", flat=True)) == ["start", "position", "position", "position",
                                                                           "stop"]
    actions = list(AuditEntry.objects.filter(action__startswith="live.").values_list("action", "actor"))
    assert actions == [("live.session.start", "device:BWC-9"), ("live.watchme", "device:BWC-9"),
                       ("live.session.stop", "device:BWC-9")]
    # after the stop nothing more is taken for this recording
    r = status(client, w, "position", at=NOW + timedelta(seconds=70), position={"lat": 1, "lon": 1})
    assert r.status_code == 409 and LivePosition.objects.count() == 5
    assert denied("live.device.refused", "device:BWC-9").count() == 1


def test_a_new_recording_ends_one_the_camera_never_stopped(site, client):
    w = site
    assert status(client, w, "start").status_code == 200
    later = NOW + timedelta(minutes=30)
    second = f"{w.officer_row.axis_user_id}_BWC-9_{later:%Y%m%dT%H%M%SZ}"
    assert status(client, w, "start", at=later, container=second).status_code == 200  # the battery died in between
    first = LiveSession.objects.get(container_name=w.container)
    assert first.ended_at == later and first.trigger_off == "Superseded"
    assert LiveSession.objects.get(container_name=second).ended_at is None
    assert AuditEntry.objects.filter(action="live.session.stop", object_id=str(first.id)).exists()


@pytest.mark.parametrize("change, reason", [
    ({"serial": "BWC-404"}, "unknown device"),
    ({"now": 0}, "clock"),
    ({"key": "other"}, "does not verify"),
])
def test_a_request_not_signed_by_the_registered_camera_is_refused_and_audited(site, client, tmp_path, change, reason):
    w = site
    key = load_or_create(tmp_path / "other.key") if change.get("key") else w.key
    body = json.dumps({"event": "start", "container": w.container, "at": NOW.isoformat()}).encode()
    kw = {"now": change["now"]} if "now" in change else {}
    r = signed(client, key, "POST", "/live/v1/status", body, serial=change.get("serial", "BWC-9"), **kw)
    assert r.status_code == 401 and reason in r.json()["error"]
    assert not LiveSession.objects.exists()
    assert denied("live.device.refused").count() == 1


def test_replay_and_tampering_are_refused(site, client):
    w = site
    body = json.dumps({"event": "start", "container": w.container, "at": NOW.isoformat()}).encode()
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in sr.sign(w.key, "POST", "/live/v1/status", "BWC-9",
                                                                            body).items()}
    assert client.generic("POST", "/live/v1/status", body, content_type="application/json", **headers).status_code == 200
    again = client.generic("POST", "/live/v1/status", body, content_type="application/json", **headers)
    assert again.status_code == 401 and "replayed" in again.json()["error"]
    fresh = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in sr.sign(w.key, "POST", "/live/v1/status", "BWC-9",
                                                                          body).items()}
    tampered = body.replace(b"start", b"stop\x20")
    assert client.generic("POST", "/live/v1/status", tampered, content_type="application/json",
                          **fresh).status_code == 401
    unsigned = client.post("/live/v1/status", body, content_type="application/json")
    assert unsigned.status_code == 401 and "not signed" in unsigned.json()["error"]


@pytest.mark.parametrize("doc, why", [
    ({"event": "dance"}, "'event'"),
    ({"at": "yesterday"}, "'at'"),
    ({"at": "2026-01-01T00:00:00"}, "time zone"),
    ({"position": {"lat": 91, "lon": 0}}, "out of range"),
    ({"position": {"lat": "north"}}, "lat and lon"),
    ({"container": "someone_BWC-1_20260101T000000Z"}, "not a recording of camera BWC-9"),
    ({"trigger": "x" * 65}, "'trigger'"),
])
def test_bad_status_is_400_with_a_reason_and_stores_nothing(site, client, doc, why):
    w = site
    base = {"event": "start", "container": w.container, "at": NOW.isoformat()}
    r = signed(client, w.key, "POST", "/live/v1/status", json.dumps({**base, **doc}).encode())
    assert r.status_code == 400 and why in r.json()["error"], r.content
    assert not LiveSession.objects.exists() and not LivePosition.objects.exists()
    assert denied("live.device.refused", "device:BWC-9").count() == 1
    r = signed(client, w.key, "POST", "/live/v1/status", b"[1, 2")
    assert r.status_code == 400


def test_site_without_live_view_refuses_cameras_and_says_so_on_the_page(site, client, settings):
    w = site
    settings.LIVE_ENABLED = False
    r = status(client, w, "start")
    assert r.status_code == 403 and "off at this site" in r.json()["error"] and not LiveSession.objects.exists()
    page = client_for(w.supervisor).get("/live/")
    assert page.status_code == 200 and "Live view is off at this site" in page.content.decode()


def test_publish_needs_an_announced_recording_and_respects_the_cap(site, client, settings):
    w = site
    path = f"/live/v1/publish?container={w.container}"
    r = signed(client, w.key, "POST", path, b"v=0\r\n", content_type="application/sdp")
    assert r.status_code == 409 and "send 'start' first" in r.json()["error"]
    assert status(client, w, "start").status_code == 200
    settings.LIVE_MAX_PUBLISHERS = 0
    r = signed(client, w.key, "POST", path, b"v=0\r\n", content_type="application/sdp")
    assert r.status_code == 503 and r["Retry-After"] == "10" and "BODYCAM_LIVE_MAX_PUBLISHERS" in r.json()["error"]
    settings.LIVE_MAX_PUBLISHERS = 5
    r = signed(client, w.key, "POST", path, b"this is not SDP", content_type="application/sdp")
    assert r.status_code == 400 and "offer" in r.json()["error"]
    assert [e.detail["status"] for e in denied("live.device.refused", "device:BWC-9").order_by("seq")] == [409, 503, 400]
    assert not AuditEntry.objects.filter(action="live.publish").exists()


def _on_air(w, client):
    assert status(client, w, "start", position={"lat": 59.33, "lon": 18.06}).status_code == 200
    return LiveSession.objects.get()


def test_who_may_see_the_air_and_watch(site, client):
    w = site
    s = _on_air(w, client)
    # the officer's supervisor: the page, the JSON, the player
    sup = client_for(w.supervisor)
    page = sup.get("/live/")
    assert page.status_code == 200 and "Officer" in page.content.decode() and f"/live/{s.id}/" in page.content.decode()
    assert [r["id"] for r in sup.get("/live/onair.json").json()["sessions"]] == [str(s.id)]
    assert sup.get(f"/live/{s.id}/").status_code == 200
    assert AuditEntry.objects.filter(action="live.onair.view", actor=w.supervisor.username, outcome="ok").count() == 2
    # every other role: no page, no player, refused and audited; never the public
    for role, user in w.users.items():
        if role == "supervisor":
            continue
        c = client_for(user)
        before = denied("live.onair.view", user.username).count()
        assert c.get("/live/").status_code == 403, role
        assert c.get("/live/onair.json").status_code == 403, role
        assert denied("live.onair.view", user.username).count() == before + 2
        assert c.get(f"/live/{s.id}/").status_code == 403, role
        r = c.post(f"/live/{s.id}/watch", {"sdp": "v=0"}, content_type="application/json",
                   HTTP_X_CSRFTOKEN=c.cookies["csrftoken"].value)
        assert r.status_code == 403, role
        assert denied("live.watch", user.username).count() == 2, role
    from django.test import Client

    anonymous = Client()
    assert anonymous.get("/live/").status_code == 302 and anonymous.get(f"/live/{s.id}/").status_code == 302
    assert anonymous.get("/live/onair.json").status_code in (401, 403)
    # a supervisor of another squad sees nobody, and may not watch this officer
    other = make_user("sgt.b", "supervisor")
    w.squad_b.supervisors.add(other)
    oc = client_for(other)
    assert oc.get("/live/onair.json").json() == {"sessions": []}
    assert "Nobody you may watch is recording now" in oc.get("/live/").content.decode()
    assert oc.get(f"/live/{s.id}/").status_code == 403 and denied("live.watch", "sgt.b").count() == 1
    assert oc.get(f"/live/{uuid.uuid4()}/").status_code == 404 and oc.get("/live/nope/").status_code == 404


def test_watch_asks_for_an_offer_and_ends_with_the_recording(site, client):
    w = site
    s = _on_air(w, client)
    sup = client_for(w.supervisor)
    csrf = {"HTTP_X_CSRFTOKEN": sup.cookies["csrftoken"].value}
    r = sup.post(f"/live/{s.id}/watch", "[1]", content_type="application/json", **csrf)
    assert r.status_code == 400 and "JSON object" in r.json()["error"]
    r = sup.post(f"/live/{s.id}/watch", {"sdp": ""}, content_type="application/json", **csrf)
    assert r.status_code == 400 and "SDP offer" in r.json()["error"]
    r = sup.post(f"/live/{s.id}/watch", {"sdp": "v=0"}, content_type="application/json", **csrf)
    assert r.status_code == 409 and "not sending video" in r.json()["error"]  # no video published yet
    assert status(client, w, "stop").status_code == 200
    r = sup.post(f"/live/{s.id}/watch", {"sdp": "v=0"}, content_type="application/json", **csrf)
    assert r.status_code == 409 and "stopped" in r.json()["error"]
    assert denied("live.watch", w.supervisor.username).count() == 4
    assert sup.get("/live/onair.json").json() == {"sessions": []}


def test_command_staff_watch_every_officer_set_by_an_administrator_only(site, client, capsys):
    from bodycam.cli import main

    w = site
    s = _on_air(w, client)
    chief = make_user("chief", "supervisor")  # supervises no squad
    cc = client_for(chief)
    assert cc.get("/live/onair.json").json() == {"sessions": []}
    assert cc.get(f"/live/{s.id}/").status_code == 403
    assert main(["live", "command-staff", "--add", "chief"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["username"] == "chief"
    assert [r["id"] for r in cc.get("/live/onair.json").json()["sessions"]] == [str(s.id)]
    assert cc.get(f"/live/{s.id}/").status_code == 200
    entry = AuditEntry.objects.get(action="live.command_staff.add")
    assert entry.actor == "cli" and entry.detail["username"] == "chief"
    # only supervisors; nobody changes their own privileges
    assert main(["live", "command-staff", "--add", w.custodian.username]) != 0
    from bodycam.errors import BadInput
    from bodycam.live.services import set_command_staff

    with pytest.raises(BadInput, match="own privileges"):
        set_command_staff("chief", False, actor="chief")
    assert main(["live", "command-staff", "--remove", "chief"]) == 0
    assert not CommandStaff.objects.exists() and cc.get(f"/live/{s.id}/").status_code == 403
    assert AuditEntry.objects.filter(action="live.command_staff.remove").count() == 1


def test_onair_page_highlights_watch_me_and_allows_the_agency_tile_server(site, client, settings):
    w = site
    _on_air(w, client)
    assert status(client, w, "watchme", at=NOW + timedelta(seconds=5),
                  position={"lat": 59.331, "lon": 18.061}).status_code == 200
    sup = client_for(w.supervisor)
    html = sup.get("/live/").content.decode()
    assert 'class="watchme"' in html and "Watch me" in html and "59.33100, 18.06100" in html
    assert "<script>" not in html and "onclick" not in html
    csp = sup.get("/live/")["Content-Security-Policy"]
    assert "img-src 'self';" in csp
    settings.LIVE_TILE_URL = "https://tiles.example.org/osm/{z}/{x}/{y}.png"
    r = sup.get("/live/")
    assert "img-src 'self' https://tiles.example.org;" in r["Content-Security-Policy"]
    assert 'data-tiles="https://tiles.example.org/osm/{z}/{x}/{y}.png"' in r.content.decode()


def test_positions_become_the_recordings_and_go_with_it_at_purge(site, client, tmp_path):
    from bodycam.evidence.defaults import ensure_default_categories
    from bodycam.evidence.models import Recording
    from bodycam.media.synth import make_clip
    from bodycam.retention import services as ret

    from .retention_helpers import ingest

    w = site
    ensure_default_categories()
    s = _on_air(w, client)
    assert status(client, w, "stop", position={"lat": 59.34, "lon": 18.07}).status_code == 200
    assert LivePosition.objects.filter(recording__isnull=True).count() == 2
    rec = ingest(w.officer_row, Device.objects.get(serial="BWC-9"), NOW, make_clip(str(tmp_path / "a.mp4"), seconds=1))
    assert rec.container_name == w.container
    s.refresh_from_db()
    assert s.recording == rec and LivePosition.objects.filter(recording=rec).count() == 2
    Recording.objects.filter(pk=rec.pk).update(trigger_on_time=NOW - timedelta(days=3650))
    ret.sweep(now=NOW)
    ret.sweep(now=NOW + timedelta(days=400))
    rec.refresh_from_db()
    assert rec.purged_at is not None
    assert not LivePosition.objects.exists()
