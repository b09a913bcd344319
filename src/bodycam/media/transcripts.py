"""Transcripts of original clips: made by a job, kept as WebVTT + JSON derivatives, fed to
search, shown as captions, edited by authorized people (every edit audited; the
machine's transcript is kept unchanged beside the edited one)."""

from __future__ import annotations

import json
import os
import tempfile

from django.db import transaction

from ..access.evidence import BadInput
from ..custody.services import record, record_request
from ..evidence.models import Clip
from .models import Derivative, Transcript, TranscriptRevision

# Who may correct a transcript is access.policy's "evidence.transcript.edit" (a clip action).
MAX_SEGMENTS = 20000


class TranscriptError(BadInput):
    """Bad input: 400."""


def _index(recording_id) -> None:
    """The recording's one transcript document holds every clip's current text (read after
    the caller has saved its transcript, inside the same transaction)."""
    from ..search.services import index_text
    from .transcribe import plain_text

    texts = [plain_text(t.segments)
             for t in Transcript.objects.filter(clip__recording_id=recording_id).order_by("clip__start_time")]
    index_text(recording_id, "transcript", "\n".join(x for x in texts if x))


def _store_text(ctx, clip: Clip, name: str, text: str, content_type: str, params: dict) -> Derivative:
    from .derivatives import store_derivative

    with tempfile.TemporaryDirectory(prefix="bodycam-transcript-") as tmp:
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return store_derivative(ctx, clip, Derivative.Kind.OTHER, path, content_type, params)


def make_transcript(ctx, clip: Clip) -> Transcript:
    """Job code: transcribe the original (idempotent: an existing transcript is returned)."""
    from .derivatives import original_path
    from .transcribe import to_vtt, transcribe

    found = Transcript.objects.filter(clip=clip).first()
    if found:
        return found
    with tempfile.TemporaryDirectory(prefix="bodycam-asr-") as tmp:
        result = transcribe(original_path(clip, tmp), progress=(lambda f: ctx.progress(0.05 + 0.85 * f,
                                                                                         "transcribing"))
                            if ctx else None)
    segs = result["segments"]
    if ctx:
        ctx.log(f"{len(segs)} segments, model {result['model']}, {result['duration']} s audio")
    params = {"transcript": "json", "model": result["model"]}
    with transaction.atomic():
        j = _store_text(ctx, clip, "transcript.json", json.dumps(result, indent=1), "application/json", params)
        v = _store_text(ctx, clip, "transcript.vtt", to_vtt(segs), "text/vtt",
                        {"transcript": "vtt", "model": result["model"]})
        t = Transcript.objects.create(clip=clip, parent_sha256=clip.sha256, model=result["model"],
                                      language=result["language"] or "en", machine=segs, segments=segs,
                                      vtt=v, json=j, job_id=ctx.job.id if ctx else None)
        _index(clip.recording_id)
        record("media.transcript", actor=f"job:{ctx.job.kind}" if ctx else "system", object_type="clip",
               object_id=str(clip.id), object_sha256=clip.sha256,
               detail={"transcript": str(t.id), "model": result["model"], "segments": len(segs),
                       "vtt_sha256": v.sha256, "json_sha256": j.sha256})
    return t


def schedule(clip_id) -> None:
    """Ingest hook (when settings.MEDIA_AUTO_TRANSCRIBE): queue a transcript."""
    from ..jobs.services import submit

    submit("media.transcribe", params={"clip_id": str(clip_id)}, object_type="clip", object_id=str(clip_id))


# ---------------------------------------------------------------- on behalf of a user
def view(request, clip_id) -> tuple[Clip, Transcript | None]:
    from ..access.services import VIEW, authorize

    clip = authorize(request, clip_id, VIEW)
    t = Transcript.objects.filter(clip=clip).first()
    record_request(request, "evidence.transcript.view", object_type="clip", object_id=str(clip.id),
                   object_sha256=clip.sha256, detail={"transcript": str(t.id) if t else None,
                                                      "version": t.version if t else None})
    return clip, t


def captions(request, clip_id) -> str:
    """WebVTT of the current transcript (audited like any read of the item)."""
    from ..access.services import PLAY, NotVisible, authorize
    from .transcribe import to_vtt

    clip = authorize(request, clip_id, PLAY)
    t = Transcript.objects.filter(clip=clip).first()
    if t is None:
        raise NotVisible("no transcript for this item yet")
    record_request(request, "evidence.captions", object_type="clip", object_id=str(clip.id),
                   object_sha256=clip.sha256, detail={"transcript": str(t.id), "version": t.version})
    return to_vtt(t.segments)


def request_transcript(request, clip_id):
    from ..access.services import EDIT, authorize
    from ..jobs.services import submit

    clip = authorize(request, clip_id, EDIT)
    record_request(request, "evidence.transcript.request", object_type="clip", object_id=str(clip.id),
                   object_sha256=clip.sha256)
    return submit("media.transcribe", params={"clip_id": str(clip.id)}, object_type="clip",
                  object_id=str(clip.id), created_by=request.user)


def _clean_segments(segments, duration: float) -> list[dict]:
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
        out.append({"start": round(start, 2), "end": round(end, 2), "text": text.strip(), "words": words})
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
        for s in clean:
            s["words"] = by_span.get((s["start"], s["end"], s["text"]), [])
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


def caption_provider(clip) -> str | None:
    """media.captions.CAPTION_PROVIDERS entry: the captions URL when the clip has a transcript."""
    if Transcript.objects.filter(clip=clip).exists():
        return f"/api/evidence/{clip.id}/captions.vtt"
    return None
