"""Derivative helpers shared by media's job handlers (playback, transcripts, redaction).

A derivative is a new blob in the content-addressed store plus a ``Derivative`` row naming
its original's SHA-256; originals are never rewritten."""

from __future__ import annotations

import os

from django.db import IntegrityError

from ..custody.services import record
from ..evidence.models import Clip
from ..storage import get_store, put_file
from .models import Derivative, params_key


def original_path(clip: Clip, tmpdir: str) -> str:
    """A local file path holding the clip's original bytes (the store's own file, or a copy in ``tmpdir``)."""
    store = get_store()
    path = store.local_path(clip.sha256)
    if path:
        return path
    # Object stores without local files: copy to a temp file for FFmpeg.
    path = os.path.join(tmpdir, "original")
    with store.open(clip.sha256) as src, open(path, "wb") as out:
        while data := src.read(1 << 20):
            out.write(data)
    return path


def store_derivative(ctx, clip: Clip, kind: str, path: str, content_type: str, params: dict,
                     created_by=None) -> Derivative:
    """Store ``path`` as a new blob and catalogue it as a derivative of ``clip`` (audited).
    Idempotent: there is one derivative per (clip, kind, settings) (a unique constraint); if
    another run made it first (a second playback job running beside this one), that one is
    returned and nothing is catalogued or audited again. This run's blob is then either the
    same bytes (the same address) or named by no row, and the orphan sweep sets it aside."""
    found = existing_derivative(clip, kind, params)
    if found:
        return found

    def name_derivative(incoming) -> Derivative:
        return Derivative.objects.create(clip=clip, parent_sha256=clip.sha256, kind=kind, sha256=incoming.sha256,
                                         size=incoming.size, content_type=content_type, params=params,
                                         created_by=created_by, job_id=ctx.job.id if ctx else None)

    try:
        with open(path, "rb") as f:
            d = put_file(f, os.path.getsize(path), name_derivative)
    except IntegrityError:
        found = existing_derivative(clip, kind, params)
        if found is None:
            raise
        if ctx:
            ctx.log(f"{kind} of this clip with these settings was made meanwhile ({found.id}); keeping that one")
        return found
    record(f"media.derivative.{kind}", actor=f"job:{ctx.job.kind}" if ctx else "system", object_type="clip",
           object_id=str(clip.id), object_sha256=clip.sha256,
           detail={"derivative": str(d.id), "sha256": d.sha256, "size": d.size, "params": params})
    return d


def existing_derivative(clip: Clip, kind: str, params: dict) -> Derivative | None:
    """The derivative of this original with these parameters, if one was made already."""
    return Derivative.objects.filter(clip=clip, parent_sha256=clip.sha256, kind=kind,
                                     params_key=params_key(params)).first()
