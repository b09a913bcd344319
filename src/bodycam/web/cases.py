"""The case pages: the list (/cases/), a case (/cases/NUMBER/: its recordings, shares and
links, and the panel of status, incident, detectives, holds and files), closing or
reopening it (/cases/NUMBER/status) and its files (/cases/NUMBER/files[/ID]).

Thin: ``cases.services`` changes cases and stores their files, ``release.services`` finds
the case the user may see (``get_case``) and shares it; each call audits. The case page
composes several apps (release's shares, retention's panel), so it lives here, at the top of
the layers, while ``cases`` itself sits below ``access`` (whose visibility query needs case
membership)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from ..access.policy import allowed, cases_visible, refusals_audited, require
from ..access.services import visible_clips
from ..cases import services as case_services
from ..custody.services import record_request, request_source
from ..errors import BadInput
from ..evidence_ops import services as ev
from ..http import confirm_step, confirmed
from ..numbers import parse_uuid
from ..release import services as rel
from . import readable


@login_required
def case_list(request):
    cases = cases_visible(request.user).order_by("-created_at")[:500]
    record_request(request, "case.list", object_type="case", detail={"count": len(cases)})
    return render(request, "release/cases.html", {"cases": cases})


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
    clips = list(visible_clips(request.user).filter(recording__cases=case)
                 .order_by("start_time", "object_name"))
    record_request(request, "case.view", object_type="case", object_id=str(case.id),
                   detail={"clips": [str(c.id) for c in clips]})
    user = request.user
    can_share = allowed(user, "case.share", case)
    shares = []
    if can_share:
        shares = [rel.case_share_dict(s) for s in case.prosecutor_shares.select_related("case", "recipient",
                                                                                         "created_by")]
        shares += [rel.link_dict(lk) for lk in case.share_links.select_related("case", "created_by")]
    no_reshare = allowed(user, "case.no_reshare", case)
    return render(request, "release/case.html", {
        "case": case, "clips": [ev.clip_summary(c) for c in clips], "shares": shares, "can_share": can_share,
        "recordings": readable.recording_rows(user, clips),  # one row per recording (issue 23)
        "error": error, "new_link": new_link, "no_reshare": no_reshare,
        "can_export": bool(clips) and allowed(user, "evidence.download")}, status=st)


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
@require_POST
def case_status(request, case_key):
    case = _case_for_change(request, case_key, "case.status")
    if request.POST.get("status") == "closed" and not confirmed(request):
        return confirm_step(request, f"Close case {case.number}", f"Close case {case.number}?",
                            ["While a case is open its recordings are never deleted; closing it lets their "
                             "retention run again, so footage may be deleted when its period ends."],
                            button="Yes, close the case", back=f"/cases/{case.number}/")
    with refusals_audited(request, "case.status", object_type="case", object_id=str(case.id)):
        case_services.set_case_status(case, request.POST.get("status", ""), request.user.username,
                                      source=request_source(request),
                                      incident_number=request.POST.get("incident_number"))
    return HttpResponseRedirect(f"/cases/{case.number}/")


@login_required
@require_POST
def case_file_upload(request, case_key):
    case = _case_for_change(request, case_key, "case.file_upload")
    case_services.add_file(request, case, request.FILES.get("file"), request.POST.get("description", ""))
    return HttpResponseRedirect(f"/cases/{case.number}/")


@login_required
def case_file_download(request, case_key, file_id):
    case = rel.get_case(request, case_key, "case.file_download")
    cf, f = case_services.open_file(request, case, parse_uuid(file_id))
    return FileResponse(f, as_attachment=True, filename=cf.name, content_type=cf.content_type)
