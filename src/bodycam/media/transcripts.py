"""Transcripts of original clips: made by a job, kept as WebVTT + JSON derivatives, fed to
search, shown as captions, edited by authorized people (every edit audited; the
machine's transcript is kept unchanged beside the edited one).

Languages: the transcript is in the language(s) spoken (detected, or forced by the agency
default ``settings.TRANSCRIBE_LANGUAGE`` or a per-job override). Non-English speech also
gets a machine translation to English (``Translation``), stored as its own WebVTT + JSON
derivatives, indexed for search under the source ``translation``, labelled as machine
translation wherever shown; the transcript itself is never replaced by it."""

from __future__ import annotations

import json
import os
import tempfile

from django.db import transaction

from ..custody.services import record, record_request
from ..errors import BadInput
from ..evidence.models import Clip
from .models import Derivative, Transcript, TranscriptRevision, Translation

# Who may correct a transcript is access.policy's "evidence.transcript.edit" (a clip action).
MAX_SEGMENTS = 20000


class TranscriptError(BadInput):
    """Bad input: 400."""


def _index(recording_id) -> None:
    """The recording's one transcript document holds every clip's current text, and its one
    translation document every clip's machine translation (read after the caller has saved,
    inside the same transaction)."""
    from ..search.services import index_text
    from .transcribe import plain_text

    texts = [plain_text(t.segments)
             for t in Transcript.objects.filter(clip__recording_id=recording_id).order_by("clip__start_time")]
    index_text(recording_id, "transcript", "\n".join(x for x in texts if x))
    texts = [plain_text(t.segments)
             for t in Translation.objects.filter(clip__recording_id=recording_id).order_by("clip__start_time")]
    index_text(recording_id, "translation", "\n".join(x for x in texts if x))


def default_options() -> dict:
    """The agency's defaults (settings): language "auto" or a code, translate yes/no."""
    from django.conf import settings

    return {"language": settings.TRANSCRIBE_LANGUAGE or "auto",
            "translate": bool(settings.TRANSCRIBE_TRANSLATE)}


def parse_options(data) -> dict:
    """A job override from a request body / form / CLI: ``language`` ("auto" or a Whisper
    code) and ``translate`` (true/false); absent keys keep the agency default. Raises
    TranscriptError (400) on anything else."""
    from .asr_models import configured, is_multilingual
    from .transcribe import check_language, language_name

    out: dict = {}
    if data is None:
        return out
    if not hasattr(data, "get"):
        raise TranscriptError("body must be a JSON object")
    lang = data.get("language")
    if lang not in (None, ""):
        if not isinstance(lang, str):
            raise TranscriptError("language must be a string: auto or a language code such as en, es")
        try:
            out["language"] = check_language(lang)
        except ValueError as exc:
            raise TranscriptError(str(exc)) from None
        if out["language"] not in ("auto", "en") and not is_multilingual():
            raise TranscriptError(f"the speech model {configured()[0]} is English-only; it cannot transcribe "
                                  f"{language_name(out['language'])}")
    tr = data.get("translate")
    if tr not in (None, ""):
        if isinstance(tr, bool):
            out["translate"] = tr
        elif isinstance(tr, str) and tr.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            out["translate"] = tr.lower() in ("1", "true", "yes", "on")
        else:
            raise TranscriptError("translate must be true or false")
        if out["translate"] and not is_multilingual():
            raise TranscriptError(f"the speech model {configured()[0]} is English-only; it cannot translate")
    return out


def _store_text(ctx, clip: Clip, name: str, text: str, content_type: str, params: dict) -> Derivative:
    from .derivatives import store_derivative

    with tempfile.TemporaryDirectory(prefix="bodycam-transcript-") as tmp:
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return store_derivative(ctx, clip, Derivative.Kind.OTHER, path, content_type, params)


def make_transcript(ctx, clip: Clip, language: str | None = None, translate: bool | None = None) -> Transcript:
    """Job code: transcribe the original (idempotent: an existing transcript is returned).
    ``language``/``translate``: the job's override; None = the agency default."""
    from .derivatives import original_path
    from .transcribe import check_language, to_vtt, transcribe

    defaults = default_options()
    want = check_language(language if language not in (None, "") else defaults["language"])
    source = "detected" if want == "auto" else ("override" if language not in (None, "", "auto") else "agency")
    translate = defaults["translate"] if translate is None else bool(translate)
    found = Transcript.objects.filter(clip=clip).first()
    if found:
        if translate:
            make_translation(ctx, clip, found)
        return found
    with tempfile.TemporaryDirectory(prefix="bodycam-asr-") as tmp:
        path = original_path(clip, tmp)
        result = transcribe(path, language=None if want == "auto" else want,
                            progress=(lambda f: ctx.progress(0.05 + (0.6 if translate else 0.85) * f,
                                                             "transcribing")) if ctx else None)
        if result["language_source"] == "model":
            source = "model"  # English-only model: nothing detected
        segs = result["segments"]
        result["language_source"] = source
        if ctx:
            ctx.log(f"{len(segs)} segments, model {result['model']}, {result['duration']} s audio, "
                    f"language {result['language']} ({source}; heard: {', '.join(result['languages']) or '-'})")
        params = {"transcript": "json", "model": result["model"]}
        with transaction.atomic():
            j = _store_text(ctx, clip, "transcript.json", json.dumps(result, indent=1, ensure_ascii=False),
                            "application/json", params)
            v = _store_text(ctx, clip, "transcript.vtt", to_vtt(segs), "text/vtt",
                            {"transcript": "vtt", "model": result["model"]})
            t = Transcript.objects.create(clip=clip, parent_sha256=clip.sha256, model=result["model"],
                                          language=result["language"] or "en",
                                          language_probability=result.get("language_probability"),
                                          language_source=source, languages=result.get("languages") or [],
                                          machine=segs, segments=segs, vtt=v, json=j,
                                          job_id=ctx.job.id if ctx else None)
            _index(clip.recording_id)
            record("media.transcript", actor=f"job:{ctx.job.kind}" if ctx else "system", object_type="clip",
                   object_id=str(clip.id), object_sha256=clip.sha256,
                   detail={"transcript": str(t.id), "model": result["model"], "segments": len(segs),
                           "language": t.language, "language_source": source, "languages": t.languages,
                           "vtt_sha256": v.sha256, "json_sha256": j.sha256})
        if translate:
            make_translation(ctx, clip, t, path=path)
    return t


def needs_translation(t: Transcript) -> bool:
    return any((s.get("language") or t.language) != "en" for s in t.machine)


def make_translation(ctx, clip: Clip, t: Transcript, path: str | None = None) -> Translation | None:
    """Job code: the English machine translation of the clip's non-English speech (None when
    all of it is English). Idempotent. Made from the audio and the machine transcript's
    languages, so later edits of the transcript do not change it."""
    from .derivatives import original_path
    from .transcribe import to_vtt, translate

    found = Translation.objects.filter(clip=clip).first()
    if found or not needs_translation(t):
        return found
    segs_in = [dict(s, language=s.get("language") or t.language) for s in t.machine]
    with tempfile.TemporaryDirectory(prefix="bodycam-mt-") as tmp:
        result = translate(path or original_path(clip, tmp), segs_in,
                           progress=(lambda f: ctx.progress(0.7 + 0.25 * f, "translating")) if ctx else None)
    segs = result["segments"]
    result["transcript"] = str(t.id)
    if ctx:
        ctx.log(f"machine translation to English: {len(segs)} segments from {', '.join(result['source_languages'])}")
    note = "Machine translation to English from " + ", ".join(result["source_languages"]) + \
           f" ({result['model']}); not a certified translation. The original-language transcript is the record."
    params = {"translation": "json", "model": result["model"], "machine_translation": True}
    with transaction.atomic():
        j = _store_text(ctx, clip, "translation.json", json.dumps(result, indent=1, ensure_ascii=False),
                        "application/json", params)
        v = _store_text(ctx, clip, "translation.vtt", to_vtt(segs, note=note), "text/vtt",
                        {"translation": "vtt", "model": result["model"], "machine_translation": True})
        tr = Translation.objects.create(clip=clip, transcript=t, parent_sha256=clip.sha256, model=result["model"],
                                        language="en", source_languages=result["source_languages"],
                                        segments=segs, vtt=v, json=j, job_id=ctx.job.id if ctx else None)
        _index(clip.recording_id)
        record("media.translation", actor=f"job:{ctx.job.kind}" if ctx else "system", object_type="clip",
               object_id=str(clip.id), object_sha256=clip.sha256,
               detail={"translation": str(tr.id), "transcript": str(t.id), "model": result["model"],
                       "machine_translation": True, "source_languages": tr.source_languages,
                       "segments": len(segs), "vtt_sha256": v.sha256, "json_sha256": j.sha256})
    return tr


def schedule(clip_id) -> None:
    """Ingest hook (when settings.MEDIA_AUTO_TRANSCRIBE): queue a transcript."""
    from ..jobs.services import submit

    submit("media.transcribe", params={"clip_id": str(clip_id)}, object_type="clip", object_id=str(clip_id))


# ---------------------------------------------------------------- on behalf of a user
def view(request, clip_id) -> tuple[Clip, Transcript | None]:
    from ..access.services import VIEW, authorize

    clip = authorize(request, clip_id, VIEW)
    t = Transcript.objects.filter(clip=clip).first()
    tr = Translation.objects.filter(clip=clip).first() if t else None
    record_request(request, "evidence.transcript.view", object_type="clip", object_id=str(clip.id),
                   object_sha256=clip.sha256, detail={"transcript": str(t.id) if t else None,
                                                      "version": t.version if t else None,
                                                      "translation": str(tr.id) if tr else None})
    return clip, t


def translation_of(t: Transcript | None) -> Translation | None:
    """The machine translation shown beside a transcript the caller was allowed to view."""
    return Translation.objects.filter(clip_id=t.clip_id).first() if t else None


def captions(request, clip_id, kind: str = "transcript") -> str:
    """WebVTT of the current transcript, or of the machine translation (audited like any
    read of the item)."""
    from ..access.services import PLAY, NotVisible, authorize
    from .transcribe import to_vtt

    clip = authorize(request, clip_id, PLAY)
    if kind == "translation":
        tr = Translation.objects.filter(clip=clip).first()
        if tr is None:
            raise NotVisible("no machine translation for this item")
        record_request(request, "evidence.captions", object_type="clip", object_id=str(clip.id),
                       object_sha256=clip.sha256, detail={"translation": str(tr.id), "machine_translation": True})
        return to_vtt(tr.segments, note="Machine translation to English from " + ", ".join(tr.source_languages)
                      + f" ({tr.model}); not a certified translation.")
    t = Transcript.objects.filter(clip=clip).first()
    if t is None:
        raise NotVisible("no transcript for this item yet")
    record_request(request, "evidence.captions", object_type="clip", object_id=str(clip.id),
                   object_sha256=clip.sha256, detail={"transcript": str(t.id), "version": t.version})
    return to_vtt(t.segments)


def request_transcript(request, clip_id, data=None):
    """Queue a transcript (with the agency defaults or the override in ``data``: language,
    translate). An item that already has one: a translation may still be asked for; another
    language may not (the machine transcript is kept unchanged: correct it by editing)."""
    from ..access.services import EDIT, authorize
    from ..jobs.services import submit
    from .transcribe import language_name

    opts = parse_options(data)  # bad input: 400 before anything is written
    clip = authorize(request, clip_id, EDIT)
    t = Transcript.objects.filter(clip=clip).first()
    if t is not None and opts.get("language") not in (None, "auto", t.language):
        raise TranscriptError(f"this item already has a transcript in {language_name(t.language)}; "
                              "the machine transcript is kept unchanged (correct it by editing)")
    record_request(request, "evidence.transcript.request", object_type="clip", object_id=str(clip.id),
                   object_sha256=clip.sha256, detail=opts)
    if t is not None and opts.get("translate"):
        return submit("media.translate", params={"clip_id": str(clip.id)}, object_type="clip",
                      object_id=str(clip.id), created_by=request.user)
    return submit("media.transcribe", params={"clip_id": str(clip.id), **opts}, object_type="clip",
                  object_id=str(clip.id), created_by=request.user)


def _clean_segments(segments, duration: float) -> list[dict]:
    from .transcribe import LANGUAGES

    if not isinstance(segments, list) or not segments or len(segments) > MAX_SEGMENTS:
        raise TranscriptError("segments must be a non-empty list")
    out = []
    for s in segments:
        if not isinstance(s, dict):
            raise TranscriptError("each segment must be an object with start, end and text")
        try:
            start, end = float(s["start"]), float(s["end"])
        except (KeyError, TypeError, ValueError):
            raise TranscriptError("each segment needs numeric start and end") from None
        text = s.get("text")
        if not isinstance(text, str) or len(text) > 5000:
            raise TranscriptError("segment text must be a string of at most 5000 characters")
        if not (0 <= start <= end <= duration + 1):
            raise TranscriptError(f"segment {start}-{end} s is outside the clip (0-{duration:.1f} s)")
        words = s.get("words") if isinstance(s.get("words"), list) else []
        item = {"start": round(start, 2), "end": round(end, 2), "text": text.strip(), "words": words}
        lang = s.get("language")
        if lang is not None:
            if not isinstance(lang, str) or lang not in LANGUAGES:
                raise TranscriptError(f"unknown language {str(lang)[:20]!r} on a segment")
            item["language"] = lang
        out.append(item)
    return out


def _authorize_edit(request, clip_id) -> Clip:
    from ..access.services import TRANSCRIPT_EDIT, authorize

    # The roles that correct transcripts are among those that edit items (policy; tested).
    return authorize(request, clip_id, TRANSCRIPT_EDIT)


def edit_texts(request, clip_id, texts: dict, note: str = "") -> Transcript:
    """The transcript page's save: new text for some segments (index -> text), the rest
    kept. Audited as one edit (the page does not also audit a view)."""
    clip = _authorize_edit(request, clip_id)
    t = Transcript.objects.filter(clip=clip).first()
    if t is None:
        raise TranscriptError("this item has no transcript yet")
    segs = [dict(s) for s in t.segments]
    for i, s in enumerate(segs):
        if i in texts:
            s["text"] = texts[i]
    return _save(request, clip, t, segs, note)


def edit(request, clip_id, segments, note: str = "") -> Transcript:
    """Replace the current text with ``segments`` (a new version; the machine's stays)."""
    clip = _authorize_edit(request, clip_id)
    t = Transcript.objects.filter(clip=clip).first()
    if t is None:
        raise TranscriptError("this item has no transcript yet")
    return _save(request, clip, t, segments, note)


def _save(request, clip: Clip, t: Transcript, segments, note: str) -> Transcript:
    from ..access.services import audit_denied

    try:
        clean = _clean_segments(segments, clip.duration_s)
    except TranscriptError as exc:
        audit_denied(request, "evidence.transcript.edit", str(exc), object_type="clip", object_id=str(clip.id),
                     status=400)
        raise
    note = str(note or "")[:200]
    with transaction.atomic():
        t = Transcript.objects.select_for_update().get(pk=t.pk)
        before = t.segments
        # Word timings survive an edit only where the text of a segment did not change.
        by_span = {(s["start"], s["end"], s["text"]): s.get("words", []) for s in before}
        for i, s in enumerate(clean):
            s["words"] = by_span.get((s["start"], s["end"], s["text"]), [])
            # The language a segment was spoken in stays unless the edit names another.
            s.setdefault("language", (before[i].get("language") if i < len(before) else None) or t.language)
        t.version += 1
        t.segments = clean
        t.save(update_fields=["version", "segments", "updated_at"])
        TranscriptRevision.objects.create(transcript=t, version=t.version, segments=clean, author=request.user,
                                          note=note)
        _index(clip.recording_id)
        changed = [i for i, s in enumerate(clean) if i >= len(before) or before[i].get("text") != s["text"]]
        record_request(request, "evidence.transcript.edit", object_type="clip", object_id=str(clip.id),
                       object_sha256=clip.sha256,
                       detail={"transcript": str(t.id), "version": t.version, "note": note,
                               "segments_changed": changed[:100], "segments": len(clean)})
    return t


def caption_provider(clip) -> list[dict] | None:
    """media.captions.CAPTION_PROVIDERS entry: the transcript's captions (in its language) and,
    when there is one, the English machine translation's."""
    from .transcribe import language_name

    t = Transcript.objects.filter(clip=clip).only("language", "languages").first()
    if t is None:
        return None
    heard = t.languages or [t.language]
    tracks = [{"src": f"/api/evidence/{clip.id}/captions.vtt", "srclang": t.language,
               "label": "Transcript (" + ", ".join(language_name(x) for x in heard) + ")"}]
    if Translation.objects.filter(clip=clip).exists():
        tracks.append({"src": f"/api/evidence/{clip.id}/translation.vtt", "srclang": "en",
                       "label": "English (machine translation)"})
    return tracks
