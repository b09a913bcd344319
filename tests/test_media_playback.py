"""Playback derivatives: the proxy (H.264, faststart) and thumbnail job, in/out excerpts,
and streaming them with HTTP Range, all through the access check and audited."""

import hashlib
import json

import av
import pytest

from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Officer
from bodycam.jobs.models import Job
from bodycam.jobs.services import submit
from bodycam.media.models import Derivative
from bodycam.storage import get_store

from .access_helpers import client_for, ingest_clip_for, make_user

pytestmark = pytest.mark.django_db


def _blob(sha):
    with get_store().open(sha) as f:
        return f.read()


def test_ingest_queues_proxy_and_thumbnail_made_idempotently(tmp_path, settings):
    settings.JOBS_INLINE = True  # the job the ingest hook submits runs right away
    off = make_user("o1", "officer")
    clip = ingest_clip_for(Officer.objects.get(account=off), tmp_path, seconds=2)
    proxy = Derivative.objects.get(clip=clip, kind="proxy")
    thumb = Derivative.objects.get(clip=clip, kind="thumbnail")
    assert proxy.parent_sha256 == thumb.parent_sha256 == clip.sha256
    data = _blob(proxy.sha256)
    assert hashlib.sha256(data).hexdigest() == proxy.sha256 and len(data) == proxy.size
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: index first, seekable at once
    with av.open(get_store().local_path(proxy.sha256)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert abs(c.duration / 1e6 - clip.duration_s) < 0.3
    assert _blob(thumb.sha256)[:2] == b"\xff\xd8" and thumb.content_type == "image/jpeg"
    job = Job.objects.get(kind="media.playback", object_id=str(clip.id))
    assert job.status == Job.Status.SUCCEEDED
    # Running it again makes nothing new; the original is untouched.
    again = submit("media.playback", params={"clip_id": str(clip.id)}, inline=True)
    assert again.status == Job.Status.SUCCEEDED and again.result == job.result
    assert Derivative.objects.filter(clip=clip).count() == 2
    assert get_store().rehash(clip.sha256) == clip.sha256
    assert AuditEntry.objects.filter(action="media.derivative.proxy", object_id=str(clip.id)).count() == 1


def test_ingest_hook_can_be_turned_off(tmp_path, settings):
    settings.JOBS_INLINE = True
    settings.MEDIA_AUTO_PLAYBACK = False
    off = make_user("o2", "officer")
    clip = ingest_clip_for(Officer.objects.get(account=off), tmp_path)
    assert not Derivative.objects.filter(clip=clip).exists() and not Job.objects.exists()


def test_excerpt_range_streaming_and_audit(tmp_path, settings):
    settings.JOBS_INLINE = True
    off = make_user("o3", "officer")
    other = make_user("o4", "officer")
    clip = ingest_clip_for(Officer.objects.get(account=off), tmp_path, seconds=3)
    c = client_for(off)
    csrf = {"HTTP_X_CSRFTOKEN": c.cookies["csrftoken"].value}

    # Range playback of the proxy: 206 with Content-Range; audited once, at byte 0.
    before = AuditEntry.objects.filter(action="evidence.play").count()
    r = c.get(f"/api/evidence/{clip.id}/proxy", HTTP_RANGE="bytes=0-99")
    assert r.status_code == 206 and r["Content-Range"].startswith("bytes 0-99/") and len(b"".join(r)) == 100
    r = c.get(f"/api/evidence/{clip.id}/proxy", HTTP_RANGE="bytes=100-")
    assert r.status_code == 206
    assert AuditEntry.objects.filter(action="evidence.play").count() == before + 1
    # A client that never asks for byte 0 (bytes=1-, or a suffix as long as the file) still
    # starts a playback: audited once per session, then its seeks are not.
    for path in (f"/api/evidence/{clip.id}/stream", f"/api/evidence/{clip.id}/proxy"):
        session = c.session  # as a new session would be (a sign-in each costs a TOTP step)
        session.pop("playback_started", None)
        session.save()
        for rng in ("bytes=-999999999", "bytes=1-", "bytes=50-"):
            assert c.get(path, HTTP_RANGE=rng).status_code == 206
        plays = AuditEntry.objects.filter(action="evidence.play", actor="o3").order_by("-seq")
        assert plays.count() == before + 2 + (path.endswith("proxy")), path
        assert plays.first().detail["range"] == "bytes=-999999999"
    assert c.get(f"/api/evidence/{clip.id}/proxy", HTTP_RANGE="bytes=999999999-").status_code == 416
    assert c.get(f"/api/evidence/{clip.id}/thumbnail.jpg").status_code == 200
    assert client_for(other).get(f"/api/evidence/{clip.id}/proxy").status_code == 404

    # In/out clip: a job that makes a new derivative naming the original's hash.
    r = c.post(f"/api/evidence/{clip.id}/excerpts", json.dumps({"in": 0.5, "out": 2.0}),
               content_type="application/json", **csrf)
    assert r.status_code == 202 and r.json()["status"] == "succeeded", r.content
    d = Derivative.objects.get(clip=clip, kind="clip")
    assert d.parent_sha256 == clip.sha256 and d.params["in"] == 0.5 and d.params["out"] == 2.0
    assert d.created_by == off
    with av.open(get_store().local_path(d.sha256)) as f:
        assert abs(f.duration / 1e6 - 1.5) < 0.25
    r = c.get(f"/api/evidence/{clip.id}/derivatives/{d.id}", HTTP_RANGE="bytes=0-9")
    assert r.status_code == 206
    job = Job.objects.get(kind="media.excerpt")
    assert c.get(f"/api/jobs/{job.id}").json()["progress"] == 1.0
    assert client_for(other).get(f"/api/jobs/{job.id}").status_code == 404  # only your own jobs
    # Bad in/out points: 400, no job, nothing made.
    for body in ({"in": 2, "out": 1}, {"in": "x", "out": 1}, {"in": 0, "out": 99}, []):
        r = c.post(f"/api/evidence/{clip.id}/excerpts", json.dumps(body), content_type="application/json", **csrf)
        assert r.status_code == 400 and "error" in r.json()
    assert Job.objects.filter(kind="media.excerpt").count() == 1
    # An officer may not download (role), even an excerpt of their own footage.
    assert c.get(f"/api/evidence/{clip.id}/derivatives/{d.id}?download=1").status_code == 403
    # The item page offers the proxy and the excerpt; not the original to an officer, who may
    # not download it (their /stream plays the proxy too).
    page = c.get(f"/evidence/{clip.id}/").content.decode()
    assert f"/api/evidence/{clip.id}/proxy" in page and f"/api/evidence/{clip.id}/stream" not in page
    assert f"/derivatives/{d.id}" in page
