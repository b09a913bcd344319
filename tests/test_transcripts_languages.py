"""Transcripts in the language spoken (issue 14), on real speech: espeak-ng voices ``en`` and
``es`` in generated clips, through the real ingest path, the job and the multilingual Whisper
base model put together from its two wheels. The language is detected (per recording and
per segment where it switches), the Spanish transcript is Spanish, the English machine
translation is stored beside it (never replacing it), labelled, and found by search."""

import json
import os
import subprocess
import sys

import pytest

from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Officer
from bodycam.jobs.models import Job
from bodycam.media import asr_models, facesynth
from bodycam.media.models import Derivative, Transcript, Translation
from bodycam.media.transcribe import normalise_words, plain_text, wer
from bodycam.search.models import SearchDocument
from bodycam.storage import get_store

from .access_helpers import World, client_for
from .media_helpers import ingest_file

ES = "Buenas noches, señor. Necesito ver su licencia de conducir y el registro del vehículo."
EN = "Please step out of the car and keep your hands where I can see them."
SPANISH_WORDS = {"buenas", "noches", "señor", "necesito", "ver", "su", "licencia", "de", "conducir", "el",
                 "registro", "del", "vehículo", "y"}
# Common English words (function words and the vocabulary of a traffic stop). A machine
# translation of ES is English when most of its words are among these; which content words
# Whisper base picks for this synthetic voice varies by device ("license", "identity",
# "attention"...), so none of them in particular is required.
ENGLISH_WORDS = {
    "a", "an", "the", "of", "to", "in", "on", "at", "for", "with", "from", "and", "or", "but", "i", "you",
    "your", "his", "her", "their", "my", "me", "we", "he", "she", "it", "this", "that", "is", "are", "be",
    "am", "was", "have", "has", "do", "can", "will", "need", "see", "show", "make", "take", "get", "give",
    "please", "good", "evening", "night", "sir", "mr", "mister", "driver", "driver's", "driving", "drive",
    "license", "licence", "vehicle", "car", "registration", "register", "identity", "id", "papers",
    "documents", "card", "insurance"}


def csrf(c):
    return {"HTTP_X_CSRFTOKEN": c.cookies["csrftoken"].value}


def test_words_are_matched_in_any_script():
    assert normalise_words("¿Sabe por qué lo detuve, SEÑOR? Año-nuevo") == \
        ["sabe", "por", "qué", "lo", "detuve", "señor", "año", "nuevo"]
    # Decomposed "ñ" (n + combining tilde) is the same word as the composed one.
    assert normalise_words("sen\u0303or") == ["señor"]
    assert wer("el vehículo está aquí", "el vehiculo está aquí") == pytest.approx(1 / 4)
    assert wer("ça va très bien", "ça va très bien") == 0
    assert normalise_words("Привет, как дела?") == ["привет", "как", "дела"]


def test_base_model_assembly_checks_the_hash_and_leaves_nothing_half_made(tmp_path, settings):
    settings.MODELS_DIR = tmp_path / "models"
    d1, d2 = tmp_path / "p1", tmp_path / "p2"
    d1.mkdir(), d2.mkdir()
    for name in asr_models.BASE_SMALL_FILES:
        (d1 / name).write_text("{}")
    (d1 / "model.bin.part1").write_bytes(b"not a")
    (d2 / "model.bin.part2").write_bytes(b" model")
    with pytest.raises(asr_models.ModelError, match="expected d01c3014"):
        asr_models.ensure_base_model(parts=(d1, d2))
    assert [p.name for p in (tmp_path / "models").iterdir()] == [".whisper-base.lock"]  # no dir, no temp
    # The real wheels: put together once, SHA-256 as published for Systran/faster-whisper-base.
    dest = asr_models.ensure_base_model()
    assert (dest / asr_models.MARKER).read_text().strip() == asr_models.BASE_MODEL_SHA256
    assert (dest / "model.bin").stat().st_size == asr_models.BASE_MODEL_SIZE
    assert asr_models.ensure_base_model() == dest  # idempotent
    assert asr_models.is_multilingual() and not asr_models.is_multilingual(str(asr_models.tiny_en_dir()))


@pytest.mark.django_db
def test_bad_language_override_is_400_and_changes_nothing(tmp_path, settings):
    from .access_helpers import ingest_clip_for

    settings.JOBS_INLINE = True
    settings.MEDIA_AUTO_PLAYBACK = False
    w = World(tmp_path)
    clip = ingest_clip_for(Officer.objects.get(account=w.officer), tmp_path, seconds=1)
    off = client_for(w.officer)
    before = Job.objects.count()
    for body in ({"language": "xx"}, {"language": 5}, {"translate": "maybe"}, ["es"]):
        r = off.post(f"/api/evidence/{clip.id}/transcript", json.dumps(body), content_type="application/json",
                     **csrf(off))
        assert r.status_code == 400, (body, r.content)
        assert "error" in r.json() or "detail" in r.json()
    page = off.post(f"/records/clip/{clip.id}/transcript/", {"action": "transcribe", "language": "klingon"},
                    **csrf(off))
    assert page.status_code == 400 and "unknown language" in page.content.decode()
    assert Job.objects.count() == before and not Transcript.objects.filter(clip=clip).exists()
    # The English-only fallback model refuses Spanish up front.
    settings.TRANSCRIBE_MODEL = "tiny.en"
    r = off.post(f"/api/evidence/{clip.id}/transcript", json.dumps({"language": "es"}),
                 content_type="application/json", **csrf(off))
    assert r.status_code == 400 and "English-only" in r.content.decode()
    assert Job.objects.count() == before


def test_cli_rejects_an_unknown_language_with_exit_2(tmp_path):
    env = dict(os.environ, BODYCAM_DATA_DIR=str(tmp_path / "data"))
    p = subprocess.run([sys.executable, "-m", "bodycam.cli", "transcribe", "00000000-0000-0000-0000-000000000000",
                        "--language", "xx"], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2 and "unknown language" in (p.stderr + p.stdout), (p.stdout, p.stderr)


@pytest.mark.django_db
def test_spanish_and_english_speech_detected_transcribed_translated_and_searchable(tmp_path, settings):
    settings.JOBS_INLINE = True
    settings.MEDIA_AUTO_PLAYBACK = False
    w = World(tmp_path)
    officer = Officer.objects.get(account=w.officer)
    es_path, en_path = str(tmp_path / "es.mp4"), str(tmp_path / "en.mp4")
    facesynth.make_face_clip(es_path, seconds=3, speech=ES, voice="es")
    facesynth.make_face_clip(en_path, seconds=3, speech=EN, voice="en")
    es_clip, en_clip = ingest_file(officer, es_path), ingest_file(officer, en_path)
    off, sup, cus = client_for(w.officer), client_for(w.supervisor), client_for(w.custodian)

    # Spanish: detected (agency default "auto"), transcribed in Spanish, translated (default on).
    r = off.post(f"/api/evidence/{es_clip.id}/transcript", **csrf(off))
    assert r.status_code == 202, r.content
    job = Job.objects.get(pk=r.json()["job"])
    assert job.status == "succeeded", job.error
    t = Transcript.objects.get(clip=es_clip)
    assert t.language == "es" and t.language_source == "detected" and t.language_probability > 0.5
    assert t.model.startswith("whisper-base@")
    words = normalise_words(plain_text(t.segments))
    assert len(SPANISH_WORDS.intersection(words)) >= 7, words
    assert {"señor", "licencia"} <= set(words), words
    assert all(s["language"] == "es" for s in t.segments) and all(s["words"] for s in t.segments)
    machine_before = json.dumps(t.machine, sort_keys=True)

    tr = Translation.objects.get(clip=es_clip)
    english = normalise_words(plain_text(tr.segments))
    # English, not the Spanish again: "Necesito" is "need", "Buenas noches" a greeting, most
    # words common English ones, none of the Spanish words kept.
    assert len(english) >= 6 and "need" in english and {"evening", "night"} & set(english), english
    assert sum(w in ENGLISH_WORDS for w in english) >= 0.6 * len(english), english
    assert not SPANISH_WORDS & set(english), english
    assert english != words and plain_text(tr.segments) != plain_text(t.segments)
    assert tr.source_languages == ["es"] and tr.transcript == t and tr.parent_sha256 == es_clip.sha256
    # Stored apart as its own derivatives, labelled machine translation; the transcript untouched.
    vtt = get_store().open(tr.vtt.sha256).read().decode()
    assert vtt.startswith("WEBVTT") and "NOTE Machine translation to English from es" in vtt
    assert json.loads(get_store().open(tr.json.sha256).read())["machine_translation"] is True
    assert Derivative.objects.filter(clip=es_clip, kind="other").count() == 4
    assert tr.vtt.params["machine_translation"] is True and t.vtt_id != tr.vtt_id
    t.refresh_from_db()
    assert json.dumps(t.machine, sort_keys=True) == machine_before and t.segments == t.machine and t.version == 1
    assert AuditEntry.objects.filter(action="media.translation", object_id=str(es_clip.id)).exists()

    # English: a per-job override (language forced, no translation asked for).
    r = off.post(f"/api/evidence/{en_clip.id}/transcript", json.dumps({"language": "en", "translate": False}),
                 content_type="application/json", **csrf(off))
    assert r.status_code == 202 and Job.objects.get(pk=r.json()["job"]).params["language"] == "en"
    te = Transcript.objects.get(clip=en_clip)
    assert te.language == "en" and te.language_source == "override"
    assert wer(EN, plain_text(te.segments)) <= 0.2, plain_text(te.segments)
    assert not Translation.objects.filter(clip=en_clip).exists()

    # Search: the translation under its own source; Spanish words (accents too) in the transcript.
    assert SearchDocument.objects.filter(recording=es_clip.recording, source="translation").exists()
    assert not SearchDocument.objects.filter(recording=en_clip.recording, source="translation").exists()
    # One of the translation's own English words that nothing else indexed for either clip
    # holds (search matches prefixes), so the hit can only come from the translation.
    others = " ".join(d.text for d in SearchDocument.objects.filter(
        recording__in=[es_clip.recording, en_clip.recording]).exclude(source="translation"))
    other_words = normalise_words(others)
    own = [w for w in english if len(w) >= 5 and w.isascii() and w.isalpha() and w in ENGLISH_WORDS
           and not any(o.startswith(w) for o in other_words)]
    assert own, (english, other_words)
    eng_word = next((w for w in own if w in ("license", "vehicle")), own[0])
    r = cus.get("/api/search", {"q": eng_word})
    assert r.status_code == 200 and str(es_clip.id) in json.dumps(r.json())
    assert str(en_clip.id) not in json.dumps(r.json())
    assert str(es_clip.id) in cus.get("/evidence/", {"q": eng_word}).content.decode()  # the search page
    for q in ("señor", "licencia"):
        found = json.dumps(cus.get("/api/search", {"q": q}).json())
        assert str(es_clip.id) in found and str(en_clip.id) not in found, q

    # Shown: API, transcript page, item page (a caption track per language, labelled).
    data = off.get(f"/api/evidence/{es_clip.id}/transcript").json()
    assert data["language"] == "es" and data["translation"]["machine_translation"] is True
    html = off.get(f"/records/clip/{es_clip.id}/transcript/").content.decode()
    assert "Spanish" in html and "Machine translation" in html and 'lang="es"' in html
    item = off.get(f"/evidence/{es_clip.id}/").content.decode()
    assert f'src="/api/evidence/{es_clip.id}/captions.vtt"' in item and 'srclang="es"' in item
    assert f'src="/api/evidence/{es_clip.id}/translation.vtt"' in item and "English (machine translation)" in item
    cap = off.get(f"/api/evidence/{es_clip.id}/translation.vtt")
    assert cap.status_code == 200 and "Machine translation" in cap.content.decode()
    assert client_for(w.other_officer).get(f"/api/evidence/{es_clip.id}/translation.vtt").status_code == 404
    assert off.get(f"/api/evidence/{en_clip.id}/translation.vtt").status_code == 404

    # Redaction by word and the editor work on Spanish words (accents kept).
    r = cus.post(f"/records/clip/{es_clip.id}/redact/", {"step": 5}, **csrf(cus))
    assert r.status_code == 302
    editor = cus.get(r["Location"]).content.decode()
    assert 'data-word="señor' in editor.lower() or 'data-word="licencia' in editor.lower()
    new = [dict(s) for s in t.segments]
    new[0]["text"] = "Buenas noches, señor. Necesito ver su licencia de conducir y el registro del vehículo."
    r = sup.put(f"/api/evidence/{es_clip.id}/transcript", json.dumps({"segments": new, "note": "acentos"}),
                content_type="application/json", **csrf(sup))
    assert r.status_code == 200 and r.json()["segments"][0]["language"] == "es"
    assert SearchDocument.objects.filter(recording=es_clip.recording, source="transcript",
                                         text__contains="vehículo").exists()
    assert "vehículo" in off.get(f"/api/evidence/{es_clip.id}/captions.vtt").content.decode()
    # A different language for an item already transcribed: 400, nothing queued.
    n = Job.objects.count()
    r = sup.post(f"/api/evidence/{es_clip.id}/transcript", json.dumps({"language": "fr"}),
                 content_type="application/json", **csrf(sup))
    assert r.status_code == 400 and Job.objects.count() == n
    assert Translation.objects.get(clip=es_clip).segments == tr.segments  # edits leave the translation


@pytest.mark.django_db
def test_language_switch_inside_a_recording_is_found_per_segment(tmp_path, settings):
    settings.JOBS_INLINE = True
    settings.MEDIA_AUTO_PLAYBACK = False
    settings.TRANSCRIBE_TRANSLATE = False
    w = World(tmp_path)
    path = str(tmp_path / "mixed.mp4")
    facesynth.make_face_clip(path, seconds=3, speech=[(EN, "en"), (ES, "es")])
    clip = ingest_file(Officer.objects.get(account=w.officer), path)
    off = client_for(w.officer)
    assert off.post(f"/api/evidence/{clip.id}/transcript", **csrf(off)).status_code == 202
    t = Transcript.objects.get(clip=clip)
    assert set(t.languages) == {"en", "es"}, t.segments
    by_lang = {lang: normalise_words(" ".join(s["text"] for s in t.segments if s["language"] == lang))
               for lang in ("en", "es")}
    assert {"car", "hands"} <= set(by_lang["en"]) and {"señor", "licencia"} <= set(by_lang["es"]), by_lang
    first_es = min(s["start"] for s in t.segments if s["language"] == "es")
    assert all(s["end"] <= first_es + 0.1 for s in t.segments if s["language"] == "en")
    assert not Translation.objects.filter(clip=clip).exists()  # agency setting: no translation
    # Asked for afterwards: a separate job adds it, the transcript stays as it was.
    before = json.dumps(t.machine, sort_keys=True)
    r = off.post(f"/api/evidence/{clip.id}/transcript", json.dumps({"translate": True}),
                 content_type="application/json", **csrf(off))
    assert r.status_code == 202 and Job.objects.get(pk=r.json()["job"]).kind == "media.translate"
    tr = Translation.objects.get(clip=clip)
    assert tr.segments and all(s["start"] >= first_es - 0.5 for s in tr.segments)  # only the Spanish part
    t.refresh_from_db()
    assert json.dumps(t.machine, sort_keys=True) == before
