"""Licence plates: found, read, tracked and masked by the redaction, searchable by their
text through the one access check, named in the C2PA manifest like faces; the analysis runs
after ingest (audited, the original untouched) and is made again only when the models or
settings change. Short low-resolution generated clips (``media.platesynth``)."""

import hashlib
import json
from datetime import timedelta

import av
import numpy as np
import pytest

from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Officer, Recording
from bodycam.jobs.models import Job
from bodycam.media import c2pa_sign, plates, platesynth, redact, redactions
from bodycam.media.models import Analysis, PlateRead, Redaction
from bodycam.retention import services as ret
from bodycam.storage import get_store

from .access_helpers import World, client_for
from .media_helpers import ingest_file

TEXT = "7ABC123"


def _api(c, method, url, body=None):
    fn = getattr(c, method)
    return fn(url, json.dumps(body) if body is not None else None, content_type="application/json",
              HTTP_X_CSRFTOKEN=c.cookies["csrftoken"].value)


def _frame(path, index, fmt="bgr24"):
    with av.open(path) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return f.to_ndarray(format=fmt)
    raise AssertionError(f"no frame {index}")


def test_plate_found_read_and_tracked_between_detections(tmp_path):
    src = str(tmp_path / "plate.mp4")
    made = platesynth.make_plate_clip(src, plates=[(TEXT, 40), ("KX52TRW", 30)], seconds=1.5, width=640,
                                      height=360)
    img = _frame(src, 20)
    cands = plates.candidates(img[:, :, 1])
    reads = [t for t, s in plates.PlateReader().read(img, cands) if plates.plausible(t, s)]
    assert TEXT in reads
    assert not plates.plausible("HELLO", 0.99) and not plates.plausible("7A", 0.99)  # no digit / too short

    plan = redact.analyze(src, step=5)
    found = [t for t in plan["tracks"] if t["label"] == "plate"]
    assert TEXT in {t["text"] for t in found}
    t = next(t for t in found if t["text"] == TEXT)
    assert t["source"] == "auto" and t["id"].startswith("p") and len(t["keys"]) >= 5
    # Tracked: on every frame the plate is in view, the track's (interpolated, dilated) box covers
    # the middle of it (its characters).
    for i, row in enumerate(made["boxes"]):
        for text, (x1, y1, x2, y2) in row:
            if text != TEXT:
                continue
            b = redact.box_at(t, i, plan["step"])
            assert b is not None, i
            bx1, by1, bx2, by2 = redact.dilate(b, 640, 360)
            dx, dy = (x2 - x1) * 0.2, (y2 - y1) * 0.2
            assert bx1 <= x1 + dx and by1 <= y1 + dy and bx2 >= x2 - dx and by2 >= y2 - dy, (i, b, (x1, y1, x2, y2))


@pytest.mark.django_db
def test_plate_analysed_at_ingest_masked_searchable_and_signed(tmp_path, settings, monkeypatch):
    settings.JOBS_INLINE = True
    settings.MEDIA_AUTO_PLAYBACK = False
    settings.MEDIA_AUTO_ANALYZE = True
    w = World(tmp_path)
    src = str(tmp_path / "car.mp4")
    made = platesynth.make_plate_clip(src, plates=[(TEXT, 40)], seconds=2, width=640, height=360)
    original = hashlib.sha256(open(src, "rb").read()).hexdigest()

    # Ingest queues the analysis (inline here): stored, audited, plate read, original untouched.
    clip = ingest_file(Officer.objects.get(account=w.officer), src)
    [a] = Analysis.objects.filter(clip=clip)
    assert a.parent_sha256 == original and a.key == redactions.analysis_key(redactions.analysis_settings())
    assert list(PlateRead.objects.filter(clip=clip).values_list("text", flat=True)) == [TEXT]
    entry = AuditEntry.objects.get(action="media.analysis", object_id=str(clip.id))
    assert entry.detail["plates"] == 1 and entry.detail["background"] is True and entry.object_sha256 == original
    assert Job.objects.filter(kind="media.analyze", object_id=str(clip.id), status="succeeded").count() == 1
    assert get_store().rehash(original) == original
    assert hashlib.sha256(open(src, "rb").read()).hexdigest() == original

    # Searchable by its text, through the access check, labelled as a machine reading.
    cust = client_for(w.custodian)
    res = cust.get("/api/search", {"q": TEXT.lower()})
    assert res.status_code == 200
    [hit] = [r for r in res.json()["results"] if r["id"] == str(clip.id)]
    assert [p["text"] for p in hit["plate_reads"]] == [TEXT] and hit["plate_reads"][0]["finding"] == "machine"
    page = cust.get("/evidence/", {"q": TEXT})
    assert page.status_code == 200 and b"machine reading" in page.content and TEXT.encode() in page.content
    other = client_for(w.other_officer)  # may not see the recording: does not find it
    res = other.get("/api/search", {"q": TEXT})
    assert res.status_code == 200 and str(clip.id) not in {r["id"] for r in res.json()["results"]}
    page = other.get("/evidence/", {"q": TEXT})
    assert str(clip.id).encode() not in page.content and b"machine reading" not in page.content

    # A redaction opens with the tracks ready: no second analysis, no job.
    r = _api(cust, "post", f"/api/evidence/{clip.id}/redactions", {})  # the default settings
    assert r.status_code == 202 and r.json()["status"] == "review" and not r.json()["analyze_job"]
    rid = r.json()["id"]
    plan = Redaction.objects.get(pk=rid).plan
    plate = [t for t in plan["tracks"] if t["label"] == "plate"]
    assert [t["text"] for t in plate] == [TEXT] and plan["analysis"] == str(a.id)
    assert Analysis.objects.filter(clip=clip).count() == 1 and not Job.objects.filter(kind="media.redact.analyze")
    assert _api(cust, "patch", f"/api/redactions/{rid}", {"reason": "third-party vehicle",
                                                           "method": "pixelate"}).status_code == 200
    assert _api(cust, "post", f"/api/redactions/{rid}/render").status_code == 202
    red = Redaction.objects.get(pk=rid)
    assert red.status == "done", red.render_job.error if red.render_job else ""
    out = get_store().local_path(red.output.sha256)

    # Masked: inside the plate box the pixels differ strongly; away from it they match closely.
    for i in (10, 30, 50):
        (text, (x1, y1, x2, y2)), = made["boxes"][i]
        a_img, b_img = _frame(out, i, "gray").astype(int), _frame(src, i, "gray").astype(int)
        inside = np.abs(a_img[y1:y2, x1:x2] - b_img[y1:y2, x1:x2]).mean()
        assert inside > 25, (i, inside)
        far = np.ones(a_img.shape, bool)
        far[max(0, y1 - 40):y2 + 40, max(0, x1 - 60):x2 + 60] = False
        assert np.abs(a_img - b_img)[far].mean() < 3
    assert get_store().rehash(original) == original

    # C2PA: the plate redaction is named like a face one (label, method, frames, reason), never its text.
    summary = c2pa_sign.verify(out)
    plate_actions = [x for x in summary["actions"] if "redacted plate" in x.get("description", "")]
    assert len(plate_actions) == 1 and "third-party vehicle" in plate_actions[0]["description"]
    assert plate_actions[0]["parameters"]["org.bodycam.redaction"]["label"] == "plate"
    assert TEXT not in json.dumps(summary)

    # Re-analysis only when the settings or the model change.
    assert redactions.background_analysis(None, clip)["reused"] is True
    r2 = _api(cust, "post", f"/api/evidence/{clip.id}/redactions", {"step": 3})  # other settings: analysed
    assert r2.status_code == 202 and r2.json()["status"] == "review"
    assert Analysis.objects.filter(clip=clip).count() == 2
    monkeypatch.setattr(redactions, "ANALYSIS_VERSION", redactions.ANALYSIS_VERSION + 1)  # a new tracker
    assert redactions.find_analysis(clip) is None
    assert redactions.background_analysis(None, clip)["reused"] is False
    assert Analysis.objects.filter(clip=clip).count() == 3
    assert AuditEntry.objects.filter(action="media.analysis", object_id=str(clip.id)).count() == 3

    # Purged with its recording: the plate texts go with the transcripts, and nobody finds them.
    rec = clip.recording
    Recording.objects.filter(pk=rec.pk).update(trigger_on_time=rec.trigger_on_time - timedelta(days=3650))
    now = rec.trigger_on_time
    ret.sweep(now=now)
    ret.sweep(now=now + timedelta(days=400))
    rec.refresh_from_db()
    assert rec.purged_at is not None
    assert not PlateRead.objects.filter(clip__recording=rec).exists()
    res = cust.get("/api/search", {"q": TEXT})
    assert res.status_code == 200 and str(clip.id) not in {r["id"] for r in res.json()["results"]}


@pytest.mark.django_db
def test_no_analysis_at_ingest_when_turned_off(tmp_path, settings):
    settings.JOBS_INLINE = True
    settings.MEDIA_AUTO_PLAYBACK = False
    settings.MEDIA_AUTO_ANALYZE = False
    w = World(tmp_path)
    src = str(tmp_path / "car.mp4")
    platesynth.make_plate_clip(src, plates=[(TEXT, 40)], seconds=0.5, width=320, height=180)
    clip = ingest_file(Officer.objects.get(account=w.officer), src)
    assert not Analysis.objects.filter(clip=clip).exists() and not Job.objects.filter(kind="media.analyze")
