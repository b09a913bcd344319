"""Transcription on real speech: espeak-ng speech mixed into a generated clip, through the
real ingest path and the job; word error rate <= 15 %, words timed, WebVTT + JSON stored,
searchable, served as captions through the access check, edited with an audit trail while
the machine transcript is kept."""

import json

import pytest

from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Officer
from bodycam.jobs.models import Job
from bodycam.media import facesynth
from bodycam.media.captions import captions_url
from bodycam.media.models import Derivative, Transcript
from bodycam.media.transcribe import plain_text, to_vtt, wer
from bodycam.search.models import SearchDocument
from bodycam.storage import get_store

from .access_helpers import World, client_for
from .media_helpers import ingest_file

pytestmark = pytest.mark.django_db

SPEECH = ("Please step out of the car and keep your hands where I can see them. The driver said he was going "
          "home from work. I asked him to wait by the door while I checked the license.")


def test_wer():
    assert wer("the cat sat", "the cat sat") == 0
    assert wer("the cat sat on the mat", "the cat sat on a mat") == pytest.approx(1 / 6)
    assert wer("a b c d", "a c d e") == pytest.approx(2 / 4)
    assert to_vtt([{"start": 0, "end": 61.5, "text": "hi --> there"}]).splitlines()[3] == \
        "00:00:00.000 --> 00:01:01.500"


def test_transcribe_search_captions_and_audited_edits(tmp_path, settings):
    settings.JOBS_INLINE = True
    settings.MEDIA_AUTO_PLAYBACK = False
    w = World(tmp_path)
    path = str(tmp_path / "speech.mp4")
    made = facesynth.make_face_clip(path, seconds=4, speech=SPEECH)
    clip = ingest_file(Officer.objects.get(account=w.officer), path)
    off, sup = client_for(w.officer), client_for(w.supervisor)
    csrf = lambda c: {"HTTP_X_CSRFTOKEN": c.cookies["csrftoken"].value}  # noqa: E731

    assert off.get(f"/api/evidence/{clip.id}/transcript").status_code == 404  # none yet
    assert captions_url(clip) is None
    # Someone who cannot see the item cannot start a transcript (404, audited).
    other = client_for(w.other_officer)
    assert other.post(f"/api/evidence/{clip.id}/transcript", **csrf(other)).status_code == 404
    r = off.post(f"/api/evidence/{clip.id}/transcript", **csrf(off))
    assert r.status_code == 202, r.content
    job = Job.objects.get(pk=r.json()["job"])
    assert job.status == "succeeded", job.error
    t = Transcript.objects.get(clip=clip)
    text = plain_text(t.segments)
    assert wer(SPEECH, text) <= 0.15, text
    # Word timestamps inside the spoken span; VAD kept the leading silence out.
    words = [wd for s in t.segments for wd in s["words"]]
    assert len(words) >= 25
    assert made["speech"][0] - 0.5 <= words[0]["start"] and words[-1]["end"] <= made["speech"][1] + 0.7
    assert all(a["start"] <= b["start"] for a, b in zip(words, words[1:]))
    # Stored as WebVTT + JSON derivatives naming the original.
    vtt = get_store().open(t.vtt.sha256).read().decode()
    assert vtt.startswith("WEBVTT") and "-->" in vtt and t.vtt.parent_sha256 == clip.sha256
    assert json.loads(get_store().open(t.json.sha256).read())["segments"][0]["words"]
    assert Derivative.objects.filter(clip=clip, kind="other").count() == 2
    # Searchable.
    assert SearchDocument.objects.filter(recording=clip.recording, source="transcript",
                                         text__icontains="driver").exists()
    r = client_for(w.custodian).get("/api/search", {"q": "driver"})
    assert r.status_code == 200 and str(clip.id) in json.dumps(r.json())
    # Captions: on the item page, through the access check, audited.
    assert captions_url(clip) == f"/api/evidence/{clip.id}/captions.vtt"
    page = off.get(f"/evidence/{clip.id}/")
    assert f'src="/api/evidence/{clip.id}/captions.vtt"' in page.content.decode()
    cap = off.get(f"/api/evidence/{clip.id}/captions.vtt")
    assert cap.status_code == 200 and cap.content.decode().startswith("WEBVTT")
    assert other.get(f"/api/evidence/{clip.id}/captions.vtt").status_code == 404
    assert AuditEntry.objects.filter(action="evidence.captions", object_id=str(clip.id)).exists()

    # The recording officer may not edit (403, audited); a supervisor may. Bad input changes nothing.
    new = [dict(s) for s in t.segments]
    new[0]["text"] = "Please step out of the car."
    body = json.dumps({"segments": new, "note": "misheard"})
    assert off.put(f"/api/evidence/{clip.id}/transcript", body, content_type="application/json",
                   **csrf(off)).status_code == 403
    assert AuditEntry.objects.filter(action="evidence.transcript.edit", outcome="denied").exists()
    bad = json.dumps({"segments": [{"start": 0, "end": 999, "text": "x"}]})
    assert sup.put(f"/api/evidence/{clip.id}/transcript", bad, content_type="application/json",
                   **csrf(sup)).status_code == 400
    assert Transcript.objects.get(pk=t.pk).version == 1
    r = sup.put(f"/api/evidence/{clip.id}/transcript", body, content_type="application/json", **csrf(sup))
    assert r.status_code == 200 and r.json()["version"] == 2
    t.refresh_from_db()
    assert t.segments[0]["text"] == "Please step out of the car." and t.machine[0]["text"] != t.segments[0]["text"]
    assert t.revisions.get(version=2).author == w.supervisor
    e = AuditEntry.objects.filter(action="evidence.transcript.edit", outcome="ok").get()
    assert e.actor == "sgt" and e.detail["note"] == "misheard" and e.detail["segments_changed"] == [0]
    assert "Please step out of the car." in off.get(f"/api/evidence/{clip.id}/captions.vtt").content.decode()
    # The transcript page shows both versions.
    html = sup.get(f"/records/clip/{clip.id}/transcript/").content.decode()
    assert "Machine transcript (original)" in html and "misheard" in html


def test_auto_transcribe_queues_a_job_when_a_clip_commits(tmp_path, settings, django_capture_on_commit_callbacks):
    from .access_helpers import ingest_clip_for, make_user

    settings.JOBS_INLINE = True
    settings.MEDIA_AUTO_PLAYBACK = False
    settings.MEDIA_AUTO_TRANSCRIBE = True
    off = make_user("o9", "officer")
    with django_capture_on_commit_callbacks(execute=True):
        clip = ingest_clip_for(Officer.objects.get(account=off), tmp_path, seconds=1)
    job = Job.objects.get(kind="media.transcribe", object_id=str(clip.id))
    assert job.status == "succeeded", job.error
    assert Transcript.objects.get(clip=clip).parent_sha256 == clip.sha256
    settings.MEDIA_AUTO_TRANSCRIBE = False
    with django_capture_on_commit_callbacks(execute=True):
        other = ingest_clip_for(Officer.objects.get(account=off), tmp_path, seconds=1)
    assert not Job.objects.filter(kind="media.transcribe", object_id=str(other.id)).exists()
