"""Redactions on behalf of a user and the job code behind them.

start -> the clip's analysis (face and plate tracks: made after ingest by ``media.analyze``
and reused, or now by job ``media.redact.analyze``) -> the user reviews and edits the plan
(tracks off, manual boxes, method, audio ranges from transcript words, a reason for each)
-> job ``media.redact.render``: a new REDACTED derivative with a C2PA manifest naming the
original as parent ingredient and listing every redaction. The original is only read.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import tempfile
import threading
import uuid

from django.conf import settings
from django.db import transaction

from ..custody.services import record, record_request
from ..errors import BadInput
from ..evidence.models import Clip
from ..timefmt import isoformat
from . import plates, redact
from .models import Analysis, Derivative, PlateRead, Redaction, params_key

# Who may redact for release is access.policy's "evidence.redact" (a clip action).
MAX_TRACKS = 2000


class RedactionError(BadInput):
    """Bad input: 400."""


# ---------------------------------------------------------------- analysis (faces + plates)
ANALYSIS_VERSION = 4   # the tracker and plate finder: bump when their code changes what they find


def analysis_settings(step: int = redact.DEFAULT_STEP) -> dict:
    """The models and settings an analysis is made with; its key is their SHA-256."""
    return {"version": ANALYSIS_VERSION, "step": int(step),
            "faces": {"model": redact.model_version(), "detect_width": redact.DEFAULT_DETECT_WIDTH,
                      "coarse_width": redact.DEFAULT_COARSE_WIDTH, "fine_every": redact.DEFAULT_FINE_EVERY,
                      "threshold": redact.DEFAULT_THRESHOLD},
            "plates": {"model": plates.model_version(), "detect_width": plates.DETECT_WIDTH,
                       "min_score": plates.MIN_SCORE, "contrast": plates.STROKE_CONTRAST}}


def analysis_key(settings_: dict) -> str:
    return params_key(settings_)


def find_analysis(clip: Clip, step: int = redact.DEFAULT_STEP) -> Analysis | None:
    """The clip's analysis made with today's models and these settings, if there is one."""
    return Analysis.objects.filter(clip=clip, parent_sha256=clip.sha256,
                                   key=analysis_key(analysis_settings(step))).first()


def run_analysis(ctx, clip: Clip, step: int = redact.DEFAULT_STEP, *, background: bool = False) -> Analysis:
    """The clip's analysis for ``step``: the stored one when the key matches (models and
    settings unchanged), else made now (in ``background``: at a lower CPU priority), stored
    with its plate reads, indexed for search and audited. The original is only read; its
    hash is checked after."""
    from ..storage import get_store
    from .derivatives import original_path

    found = find_analysis(clip, step)
    if found is not None:
        return found
    wanted = analysis_settings(step)
    with tempfile.TemporaryDirectory(prefix="bodycam-analyze-") as tmp:
        path = original_path(clip, tmp)
        work = functools.partial(redact.analyze, path, step=step, device=settings.MEDIA_DEVICE,
                                 pool="background" if background else "")
        progress = (lambda f: ctx.progress(0.05 + 0.9 * f, "finding faces and plates")) if ctx else None
        plan = lowered_priority(work, progress) if background else work(progress=progress)
    if get_store().local_path(clip.sha256) and get_store().rehash(clip.sha256) != clip.sha256:
        raise RuntimeError("the original changed during analysis")
    fps = float(plan.get("fps") or 30)
    with transaction.atomic():
        a, created = Analysis.objects.get_or_create(
            clip=clip, key=analysis_key(wanted),
            defaults={"parent_sha256": clip.sha256, "settings": wanted, "plan": plan,
                      "job": ctx.job if ctx else None})
        if created:
            PlateRead.objects.bulk_create([
                PlateRead(analysis=a, clip=clip, text=t["text"][:16], track=t["id"], score=t.get("score", 0.0),
                          start_s=round(t["first"] / fps, 2), end_s=round((t["last"] + 1) / fps, 2))
                for t in plan["tracks"] if t.get("label") == "plate" and t.get("text")])
            record("media.analysis", actor=f"job:{ctx.job.kind}" if ctx else "system", object_type="clip",
                   object_id=str(clip.id), object_sha256=clip.sha256,
                   detail={"analysis": str(a.id), "key": a.key, "step": step, "background": background,
                           "faces": sum(t["label"] == "face" for t in plan["tracks"]),
                           "plates": sum(t["label"] == "plate" for t in plan["tracks"]),
                           "provider": plan.get("provider", "")})
    if created:
        index_plates(clip.recording_id)
    if ctx:
        ctx.log(f"{len(plan['tracks'])} tracks on {plan['frames']} frames ({plan.get('provider')})"
                + ("" if created else "; analysed meanwhile by another job"))
    return a


def lowered_priority(fn, progress=None, nice: int = 10):
    """Run ``fn(progress=...)`` in a thread of its own at ``nice`` steps lower CPU priority
    (Linux: the priority is per thread and inherited by the threads it starts: the decoder's
    and the models' own pools, which the background analysis keeps apart), so background
    analysis yields the processor to ingest, playback and the work people wait for. ``fn``
    does no database work (a thread has a connection of its own): its progress is handed to
    ``progress`` in the calling thread."""
    out: dict = {}
    latest: list = [None]

    def target():
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
        except (AttributeError, OSError):  # not Linux, or not allowed: run at the usual priority
            pass
        try:
            out["value"] = fn(progress=lambda f: latest.__setitem__(0, f))
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            out["error"] = exc

    t = threading.Thread(target=target, name="bodycam-background-analysis", daemon=True)
    t.start()
    shown = None
    while t.is_alive():
        t.join(1.0)
        if progress and latest[0] is not None and latest[0] != shown:
            shown = latest[0]
            progress(shown)
    if "error" in out:
        raise out["error"]
    return out["value"]


def index_plates(recording_id) -> None:
    """The recording's ``plates`` search document: every plate its clips' newest analyses read."""
    from ..search.services import index_text

    newest = {}
    for a in Analysis.objects.filter(clip__recording_id=recording_id).order_by("created_at"):
        newest[a.clip_id] = a.id
    texts = sorted(set(PlateRead.objects.filter(analysis_id__in=list(newest.values())).values_list("text", flat=True)))
    index_text(recording_id, "plates", " ".join(texts))


def plate_reads_for(clip_ids, query: str) -> dict[str, list[dict]]:
    """For search results: clip id -> the machine's plate reads that the query's words name."""
    out: dict[str, list[dict]] = {}
    for p in _reads_named(query, clip_id__in=list(clip_ids)):
        out.setdefault(str(p.clip_id), []).append(plate_read_dict(p))
    return out


def plate_reads_in_recordings(recording_ids, query: str) -> dict[str, list[dict]]:
    """For results listed by recording: recording id -> the plate reads the query's words name,
    their seconds on the recording's own time (from its first frame), whichever clip they are in."""
    out: dict[str, list[dict]] = {}
    for p in _reads_named(query, clip__recording_id__in=list(recording_ids)).select_related("clip__recording"):
        began = p.clip.recording.start_time
        shift = (p.clip.start_time - began).total_seconds() if p.clip.start_time and began else 0.0
        read = plate_read_dict(p) | {"start_s": p.start_s + shift, "end_s": p.end_s + shift}
        out.setdefault(str(p.clip.recording_id), []).append(read)
    return out


def _reads_named(query, **where):
    words = {plates.normalise(w) for w in (query or "").split()} - {""}
    if not words:
        return PlateRead.objects.none()
    return PlateRead.objects.filter(text__in=words, **where).order_by("start_s")


def plate_read_dict(p: PlateRead) -> dict:
    return {"text": p.text, "start_s": p.start_s, "end_s": p.end_s, "score": round(p.score, 3),
            "finding": "machine", "label": "read by machine (not verified by a person)"}


def plan_from(a: Analysis, plan: dict) -> dict:
    """A redaction's plan: the analysis' tracks and clip facts, the redaction's own choices."""
    return {**copy.deepcopy(a.plan), "analysis": str(a.id), "method": plan.get("method", "blur"),
            "reason": plan.get("reason", ""), "audio": plan.get("audio", [])}


# ---------------------------------------------------------------- job code
def analyze_job(ctx, redaction_id) -> dict:
    r = Redaction.objects.select_related("clip").get(pk=redaction_id)
    if r.status != Redaction.Status.ANALYZING and r.plan.get("tracks") is not None:
        return {"redaction": str(r.id), "tracks": len(r.plan.get("tracks", []))}  # done before (retry)
    step = int(r.plan.get("step", redact.DEFAULT_STEP))
    a = run_analysis(ctx, r.clip, step)
    plan = plan_from(a, r.plan)
    Redaction.objects.filter(pk=r.pk).update(plan=plan, status=Redaction.Status.REVIEW)
    record("media.redaction.analyzed", actor=f"job:{ctx.job.kind}", object_type="clip", object_id=str(r.clip_id),
           object_sha256=r.clip.sha256, detail={"redaction": str(r.id), "tracks": len(plan["tracks"]),
                                                "analysis": str(a.id), "step": step,
                                                "provider": plan.get("provider", "")})
    return {"redaction": str(r.id), "tracks": len(plan["tracks"]), "analysis": str(a.id)}


def background_analysis(ctx, clip: Clip) -> dict:
    """Job ``media.analyze`` (queued after ingest): analyse before anyone asks, at a lower
    CPU priority, unless an analysis with today's models and settings exists."""
    before = find_analysis(clip)
    a = before or run_analysis(ctx, clip, background=True)
    return {"analysis": str(a.id), "reused": before is not None,
            "tracks": len(a.plan.get("tracks", [])), "plates": a.plate_reads.count()}


def schedule_analysis(clip_id) -> None:
    """Ingest hook: queue ``media.analyze`` for a new video clip (``MEDIA_AUTO_ANALYZE``)."""
    from ..jobs.services import submit

    submit("media.analyze", params={"clip_id": str(clip_id)}, object_type="clip", object_id=str(clip_id))


def c2pa_actions(plan: dict) -> list[dict]:
    method = plan.get("method", "blur")
    out = []
    for t in plan.get("tracks", []):
        if not t.get("enabled", True):
            continue
        m = t.get("method") or method
        reason = t.get("reason") or plan.get("reason", "")
        # (the label only, never a plate's text: the manifest travels with the released copy)
        out.append({"action": "c2pa.edited",
                    "description": f"redacted {t.get('label', 'region')} ({m}) frames {t['keys'][0][0]}-"
                                   f"{t['keys'][-1][0]}: {reason}",
                    "parameters": {"org.bodycam.redaction": {"kind": "video", "track": t.get("id"),
                                                             "label": t.get("label", "region"),
                                                             "source": t.get("source", "manual"), "method": m,
                                                             "reason": reason}}})
    for a in plan.get("audio", []):
        reason = a.get("reason") or plan.get("reason", "")
        out.append({"action": "c2pa.edited",
                    "description": f"{a.get('mode', 'mute')} audio {float(a['start']):.2f}-{float(a['end']):.2f} s: "
                                   f"{reason}",
                    "parameters": {"org.bodycam.redaction": {"kind": "audio", "mode": a.get("mode", "mute"),
                                                             "start": float(a["start"]), "end": float(a["end"]),
                                                             "reason": reason}}})
    return out


def render_job(ctx, redaction_id) -> dict:
    from ..storage import get_store
    from . import c2pa_sign
    from .derivatives import original_path, store_derivative

    r = Redaction.objects.select_related("clip").get(pk=redaction_id)
    if r.output_id:
        return {"redaction": str(r.id), "derivative": str(r.output_id)}
    clip = r.clip
    plan = r.plan
    with tempfile.TemporaryDirectory(prefix="bodycam-render-") as tmp:
        original = original_path(clip, tmp)
        plain = os.path.join(tmp, "redacted-unsigned.mp4")
        stats = redact.render(original, plan, plain, progress=lambda f: ctx.progress(0.02 + 0.9 * f, "rendering"))
        ctx.progress(0.93, "signing (C2PA)")
        signed = os.path.join(tmp, "redacted.mp4")
        actions = c2pa_actions(plan)
        c2pa_sign.sign_video(plain, signed, parent_path=original, parent_sha256=clip.sha256,
                             actions=actions, title=f"{clip.object_name} (redacted {str(r.id)[:8]})")
        summary = c2pa_sign.verify(signed)
        params = {"redaction": str(r.id), "method": plan.get("method", "blur"), "c2pa": True,
                  "tracks": stats["tracks"], "audio_ranges": stats["audio_ranges"],
                  "masked_frames": stats["masked_frames"]}
        d = store_derivative(ctx, clip, Derivative.Kind.REDACTED, signed, "video/mp4", params,
                              created_by=r.created_by)
    # The original was only read: prove it (cheap for local stores, and it is the invariant).
    if get_store().local_path(clip.sha256) and get_store().rehash(clip.sha256) != clip.sha256:
        raise RuntimeError("the original changed during redaction")
    Redaction.objects.filter(pk=r.pk).update(output=d, status=Redaction.Status.DONE)
    record("media.redaction.output", actor=f"job:{ctx.job.kind}", object_type="clip", object_id=str(clip.id),
           object_sha256=clip.sha256, detail={"redaction": str(r.id), "derivative": str(d.id), "sha256": d.sha256,
                                              "c2pa_state": summary["state"], "actions": len(summary["actions"]),
                                              "reasons": sorted({a["parameters"]["org.bodycam.redaction"]["reason"]
                                                                 for a in actions})[:50]})
    return {"redaction": str(r.id), "derivative": str(d.id), "sha256": d.sha256, **stats}


# ---------------------------------------------------------------- on behalf of a user
def authorize_clip(request, clip_id, what: str) -> Clip:
    from ..access.services import REDACT, authorize

    return authorize(request, clip_id, REDACT, audit_action=f"evidence.redaction.{what}")


def get(request, redaction_id, what: str = "view") -> Redaction:
    from ..access.services import NotVisible, audit_denied
    from ..numbers import parse_uuid

    rid = parse_uuid(redaction_id)
    r = Redaction.objects.filter(pk=rid).first() if rid else None
    if r is None:
        audit_denied(request, f"evidence.redaction.{what}", "no such redaction", object_type="redaction",
                     object_id=str(redaction_id)[:64], status=404)
        raise NotVisible("no such redaction")
    authorize_clip(request, r.clip_id, what)
    if what == "view":  # the plan shows where faces are: every read is audited, page or API
        from ..custody.services import record_request

        record_request(request, "evidence.redaction.view", object_type="clip", object_id=str(r.clip_id),
                       object_sha256=r.parent_sha256, detail={"redaction": str(r.id)})
    return r


def start(request, clip_id, data: dict | None = None) -> Redaction:
    from ..jobs.services import submit

    data = {} if data is None else data
    if not isinstance(data, dict):
        raise RedactionError("body must be a JSON object")
    unknown = sorted(str(k)[:40] for k in data if k != "step")
    if unknown:  # a body this does not read is a mistake, not a request with defaults
        raise RedactionError(f"unknown field(s): {', '.join(unknown[:5])}; the only field is step")
    clip = authorize_clip(request, clip_id, "start")
    try:
        step = int(data.get("step", redact.DEFAULT_STEP))
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e999 is JSON for infinity
        step = 0
    if not 1 <= step <= 30:
        raise RedactionError("step must be 1-30 frames")
    ready = find_analysis(clip, step)  # analysed after ingest (or by an earlier redaction): no wait
    with transaction.atomic():
        plan = {"step": step, "method": "blur", "audio": []}
        r = Redaction.objects.create(clip=clip, parent_sha256=clip.sha256, created_by=request.user,
                                     plan=plan_from(ready, plan) if ready else plan,
                                     status=Redaction.Status.REVIEW if ready else Redaction.Status.ANALYZING)
        record_request(request, "evidence.redaction.start", object_type="clip", object_id=str(clip.id),
                       object_sha256=clip.sha256, detail={"redaction": str(r.id), "step": step,
                                                          "analysis": str(ready.id) if ready else None})
    if ready:
        return r
    job = submit("media.redact.analyze", params={"redaction_id": str(r.id)}, object_type="clip",
                 object_id=str(clip.id), created_by=request.user)
    Redaction.objects.filter(pk=r.pk).update(analyze_job=job)
    r.refresh_from_db()
    return r


def _info(plan: dict) -> dict:
    return {"frames": int(plan.get("frames", 0)), "width": int(plan.get("width", 0)),
            "height": int(plan.get("height", 0))}


def _list_of(changes: dict, key: str) -> list:
    value = changes.get(key, []) or []
    if not isinstance(value, list):
        raise RedactionError(f"{key} must be a list")
    return value


def _apply_changes(plan: dict, changes: dict) -> set:
    """The editor's changes applied to ``plan`` in place (``update`` validates the result);
    returns the ids of the tracks removed."""
    if "method" in changes:
        plan["method"] = str(changes["method"])
    if "reason" in changes:
        plan["reason"] = str(changes["reason"])[:500]
    by_id = {t["id"]: t for t in plan.get("tracks", [])}
    for ch in _list_of(changes, "tracks"):
        t = by_id.get(ch.get("id")) if isinstance(ch, dict) and isinstance(ch.get("id"), str) else None
        if t is None:
            raise RedactionError(f"no track {ch.get('id') if isinstance(ch, dict) else ch!r}")
        if "enabled" in ch:
            t["enabled"] = bool(ch["enabled"])
        if "reason" in ch:
            t["reason"] = str(ch["reason"])[:500]
        if "method" in ch:
            if ch["method"] not in redact.METHODS + ("", None):
                raise RedactionError(f"method must be one of {', '.join(redact.METHODS)}")
            t["method"] = ch["method"] or None
    remove = _list_of(changes, "remove_tracks")
    if not all(isinstance(i, str) for i in remove):
        raise RedactionError("remove_tracks must list track ids")
    remove = set(remove)
    if any(by_id.get(i, {}).get("source") == "auto" for i in remove):
        raise RedactionError("automatic tracks are turned off (kept for the record), not removed")
    plan["tracks"] = [t for t in plan.get("tracks", []) if t["id"] not in remove]
    for add in _list_of(changes, "add_tracks"):
        if not isinstance(add, dict) or not isinstance(add.get("keys"), list):
            raise RedactionError("add_tracks entries need keys: [[frame, x1, y1, x2, y2], ...]")
        keys = []
        for k in add["keys"]:
            if not isinstance(k, list) or len(k) < 5:
                raise RedactionError("each key is [frame, x1, y1, x2, y2]")
            try:
                values = [float(v) for v in k[:5]]
            except (TypeError, ValueError):
                raise RedactionError("key values must be numbers") from None
            if not all(math.isfinite(v) for v in values):
                raise RedactionError("key values must be finite numbers")
            keys.append([int(values[0])] + [round(v, 1) for v in values[1:]] + [1.0])
        plan["tracks"].append({"id": f"m{uuid.uuid4().hex[:6]}", "label": str(add.get("label") or "manual")[:40],
                               "source": "manual", "enabled": True, "keys": keys, "pad": 0,
                               "first": keys[0][0] if keys else 0, "last": keys[-1][0] if keys else 0,
                               "reason": str(add.get("reason", ""))[:500], "method": add.get("method") or None})
        if plan["tracks"][-1]["method"] not in (None,) + redact.METHODS:
            raise RedactionError(f"method must be one of {', '.join(redact.METHODS)}")
    if "audio" in changes:
        if not isinstance(changes["audio"], list):
            raise RedactionError("audio must be a list of ranges")
        plan["audio"] = [{"start": a.get("start"), "end": a.get("end"), "mode": a.get("mode", "mute"),
                          "reason": str(a.get("reason", ""))[:500], "words": str(a.get("words", ""))[:500]}
                         for a in changes["audio"] if isinstance(a, dict)]
        if len(plan["audio"]) != len(changes["audio"]):
            raise RedactionError("audio ranges must be objects")
    return remove


def update(request, redaction_id, changes) -> Redaction:
    """Apply the editor's changes: {method, reason, tracks: [{id, enabled, reason, method}],
    add_tracks: [{label, keys, reason, method}], remove_tracks: [id], audio: [{start, end,
    mode, reason, words}]}. Validated as a whole; nothing is saved when anything is wrong."""
    from ..access.services import audit_denied

    r = get(request, redaction_id, "edit")
    if not isinstance(changes, dict):
        raise RedactionError("body must be a JSON object")
    if r.status not in (Redaction.Status.REVIEW, Redaction.Status.FAILED):
        raise RedactionError(f"this redaction is {r.status}; it can be edited only while in review")
    plan = copy.deepcopy(r.plan)
    try:
        try:
            remove = _apply_changes(plan, changes)
        except (TypeError, ValueError, OverflowError, AttributeError) as exc:  # a shape not checked below
            raise RedactionError(f"malformed change ({type(exc).__name__}): give the fields as documented") from None
        if len(plan["tracks"]) > MAX_TRACKS:
            raise RedactionError(f"at most {MAX_TRACKS} tracks")
        errs = redact.validate_plan(plan, _info(plan), require_reasons=False)  # reasons are due at render
        if errs:
            raise RedactionError("; ".join(errs[:5]))
    except RedactionError as exc:
        audit_denied(request, "evidence.redaction.edit", str(exc), object_type="clip", object_id=str(r.clip_id),
                     status=400)
        raise
    with transaction.atomic():
        Redaction.objects.filter(pk=r.pk).update(plan=plan)
        record_request(request, "evidence.redaction.edit", object_type="clip", object_id=str(r.clip_id),
                       object_sha256=r.parent_sha256,
                       detail={"redaction": str(r.id), "method": plan.get("method"),
                               "disabled": [t["id"] for t in plan["tracks"] if not t.get("enabled", True)][:200],
                               "added": len(changes.get("add_tracks", []) or []), "removed": sorted(remove)[:200],
                               "audio_ranges": len(plan.get("audio", []))})
    r.refresh_from_db()
    return r


def render(request, redaction_id) -> Redaction:
    """Check the plan is complete (a reason for every redaction) and queue the output."""
    from ..access.services import audit_denied
    from ..jobs.services import submit

    r = get(request, redaction_id, "render")
    if r.status not in (Redaction.Status.REVIEW, Redaction.Status.FAILED):
        raise RedactionError(f"this redaction is {r.status}; only a reviewed plan can be rendered")
    errs = redact.validate_plan(r.plan, _info(r.plan))
    if errs:
        audit_denied(request, "evidence.redaction.render", "; ".join(errs[:5]), object_type="clip",
                     object_id=str(r.clip_id), status=400)
        raise RedactionError("; ".join(errs[:5]))
    record_request(request, "evidence.redaction.render", object_type="clip", object_id=str(r.clip_id),
                   object_sha256=r.parent_sha256, detail={"redaction": str(r.id),
                                                          "actions": len(c2pa_actions(r.plan))})
    Redaction.objects.filter(pk=r.pk).update(status=Redaction.Status.RENDERING)
    job = submit("media.redact.render", params={"redaction_id": str(r.id)}, object_type="clip",
                 object_id=str(r.clip_id), created_by=request.user)
    if job.status == job.Status.FAILED:
        Redaction.objects.filter(pk=r.pk).update(status=Redaction.Status.FAILED)
    Redaction.objects.filter(pk=r.pk).update(render_job=job)
    r.refresh_from_db()
    return r


def as_dict(r: Redaction) -> dict:
    return {"id": str(r.id), "clip": str(r.clip_id), "status": r.status, "plan": r.plan,
            "parent_sha256": r.parent_sha256, "output": str(r.output_id) if r.output_id else None,
            "output_sha256": r.output.sha256 if r.output_id else None,
            "analyze_job": str(r.analyze_job_id) if r.analyze_job_id else None,
            "render_job": str(r.render_job_id) if r.render_job_id else None,
            "created_by": r.created_by.username, "created_at": isoformat(r.created_at)}
