"""The whole audit log as auditors read it: filters (person, action or group, object, local
dates), pages newest first against a fixed upper sequence number, readable object names,
and the two jobs the audit page starts (verify the chain, export the filtered entries).

Paging ends: the first page fixes ``upto`` (the newest entry when the auditor started
reading) and every further page is taken below it, so the ``audit.read`` entries the
auditor's own page views write never extend the list. Every read is audited (``audit.read``);
only auditors read (``audit.read`` in ``access.policy``).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Max, Q

from ..access import policy
from ..access.models import User
from ..access.services import NotVisible
from ..cases.models import Case
from ..custody import actions
from ..custody.models import AuditEntry, AuditExport
from ..custody.services import record, record_request
from ..errors import BadInput
from ..evidence.identity import display_title
from ..evidence.models import Clip, Recording
from ..numbers import parse_uuid, whole_number
from ..timefmt import iso_as_given, zone

PAGE = 50


class AuditFilterError(BadInput):
    """A filter the page cannot apply (a bad date, an unknown action): 400, shown beside the form."""


@dataclass
class AuditFilter:
    person: str = ""       # the actor: a username, or "system", "cli", "job:..."
    action: str = ""       # an action name, "group:<group>", or a prefix ending in "." (older links)
    object: str = ""       # an evidence number, case number, records request number or username
    object_type: str = ""  # with object_id: one object exactly (the links of the page's object column)
    object_id: str = ""
    since: str = ""        # local dates (agency time zone), inclusive
    until: str = ""

    def params(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v}


def _date(value: str, what: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise AuditFilterError(f"{what} must be a date (YYYY-MM-DD)") from None


def parse_filter(params) -> AuditFilter:
    """The filter from the page's query string; AuditFilterError (400) for one it cannot apply."""
    f = AuditFilter(**{k: str(params.get(k, "") or "").strip()[:200] for k in AuditFilter.__dataclass_fields__})
    if f.action and not (f.action.endswith(".") or actions.is_declared(f.action)
                         or (f.action.startswith("group:") and f.action[6:] in actions.GROUPS)):
        raise AuditFilterError(f"unknown action {f.action!r}: choose one from the list")
    since, until = _date(f.since, "from"), _date(f.until, "to")
    if since and until and since > until:
        raise AuditFilterError("the 'from' date is after the 'to' date")
    return f


def _local_midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=zone(settings.AGENCY_TIME_ZONE))


def _object_q(text: str) -> Q:
    """Entries about the object a person named: an item's evidence number (its recording and
    clips), a case number, a records request number or a username; else the id as written."""
    q = Q(object_id=text)
    rec = Recording.objects.filter(evidence_number=text).first()
    if rec is not None:
        clips = list(Clip.objects.filter(recording=rec).values_list("id", "object_name"))
        q |= Q(object_type="recording", object_id=str(rec.id))
        q |= Q(object_type="clip", object_id__in=[str(c) for c, _ in clips] + [f"{rec.id}/{n}" for _, n in clips])
    case = Case.objects.filter(number=text).first()
    if case is not None:
        q |= Q(object_type="case", object_id=str(case.id))
    user = User.objects.filter(username=text).first()
    if user is not None:
        q |= Q(object_type="user", object_id=str(user.id))
    return q


def filtered(f: AuditFilter):
    """The entries the filter selects (no access check: callers check)."""
    qs = AuditEntry.objects.all()
    if f.person:
        qs = qs.filter(actor=f.person)
    if f.action.startswith("group:"):
        qs = qs.filter(action__in=[a.name for a in actions.ACTIONS.values() if a.group == f.action[6:]])
    elif f.action.endswith("."):
        qs = qs.filter(action__startswith=f.action)
    elif f.action:
        qs = qs.filter(action=f.action)
    if f.object_type:
        qs = qs.filter(object_type=f.object_type)
    if f.object_id:
        qs = qs.filter(object_id=f.object_id)
    if f.object:
        qs = qs.filter(_object_q(f.object))
    if f.since:
        qs = qs.filter(at__gte=_local_midnight(date.fromisoformat(f.since)))
    if f.until:
        qs = qs.filter(at__lt=_local_midnight(date.fromisoformat(f.until) + timedelta(days=1)))
    return qs


def _require(request, what: str = "audit.read"):
    policy.require(request, "audit.read", action=what, object_type="audit_log", reason="auditor role required",
                   message="only auditors read the audit log")


def head_seq() -> int:
    return AuditEntry.objects.aggregate(m=Max("seq"))["m"] or 0


def _number(value, default: int | None) -> int | None:
    n = whole_number(str(value)) if value not in (None, "") else None
    return default if n is None else n


def read_upto(value) -> int:
    """The fixed upper sequence number a page or job works below (the head if none or beyond it)."""
    head = head_seq()
    n = _number(value, head)
    return min(n, head) if n else head


def read_page(request, f: AuditFilter, upto=None, before=None, limit=None) -> dict:
    """One page of the filtered log, newest first, below ``before`` and never above ``upto``
    (the newest entry when the auditor started reading: taken now on the first page)."""
    _require(request)
    upto = read_upto(upto)
    before = _number(before, None)
    limit = max(1, min(_number(limit, PAGE) or PAGE, 500))
    base = filtered(f).filter(seq__lte=upto)
    qs = base.filter(seq__lt=before) if before else base
    rows = list(qs.order_by("-seq")[:limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    total = base.count()
    record_request(request, "audit.read", object_type="audit_log",
                   detail={"filters": f.params(), "upto": upto, "before": before, "returned": len(rows)})
    return {"entries": rows, "upto": upto, "total": total, "more": more,
            "next_before": rows[-1].seq if more else None, "first": before is None,
            "limit": limit if limit != PAGE else None}


# ---------------------------------------------------------------- readable objects
def object_names(entries) -> dict[tuple[str, str], str]:
    """{(object_type, object_id): readable name} for the entries' items, cases and users;
    a few queries for a page, never one per row."""
    want: dict[str, set] = {"clip": set(), "recording": set(), "case": set(), "user": set(), "records_request": set()}
    for e in entries:
        if e.object_type in want and e.object_id:
            want[e.object_type].add(e.object_id)
    out: dict[tuple[str, str], str] = {}

    def label(rec) -> str:
        return " · ".join(p for p in (rec.evidence_number or "", display_title(rec)) if p)

    clip_ids = [parse_uuid(x) for x in want["clip"] if "/" not in x]
    clips = {str(c.id): c.recording_id for c in Clip.objects.filter(id__in=[c for c in clip_ids if c])}
    rec_of = {x: str(clips[x]) if x in clips else x.split("/", 1)[0] for x in want["clip"]}
    rec_ids = [parse_uuid(r) for r in set(rec_of.values()) | want["recording"]]
    recs = {str(r.id): r for r in Recording.objects.filter(id__in=[r for r in rec_ids if r])}
    for x, rid in rec_of.items():
        if rid in recs:
            out[("clip", x)] = label(recs[rid])
    for x in want["recording"]:
        if x in recs:
            out[("recording", x)] = label(recs[x])
    for c in Case.objects.filter(id__in=[u for u in map(parse_uuid, want["case"]) if u]):
        out[("case", str(c.id))] = f"Case {c.number}"
    for x in want["records_request"]:  # written with the request's number
        out[("records_request", x)] = f"Records request {x}"
    for u in User.objects.filter(id__in=[u for u in map(parse_uuid, want["user"]) if u]):
        out[("user", str(u.id))] = u.get_full_name() or u.username
    return out


def people() -> list[tuple[str, str]]:
    """(username, shown name) of every account, for the person filter."""
    return [(u.username, f"{u.get_full_name()} ({u.username})" if u.get_full_name() else u.username)
            for u in User.objects.order_by("username")]


def action_choices() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """[(group value, group label, [(action name, label)])] for the action select."""
    out = []
    for g, glabel in actions.GROUPS.items():
        names = sorted(((a.name, a.label) for a in actions.ACTIONS.values() if a.group == g), key=lambda x: x[1])
        out.append((f"group:{g}", glabel, names))
    return out


# ---------------------------------------------------------------- jobs: verify, export
def started(request, kind: str, f: AuditFilter, upto: int, job) -> None:
    """The audit entry of an auditor starting a verify or export job (the caller submitted it)."""
    record_request(request, "audit.verify_start" if kind == "web.audit_verify" else "audit.export_start",
                   object_type="audit_log", detail={"job": str(job.id), "filters": f.params(), "upto": upto})


def check_may_start(request, kind: str, fmt: str = "") -> None:
    _require(request, "audit.verify_start" if kind == "web.audit_verify" else "audit.export_start")
    if kind == "web.audit_export" and fmt not in AuditExport.Format.values:
        raise AuditFilterError("choose CSV or JSON lines")


def verify_job(ctx) -> dict:
    """Recompute the chain (``custody.chain.verify_chain``), reporting progress; its result
    is an audit entry of its own (``audit.verify``), which the auditor's home shows."""
    from ..custody.chain import verify_chain

    def progress(done, total):
        ctx.progress(0.95 * done / max(total, 1), f"checked {done} of {total} entries")

    res = verify_chain(progress=progress)
    summary = {"ok": res.ok, "entries": res.entries, "head_hash": res.head_hash, "checkpoints": res.checkpoints,
               "witnessed": res.witnessed, "first_problem": res.first.message if res.first else "",
               "problems": len(res.problems)}
    record("audit.verify", actor=f"job:{ctx.job.kind}", object_type="audit_log", outcome="ok" if res.ok else "failed",
           detail=summary | {"job": str(ctx.job.id)})
    ctx.progress(1.0, "the chain is intact" if res.ok else f"{len(res.problems)} problem(s): {summary['first_problem']}")
    return summary


COLUMNS = ("seq", "at", "actor", "source", "action", "label", "object_type", "object_id", "object_sha256", "outcome",
           "detail", "prev_hash", "entry_hash")


def _row(e: AuditEntry) -> dict:
    return {"seq": e.seq, "at": iso_as_given(e.at), "actor": e.actor, "source": e.source, "action": e.action,
            "label": actions.label(e.action), "object_type": e.object_type, "object_id": e.object_id,
            "object_sha256": e.object_sha256, "outcome": e.outcome, "detail": e.detail, "prev_hash": e.prev_hash,
            "entry_hash": e.entry_hash}


def export_job(ctx, filters: dict, upto: int, fmt: str, by: str) -> dict:
    """Write the filtered entries up to ``upto`` (oldest first) as CSV or JSON lines into the
    blob store (an ``AuditExport`` names it). Running it again returns the first result."""
    from ..storage import put_file

    done = AuditExport.objects.filter(job_id=ctx.job.id).first()
    if done is not None:
        return {"export": str(done.id), "entries": done.entries, "sha256": done.sha256}
    f = parse_filter(filters)
    qs = filtered(f).filter(seq__lte=int(upto)).order_by("seq")
    total = qs.count()
    n = 0
    fd, path = tempfile.mkstemp(prefix="bodycam-audit-", suffix="." + fmt)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, COLUMNS) if fmt == "csv" else None
            if writer:
                writer.writeheader()
            for e in qs.iterator(chunk_size=2000):
                row = _row(e)
                if writer:
                    writer.writerow(row | {"detail": json.dumps(e.detail, sort_keys=True, ensure_ascii=False)})
                else:
                    out.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
                n += 1
                if n % 1000 == 0:
                    ctx.progress(0.9 * n / max(total, 1), f"wrote {n} of {total} entries")

        def name_export(incoming) -> AuditExport:
            return AuditExport.objects.create(job_id=ctx.job.id, format=fmt, filters=f.params(), upto=int(upto),
                                              entries=n, sha256=incoming.sha256, size=incoming.size, created_by=by)

        with open(path, "rb") as fh:
            exp = put_file(fh, os.path.getsize(path), name_export)
    finally:
        os.unlink(path)
    record("audit.export_file", actor=f"job:{ctx.job.kind}", object_type="audit_log", object_sha256=exp.sha256,
           detail={"export": str(exp.id), "entries": n, "format": fmt, "filters": f.params(), "upto": int(upto),
                   "for": by})
    ctx.progress(1.0, f"{n} entries ready to download")
    return {"export": str(exp.id), "entries": n, "sha256": exp.sha256, "size": exp.size}


def open_export(request, export_id):
    """(export, open blob) for an auditor; the download is audited."""
    from ..storage import get_store

    _require(request, "audit.export_download")
    eid = parse_uuid(export_id)
    exp = AuditExport.objects.filter(pk=eid).first() if eid else None
    if exp is None:
        policy.audit_denied(request, "audit.export_download", "no such export", object_type="audit_log",
                            object_id=str(export_id)[:64], status=404)
        raise NotVisible("no such audit export")
    record_request(request, "audit.export_download", object_type="audit_log", object_sha256=exp.sha256,
                   detail={"export": str(exp.id), "entries": exp.entries, "format": exp.format})
    return exp, get_store().open(exp.sha256)


def export_for_job(job_id) -> AuditExport | None:
    jid = parse_uuid(job_id)
    return AuditExport.objects.filter(job_id=jid).first() if jid else None


__all__ = ["AuditFilter", "AuditFilterError", "parse_filter", "filtered", "read_page", "object_names", "people",
           "action_choices", "verify_job", "export_job", "open_export", "export_for_job", "started",
           "check_may_start", "read_upto"]
