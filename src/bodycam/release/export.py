"""Court exports: originals + SHA-256 list signed by the server + camera manifests and keys
+ chain-of-custody reports + VERIFY.txt, in one ZIP (format: bodycam.provenance.export).

Who may export: whoever may download every item in it (detectives and custodians; a
prosecutor whose share allows download; a link that allows download). Each exported clip
gets an ``evidence.export`` audit entry (so its custody report, built next, lists the
export), and the export itself one ``release.export`` entry naming every item.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
import zipfile
from datetime import datetime, timezone

from django.db.models import QuerySet

from ..access.policy import allowed
from ..access.services import Denied, audit_denied, visible_clips
from ..custody.chain import server_key
from ..custody.report import build_report, render_pdf
from ..custody.services import record_request
from ..evidence.identity import recording_rows
from ..evidence.models import Attachment, Clip
from ..evidence_ops import services as ev
from ..provenance import export as fmt
from ..provenance.keys import public_b64
from ..storage import get_store
from ..timefmt import iso_as_given, readable, utc_text
from .services import safe_path

VERIFY_TXT = """HOW TO VERIFY THIS EVIDENCE EXPORT
==================================

This archive was produced by the bodycam evidence system on {exported_at} by {exported_by}.
It holds {n} original recording file(s), exactly as the cameras wrote them.{terms}

Recordings in this export (times in UTC, the agency's local time in brackets)
{contents}
What is inside
  originals/      the original files, bit-for-bit as uploaded by the camera
  manifests/      for each original, the manifest the camera signed when it recorded it
  keys/devices/   each camera's public key, as registered on the server
  custody/        the chain-of-custody report of each original (PDF and JSON)
  case-files/     a case export: the case's attached files (reports, photos, audio)
  transcripts/    a case export: each transcript (JSON) and its captions (WebVTT), translations
  redacted/       a case export: the redacted copies made of the originals
  excerpts/       a case export: the in/out clips cut from the originals
  notes/          a case export: the notes written on each recording (JSON)
  export.json     the list of items and files: hashes, cameras, times, who exported them
  SHA256SUMS      the SHA-256 hash of every other file in this archive
  SHA256SUMS.sig  the server's Ed25519 signature over SHA256SUMS
  keys/server-ed25519.pem   the server's public key

1. Nothing was changed after export. On Linux or macOS, in the unpacked folder:
       sha256sum -c SHA256SUMS          (macOS: shasum -a 256 -c SHA256SUMS)
   Every line must say OK.  On Windows: Get-FileHash -Algorithm SHA256 FILE, and compare.

2. The hash list is the one the server produced (OpenSSL 3):
       openssl pkeyutl -verify -pubin -inkey keys/server-ed25519.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig
   It must print "Signature Verified Successfully". Compare the key with the one the agency
   publishes: {server_key}

3. Each original is what the camera recorded: the camera signed a manifest naming the
   file's SHA-256 (step 1 proves the file still has that hash) with its own Ed25519 key.
   The manifest's "signature" is over the manifest's "payload" written as compact JSON with
   sorted keys (UTF-8); verify it with the key in keys/devices/SERIAL.pem.

4. Each custody report lists every recorded event for its original (ingest, views,
   playbacks, shares, this export), each carrying the hash of its audit-log entry, and
   the latest signed checkpoint of the audit log.

All of the above in one step, offline, with the free bodycam tool:
       bodycam verify {name}
It exits 0 when everything checks and 1 naming each difference.
"""


def _safe(part: str) -> str:
    part = re.sub(r"[^\w.@+-]", "_", part).strip(".")
    return part[:150] or "_"


def zip_name(prefix: str, name: str) -> str:
    """A download's file name: ``prefix`` + ``name`` made safe (an evidence number pattern may hold a slash)."""
    return f"{prefix}{_safe(name)}.zip"


def _clip_paths(clip: Clip) -> tuple[str, str, str]:
    base = f"{_safe(clip.recording.container_name)}/{_safe(clip.object_name)}"
    return f"originals/{base}", f"manifests/{base}.manifest.json", f"custody/{base}"


def exportable_clips(request, clips: QuerySet, object_type: str, object_id: str) -> list[Clip]:
    """The clips, if the user may download every one of them; otherwise audit and refuse."""
    user = request.user
    rows = list(clips.order_by("recording__trigger_on_time", "start_time", "object_name"))
    if not rows:
        audit_denied(request, "release.export", "nothing visible to export", object_type=object_type,
                     object_id=object_id, status=404)
        from ..access.services import NotVisible

        raise NotVisible("nothing you may see to export")
    ok = allowed(user, "evidence.download") and all(allowed(user, "evidence.download", rid)
                                                     for rid in {c.recording_id for c in rows})
    if not ok:
        audit_denied(request, "release.export", "download not allowed for every item", object_type=object_type,
                     object_id=object_id)
        raise Denied("you may not download every item of this export")
    return rows


def clips_of_recording(request, clip_id) -> tuple[QuerySet, str]:
    from ..access.services import VIEW, authorize

    clip = authorize(request, clip_id, VIEW)
    return visible_clips(request.user).filter(recording_id=clip.recording_id), str(clip.recording_id)


def _case_files(case, put_blob) -> list[dict]:
    from ..cases.models import CaseFile

    out, used = [], set()
    for cf in CaseFile.objects.filter(case=case).select_related("uploaded_by"):
        name = _safe(cf.name)
        path = f"case-files/{name}" if name not in used else f"case-files/{str(cf.id)[:8]}-{name}"
        used.add(name)
        put_blob(path, cf.sha256)
        out.append({"kind": "case_file", "path": path, "sha256": cf.sha256, "size": cf.size, "name": cf.name,
                    "description": cf.description, "uploaded_at": iso_as_given(cf.uploaded_at),
                    "uploaded_by": cf.uploaded_by.username if cf.uploaded_by else None})
    return out


def _clip_files(clips: list[Clip], put, put_blob) -> list[dict]:
    """Transcripts and captions, redacted copies and excerpts of the exported clips, and the
    notes of their recordings: each a file in the archive (so in the signed hash list)."""
    from ..evidence.models import Note
    from ..media.models import Derivative, Redaction, Transcript, Translation
    from ..media.redactions import c2pa_actions
    from ..media.transcribe import to_vtt

    out: list[dict] = []

    def text(path, data: bytes, kind, clip, **more):
        put(path, data)
        out.append({"kind": kind, "path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                    "clip_id": str(clip.id), "original_sha256": clip.sha256, **more})

    ids = [c.id for c in clips]
    transcripts = {t.clip_id: t for t in Transcript.objects.filter(clip_id__in=ids)}
    translations = {t.clip_id: t for t in Translation.objects.filter(clip_id__in=ids)}
    redactions = Redaction.objects.filter(clip_id__in=ids, status=Redaction.Status.DONE, output__isnull=False) \
        .select_related("output")
    excerpts = Derivative.objects.filter(clip_id__in=ids, kind=Derivative.Kind.CLIP).order_by("created_at")
    for c in clips:
        base = f"{_safe(c.recording.container_name)}/{_safe(c.object_name)}"
        t = transcripts.get(c.id)
        if t is not None:
            meta = {"model": t.model, "version": t.version, "language": t.language}
            doc = {"clip_id": str(c.id), "original_sha256": c.sha256, **meta, "segments": t.segments,
                   "edited": t.segments != t.machine}
            text(f"transcripts/{base}.transcript.json", json.dumps(doc, indent=1, sort_keys=True).encode(),
                 "transcript", c, **meta)
            text(f"transcripts/{base}.vtt", to_vtt(t.segments).encode(), "captions", c, **meta)
        tr = translations.get(c.id)
        if tr is not None:
            note = ("Machine translation to English from " + ", ".join(tr.source_languages)
                    + f" ({tr.model}); not a certified translation.")
            text(f"transcripts/{base}.translation-{_safe(tr.language)}.vtt", to_vtt(tr.segments, note=note).encode(),
                 "translation_captions", c, model=tr.model, machine_translation=True)
        for r in (r for r in redactions if r.clip_id == c.id):
            path = f"redacted/{base}-{str(r.id)[:8]}.mp4"
            put_blob(path, r.output.sha256)
            out.append({"kind": "redacted_copy", "path": path, "sha256": r.output.sha256, "size": r.output.size,
                        "clip_id": str(c.id), "original_sha256": c.sha256, "redaction": str(r.id),
                        "redactions": [a["description"] for a in c2pa_actions(r.plan)]})
        for d in (d for d in excerpts if d.clip_id == c.id):
            p = d.params or {}
            path = f"excerpts/{base}-{_safe(str(p.get('in', '')))}-{_safe(str(p.get('out', '')))}-{str(d.id)[:8]}.mp4"
            put_blob(path, d.sha256)
            out.append({"kind": "excerpt", "path": path, "sha256": d.sha256, "size": d.size, "clip_id": str(c.id),
                        "original_sha256": c.sha256, "params": p})
    recs = {}
    for c in clips:
        recs.setdefault(c.recording_id, c)
    for rid, c in recs.items():
        notes = [{"author": n.author.username, "at": iso_as_given(n.created_at), "text": n.text}
                 for n in Note.objects.filter(recording_id=rid).select_related("author")]
        if notes:
            data = json.dumps({"recording_id": str(rid), "container": c.recording.container_name, "notes": notes},
                              indent=1, sort_keys=True).encode()
            path = f"notes/{_safe(c.recording.container_name)}.json"
            put(path, data)
            out.append({"kind": "notes", "path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                        "recording_id": str(rid), "notes": len(notes)})
    return out


def build_export(request, clips: list[Clip], object_type: str, object_id: str, title: str,
                 actor: str | None = None, terms: str = "", case=None) -> str:
    """Write the ZIP to a temp file and return its path (the caller streams and removes it).
    A case export (``case``) adds the case's files and, for its clips, transcripts and
    captions, redacted copies, excerpts and notes: each listed in export.json's ``files`` and
    in the signed hash list."""
    store = get_store()
    actor_name = actor or request.user.username
    exported_at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    for c in clips:  # first, so each custody report below lists this export
        record_request(request, "evidence.export", actor=actor, object_type="clip", object_id=str(c.id),
                       object_sha256=c.sha256, detail={"export_of": f"{object_type}:{object_id}",
                                                       "path": safe_path(request.path)})
    manifests = {(a.recording_id, a.object_name): a for a in Attachment.objects.filter(
        recording_id__in={c.recording_id for c in clips}, kind=Attachment.Kind.MANIFEST)}
    skey = server_key()
    rows = recording_rows(clips)
    about = {r["recording"]: r["f"] for r in rows}
    hashes: dict[str, str] = {}
    items = []
    fd, path = tempfile.mkstemp(prefix="bodycam-export-", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(path, "w", allowZip64=True) as z:
            def put(name: str, data: bytes, compress: bool = True):
                z.writestr(name, data, zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)
                hashes[name] = hashlib.sha256(data).hexdigest()

            def put_blob(name: str, sha256: str):
                """A stored file, streamed; it must still have the hash the catalogue names."""
                h = hashlib.sha256()
                with store.open(sha256) as src, z.open(name, "w", force_zip64=True) as dst:
                    while data := src.read(1 << 20):
                        h.update(data)
                        dst.write(data)
                if h.hexdigest() != sha256:
                    raise RuntimeError(f"stored file {name} does not match its hash {sha256}; run bodycam fsck")
                hashes[name] = sha256

            devices = {}
            for c in clips:
                orig, man, cust = _clip_paths(c)
                h = hashlib.sha256()
                with store.open(c.sha256) as src, z.open(zipfile.ZipInfo(orig, _zip_time(c)), "w",
                                                          force_zip64=c.size > 2**31) as dst:
                    while data := src.read(1 << 20):
                        h.update(data)
                        dst.write(data)
                hashes[orig] = h.hexdigest()
                if hashes[orig] != c.sha256:  # the store itself must still match the ingest hash
                    raise RuntimeError(f"stored original of {c} does not match its ingest hash; run bodycam fsck")
                dev = c.recording.device
                item = {"clip_id": str(c.id), "recording_id": str(c.recording_id),
                        "evidence_number": about[str(c.recording_id)]["number"],
                        "title": about[str(c.recording_id)]["title"], "container": c.recording.container_name, "object": c.object_name, "original": orig,
                        "sha256": c.sha256, "size": c.size, "device": dev.serial, "device_kind": dev.kind,
                        "officer": c.recording.officer.name, "start": iso_as_given(c.start_time),
                        "stop": iso_as_given(c.stop_time), "signature_at_ingest": c.signature,
                        "custody_report": cust + ".pdf", "manifest": None, "device_key": None}
                m = manifests.get((c.recording_id, c.object_name + ".manifest.json"))
                if m is not None:
                    with store.open(m.sha256) as f:
                        put(man, f.read())
                    item["manifest"] = man
                if dev.public_key:
                    key_name = f"keys/devices/{_safe(dev.serial)}.pem"
                    if dev.serial not in devices:
                        put(key_name, fmt.public_pem(dev.public_key))
                        devices[dev.serial] = dev.public_key
                    item["device_key"] = key_name
                report = build_report(c, ev.item_events(c), generated_by=actor_name)
                put(cust + ".json", json.dumps(report, indent=1, sort_keys=True).encode())
                put(cust + ".pdf", render_pdf(report), compress=False)
                items.append(item)
            files = (_case_files(case, put_blob) + _clip_files(clips, put, put_blob)) if case is not None else []
            info = {"format": fmt.FORMAT, "title": title, "exported_at": exported_at, "exported_by": actor_name,
                    "of": {"type": object_type, "id": object_id}, "terms": terms,
                    "server_public_key": public_b64(skey), "devices": devices, "items": items, "files": files}
            put(fmt.INFO, json.dumps(info, indent=1, sort_keys=True).encode())
            put(fmt.SERVER_KEY, fmt.public_pem(public_b64(skey)))
            put(fmt.README, VERIFY_TXT.format(
                exported_at=exported_at, exported_by=actor_name, n=len(items), server_key=public_b64(skey),
                contents=contents_text(rows, items),
                name="EXPORT.zip", terms=f"\n\nTERMS: {terms}" if terms else "").encode())
            sums = fmt.sums_text(hashes)
            z.writestr(fmt.SUMS, sums)
            z.writestr(fmt.SIG, skey.sign(sums))
        record_request(request, "release.export", actor=actor, object_type=object_type, object_id=object_id,
                       detail={"title": title, "items": [{"clip": i["clip_id"], "sha256": i["sha256"]} for i in items],
                               "files": [{"kind": f["kind"], "path": f["path"], "sha256": f["sha256"]} for f in files],
                               "sha256sums": hashlib.sha256(sums).hexdigest(), "path": safe_path(request.path),
                               "signature": base64.b64encode(skey.sign(sums)).decode()})
    except BaseException:
        os.unlink(path)
        raise
    return path


def contents_text(rows: list[dict], items: list[dict]) -> str:
    """VERIFY.txt's list of the recordings: evidence number and title, officer, start (UTC and
    local), length, and the originals of each (a recording may be several camera files)."""
    from django.conf import settings

    files: dict = {}
    for i in items:
        files.setdefault(i["recording_id"], []).append(i["original"])
    out = []
    for r in rows:
        f, length = r["f"], r["length"]
        started = f"{utc_text(f['started'])} ({readable(f['started'], settings.AGENCY_TIME_ZONE, 'minute')})"
        size = "photo" if f["still"] else f"{length['seconds']:.1f} s"
        out.append(f"  {f['number'] or '(no number)'}  {f['title']}\n"
                   f"      officer {f['officer']}{' #' + f['badge'] if f['badge'] else ''} · started {started} · {size}\n"
                   + "".join(f"      {path}\n" for path in files.get(r["recording"], [])))
    return "".join(out) or "  (none)\n"


def _zip_time(c: Clip):
    t = (c.start_time or datetime(1980, 1, 1, tzinfo=timezone.utc)).astimezone(timezone.utc)
    return (max(1980, t.year), t.month, t.day, t.hour, t.minute, t.second)
