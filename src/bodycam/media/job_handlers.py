"""Background jobs that make playback derivatives of an original clip.

  media.playback   proxy (H.264 faststart MP4) + thumbnail, submitted when a clip commits
  media.proxy      the proxy alone
  media.thumbnail  the thumbnail alone
  media.excerpt    an in/out clip asked for by a user

and the transcription and redaction jobs (their work is in media.transcripts and
media.redactions):

  media.transcribe      transcript (and English translation) of a clip
  media.translate       English machine translation of a clip that has a transcript
  media.analyze         find faces and plates after ingest (low priority), before anyone asks
  media.redact.analyze  find faces/plates for a redaction (reuses the stored analysis)
  media.redact.render   render a redacted copy

A still photo (``TriggerOn: Still``: a one-frame clip) also gets its picture as a full-size
JPEG (kind ``image``) from ``media.playback``: pages show it as a photo, not a video.

Each result is a new blob in the content-addressed store plus a ``Derivative`` row naming
the original's SHA-256. Handlers are idempotent: a derivative that already exists for the
same parent and parameters is returned, not made again; a crash between blob and row leaves
an orphan blob that the next run reuses (same bytes, same address) or the sweep collects.
"""

from __future__ import annotations

import os
import tempfile

from ..evidence.identity import is_still
from ..evidence.models import Clip
from ..jobs.registry import handler
from . import redactions, transcode, transcripts
from .derivatives import existing_derivative, original_path, store_derivative
from .models import Derivative, Redaction, Transcript

PROXY_PARAMS = {"codec": "h264", "container": "mp4", "faststart": True, "max_height": transcode.PROXY_MAX_HEIGHT}
THUMB_PARAMS = {"at": 1.0, "width": 320}
IMAGE_PARAMS = {"at": 0.0, "width": "full", "format": "jpeg"}


def make_proxy(ctx, clip: Clip) -> Derivative:
    found = existing_derivative(clip, Derivative.Kind.PROXY, PROXY_PARAMS)
    if found:
        return found
    with tempfile.TemporaryDirectory(prefix="bodycam-proxy-") as tmp:
        out = os.path.join(tmp, "proxy.mp4")
        info = transcode.transcode(original_path(clip, tmp), out, max_height=PROXY_PARAMS["max_height"])
        if ctx:
            ctx.log(f"proxy {info['width']}x{info['height']} {info['duration_s']} s")
        return store_derivative(ctx, clip, Derivative.Kind.PROXY, out, "video/mp4", PROXY_PARAMS)


def make_thumbnail(ctx, clip: Clip) -> Derivative:
    found = existing_derivative(clip, Derivative.Kind.THUMBNAIL, THUMB_PARAMS)
    if found:
        return found
    with tempfile.TemporaryDirectory(prefix="bodycam-thumb-") as tmp:
        out = os.path.join(tmp, "thumb.jpg")
        at = min(THUMB_PARAMS["at"], max(0.0, clip.duration_s / 2))
        transcode.thumbnail(original_path(clip, tmp), out, at=at, width=THUMB_PARAMS["width"])
        return store_derivative(ctx, clip, Derivative.Kind.THUMBNAIL, out, "image/jpeg", THUMB_PARAMS)


def make_image(ctx, clip: Clip) -> Derivative:
    """A still photo's picture: its one frame, full size, as JPEG."""
    found = existing_derivative(clip, Derivative.Kind.IMAGE, IMAGE_PARAMS)
    if found:
        return found
    with tempfile.TemporaryDirectory(prefix="bodycam-image-") as tmp:
        out = os.path.join(tmp, "image.jpg")
        transcode.thumbnail(original_path(clip, tmp), out, at=0.0, width=transcode.FULL_WIDTH)
        return store_derivative(ctx, clip, Derivative.Kind.IMAGE, out, "image/jpeg", IMAGE_PARAMS)


def make_excerpt(ctx, clip: Clip, start: float, end: float, created_by=None) -> Derivative:
    params = {"in": round(float(start), 3), "out": round(float(end), 3), "codec": "h264", "container": "mp4"}
    found = existing_derivative(clip, Derivative.Kind.CLIP, params)
    if found:
        return found
    with tempfile.TemporaryDirectory(prefix="bodycam-excerpt-") as tmp:
        out = os.path.join(tmp, "excerpt.mp4")
        info = transcode.transcode(original_path(clip, tmp), out, start=params["in"], end=params["out"])
        if ctx:
            ctx.log(f"excerpt {params['in']}-{params['out']} s: {info['frames']} frames")
        return store_derivative(ctx, clip, Derivative.Kind.CLIP, out, "video/mp4", params, created_by=created_by)


def _clip(clip_id) -> Clip:
    return Clip.objects.select_related("recording").get(pk=clip_id)


@handler("media.playback")
def playback(ctx, clip_id: str) -> dict:
    clip = _clip(clip_id)
    ctx.progress(0.05, "making proxy")
    proxy = make_proxy(ctx, clip)
    ctx.progress(0.9, "making thumbnail")
    thumb = make_thumbnail(ctx, clip)
    done = {"proxy": str(proxy.id), "thumbnail": str(thumb.id)}
    if is_still(clip.recording):
        done["image"] = str(make_image(ctx, clip).id)
    return done


@handler("media.proxy")
def proxy(ctx, clip_id: str) -> dict:
    return {"proxy": str(make_proxy(ctx, _clip(clip_id)).id)}


@handler("media.thumbnail")
def thumbnail(ctx, clip_id: str) -> dict:
    return {"thumbnail": str(make_thumbnail(ctx, _clip(clip_id)).id)}


@handler("media.excerpt")
def excerpt(ctx, clip_id: str, start: float, end: float) -> dict:
    d = make_excerpt(ctx, _clip(clip_id), start, end, created_by=ctx.job.created_by)
    return {"excerpt": str(d.id), "sha256": d.sha256}


@handler("media.transcribe")
def transcribe(ctx, clip_id: str, language: str | None = None, translate: bool | None = None) -> dict:
    clip = _clip(clip_id)
    ctx.progress(0.02, "loading the speech model")
    t = transcripts.make_transcript(ctx, clip, language=language, translate=translate)
    tr = transcripts.translation_of(t)
    return {"transcript": str(t.id), "segments": len(t.machine), "model": t.model, "language": t.language,
            "languages": t.languages, "translation": str(tr.id) if tr else None}


@handler("media.translate")
def translate(ctx, clip_id: str) -> dict:
    """English machine translation for a clip that already has a transcript."""
    clip = _clip(clip_id)
    t = Transcript.objects.get(clip=clip)
    ctx.progress(0.02, "loading the speech model")
    tr = transcripts.make_translation(ctx, clip, t)
    return {"transcript": str(t.id), "translation": str(tr.id) if tr else None,
            "note": "" if tr else "all speech is English: nothing to translate"}


def _failing(redaction_id, fn, ctx):
    """Run a redaction job; mark the redaction failed if it raises (then re-raise)."""
    try:
        return fn(ctx, redaction_id)
    except Exception:
        Redaction.objects.filter(pk=redaction_id).update(status=Redaction.Status.FAILED)
        raise


@handler("media.redact.analyze")
def redact_analyze(ctx, redaction_id: str) -> dict:
    return _failing(redaction_id, redactions.analyze_job, ctx)


@handler("media.analyze")
def analyze(ctx, clip_id: str) -> dict:
    clip = _clip(clip_id)
    if is_still(clip.recording):
        return {"skipped": "a still photo: nothing to track"}
    return redactions.background_analysis(ctx, clip)


@handler("media.redact.render")
def redact_render(ctx, redaction_id: str) -> dict:
    return _failing(redaction_id, redactions.render_job, ctx)
