"""The audit page (auditors): the log newest first with filters, pages that end, readable
objects, and the Verify chain / Export buttons (jobs with a progress bar). Thin: the log,
its filters and the jobs' work are in ``evidence_ops.auditlog`` (authorized and audited there)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from ..evidence_ops import auditlog as log
from ..jobs.models import Job
from ..jobs.services import submit
from ..numbers import parse_uuid
from ..timefmt import parse_utc, readable

KINDS = {"verify": "web.audit_verify", "export": "web.audit_export"}  # job kinds (web handles them)
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?")


def _local(m) -> str:
    try:
        return readable(parse_utc(m.group(0).replace(",", ".")), settings.AGENCY_TIME_ZONE)
    except ValueError:
        return m.group(0)


def _shown(detail) -> str:
    """An entry's detail as the page shows it: JSON with its times in the agency's zone, to
    the second (the export and the chain keep them as written)."""
    return ISO_TIME.sub(_local, json.dumps(detail, ensure_ascii=False, sort_keys=True))


def _query(f: log.AuditFilter, **more) -> str:
    return urlencode(f.params() | {k: v for k, v in more.items() if v not in (None, "")})


@login_required
@require_http_methods(["GET", "POST"])
def audit_page(request):
    error, st = "", 200
    try:
        f = log.parse_filter(request.POST if request.method == "POST" else request.GET)
    except log.AuditFilterError as exc:  # shown beside the filter form; the log unfiltered
        error, st, f = str(exc), 400, log.AuditFilter()
    if request.method == "POST" and not error:
        kind = KINDS.get(request.POST.get("do", ""))
        if kind is None:
            raise log.AuditFilterError("unknown action")
        fmt = request.POST.get("format", "csv")
        log.check_may_start(request, kind, fmt)
        upto = log.read_upto(request.POST.get("upto"))
        params = {} if kind == "web.audit_verify" else {"filters": f.params(), "upto": upto, "fmt": fmt,
                                                    "by": request.user.username}
        job = submit(kind, params=params, object_type="audit_log", object_id=str(upto), created_by=request.user)
        log.started(request, kind, f, upto, job)
        return HttpResponseRedirect(f"{request.path}?{_query(f, upto=upto, job=job.id)}")
    data = log.read_page(request, f, upto=request.GET.get("upto"), before=request.GET.get("before"),
                         limit=request.GET.get("limit"))
    names = log.object_names(data["entries"])
    rows = [{"e": e, "label": log.actions.label(e.action), "name": names.get((e.object_type, e.object_id), ""),
             "detail": _shown(e.detail)} for e in data["entries"]]
    jid = parse_uuid(request.GET.get("job", ""))
    job = Job.objects.filter(pk=jid, created_by=request.user, kind__in=KINDS.values()).first() if jid else None
    export = log.export_for_job(job.id) if job and job.kind == "web.audit_export" else None
    return render(request, "web/audit.html", {
        "rows": rows, "f": f, "error": error, "upto": data["upto"], "total": data["total"], "more": data["more"],
        "first": data["first"], "people": log.people(), "action_groups": log.action_choices(),
        "next_url": f"?{_query(f, upto=data['upto'], before=data['next_before'], limit=data['limit'])}"
        if data["more"] else "",
        "newest_url": f"?{_query(f, upto=data['upto'])}", "filter_query": _query(f),
        "job": job, "export": export}, status=st)


@login_required
def export_download(request, export_id):
    exp, fh = log.open_export(request, export_id)
    ctype = "text/csv; charset=utf-8" if exp.format == "csv" else "application/x-ndjson"
    return FileResponse(fh, as_attachment=True, filename=f"audit-{exp.created_at:%Y%m%d}-{str(exp.id)[:8]}.{exp.format}",
                        content_type=ctype)
