"""Retention pages: policy and categories, deletion queue, holds, tombstones (/retention/),
activation compliance (/retention/compliance/), storage and cost (/retention/storage/),
and dispatch incidents (/retention/cad/).

Thin: services/policy/cad/reports do the work and audit each change. Who may do what:
custodians manage retention; auditors and admins read it; supervisors read compliance
for the squads they supervise. Every page view and every refusal is audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ..access.policy import allowed, refusals_audited, require
from ..access.services import audit_denied, visible_clips
from ..cases.models import Case
from ..custody.services import record_request, request_source
from ..errors import BadInput
from ..evidence.identity import recording_rows
from ..evidence.models import Category
from ..http import confirm_step, confirmed
from ..numbers import whole_number
from ..search import picker
from ..timefmt import day_bounds, iso_seconds, isoformat
from . import cad as cadmod
from . import policy as pol
from . import reports
from . import services as ret
from .models import CadIncident, LegalHold, Tombstone

# Permissions (access.policy): "retention.manage", "retention.view", "retention.compliance".
MANAGE, READ, COMPLIANCE = "retention.manage", "retention.view", "retention.compliance"


def _require(request, perm: str, action: str):
    require(request, perm, action=action, object_type="retention",
                   reason=f"role {request.user.role} may not {action.split('.')[-1]}",
                   message=f"your role may not use this page ({action})")


def _wants_json(request) -> bool:
    return request.GET.get("format") == "json"


@login_required
@require_http_methods(["GET", "POST"])
def overview(request):
    user = request.user
    error, status, pick_choices = "", 200, []
    if request.method == "GET" and not allowed(user, READ) and allowed(user, COMPLIANCE):
        return HttpResponseRedirect("/retention/compliance/")  # their part of retention (supervisors)
    if request.method == "POST":
        _require(request, MANAGE, "retention.change")
        ask = _ask_first(request)
        if ask is not None:
            return ask
        try:
            _post(request)
            return HttpResponseRedirect(request.path)
        except (ret.RetentionError, pol.RetentionPolicyError, ValueError, BadInput) as exc:  # shown beside its forms
            error, status = str(exc), getattr(exc, "status", 400)
            audit_denied(request, "retention.change", error, object_type="retention", status=status)
        except picker.Choose as many:
            pick_choices = many.rows
    else:
        _require(request, READ, "retention.view")
    row = pol.settings_row()
    ctx = {
        "settings": row, "error": error, "can_manage": allowed(user, MANAGE), "pick_choices": pick_choices,
        "hold_cases": list(Case.objects.filter(status="open").order_by("-created_at")[:500]),
        "categories": Category.objects.order_by("name"),
        "queue": ret.queue_rows(), "upcoming": ret.upcoming()[:200],
        "holds": LegalHold.objects.filter(released_at__isnull=True).select_related("case")
        .prefetch_related("recordings"),
        "tombstones": [ret.tombstone_dict(t) for t in Tombstone.objects.all()[:50]],
        "blobs_waiting": ret.blobs_pending(limit=200),
    }
    record_request(request, "retention.view", object_type="retention",
                   detail={"queue": len(ctx["queue"]), "upcoming": len(ctx["upcoming"])})
    if _wants_json(request):
        return JsonResponse({"policy": pol.export_policy(), "queue": ctx["queue"], "upcoming": ctx["upcoming"],
                             "tombstones": ctx["tombstones"], "blobs_waiting": ctx["blobs_waiting"],
                             "last_sweep_at": iso_seconds(row.last_sweep_at)},
                            status=status)
    return render(request, "retention/overview.html", ctx, status=status)


def _ask_first(request):
    """Approving a purge or releasing a hold cannot be undone: a confirmation page first."""
    action = request.POST.get("action", "")
    if confirmed(request) or action not in ("approve", "release_hold"):
        return None
    if action == "approve":
        n = len(request.POST.getlist("recording"))
        return confirm_step(request, "Approve deletion", f"Approve the purge of {n} recording{'s' if n != 1 else ''}?",
                            ["After its grace period the sweep removes the recording's files for good; only a "
                             "tombstone (its hashes) remains.", "Until then it can still be recovered."],
                            button="Yes, approve the purge", back=request.path)
    return confirm_step(request, "Release legal hold", "Release this legal hold?",
                        ["The recordings it kept follow their retention again and may be deleted.",
                         "A released hold cannot be placed again; a new hold can."],
                        button="Yes, release the hold", back=request.path)


def _picked_recordings(request) -> list[str]:
    """The recordings of the items chosen in the hold form's picker, each one the user may see."""
    from ..access.services import NotVisible, visible_clips
    from ..numbers import parse_uuid

    ids = picker.chosen(request, request.POST, "clip", multiple=True)
    wanted = {parse_uuid(i) for i in ids}
    found = dict(visible_clips(request.user).filter(id__in=[i for i in wanted if i]).values_list("id", "recording_id"))
    if None in wanted or len(found) < len(wanted):
        audit_denied(request, "retention.hold", "an item is not visible to this user", object_type="retention",
                     status=404)
        raise NotVisible("no such item, or not visible to you")
    return sorted({str(r) for r in found.values()})


def _post(request):
    p, who = request.POST, request.user.username
    src = request_source(request)
    action = p.get("action", "")
    if action == "settings":  # a category's period: /retention/categories/change (previewed, with a reason)
        data = {}
        for key in ("grace_days", "notice_days"):
            if p.get(key, "").strip():
                data[key] = whole_number(p[key])
                if data[key] is None:
                    raise ValueError(f"{key} must be a whole number")
        data["require_approval"] = p.get("require_approval") == "yes"
        pol.apply(pol.parse(data), actor=who, source=src)
    elif action == "recover":
        days = whole_number(p.get("days", "30").strip() or "30")
        if days is None:
            raise ValueError("days must be a whole number")
        ret.recover(p.get("recording", ""), who, days=days, reason=p.get("reason", ""), source=src)
    elif action == "approve":
        ret.approve(p.getlist("recording"), who, source=src)
    elif action == "hold":
        recs = [r.strip() for r in p.get("recordings", "").replace(",", "\n").splitlines() if r.strip()]
        if p.getlist("clip") or p.get("clip_q", "").strip():  # the page's picker: items, not container names
            recs += _picked_recordings(request)
        ret.place_hold(p.get("name", ""), p.get("reason", ""), who, recordings=recs,
                       case=p.get("case", "").strip() or None, source=src)
    elif action == "release_hold":
        ret.release_hold(p.get("hold", ""), who, reason=p.get("reason", ""), source=src)
    else:
        raise ValueError("unknown action")


@login_required
def compliance_page(request):
    _require(request, COMPLIANCE, "retention.compliance")
    g = request.GET
    with refusals_audited(request, "retention.compliance"):
        start, end = reports.parse_period(_local_day(g.get("from"), 0), _local_day(g.get("to"), 1))
        seed = reports.parse_seed(g.get("seed", ""))
    rep = reports.compliance(start, end, user=request.user, squad=g.get("squad") or None,
                             badge=g.get("badge") or None, seed=seed)
    record_request(request, "retention.compliance", object_type="report",
                   detail={"from": rep["from"], "to": rep["to"], "squad": g.get("squad", ""),
                           "badge": g.get("badge", ""), "missed": rep["totals"]["missed"]})
    if _wants_json(request):
        return JsonResponse(rep)
    chart = reports.svg_bars([{"key": s["squad"], "pct": s["compliance_pct"] or 0.0} for s in rep["squads"]],
                             value="pct", unit=" %")
    return render(request, "retention/compliance.html", {
        "r": rep, "chart": chart, "q": g, "first_day": start, "last_day": end - timedelta(microseconds=1),
        "sample": _sample_rows(request.user, rep["review_sample"]["recordings"])})


def _local_day(value: str | None, after: int) -> str | None:
    """The page's dates are days in the agency's zone, both ends included: a plain date becomes
    the start of that day (``after`` 0, "from") or of the next one (``after`` 1: "to" ends with
    its day). Anything else goes to ``reports.parse_period`` as it is (ISO times; its errors)."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
        return isoformat(day_bounds(day + timedelta(days=after), settings.AGENCY_TIME_ZONE)[0])
    except (ValueError, OverflowError):
        return value


def _sample_rows(user, sample: list[dict]) -> list[dict]:
    """The review sample as people read it: evidence number and title, officer, start, length
    and a link for each recording ``user`` may open (the one access check); the evidence number
    alone for the others."""
    clips = visible_clips(user).filter(recording_id__in=[s["recording"] for s in sample]).order_by(
        "recording_id", "start_time", "object_name")
    seen = {r["recording"]: r for r in recording_rows(clips)}
    return [{"row": seen.get(s["recording"]), "number": s.get("evidence_number", ""),
             "url": reverse("evidence-detail", args=[seen[s["recording"]]["id"]]) if s["recording"] in seen else ""}
            for s in sample]


@login_required
def storage_page(request):
    _require(request, READ, "retention.storage")
    with refusals_audited(request, "retention.storage"):
        price = reports.parse_price(request.GET.get("price", ""))
    rep = reports.storage(price=price)
    record_request(request, "retention.storage", object_type="report", detail={"price": rep["price_per_tb_month"]})
    if _wants_json(request):
        return JsonResponse(rep)
    charts = {k: reports.svg_bars(rep[k]) for k in ("by_category", "by_officer", "by_device", "by_month")}
    return render(request, "retention/storage.html", {"r": rep, "charts": charts, "human": reports.human})


def readable_links(user, incidents: list[dict]) -> None:
    """Each linked recording of ``incidents`` as people read it (``evidence.identity``
    ``recording_rows``: evidence number and title, officer, local start, length) under "row",
    its page under "url", for the recordings ``user`` may see (the one access check,
    ``visible_clips``); the others keep their evidence number only."""
    ids = {lk["recording"] for i in incidents for lk in i["recordings"]}
    clips = visible_clips(user).filter(recording_id__in=list(ids)).order_by("recording_id", "start_time", "object_name")
    seen = {r["recording"]: r for r in recording_rows(clips)}
    for i in incidents:
        for lk in i["recordings"]:
            lk["row"] = seen.get(lk["recording"])
            lk["url"] = reverse("evidence-detail", args=[lk["row"]["id"]]) if lk["row"] else ""


@login_required
@require_http_methods(["GET", "POST"])
def cad_page(request):
    error, status, result, row_errors, more_errors = "", 200, None, None, 0
    _require(request, READ if request.method == "GET" else MANAGE, "retention.cad")
    if request.method == "POST":
        f = request.FILES.get("file")
        try:
            if f is None:
                raise cadmod.CadError("choose a CSV or JSON file")
            result = cadmod.import_incidents(f.read(cadmod.MAX_BYTES + 1), None, source=f"upload:{f.name}"[:200],
                                             actor=request.user.username)
        except cadmod.CadError as exc:  # shown on the page, beside its form
            error, status = str(exc).splitlines()[0], 400
            row_errors = getattr(exc, "rows", None)  # every bad row (CadRowErrors), nothing imported
            more_errors = getattr(exc, "total", 0) - len(row_errors or [])
            audit_denied(request, "cad.import", str(exc)[:2000], object_type="cad", status=400)
    q = request.GET.get("q", "").strip()[:64]
    qs = CadIncident.objects.order_by("-received_at")
    if q:
        qs = qs.filter(number__icontains=q) | CadIncident.objects.filter(call_type__icontains=q.upper())
    rows = [cadmod.incident_dict(i) for i in qs.prefetch_related("links__recording")[:200]]
    readable_links(request.user, rows)
    record_request(request, "cad.view", object_type="cad", detail={"q": q, "shown": len(rows)})
    return render(request, "retention/cad.html", {
        "rows": rows, "q": q, "error": error, "result": result, "row_errors": row_errors,
        "more_errors": more_errors,
        "columns": cadmod.COLUMNS, "time_format": cadmod.TIME_FORMAT, "max_mib": cadmod.MAX_BYTES // 2**20,
        "can_manage": allowed(request.user, MANAGE)}, status=status)
