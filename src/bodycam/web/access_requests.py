"""The access-request pages: the list and decision queue (/access-requests/), asking
(/access-requests/new: a metadata-only search, a case and a reason) and one request
(/access-requests/ID/: its facts; approve or deny it, for those who may decide it).

Thin: ``access.requests`` checks, stores and audits every step; the recording added to the
case afterwards goes through the case's footage picker (web/cases.py)."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from ..access import requests as ar
from ..access.policy import allowed, cases_changeable
from ..access.services import visible_clips
from ..cases.models import Case
from ..custody.services import record_request
from . import readable


@login_required
def request_list(request):
    ctx = ar.listing(request)
    return render(request, "web/access_requests.html", ctx | {"max_days": ar.GRANT_DAYS_MAX})


def _open_cases(user):
    return list(cases_changeable(user).filter(status=Case.Status.OPEN).order_by("-created_at")
                .values_list("number", "title")[:200])


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request):
    """GET: the metadata-only search (officer from a list, dates, incident number, place);
    POST: ask for the ticked recordings, for one of the user's open cases, with a reason."""
    error, status = "", 200
    if request.method == "POST":
        p = request.POST
        try:
            made = ar.create(request, p.get("case", ""), p.getlist("recording")[:ar.MAX_PER_REQUEST + 1],
                             p.get("reason", ""))
            return HttpResponseRedirect(f"/access-requests/?asked={len(made)}")
        except ar.RequestError as exc:  # shown beside the form (audited by the service)
            error, status = str(exc), exc.status
        params = request.POST
    else:
        params = request.GET
    filters, rows = None, []
    try:
        filters, rows = ar.search(request, params)
    except ar.RequestError as exc:  # a bad filter, shown beside the filters (audited by the service)
        error, status = error or str(exc), exc.status if status == 200 else status
    return render(request, "web/access_request_new.html", {
        "filters": filters, "rows": rows, "error": error, "officers": ar.officers(),
        "params": {k: params.get(k, "") for k in ("officer", "from", "to", "incident", "place")},
        "cases": _open_cases(request.user), "case": params.get("case", ""), "reason": params.get("reason", ""),
        "searched": bool(filters and filters.any()), "limit": ar.SEARCH_LIMIT,
        "max_per_request": ar.MAX_PER_REQUEST}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def request_detail(request, request_id):
    """One request: its facts; for someone who may decide it, approve (days) or deny (reason).
    The page is the question asked before the decision."""
    error, status = "", 200
    if request.method == "POST":
        p = request.POST
        decision = p.get("decision", "")
        try:
            ar.decide(request, request_id, decision == "approve", p.get("days", ""), p.get("reason", ""))
            return HttpResponseRedirect("/access-requests/")
        except ar.RequestError as exc:  # shown beside the decision forms (audited by the service)
            error, status = str(exc), exc.status
    req, may_decide = ar.get(request, request_id)
    req.state = ar.state(req)
    user = request.user
    clip = None
    if req.state == "approved" or may_decide:  # the requester once granted, or a decider: they see it
        clip = visible_clips(user).filter(recording=req.recording).order_by("start_time").first()
    row = ar.describe(user, [req.recording])[0]
    in_case = req.case.recordings.filter(pk=req.recording_id).exists()
    may_add = (not may_decide and clip is not None and not in_case and req.case.status == Case.Status.OPEN
               and allowed(user, "case.change", req.case))
    record_request(request, "access.request.view", object_type="recording", object_id=str(req.recording_id),
                   detail={"request": str(req.id), "state": req.state})
    return render(request, "web/access_request.html", {
        "r": req, "row": row, "flags": readable.facts(user, [req.recording])[req.recording_id]["flags"] if clip else [],
        "clip": clip, "may_decide": may_decide and req.status == "pending", "error": error,
        "default_days": ar.GRANT_DAYS_DEFAULT, "max_days": ar.GRANT_DAYS_MAX, "in_case": in_case, "may_add": may_add,
        "case_url": f"/cases/{quote(req.case.number, safe='')}/"}, status=status)
