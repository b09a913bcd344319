"""The case pages: the list (/cases/), a new case (/cases/new), a case (/cases/NUMBER/: its
facts, recordings, files, detectives, shares and links, and retention's panel) and its
history tab (/cases/NUMBER/history), closing or reopening it after a confirmation
(/cases/NUMBER/status), adding footage with a picker (/cases/NUMBER/footage) and removing
a recording with a reason (/cases/NUMBER/footage/RECORDING/remove), assigning detectives
(/cases/NUMBER/detectives) and its files (/cases/NUMBER/files[/ID]).

Thin: ``cases.services`` changes cases and stores their files, ``release.services`` finds
the case the user may see (``get_case``) and shares it, ``search`` finds footage through the
one access check; each call audits. The case page composes several apps (release's shares,
retention's panel), so it lives here, at the top of the layers, while ``cases`` itself sits
below ``access`` (whose visibility query needs case membership)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from ..access.models import User
from ..access.policy import ROLES, Denied, allowed, audit_denied, cases_visible, refusals_audited, require
from ..access.services import visible_clips
from ..cases import services as case_services
from ..cases.models import Case
from ..custody import actions
from ..custody.models import AuditEntry
from ..custody.services import record_request, request_source
from ..errors import BadInput
from ..evidence.models import Recording
from ..http import confirm_step, confirmed
from ..numbers import parse_uuid
from ..release import services as rel
from ..search import services as search
from . import readable


def case_url(case: Case, tail: str = "") -> str:
    return f"/cases/{quote(case.number, safe='')}/{tail}"


@login_required
def case_list(request):
    cases = list(cases_visible(request.user).annotate(n_recordings=Count("recordings", distinct=True))
                 .prefetch_related("detectives").order_by("-created_at")[:500])
    record_request(request, "case.list", object_type="case", detail={"count": len(cases)})
    return render(request, "web/cases.html", {"cases": cases, "can_create": allowed(request.user, "access.case")})


def _assignable():
    """Active accounts that can be assigned to cases (``case.assignee``), by name."""
    return list(User.objects.filter(is_active=True, role__in=ROLES["case.assignee"]).order_by("username"))


def _detectives_from(names):
    """The assignable accounts named (BadInput for any other name: the caller audits it)."""
    found = {u.username: u for u in _assignable()}
    picked = []
    for name in dict.fromkeys(names):
        if name not in found:
            raise BadInput("choose detectives from the list")
        picked.append(found[name])
    return picked


@login_required
@require_http_methods(["GET", "POST"])
def case_new(request):
    """Open a case: a typed number or the next of the agency's pattern, title, incident number,
    detectives from the list (a detective who opens a case is on it)."""
    user = require(request, "access.case", action="case.create", object_type="case",
                   reason=f"role {request.user.role} may not open cases",
                   message="only detectives and custodians open cases")
    form, error, status = {"detectives": [user.username] if allowed(user, "case.assignee") else []}, "", 200
    if request.method == "POST":
        p = request.POST
        form = {"number": p.get("number", ""), "title": p.get("title", ""), "incident_number": p.get("incident_number", ""),
                "detectives": p.getlist("assignee")[:50]}
        names = form["detectives"] + ([user.username] if allowed(user, "case.assignee") else [])
        try:
            with refusals_audited(request, "case.create", object_type="case"):
                dets = _detectives_from(names)
                case = case_services.create_case(request, form["number"], form["title"], form["incident_number"],
                                                 dets)
            return HttpResponseRedirect(case_url(case))
        except case_services.CaseError as exc:  # shown beside the form (audited above)
            error, status = str(exc), exc.status
        except BadInput as exc:
            error, status = str(exc), 400
    return render(request, "web/case_new.html", {
        "form": form, "error": error, "detectives": _assignable(), "next_number": case_services.next_number_preview(),
        "self_assigned": allowed(user, "case.assignee")}, status=status)


def _recording_rows(user, case):
    """The case's recordings the user may see (one row per recording, its first clip linked,
    ``readable.recording_rows``), and how many more the case holds that they may not see."""
    clips = list(visible_clips(user).filter(recording__cases=case).order_by("start_time", "object_name"))
    rows = sorted(readable.recording_rows(user, clips), key=lambda r: r["f"]["started"])
    hidden = case.recordings.count() - len(rows)
    return clips, rows, hidden


@login_required
@require_http_methods(["GET", "POST"])
def case_page(request, case_key):
    error, new_link, st = "", "", 200
    case = rel.get_case(request, case_key, "case.view")
    if request.method == "POST":
        p = request.POST
        try:
            action = p.get("action", "")
            flags = {"allow_download": p.get("allow_download") == "yes", "no_reshare": p.get("no_reshare") == "yes"}
            if action == "share":
                rel.share_case(request, case.id, {"recipient": p.get("recipient", ""),
                                                  "days": p.get("days", "").strip() or None, **flags})
                return HttpResponseRedirect(request.path)
            if action == "link":
                _, token = rel.create_link(request, {"case": str(case.id), "days": p.get("days", "").strip(),
                                                     "label": p.get("label", ""), **flags})
                new_link = request.build_absolute_uri(f"/s/{token}/")
            elif action == "revoke":
                if not confirmed(request):
                    return _confirm_revoke(request)
                rel.revoke(request, p.get("kind", ""), p.get("share", ""))
                return HttpResponseRedirect(request.path)
            else:
                raise BadInput("unknown action")
        except BadInput as exc:  # shown on the case page, beside its forms
            error, st = str(exc), 400
    user = request.user
    clips, rows, hidden = _recording_rows(user, case)
    record_request(request, "case.view", object_type="case", object_id=str(case.id),
                   detail={"clips": [str(c.id) for c in clips]})
    can_share = allowed(user, "case.share", case)
    shares = []
    if can_share:
        shares = [rel.case_share_dict(s) for s in case.prosecutor_shares.select_related("case", "recipient",
                                                                                         "created_by")]
        shares += [rel.link_dict(lk) for lk in case.share_links.select_related("case", "created_by")]
    can_change = allowed(user, "case.change", case)
    detectives = list(case.detectives.order_by("username"))
    return render(request, "web/case.html", {
        "case": case, "rows": rows, "hidden": hidden, "shares": shares, "can_share": can_share,
        "error": error, "new_link": new_link, "no_reshare": allowed(user, "case.no_reshare", case),
        "can_export": bool(clips) and allowed(user, "evidence.download"), "can_change": can_change,
        "files": list(case.files.select_related("uploaded_by")), "detectives": detectives,
        "assignable": [d for d in _assignable() if d not in detectives] if can_change else [],
        "may_request": allowed(user, "access.request"), "tab": "case"}, status=st)


def _confirm_revoke(request):
    """Revoking a share or a link cannot be undone (a new one can be made): a confirmation page first."""
    link = request.POST.get("kind") == "link"
    return confirm_step(request, "Revoke " + ("link" if link else "share"),
                        "Revoke this " + ("link" if link else "share") + "?",
                        ["Its holder loses access at once" + (" (the link answers 410 Gone)." if link else "."),
                         "A revoked share cannot be restored; you can share again."],
                        button="Yes, revoke", back=request.path)


def _case_for_change(request, case_key, action):
    case = rel.get_case(request, case_key, action)
    require(request, "case.change", case, action=action, object_type="case", object_id=str(case.id),
            reason=f"role {request.user.role} may not change this case",
            message="only a custodian or an assigned detective may change this case")
    return case


@login_required
@require_http_methods(["GET", "POST"])
def case_status(request, case_key):
    """Close or reopen (asked first: the confirmation page, GET or a POST without
    ``confirm=yes``), and/or set the incident number (no question: nothing is lost)."""
    case = _case_for_change(request, case_key, "case.status")
    p = request.POST if request.method == "POST" else request.GET
    status = p.get("status", "")
    with refusals_audited(request, "case.status", object_type="case", object_id=str(case.id)):
        if status and status not in Case.Status.values:
            raise case_services.CaseError("status must be open or closed")
        asks = bool(status) and status != case.status
        if request.method == "GET" or (asks and p.get("confirm") != "yes"):
            if not asks:
                return HttpResponseRedirect(case_url(case))
            return render(request, "web/case_status.html", {
                "case": case, "status": status, "incident_number": p.get("incident_number"),
                "recordings": case.recordings.count()})
        case_services.set_case_status(case, status, request.user.username, source=request_source(request),
                                      incident_number=p.get("incident_number"))
    return HttpResponseRedirect(case_url(case))


@login_required
def case_history(request, case_key):
    """The case's audit entries in words: who did what, when (its own entries; the entries
    of its recordings are on their item pages)."""
    case = rel.get_case(request, case_key, "case.history")
    entries = list(AuditEntry.objects.filter(object_type="case", object_id=str(case.id))
                   .exclude(action__in=("case.view", "case.history")).order_by("-seq")[:500])
    record_request(request, "case.history", object_type="case", object_id=str(case.id),
                   detail={"entries": len(entries)})
    return render(request, "web/case_history.html", {
        "case": case, "tab": "history", "entries": [{"e": e, "label": actions.label(e.action) or e.action,
                                                      "what": _history_words(e)} for e in entries]})


def _history_words(e: AuditEntry) -> str:
    """The detail of a case entry as a short sentence (never ids a person cannot read)."""
    d = e.detail or {}
    if e.outcome != "ok":
        return f"refused: {d.get('reason', '')}"
    if e.action == "case.create":
        dets = ", ".join(d.get("detectives") or []) or "none"
        return f"{d.get('number', '')} “{d.get('title', '')}”; incident {d.get('incident_number') or '–'}; detectives {dets}"
    if e.action == "case.add_recordings":
        nums = d.get("evidence_numbers") or [f"{len(d.get('recordings_added') or [])} recording(s)"]
        return ", ".join(nums) or "nothing new"
    if e.action == "case.remove_recording":
        return f"{d.get('evidence_number', '')}: {d.get('reason', '')}"
    if e.action == "case.detectives":
        ch = actions.changes(d).get("detectives", ([], []))
        added, removed = sorted(set(ch[1]) - set(ch[0])), sorted(set(ch[0]) - set(ch[1]))
        return "; ".join(x for x in (f"assigned {', '.join(added)}" if added else "",
                                     f"unassigned {', '.join(removed)}" if removed else "") if x)
    if e.action == "case.incident":
        return f"incident number {d.get('incident_number') or '–'}"
    if e.action in ("case.file_upload", "case.file_download"):
        return d.get("name", "")
    if e.action in ("case.close", "case.reopen"):
        extra = {k: v for k, v in d.items() if k not in ("number", "session", "method", "path")}
        return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in extra.items())
    if e.action == "case.list":
        return ""
    return ", ".join(f"{k}: {v}" for k, v in d.items() if k in ("recipient", "days", "label", "number"))


@login_required
@require_http_methods(["GET", "POST"])
def case_footage(request, case_key):
    """Add footage: a picker that searches what the user may see (the search page's engine,
    the one access check) by evidence number, title words, officer or date; checked rows are
    added. Nothing here takes a typed id."""
    case = _case_for_change(request, case_key, "case.add_recordings" if request.method == "POST"
                            else "case.footage_picker")
    if request.method == "POST":
        ids = request.POST.getlist("recording")[:100]
        with refusals_audited(request, "case.add_recordings", object_type="case", object_id=str(case.id)):
            uuids = [parse_uuid(i) for i in ids]
            if not ids or None in uuids:
                raise BadInput("choose recordings from the list")
            seen = set(visible_clips(request.user).filter(recording_id__in=uuids)
                       .values_list("recording_id", flat=True))
            if len(seen) != len(set(uuids)):
                raise BadInput("a chosen recording is not one you may see")
            case_services.add_recordings(request, case, list(Recording.objects.filter(id__in=seen)))
        return HttpResponseRedirect(case_url(case))
    params = {k: request.GET.get(k, "").strip() for k in ("q", "officer", "from", "to")}
    error, rows, page = "", [], None
    if any(params.values()):
        try:
            _, page = search.audited_search(request, {**params, "per_page": "50"})
        except search.SearchError as exc:
            error = str(exc)
        if page:
            present = set(case.recordings.values_list("id", flat=True))
            first: dict = {}
            for c in page.results:
                first.setdefault(c.recording_id, c)
            about = readable.facts(request.user, [c.recording for c in first.values()])
            rows = [{"recording": str(rid), "clip": str(c.id), "f": about[rid], "in_case": rid in present}
                    for rid, c in first.items()]
    else:
        record_request(request, "case.footage_picker", object_type="case", object_id=str(case.id))
    return render(request, "web/case_footage.html", {
        "case": case, "params": params, "rows": rows, "error": error, "searched": any(params.values()),
        "capped": bool(page and page.total > len(page.results)), "may_request": allowed(request.user, "access.request"),
        "request_url": "/access-requests/new?" + urlencode({"case": case.number})}, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def case_footage_remove(request, case_key, recording_id):
    """Take a recording out of the case: a confirmation page that asks for the reason."""
    case = _case_for_change(request, case_key, "case.remove_recording")
    rid = parse_uuid(recording_id)
    rec = case.recordings.filter(id=rid).select_related("officer__account", "device").first() if rid else None
    if rec is None or not visible_clips(request.user).filter(recording=rec).exists():
        audit_denied(request, "case.remove_recording", "no such recording in this case, or not visible",
                     object_type="case", object_id=str(case.id), status=404)
        raise case_services.NotInCase("no such recording in this case")
    error, status = "", 200
    if request.method == "POST":
        try:
            with refusals_audited(request, "case.remove_recording", object_type="case", object_id=str(case.id)):
                case_services.remove_recording(request, case, rec, request.POST.get("reason", ""))
            return HttpResponseRedirect(case_url(case))
        except case_services.CaseError as exc:
            error, status = str(exc), exc.status
    return render(request, "web/case_remove.html", {"case": case, "f": readable.facts(request.user, [rec])[rec.id],
                                                    "error": error}, status=status)


@login_required
@require_POST
def case_detectives(request, case_key):
    """Assign (``assign=USERNAME``) or unassign (``unassign=USERNAME``) one detective."""
    case = _case_for_change(request, case_key, "case.detectives")
    assign, unassign = request.POST.get("assign", ""), request.POST.get("unassign", "")
    with refusals_audited(request, "case.detectives", object_type="case", object_id=str(case.id)):
        if bool(assign) == bool(unassign):
            raise BadInput("choose one detective to assign or unassign")
        if unassign == request.user.username:  # nobody changes their own access
            audit_denied(request, "case.detectives", "one's own assignment", object_type="case",
                         object_id=str(case.id))
            raise Denied("you may not take yourself off a case (a custodian or another detective on it may)")
        (det,) = _detectives_from([assign or unassign])
        case_services.set_detective(request, case, det, assigned=bool(assign))
    return HttpResponseRedirect(case_url(case))


@login_required
@require_POST
def case_file_upload(request, case_key):
    case = _case_for_change(request, case_key, "case.file_upload")
    case_services.add_file(request, case, request.FILES.get("file"), request.POST.get("description", ""))
    return HttpResponseRedirect(case_url(case))


@login_required
def case_file_download(request, case_key, file_id):
    case = rel.get_case(request, case_key, "case.file_download")
    cf, f = case_services.open_file(request, case, parse_uuid(file_id))
    return FileResponse(f, as_attachment=True, filename=cf.name, content_type=cf.content_type)
