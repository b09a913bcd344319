"""The audit vocabulary: every action name the audit chain may carry, declared once.

Each action has a stable dotted name (what ``AuditEntry.action`` stores and what filters and
tests match), a human label (the custody report and the audit page show it) and a group.
``custody.services.record`` refuses a name not declared here (``check``): with
``BODYCAM_AUDIT_STRICT`` or ``BODYCAM_DEBUG`` (tests) it raises ``UndeclaredAction``; in
production it writes the entry anyway (an audit entry is never lost) and logs an error.
``tests/test_audit_vocabulary.py`` also finds every action name ``src/`` can write, statically.

A new action is one line in ``ACTIONS``. A name built at run time (an f-string such as
``f"media.derivative.{kind}"``) is declared by each of its expansions, and the pattern is
listed in ``PATTERNS`` with them.

Edits: an entry that records a change carries ``detail["before"]`` and ``detail["after"]``,
each a ``{field: value}`` dict of the fields that changed (``edit_detail``). Entries written
before this rule (a field's own ``{"before", "after"}``, top-level scalars for a role change, a
retention policy's ``changes`` list) are never rewritten (the chain is hash-linked); ``changes``
reads every shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BodycamError

ACCESS, CHANGE, CASES, RELEASE, RECORDS = "access", "change", "cases", "release", "records"
INGEST, MEDIA, RETENTION, CUSTODY, SECURITY, ADMIN = "ingest", "media", "retention", "custody", "security", "admin"

GROUPS = {
    ACCESS: "Access to evidence (list, view, play, download, search)",
    CHANGE: "Changes to an item's metadata, transcripts and redactions",
    CASES: "Cases and case files",
    RELEASE: "Shares, links and court exports",
    RECORDS: "Public-records requests",
    INGEST: "Ingest from cameras and docks, device signatures",
    MEDIA: "Derived media made by the server (proxies, thumbnails, transcripts)",
    RETENTION: "Retention, holds, deletion, CAD",
    CUSTODY: "The audit chain, fixity and custody reports",
    SECURITY: "Sign-in, sessions, refusals",
    ADMIN: "Accounts, access rules, jobs, backups, metrics",
}


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    group: str


_A = Action
ACTIONS: dict[str, Action] = {a.name: a for a in (
    # access to evidence
    _A("evidence.list", "Listed items", ACCESS),
    _A("evidence.search", "Searched the catalogue", ACCESS),
    _A("home.view", "Viewed the home page (the queues of work)", ACCESS),
    _A("evidence.timeline", "Viewed the timeline", ACCESS),
    _A("evidence.view", "Viewed the item", ACCESS),
    _A("evidence.play", "Started playback", ACCESS),
    _A("evidence.download", "Downloaded the item", ACCESS),
    _A("evidence.thumbnail", "Loaded the thumbnail", ACCESS),
    _A("evidence.image", "Looked at the still photo", ACCESS),
    _A("evidence.captions", "Loaded the captions", ACCESS),
    _A("evidence.audit", "Read the item's audit trail", ACCESS),
    _A("evidence.transcript.view", "Viewed the transcript", ACCESS),
    _A("evidence.redaction.list", "Listed redactions", ACCESS),
    _A("evidence.redaction.view", "Viewed a redaction", ACCESS),
    # changes to an item
    _A("evidence.edit", "Changed the item (note, tags, categories)", CHANGE),
    _A("evidence.bulk", "Ran a bulk action on chosen items (the counts; each item has its own entry)", CHANGE),
    _A("evidence.delete", "Tried to delete the item", CHANGE),
    _A("evidence.excerpt", "Asked for an excerpt", CHANGE),
    _A("evidence.transcript.request", "Asked for a transcript", CHANGE),
    _A("evidence.transcript.edit", "Corrected the transcript", CHANGE),
    _A("evidence.redact", "Opened the item for redaction", CHANGE),
    _A("evidence.redaction.start", "Started a redaction", CHANGE),
    _A("evidence.redaction.edit", "Changed a redaction", CHANGE),
    _A("evidence.redaction.render", "Asked for a redacted copy", CHANGE),
    # cases
    _A("case.list", "Listed cases", CASES),
    _A("case.view", "Viewed the case", CASES),
    _A("case.add_recordings", "Added recordings to the case", CASES),
    _A("case.status", "Changed the case status", CASES),
    _A("case.close", "Closed the case", CASES),
    _A("case.reopen", "Reopened the case", CASES),
    _A("case.incident", "Set the case's incident number", CASES),
    _A("case.file_upload", "Uploaded a case file", CASES),
    _A("case.file_download", "Downloaded a case file", CASES),
    _A("case.create", "Opened a new case", CASES),
    _A("case.remove_recording", "Removed a recording from the case", CASES),
    _A("case.detectives", "Changed the case's detectives", CASES),
    _A("case.history", "Read the case's history", CASES),
    _A("case.footage_picker", "Looked for footage to add to the case", CASES),
    # release: shares, links, exports
    _A("evidence.share", "Shared the item", RELEASE),
    _A("evidence.export", "Exported the item", RELEASE),
    _A("release.case", "Opened a case for release", RELEASE),
    _A("release.case_share", "Shared the case", RELEASE),
    _A("release.revoke", "Revoked a share", RELEASE),
    _A("release.link", "Managed share links", RELEASE),
    _A("release.link.create", "Created a share link", RELEASE),
    _A("release.link.open", "Opened a share link", RELEASE),
    _A("release.link.denied", "Refused a share link", RELEASE),
    _A("release.export", "Made a court export", RELEASE),
    # public-records requests
    _A("records.list", "Listed records requests", RECORDS),
    _A("records.view", "Viewed a records request", RECORDS),
    _A("records.create", "Opened a records request", RECORDS),
    _A("records.extend", "Extended a records request's deadline", RECORDS),
    _A("records.add_item", "Added an item to a records request", RECORDS),
    _A("records.attach_redaction", "Attached a redaction to a records request", RECORDS),
    _A("records.submit", "Submitted a records request for approval", RECORDS),
    _A("records.approve", "Approved a records request", RECORDS),
    _A("records.deny", "Denied a records request", RECORDS),
    _A("records.release", "Released a records request", RECORDS),
    _A("records.package", "Built a release package", RECORDS),
    _A("records.download", "Downloaded a release package", RECORDS),
    _A("records.remove_item", "Removed an item from a records request", RECORDS),
    _A("records.release_as_is", "Marked an item to release as it is", RECORDS),
    _A("records.delivery_link", "Made a delivery link for the requester", RECORDS),
    _A("records.delivery_revoke", "Revoked a delivery link", RECORDS),
    _A("records.delivery_open", "The requester opened a delivery link", RECORDS),
    _A("records.delivery_download", "The requester downloaded the release", RECORDS),
    _A("records.delivery_denied", "Refused a delivery link", RECORDS),
    _A("records.correspondence", "Logged correspondence on a records request", RECORDS),
    _A("records.correspondence_file", "Downloaded a correspondence file", RECORDS),
    # ingest
    _A("ingest.login", "Dock signed in", INGEST),
    _A("ingest.denied", "Refused an ingest request", INGEST),
    _A("ingest.refused.full", "Refused an upload: storage full", INGEST),
    _A("ingest.account.key_issued", "Issued a dock's ingest key", INGEST),
    _A("ingest.system.register", "Registered a system", INGEST),
    _A("ingest.system.update", "Updated a system", INGEST),
    _A("ingest.user.register", "Registered a camera user", INGEST),
    _A("ingest.user.update", "Updated a camera user", INGEST),
    _A("ingest.device.register", "Registered a camera", INGEST),
    _A("ingest.device.update", "Updated a camera", INGEST),
    _A("ingest.recording.create", "Created a recording", INGEST),
    _A("ingest.recording.update", "Updated a recording", INGEST),
    _A("ingest.recording.complete", "Completed a recording", INGEST),
    _A("ingest.object.stored", "Stored the original", INGEST),
    _A("ingest.object.metadata", "Updated a file's metadata", INGEST),
    _A("ingest.signature.valid", "Device signature verified", INGEST),
    _A("ingest.signature.invalid", "Device signature failed", INGEST),
    _A("device.create", "Added a camera", INGEST),
    _A("device.key.set", "Set a camera's signing key", INGEST),
    _A("device.list", "Viewed the cameras", INGEST),
    _A("device.view", "Viewed a camera", INGEST),
    _A("device.assign", "Assigned a camera", INGEST),
    _A("device.retire", "Retired a camera", INGEST),
    _A("storage.incoming_removed", "Removed an unfinished upload", INGEST),
    # derived media
    _A("media.derivative.proxy", "Made the playback copy", MEDIA),
    _A("media.derivative.thumbnail", "Made the thumbnail", MEDIA),
    _A("media.derivative.clip", "Made an excerpt", MEDIA),
    _A("media.derivative.redacted", "Made a redacted copy", MEDIA),
    _A("media.derivative.image", "Made the still photo's picture", MEDIA),
    _A("media.derivative.other", "Made a derived file", MEDIA),
    _A("media.transcript", "Transcribed the audio", MEDIA),
    _A("media.translation", "Translated the transcript", MEDIA),
    _A("media.redaction.analyzed", "Found faces and plates to redact", MEDIA),
    _A("media.analysis", "Analysed a clip for faces and licence plates", MEDIA),
    _A("media.redaction.output", "Rendered a redacted copy", MEDIA),
    # retention
    _A("retention.view", "Viewed retention", RETENTION),
    _A("retention.change", "Changed retention settings", RETENTION),
    _A("retention.policy", "Applied a retention policy", RETENTION),
    _A("retention.sweep", "Ran the retention sweep", RETENTION),
    _A("retention.queue", "Queued for deletion", RETENTION),
    _A("retention.approve", "Approved a deletion", RETENTION),
    _A("retention.cancelled", "Cancelled a deletion", RETENTION),
    _A("retention.recovered", "Recovered from the deletion queue", RETENTION),
    _A("retention.retain_until", "Kept until a date", RETENTION),
    _A("retention.purge", "Deleted at retention expiry", RETENTION),
    _A("retention.purge_blob", "Removed stored bytes", RETENTION),
    _A("retention.hold", "Placed a legal hold", RETENTION),
    _A("retention.hold_release", "Released a legal hold", RETENTION),
    _A("retention.compliance", "Ran a compliance report", RETENTION),
    _A("retention.storage", "Ran a storage report", RETENTION),
    _A("retention.cad", "Opened CAD incidents", RETENTION),
    _A("retention.category_create", "Created a category", RETENTION),
    _A("retention.category_preview", "Previewed a retention period change", RETENTION),
    _A("retention.category_period", "Changed a category's retention period", RETENTION),
    _A("retention.category_retire", "Retired a category", RETENTION),
    _A("retention.category_restore", "Brought a retired category back", RETENTION),
    _A("retention.call_types", "Changed the call types that require a recording", RETENTION),
    _A("cad.sample", "Downloaded the CAD sample file", RETENTION),
    _A("cad.view", "Viewed CAD incidents", RETENTION),
    _A("cad.import", "Imported CAD incidents", RETENTION),
    _A("cad.link", "Linked a recording to a CAD incident", RETENTION),
    _A("cad.unlink", "Unlinked a recording from a CAD incident", RETENTION),
    # the audit chain, fixity, reports
    _A("audit.read", "Read the audit log", CUSTODY),
    _A("audit.export", "Exported the audit chain", CUSTODY),
    _A("audit.verify_start", "Asked to verify the audit chain", CUSTODY),
    _A("audit.verify", "Verified the audit chain", CUSTODY),
    _A("audit.export_start", "Asked for an export of audit entries", CUSTODY),
    _A("audit.export_file", "Made an export of audit entries", CUSTODY),
    _A("audit.export_download", "Downloaded an export of audit entries", CUSTODY),
    _A("audit.checkpoint", "Signed an audit checkpoint", CUSTODY),
    _A("audit.verify", "Verified the audit chain", CUSTODY),
    _A("custody.report", "Made a chain-of-custody report", CUSTODY),
    _A("fixity.check", "Checked stored files", CUSTODY),
    _A("storage.orphan_sweep", "Swept for unreferenced files", CUSTODY),
    _A("storage.orphan.purge", "Removed an unreferenced file", CUSTODY),
    # security: sign-in, sessions, refusals
    _A("auth.login", "Signed in", SECURITY),
    _A("auth.logout", "Signed out", SECURITY),
    _A("auth.session_end", "Session ended", SECURITY),
    _A("auth.rate_limited", "Too many sign-in attempts", SECURITY),
    _A("auth.token", "Used an API token", SECURITY),
    _A("api.denied", "Refused an API request", SECURITY),
    _A("security.csrf_rejected", "Refused a form (CSRF check)", SECURITY),
    _A("account.lock", "Locked an account", SECURITY),
    _A("account.mfa_enrol", "Enrolled an authenticator", SECURITY),
    _A("account.enrol", "Used an enrolment link", SECURITY),
    # administration
    _A("account.list", "Listed accounts", ADMIN),
    _A("account.view", "Viewed an account", ADMIN),
    _A("account.enrol_link", "Issued an enrolment link", ADMIN),
    _A("account.password_reset", "Reset an account's password", ADMIN),
    _A("account.create", "Created an account", ADMIN),
    _A("account.role_change", "Changed an account's role", ADMIN),
    _A("account.enable", "Enabled an account", ADMIN),
    _A("account.disable", "Disabled an account", ADMIN),
    _A("account.unlock", "Unlocked an account", ADMIN),
    _A("account.mfa_reset", "Reset an account's authenticator", ADMIN),
    _A("account.token_create", "Created an API token", ADMIN),
    _A("account.token_revoke", "Revoked an API token", ADMIN),
    _A("access.squad", "Set up a squad", ADMIN),
    _A("access.case", "Set up a case", ADMIN),
    _A("access.restrict", "Restricted a recording", ADMIN),
    _A("access.restriction", "Changed a recording's restriction", ADMIN),
    _A("access.incident_lock", "Locked a critical incident", ADMIN),
    _A("access.incident_release", "Released a critical-incident lock", ADMIN),
    _A("access.grant", "Granted access to a recording", ADMIN),
    _A("access.grant_revoke", "Revoked a grant", ADMIN),
    _A("access.unrestrict", "Lifted a recording's restriction", ADMIN),
    _A("access.squad.change", "Changed a squad's supervisors or members", ADMIN),
    _A("access.squad.list", "Viewed the squads", ADMIN),
    _A("access.rules.list", "Viewed the access rules", ADMIN),
    _A("access.request", "Asked for access to a recording", ACCESS),
    _A("access.request.search", "Looked for recordings to ask access to (metadata only)", ACCESS),
    _A("access.request.list", "Listed access requests", ACCESS),
    _A("access.request.view", "Viewed an access request", ACCESS),
    _A("access.request.approve", "Approved an access request (a time-limited grant)", ACCESS),
    _A("access.request.deny", "Denied an access request", ACCESS),
    _A("job.list", "Listed jobs", ADMIN),
    _A("job.view", "Viewed a job", ADMIN),
    _A("job.retry", "Retried a job", ADMIN),
    _A("ops.backup", "Made a backup", ADMIN),
    _A("ops.restore", "Restored a backup", ADMIN),
    _A("ops.metrics", "Read the metrics", ADMIN),
    _A("ops.storage", "Viewed storage", ADMIN),
    # live view (live/): cameras on the air, who watched them
    _A("live.session.start", "A camera went on the air (recording started)", INGEST),
    _A("live.session.stop", "A camera went off the air (recording stopped)", INGEST),
    _A("live.watchme", "An officer asked to be watched (watch me)", INGEST),
    _A("live.publish", "A camera began sending live video", INGEST),
    _A("live.publish.end", "A camera's live video ended", INGEST),
    _A("live.device.refused", "Refused a camera's live request", SECURITY),
    _A("live.onair.view", "Viewed who is on the air", ACCESS),
    _A("live.watch", "Began watching a camera live", ACCESS),
    _A("live.watch.end", "Stopped watching a camera live", ACCESS),
    _A("live.command_staff.add", "Made a supervisor command staff (watches every officer live)", ADMIN),
    _A("live.command_staff.remove", "Removed a supervisor from command staff", ADMIN),
    _A("notify.mail", "Sent a notification e-mail", ADMIN),
    _A("notify.preferences", "Changed notification settings", ADMIN),
)}

# Names built at run time, with every expansion (each one also declared in ACTIONS).
PATTERNS: dict[str, tuple[str, ...]] = {
    "evidence.{action}": ("view", "play", "download", "edit", "share", "delete", "audit", "transcript.edit", "redact",
                          "redaction.list", "redaction.view", "redaction.start", "redaction.edit",
                          "redaction.render", "excerpt", "export", "captions", "transcript.view",
                          "transcript.request"),
    "records.{action}": ("list", "view", "create", "extend", "add_item", "attach_redaction", "submit",
                         "approve", "deny", "release", "package", "download", "remove_item", "release_as_is",
                         "delivery_link", "delivery_revoke", "correspondence", "correspondence_file"),
    "media.derivative.{kind}": ("proxy", "thumbnail", "image", "clip", "redacted", "other"),
    "ingest.signature.{status}": ("valid", "invalid"),
    "retention.{state}": ("cancelled", "recovered"),
    "case.{what}": ("close", "reopen"),
}


class UndeclaredAction(BodycamError):
    """An audit action name that is not in the vocabulary: a programming error (strict mode)."""

    status = 500


def is_declared(name: str) -> bool:
    return name in ACTIONS


def check(name: str) -> None:
    """Raise ``UndeclaredAction`` for a name not in ``ACTIONS``."""
    if name not in ACTIONS:
        raise UndeclaredAction(f"undeclared audit action {name!r}: declare it in bodycam/custody/actions.py")


def label(name: str) -> str:
    """The action's human label; an undeclared (older) name is shown as it is."""
    a = ACTIONS.get(name)
    return a.label if a else name


def group(name: str) -> str:
    a = ACTIONS.get(name)
    return a.group if a else ""


def edit_detail(before: dict, after: dict, **extra) -> dict:
    """An edit entry's detail: ``{"before": {field: old}, "after": {field: new}, **extra}``."""
    return {"before": dict(before), "after": dict(after), **extra}


def changes(detail) -> dict[str, tuple]:
    """``{field: (before, after)}`` from an edit entry's detail, whatever shape it was written in:

    * ``{"before": {...}, "after": {...}}`` (the declared shape);
    * ``{"before": old, "after": new}`` with scalars (a role change before the rule): field ``value``;
    * ``{"tags": {"before": ..., "after": ...}, ...}``: each field's own pair (an item edit before
      the rule; the nested ``retention_days`` pair of a category change too);
    * ``{"changes": [{"setting"|"category": k, "from": old, "to": new}, ...]}`` (a retention policy).
    """
    if not isinstance(detail, dict):
        return {}
    out: dict[str, tuple] = {}
    before, after = detail.get("before"), detail.get("after")
    if isinstance(before, dict) or isinstance(after, dict):
        b, a = before if isinstance(before, dict) else {}, after if isinstance(after, dict) else {}
        for k in list(b) + [k for k in a if k not in b]:
            out[k] = (b.get(k), a.get(k))
    elif "before" in detail or "after" in detail:
        out["value"] = (before, after)
    for k, v in detail.items():
        if k in ("before", "after") or not isinstance(v, dict):
            continue
        if "before" in v or "after" in v:
            out[k] = (v.get("before"), v.get("after"))
        for kk, vv in v.items():
            if isinstance(vv, dict) and ("before" in vv or "after" in vv):
                out[kk] = (vv.get("before"), vv.get("after"))
    for c in detail.get("changes") or []:
        if isinstance(c, dict) and ("from" in c or "to" in c):
            key = c.get("setting") or f"category {c.get('category')}"
            out[key] = (c.get("from"), c.get("to"))
    return out
