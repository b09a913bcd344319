"""Retention administration pages: categories and their periods (/retention/categories/...),
the call types compliance requires (/retention/call-types/), and the CAD sample file
(/retention/cad/sample.csv).

Thin: ``categories`` checks and makes each change (one audit entry with its reason); ``cad``
owns the file format. Custodians change ("retention.manage"); auditors and admins read
("retention.view"). A period change is previewed, then confirmed with a reason; retiring a
category asks first. Every page view, change and refusal is audited.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from ..access.policy import allowed, audit_denied, require
from ..custody.services import record_request, request_source
from ..http import confirmed
from . import cad as cadmod
from . import categories as cats
from . import policy as pol

MANAGE, READ = "retention.manage", "retention.view"
LIST = "/retention/categories/"


def _require(request, perm: str, action: str, object_id: str = ""):
    require(request, perm, action=action, object_type="category" if "categor" in action else "retention",
            object_id=object_id, reason=f"role {request.user.role} may not {action.split('.')[-1]}",
            message=f"your role may not use this page ({action})")


def _refused(request, action: str, exc: pol.RetentionPolicyError, object_id: str = "") -> tuple[str, int]:
    """A refusal shown beside its form: one denied entry with the reason."""
    audit_denied(request, action, str(exc), object_type="category" if "categor" in action else "retention",
                 object_id=object_id[:64], status=exc.status)
    return str(exc), exc.status


# ------------------------------------------------------------------ categories
@login_required
@require_http_methods(["GET", "POST"])
def categories_page(request):
    error, status, form = "", 200, {}
    if request.method == "POST":
        _require(request, MANAGE, "retention.category_create")
        p = request.POST
        form = {k: p.get(k, "") for k in ("name", "days", "floor", "reason")}
        try:
            floor = p.get("floor", "").strip()
            floor = "" if not floor else None if floor.lower() == pol.INDEFINITE else cats.parse_days(floor, "minimum")
            cat = cats.create_category(p.get("name", ""), cats.parse_days(p.get("days", "")), floor,
                                       p.get("reason", ""), actor=request.user.username, source=request_source(request))
            return HttpResponseRedirect(f"{LIST}?created={cat.pk}#categories")
        except pol.RetentionPolicyError as exc:
            error, status = _refused(request, "retention.category_create", exc, form["name"])
    else:
        _require(request, READ, "retention.view")
    rows = cats.category_rows()
    record_request(request, "retention.view", object_type="category",
                   detail={"page": "categories", "categories": len(rows)})
    return render(request, "retention/categories.html", {
        "rows": rows, "error": error, "form": form, "can_manage": allowed(request.user, MANAGE),
        "created": request.GET.get("created", ""), "changed": request.GET.get("changed", "")[:100]}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def category_change(request):
    """GET: the preview of a period change (nothing changes). POST with ``confirm=yes`` and a
    reason: the change. A POST without the confirmation shows the preview again."""
    q = request.POST if request.method == "POST" else request.GET
    name, raw = q.get("category", "")[:100], q.get("days", "")
    action = "retention.category_period" if confirmed(request) else "retention.category_preview"
    _require(request, MANAGE, action, name)
    preview, error, status = None, "", 200
    try:
        days = cats.parse_days(raw)
        preview = cats.preview_period(name, days)  # the floors first: a refused period shows no preview
        if confirmed(request):
            before = q.get("before", "")
            expect = "" if before == "" else None if before == pol.INDEFINITE else cats.parse_days(before, "before")
            cats.change_period(name, days, q.get("reason", ""), actor=request.user.username,
                               source=request_source(request), expect_before=expect, preview=preview)
            return HttpResponseRedirect(f"{LIST}?changed={name}#categories")
    except pol.RetentionPolicyError as exc:
        error, status = _refused(request, action, exc, name)
    if preview is not None and not error:
        record_request(request, "retention.category_preview", object_type="category", object_id=name,
                       detail={"days": raw, "items": preview["items"], "changed": preview["changed"]})
    before = ""
    if preview is not None:
        before = pol.INDEFINITE if preview["days_before"] is None else str(preview["days_before"])
    return render(request, "retention/category_change.html", {
        "name": name, "days": raw, "p": preview, "before": before, "error": error,
        "reason": q.get("reason", "")}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def category_status(request, verb: str):
    """Retire a category (asks first: a confirmation with a reason) or restore one."""
    active = verb == "restore"
    action = "retention.category_restore" if active else "retention.category_retire"
    q = request.POST if request.method == "POST" else request.GET
    name = q.get("category", "")[:100]
    _require(request, MANAGE, action, name)
    error, status = "", 200
    try:
        cat = cats.category(name)
        if request.method == "POST" and confirmed(request):
            cats.set_active(name, active, q.get("reason", ""), actor=request.user.username,
                            source=request_source(request))
            return HttpResponseRedirect(f"{LIST}?changed={name}#categories")
    except pol.RetentionPolicyError as exc:
        error, status = _refused(request, action, exc, name)
        cat = None
    if cat is not None and not error:
        record_request(request, "retention.view", object_type="category", object_id=str(cat.pk),
                       detail={"page": f"{verb} category", "category": cat.name})
    row = next((r for r in cats.category_rows() if cat and r["name"] == cat.name), None)
    return render(request, "retention/category_status.html", {
        "verb": verb, "name": name, "row": row, "error": error, "reason": q.get("reason", "")}, status=status)


# ------------------------------------------------------------------ required call types
@login_required
@require_http_methods(["GET", "POST"])
def call_types_page(request):
    error, status = "", 200
    if request.method == "POST":
        _require(request, MANAGE, "retention.call_types")
        p = request.POST
        try:
            if p.get("action") not in ("add", "remove"):
                raise pol.RetentionPolicyError("choose to add or to remove a call type")
            name = p.get("call_type", "").strip() or p.get("new_call_type", "")
            cats.set_call_type(name, p["action"] == "add", p.get("reason", ""), actor=request.user.username,
                               source=request_source(request))
            return HttpResponseRedirect(request.path)
        except pol.RetentionPolicyError as exc:
            error, status = _refused(request, "retention.call_types", exc)
    else:
        _require(request, READ, "retention.view")
    rows = cats.call_type_rows()
    record_request(request, "retention.view", object_type="policy",
                   detail={"page": "required call types", "required": sum(r["required"] for r in rows)})
    return render(request, "retention/call_types.html", {
        "required": [r for r in rows if r["required"]], "others": [r for r in rows if not r["required"]],
        "error": error, "can_manage": allowed(request.user, MANAGE)}, status=status)


# ------------------------------------------------------------------ CAD sample
@login_required
@require_http_methods(["GET"])
def cad_sample(request):
    _require(request, READ, "cad.sample")
    body = cadmod.sample_csv()
    record_request(request, "cad.sample", object_type="cad", detail={"bytes": len(body)})
    resp = HttpResponse(body, content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = 'attachment; filename="cad-sample.csv"'
    return resp
