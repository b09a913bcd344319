"""Chain-of-custody report for one clip, as JSON and as PDF (reportlab)."""

from __future__ import annotations

import io
from datetime import datetime, timezone

from ..timefmt import isoformat
from . import actions
from .chain import check_signature, checkpoint_dict, server_key
from .models import AuditEntry, Checkpoint
from .services import entry_digest, hashed_fields

STEPS = [
    "Compute the SHA-256 of the original file (e.g. `sha256sum FILE`) and compare it with the ingest hash "
    "above: equal means the file is bit-for-bit what the camera uploaded.",
    "Check the device signature: the camera signed a manifest naming this hash with its Ed25519 key; "
    "'valid' means the signature verified against the key registered for the device.",
    "Each event below carries the hash of its audit entry (routine thumbnail and caption loads are counted, "
    "not listed; they are in the full audit log). Each entry's hash covers its fields and the "
    "previous entry's hash (SHA-256 chain), so a changed, removed or reordered entry breaks the chain.",
    "The newest signed checkpoint (Ed25519, server key below) fixes the chain's length and head hash; "
    "copies kept in the witness file let anyone re-check it offline.",
    "On the server, `bodycam audit verify --json` recomputes the whole chain and every checkpoint and "
    "names the first entry that was altered, removed or reordered.",
]


# What the report leaves out. The report lists meaningful access and
# every change: ingest, views, playback starts, downloads, exports, shares, edits, retention,
# reports, and every denial. Left out -- but still in the full audit log (`/api/audit/`,
# `/api/evidence/ID/audit`, `bodycam audit export`), still hashed and counted -- are fetches
# a page makes by itself that show nothing a listed event does not:
#   * a thumbnail load (a search result's or list's still image, the player's poster);
#   * a caption track the player loads with the item page, when the same person's view or
#     playback start in that session is listed before it.
# A denied fetch of either is always listed.
ROUTINE = {"evidence.thumbnail": "thumbnail loads (search results, lists, the player's poster image)"}
COMPANION = {"evidence.captions": "caption tracks loaded by the player with a listed view or playback start"}
COMPANION_OF = ("evidence.view", "evidence.play")


def custody_events(events: list[AuditEntry]) -> tuple[list[AuditEntry], dict[str, int]]:
    """(the events the custody report lists, {action: count} of those it leaves out)."""
    listed: list[AuditEntry] = []
    omitted: dict[str, int] = {}
    opened: set[tuple[str, str]] = set()  # (actor, session) with a listed view/playback start
    for e in events:
        session = (e.detail or {}).get("session", "") if isinstance(e.detail, dict) else ""
        if e.outcome == "ok" and (e.action in ROUTINE or
                                  (e.action in COMPANION and session and (e.actor, session) in opened)):
            omitted[e.action] = omitted.get(e.action, 0) + 1
            continue
        listed.append(e)
        if e.outcome == "ok" and e.action in COMPANION_OF and session:
            opened.add((e.actor, session))
    return listed, omitted


def build_report(clip, events: list[AuditEntry], generated_by: str, rehash: bool = True) -> dict:
    from ..storage import get_store

    rec = clip.recording
    ingest = next((e for e in events if e.action == "ingest.object.stored"), None)
    sig_events = [e for e in events if e.action.startswith("ingest.signature.")]
    stored_sha = None
    if rehash:
        try:
            stored_sha = get_store().rehash(clip.sha256)
        except (FileNotFoundError, OSError):
            stored_sha = "missing"
    all_ok = all(entry_digest(hashed_fields(e)) == e.entry_hash for e in events)
    listed, omitted = custody_events(events)
    entry_checks = [entry_digest(hashed_fields(e)) == e.entry_hash for e in listed]
    head = AuditEntry.objects.order_by("-seq").only("seq").first()
    last_cp = Checkpoint.objects.order_by("-size", "-at").first()
    cp_info = None
    if last_cp:
        d = checkpoint_dict(last_cp)
        problem = check_signature(d, {d["public_key"]} & {_server_pub()})
        at_size = AuditEntry.objects.filter(seq=last_cp.size).only("entry_hash").first()
        cp_info = d | {"signature_ok": problem is None,
                       "matches_chain": bool(at_size and at_size.entry_hash == last_cp.head_hash)}
    return {
        "report": "chain-of-custody",
        "generated_at": isoformat(datetime.now(timezone.utc)),
        "generated_by": generated_by,
        "item": {
            "clip_id": str(clip.id), "recording_id": str(rec.id), "recording": rec.container_name,
            "object": clip.object_name, "officer": rec.officer.name,
            "officer_account": rec.officer.account.username if rec.officer.account else None,
            "device": rec.device.serial, "device_kind": rec.device.kind,
            "start": isoformat(clip.start_time or rec.start_time), "stop": isoformat(clip.stop_time or rec.stop_time),
            "duration_s": clip.duration_s, "size": clip.size, "container_type": clip.container_type,
            "ingested_at": isoformat(clip.ingested_at),
        },
        "ingest": {
            "sha256": clip.sha256, "md5": clip.md5,
            "audit_seq": ingest.seq if ingest else None, "at": isoformat(ingest.at) if ingest else None,
            "audit_sha256_matches": bool(ingest and ingest.object_sha256 == clip.sha256),
            "stored_sha256_now": stored_sha,
            "stored_matches": stored_sha == clip.sha256 if stored_sha else None,
        },
        "device_signature": {
            "result": clip.signature,
            "device_public_key": rec.device.public_key or None,
            "checks": [{"seq": e.seq, "at": isoformat(e.at), "action": e.action, "reason": e.detail.get("reason", "")}
                       for e in sig_events],
        },
        "events": [{"seq": e.seq, "at": isoformat(e.at), "actor": e.actor, "source": e.source, "action": e.action,
                    "label": actions.label(e.action), "group": actions.group(e.action),
                    "outcome": e.outcome, "object_sha256": e.object_sha256, "entry_hash": e.entry_hash,
                    "hash_ok": ok, "detail": e.detail, "changes": _changes(e.detail)}
                   for e, ok in zip(listed, entry_checks)],
        "not_listed": {
            "counts": omitted, "total": sum(omitted.values()),
            "labels": {a: actions.label(a) for a in omitted},
            "why": "routine fetches a page makes by itself, not custody: "
                   + "; ".join(text for a, text in {**ROUTINE, **COMPANION}.items() if a in omitted)
                   + ". They stay in the full audit log (hashed, verified above)." if omitted else "",
        },
        "verification": {
            "events_hash_ok": all_ok,
            "chain_entries": head.seq if head else 0,
            "latest_checkpoint": cp_info,
            "server_public_key": _server_pub(),
            "steps": STEPS,
        },
    }


def _changes(detail) -> dict:
    """An edit's ``{field: {"before": old, "after": new}}``, from any shape it was written in."""
    return {k: {"before": b, "after": a} for k, (b, a) in actions.changes(detail).items()}


def _server_pub() -> str:
    from ..provenance.keys import public_b64

    return public_b64(server_key())


def render_pdf(report: dict) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7.5, leading=9)
    mono = styles["Code"].clone("mono", fontSize=7, leading=8.5, leftIndent=0)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm, topMargin=14 * mm,
                            bottomMargin=14 * mm, title="Chain-of-custody report",
                            author="bodycam", subject=report["item"]["clip_id"])
    P = lambda text, st=small: Paragraph(escape(str(text if text is not None else "—")), st)  # noqa: E731
    story = [Paragraph("Chain-of-custody report", styles["Title"]),
             P(f"Generated {report['generated_at']} for {report['generated_by']}")]

    def kv(title, rows):
        story.append(Spacer(1, 4 * mm))
        story.append(Paragraph(title, styles["Heading3"]))
        t = Table([[P(k), P(v, mono if isinstance(v, str) and len(v) >= 32 else small)] for k, v in rows],
                  colWidths=[45 * mm, 137 * mm])
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(t)

    it, ing, sig, ver = report["item"], report["ingest"], report["device_signature"], report["verification"]
    kv("Item", [("Clip id", it["clip_id"]), ("Recording", it["recording"]), ("File", it["object"]),
                ("Officer", f"{it['officer']} ({it['officer_account'] or 'no account'})"),
                ("Device", f"{it['device']} ({it['device_kind']})"), ("Start / stop", f"{it['start']} / {it['stop']}"),
                ("Duration / size", f"{it['duration_s']:.1f} s / {it['size']} bytes"), ("Ingested", it["ingested_at"])])
    kv("Ingest hash", [("SHA-256 at ingest", ing["sha256"]), ("MD5 at ingest", ing["md5"]),
                       ("Audit entry", f"#{ing['audit_seq']} at {ing['at']}" if ing["audit_seq"] else "none"),
                       ("Stored copy now", ing["stored_sha256_now"] or "not re-hashed"),
                       ("Stored copy matches", {True: "yes", False: "NO", None: "not checked"}[ing["stored_matches"]])])
    kv("Device signature", [("Result", sig["result"]), ("Device public key", sig["device_public_key"] or "none")]
       + [(f"Check #{c['seq']}", f"{c['at']} {c['action']} {c['reason']}") for c in sig["checks"]])

    story.append(Spacer(1, 4 * mm))
    story.append(Paragraph(f"Events ({len(report['events'])})", styles["Heading3"]))
    skipped = report.get("not_listed") or {}
    if skipped.get("total"):
        story.append(P(f"Not listed: {skipped['total']} ("
                       + ", ".join(f"{n} {skipped.get('labels', {}).get(a, a).lower()} ({a})"
                                   for a, n in sorted(skipped["counts"].items())) + "). "
                       + skipped["why"]))
    rows = [[P("#"), P("Time (UTC)"), P("Actor"), P("Action"), P("Outcome"), P("Source"), P("Entry hash")]]
    for e in report["events"]:
        what = e.get("label") or e["action"]
        if e.get("changes"):
            what += "; " + "; ".join(f"{k}: {c['before']} → {c['after']}" for k, c in e["changes"].items())
        rows.append([P(e["seq"]), P(e["at"]), P(e["actor"]), P(f"{what} ({e['action']})"), P(e["outcome"]),
                     P(e["source"]), P(e["entry_hash"][:16] + ("" if e["hash_ok"] else " BAD"), mono)])
    t = Table(rows, colWidths=[10 * mm, 32 * mm, 24 * mm, 36 * mm, 15 * mm, 35 * mm, 30 * mm], repeatRows=1)
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                           ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(t)

    cp = ver["latest_checkpoint"]
    kv("Verification", [("Event hashes", "all recompute" if ver["events_hash_ok"] else "MISMATCH"),
                        ("Chain length", ver["chain_entries"]),
                        ("Latest checkpoint", f"size {cp['size']} at {cp['at']}; signature "
                         f"{'valid' if cp['signature_ok'] else 'INVALID'}; "
                         f"{'matches chain' if cp['matches_chain'] else 'DOES NOT MATCH CHAIN'}" if cp else "none yet"),
                        ("Checkpoint head", cp["head_hash"] if cp else "—"),
                        ("Server public key (Ed25519)", ver["server_public_key"])])
    story.append(Spacer(1, 3 * mm))
    story.append(Paragraph("How to verify", styles["Heading3"]))
    for n, step in enumerate(ver["steps"], 1):
        story.append(P(f"{n}. {step}"))
    doc.build(story)
    return buf.getvalue()
