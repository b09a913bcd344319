"""Redaction on real media: a clip built from a real photograph (scikit-image's astronaut)
with faces moving across the frame. After the reviewed plan is rendered, CenterFace finds
no face in any output frame (at a lower threshold than the redaction used); the original's
hash is unchanged; muted ranges are silent; the C2PA manifest validates and names the
original as parent, and flipping one byte makes validation fail."""

import hashlib
import json
import subprocess
import sys

import av
import pytest

from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Officer
from bodycam.media import c2pa_sign, facesynth, redact
from bodycam.media.models import Derivative, Redaction
from bodycam.storage import get_store

from .access_helpers import World, client_for
from .media_helpers import audio_rms, ingest_file

pytestmark = pytest.mark.django_db


def _api(c, method, url, body=None):
    fn = getattr(c, method)
    return fn(url, json.dumps(body) if body is not None else None, content_type="application/json",
              HTTP_X_CSRFTOKEN=c.cookies["csrftoken"].value)


def test_tracker_interpolates_and_holds_between_detections():
    tr = redact.Tracker(step=5)
    tr.update(0, __import__("numpy").array([[100, 100, 140, 150, 0.9]]))
    tr.update(5, __import__("numpy").array([[120, 100, 160, 150, 0.8]]))
    tr.update(10, __import__("numpy").empty((0, 5)))  # a missed detection does not end the track
    tr.update(15, __import__("numpy").array([[160, 100, 200, 150, 0.9]]))
    [t] = tr.result()
    assert [k[0] for k in t["keys"]] == [0, 5, 15]
    assert redact.box_at(t, 10, 5) == pytest.approx((140, 100, 180, 150))  # interpolated across the miss
    assert redact.box_at(t, 19, 5) is not None and redact.box_at(t, 21, 5) is None  # held one step after
    assert redact.box_at(t, -5, 5) is not None and redact.box_at(t, -6, 5) is None


def test_redaction_workflow_faces_gone_audio_muted_c2pa(tmp_path, settings):
    settings.JOBS_INLINE = True
    settings.MEDIA_AUTO_PLAYBACK = False
    w = World(tmp_path)
    src = str(tmp_path / "faces.mp4")
    truth = facesynth.make_face_clip(src, seconds=3, faces=2, speech="stop right there and put the bag down")
    clip = ingest_file(Officer.objects.get(account=w.officer), src)
    original_hash = clip.sha256
    assert hashlib.sha256(open(src, "rb").read()).hexdigest() == original_hash
    det = redact.FaceDetector()
    # The source really has faces the detector finds (the test could fail).
    with av.open(src) as c:
        found = [len(det.detect(f.to_ndarray(format="rgb24"), 0.3)) for i, f in enumerate(c.decode(video=0))
                 if i % 3 == 0]
    assert sum(n > 0 for n in found) >= 0.9 * len(found)

    cust = client_for(w.custodian)
    # Officers may not redact (audited), nor may anyone who cannot see the item.
    off = client_for(w.officer)
    assert _api(off, "post", f"/api/evidence/{clip.id}/redactions", {}).status_code == 403
    assert AuditEntry.objects.filter(action="evidence.redaction.start", outcome="denied").exists()
    assert _api(client_for(w.other_officer), "post", f"/api/evidence/{clip.id}/redactions", {}).status_code == 404
    assert _api(cust, "post", f"/api/evidence/{clip.id}/redactions", {"step": 99}).status_code == 400

    r = _api(cust, "post", f"/api/evidence/{clip.id}/redactions", {"step": 5})
    assert r.status_code == 202, r.content
    rid = r.json()["id"]
    red = Redaction.objects.get(pk=rid)
    assert red.status == "review" and len(red.plan["tracks"]) >= 2
    auto = red.plan["tracks"]

    # Rendering without a reason is refused; bad boxes are refused and change nothing.
    assert _api(cust, "post", f"/api/redactions/{rid}/render").status_code == 400
    bad = _api(cust, "patch", f"/api/redactions/{rid}", {"add_tracks": [{"keys": [[0, 10, 10, 9999, 20]]}]})
    assert bad.status_code == 400 and Redaction.objects.get(pk=rid).plan == red.plan
    for body in ({"tracks": 5}, {"remove_tracks": [[1]]}, {"tracks": [{"id": [1]}]}, {"add_tracks": "x"},
                 {"add_tracks": [{"keys": [[1e400, 0, 0, 9, 9]]}]}, {"add_tracks": [{"keys": [[0, "nan", 0, 9, 9]]}]},
                 {"audio": [{"start": [], "end": {}}]}):
        bad = _api(cust, "patch", f"/api/redactions/{rid}", body)  # wrong shapes: a 400, never a 500
        assert bad.status_code == 400 and bad.json()["error"], (body, bad.status_code)
        assert Redaction.objects.get(pk=rid).plan == red.plan
    # Reading the plan (it shows where the faces are) through the API is audited like the page.
    assert _api(cust, "get", f"/api/redactions/{rid}").status_code == 200
    assert AuditEntry.objects.filter(action="evidence.redaction.view", object_id=str(clip.id),
                                     detail__redaction=str(rid)).exists()

    # A false positive is turned off (kept for the record); a manual box over a "plate"; a muted word range.
    fake = {"id": "t999"}
    assert _api(cust, "patch", f"/api/redactions/{rid}", {"tracks": [fake]}).status_code == 400
    speech = truth["speech"]
    mute = {"start": round(speech[0], 2), "end": round(speech[0] + 1.0, 2), "mode": "mute", "reason": "name of a minor",
            "words": "stop right there"}
    changes = {"method": "blur", "reason": "bystander privacy",
               "add_tracks": [{"label": "plate", "keys": [[0, 500, 300, 600, 340], [89, 500, 300, 600, 340]],
                               "reason": "licence plate", "method": "fill"}],
               "audio": [mute]}
    r = _api(cust, "patch", f"/api/redactions/{rid}", changes)
    assert r.status_code == 200, r.content
    r = _api(cust, "post", f"/api/redactions/{rid}/render")
    assert r.status_code == 202, r.content
    red.refresh_from_db()
    assert red.status == "done", red.render_job.error if red.render_job else ""
    out = red.output
    assert out.kind == Derivative.Kind.REDACTED and out.parent_sha256 == original_hash and out.sha256 != original_hash

    # The original is untouched, bit for bit.
    assert get_store().rehash(original_hash) == original_hash
    assert hashlib.sha256(open(src, "rb").read()).hexdigest() == original_hash
    path = get_store().local_path(out.sha256)

    # No face in any output frame, checked frame by frame at a lower threshold than redaction used.
    n = 0
    with av.open(path) as c:
        for i, f in enumerate(c.decode(video=0)):
            n += 1
            faces = det.detect(f.to_ndarray(format="rgb24"), 0.2)
            assert len(faces) == 0, f"face found in output frame {i}: {faces}"
    assert n == truth["frames"]
    # The manual "plate" region is filled (its own method), and a region nobody marked is as it was.
    with av.open(path) as a, av.open(src) as b:
        fa = next(a.decode(video=0)).to_ndarray(format="gray").astype(int)
        fb = next(b.decode(video=0)).to_ndarray(format="gray").astype(int)
    assert fa[302:338, 502:598].max() < 25 and fb[302:338, 502:598].mean() > 60
    assert abs(fa[330:360, 0:100] - fb[330:360, 0:100]).mean() < 3
    # Muted range: silent; speech outside it is still there.
    assert audio_rms(path, mute["start"] + 0.05, mute["end"] - 0.05) < 1e-3
    assert audio_rms(path, mute["end"] + 0.1, speech[1]) > 0.01

    # C2PA: valid, the original as parent ingredient, one action per redaction with its reason.
    summary = c2pa_sign.verify(path)
    assert summary["state"] in ("Trusted", "Valid")
    assert summary["ingredients"] == [f"original sha256:{original_hash}"]
    descriptions = [a.get("description", "") for a in summary["actions"]]
    assert sum("bystander privacy" in d for d in descriptions) == len(auto)
    assert any("licence plate" in d for d in descriptions) and any("name of a minor" in d for d in descriptions)
    data = bytearray(open(path, "rb").read())
    mdat = data.index(b"mdat")
    data[mdat + 5000] ^= 0x01
    with pytest.raises(c2pa_sign.Invalid):
        c2pa_sign.verify(bytes(data))
    moov = bytearray(open(path, "rb").read())
    moov[moov.index(b"moov") + 200] ^= 0x01  # the index (sample tables) is covered too
    with pytest.raises(c2pa_sign.Invalid):
        c2pa_sign.verify(bytes(moov))
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))
    cli = [sys.executable, "-m", "bodycam.cli", "c2pa-verify"]
    env = {**__import__("os").environ, "BODYCAM_DATA_DIR": str(settings.DATA_DIR)}
    assert subprocess.run(cli + [path], env=env, capture_output=True).returncode == 0
    res = subprocess.run(cli + [str(tampered)], env=env, capture_output=True, text=True)
    assert res.returncode == 1 and "INVALID" in res.stdout

    # Audited: start, edit, render, output.
    for action in ("evidence.redaction.start", "evidence.redaction.edit", "evidence.redaction.render",
                   "media.redaction.output"):
        assert AuditEntry.objects.filter(action=action, object_id=str(clip.id), outcome="ok").exists(), action
    # Played back through the access check like any derivative.
    assert cust.get(f"/api/evidence/{clip.id}/derivatives/{out.id}").status_code in (200, 206)
