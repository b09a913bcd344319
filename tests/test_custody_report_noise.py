"""Issue 20, item 22: the chain-of-custody report lists meaningful access -- views, playback
starts, downloads, shares, changes, denials -- not the thumbnails a search result or the
player's poster loads, nor the caption track the player fetches beside a listed view. Those
stay in the full audit log (every view audited), are counted in the report and verified."""

from __future__ import annotations

import io

import pytest

from bodycam.custody.models import AuditEntry
from bodycam.media.models import Derivative, Transcript
from bodycam.storage import get_store

from .access_helpers import World, client_for

pytestmark = pytest.mark.django_db


def _thumbnail(clip) -> Derivative:
    data = b"\xff\xd8\xff\xe0 a still image of the clip"
    store = get_store()
    inc = store.receive(io.BytesIO(data), len(data))
    store.commit(inc)
    return Derivative.objects.create(clip=clip, parent_sha256=clip.sha256, kind="thumbnail", sha256=inc.sha256,
                                     size=len(data), content_type="image/jpeg")


def _transcript(clip) -> Transcript:
    seg = [{"start": 0.0, "end": 1.0, "text": "driver stepped out", "speaker": ""}]
    return Transcript.objects.create(clip=clip, parent_sha256=clip.sha256, model="test", machine=seg, segments=seg)


def test_custody_report_leaves_out_thumbnail_and_companion_caption_loads(tmp_path):
    w = World(tmp_path)
    clip = w.clip
    _thumbnail(clip)
    _transcript(clip)
    officer, detective, custodian = client_for(w.officer), client_for(w.detective), client_for(w.custodian)

    # Ten search results' thumbnails (two people paging through results).
    for c in (officer, detective):
        assert c.get("/api/search?q=").status_code in (200, 400)
        for _ in range(5):
            assert c.get(f"/api/evidence/{clip.id}/thumbnail.jpg").status_code == 200
    # The officer opens the item page: the view, then the player's poster and caption track.
    assert officer.get(f"/evidence/{clip.id}/").status_code == 200
    assert officer.get(f"/api/evidence/{clip.id}/thumbnail.jpg").status_code == 200
    assert officer.get(f"/api/evidence/{clip.id}/captions.vtt").status_code == 200
    # The custodian fetches captions with no view or playback of their own: that is access, listed.
    assert custodian.get(f"/api/evidence/{clip.id}/captions.vtt").status_code == 200
    assert detective.get(f"/api/evidence/{clip.id}/download").status_code == 200
    # Denials are always listed, a thumbnail's too.
    assert client_for(w.other_officer).get(f"/api/evidence/{clip.id}/thumbnail.jpg").status_code == 404

    rep = detective.get(f"/api/evidence/{clip.id}/custody.json").json()
    events = [(e["action"], e["actor"], e["outcome"]) for e in rep["events"]]
    assert not [e for e in events if e[0] == "evidence.thumbnail" and e[2] == "ok"], events
    assert ("evidence.view", "off.b", "denied") in events  # the denied thumbnail (audited as a view)
    assert ("evidence.view", "off.a", "ok") in events and ("evidence.download", "det", "ok") in events
    assert ("evidence.captions", "cust", "ok") in events
    assert ("evidence.captions", "off.a", "ok") not in events
    assert events[-1] == ("custody.report", "det", "ok")
    assert rep["not_listed"]["counts"] == {"evidence.thumbnail": 11, "evidence.captions": 1}
    assert rep["not_listed"]["total"] == 12 and "thumbnail" in rep["not_listed"]["why"]
    assert rep["verification"]["events_hash_ok"]

    # Every one of them is still in the full audit log, which auditors read.
    full = client_for(w.auditor).get(f"/api/evidence/{clip.id}/audit").json()["events"]
    assert sum(1 for e in full if e["action"] == "evidence.thumbnail" and e["outcome"] == "ok") == 11
    assert AuditEntry.objects.filter(action="evidence.captions", actor="off.a").count() == 1

    pdf = detective.get(f"/api/evidence/{clip.id}/custody.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
