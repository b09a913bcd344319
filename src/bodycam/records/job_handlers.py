"""Jobs of the transcription / redaction / release workflow (job code lives in
media.transcripts, media.redactions and records.services)."""

from __future__ import annotations

from ..evidence.models import Clip
from ..jobs.registry import handler
from ..media import redactions, transcripts
from ..media.models import Redaction


@handler("media.transcribe")
def transcribe(ctx, clip_id: str, language: str | None = None, translate: bool | None = None) -> dict:
    clip = Clip.objects.select_related("recording").get(pk=clip_id)
    ctx.progress(0.02, "loading the speech model")
    t = transcripts.make_transcript(ctx, clip, language=language, translate=translate)
    tr = transcripts.translation_of(t)
    return {"transcript": str(t.id), "segments": len(t.machine), "model": t.model, "language": t.language,
            "languages": t.languages, "translation": str(tr.id) if tr else None}


@handler("media.translate")
def translate(ctx, clip_id: str) -> dict:
    """English machine translation for a clip that already has a transcript."""
    from ..media.models import Transcript

    clip = Clip.objects.select_related("recording").get(pk=clip_id)
    t = Transcript.objects.get(clip=clip)
    ctx.progress(0.02, "loading the speech model")
    tr = transcripts.make_translation(ctx, clip, t)
    return {"transcript": str(t.id), "translation": str(tr.id) if tr else None,
            "note": "" if tr else "all speech is English: nothing to translate"}


def _failing(redaction_id, fn, ctx):
    try:
        return fn(ctx, redaction_id)
    except Exception:
        Redaction.objects.filter(pk=redaction_id).update(status=Redaction.Status.FAILED)
        raise


@handler("media.redact.analyze")
def redact_analyze(ctx, redaction_id: str) -> dict:
    return _failing(redaction_id, redactions.analyze_job, ctx)


@handler("media.redact.render")
def redact_render(ctx, redaction_id: str) -> dict:
    return _failing(redaction_id, redactions.render_job, ctx)


@handler("records.package")
def package(ctx, request_id: str) -> dict:
    from . import services

    return services.package_job(ctx, request_id)
