"""Squads (/admin/squads/...) and the object rules (/admin/rules/...): restrictions,
critical-incident locks and their release, grants with an expiry.

Thin: ``access.rules`` makes every change (one audit entry each, with its reason; who may is
``access.policy`` "access.squad" for admins, "access.restriction", "access.incident_lock" and
"access.grant" for custodians). Recordings are chosen with a picker that searches by evidence
number, title, officer or date through the search page's audited search, so it offers only
what its user may see, and the chosen one is checked again on submit
(``rules.visible_recording``). Lifting, releasing and revoking each have a confirm page."""

from __future__ import annotations

from datetime import datetime, timezone

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from ..access import policy
from ..access import rules as rl
from ..access.models import CriticalIncidentLock, Grant, Restriction, Squad, User
from ..access.policy import refusals_audited, require
from ..access.services import visible_recording_ids
from ..custody.services import record_request, request_source
from ..errors import BadInput
from ..evidence.identity import display_title
from ..evidence.models import Recording
from ..numbers import parse_uuid, whole_number
from ..search.services import audited_search

SQUAD = "access.squad"
PERM = {"restrict": "access.restriction", "lock": "access.incident_lock", "grant": "access.grant"}
RULE_PERMS = tuple(PERM.values())


def _require(request, perm: str, action: str, object_id: str = ""):
    return require(request, perm, action=action, object_type="recording" if perm != SQUAD else "squad",
                   object_id=object_id, reason=f"role {request.user.role} may not {perm}",
                   message=f"your role may not manage {perm.split('.', 1)[1].replace('_', ' ')}s")


def _active_users():
    return User.objects.filter(is_active=True).exclude(role="").order_by("username")


# ------------------------------------------------------------------------------ squads
def _squad_people():
    users = list(_active_users())
    return ([u for u in users if policy.role_may(u.role, "access.squad.supervisor")],
            [u for u in users if policy.role_may(u.role, "evidence.own_recordings")])


@login_required
@require_http_methods(["GET", "POST"])
def squad_list(request):
    _require(request, SQUAD, "access.squad")
    if request.method == "POST":
        p = request.POST
        with refusals_audited(request, "access.squad", object_type="squad"):
            squad = rl.set_squad(p.get("name", ""), p.getlist("supervisors"), p.getlist("members"),
                                 reason=p.get("reason", ""), actor=request.user, create=True,
                                 source=request_source(request))
        return HttpResponseRedirect(f"/admin/squads/{squad.id}/")
    squads = list(Squad.objects.prefetch_related("supervisors", "members").order_by("name"))
    record_request(request, "access.squad.list", object_type="squad", detail={"count": len(squads)})
    supervisors, officers = _squad_people()
    return render(request, "web/squads.html", {"squads": squads, "supervisors": supervisors, "officers": officers})


@login_required
@require_http_methods(["GET", "POST"])
def squad_page(request, squad_id):
    _require(request, SQUAD, "access.squad.change", str(squad_id)[:64])
    with refusals_audited(request, "access.squad.change", object_type="squad", object_id=str(squad_id)[:64]):
        sid = parse_uuid(squad_id)
        squad = Squad.objects.filter(id=sid).first() if sid else None
        if squad is None:
            raise rl.RuleNotFound("no such squad")
        if request.method == "POST":
            p = request.POST
            rl.set_squad(squad.name, p.getlist("supervisors"), p.getlist("members"), reason=p.get("reason", ""),
                         actor=request.user, source=request_source(request))
            return HttpResponseRedirect(request.path)
    record_request(request, "access.squad.list", object_type="squad", object_id=str(squad.id))
    supervisors, officers = _squad_people()
    return render(request, "web/squad.html", {
        "squad": squad, "supervisors": supervisors, "officers": officers,
        "chosen_supervisors": set(squad.supervisors.values_list("username", flat=True)),
        "chosen_members": set(squad.members.values_list("username", flat=True))})


# ------------------------------------------------------------------------------ rules
def _may_any(user) -> bool:
    return any(policy.allowed(user, p) for p in RULE_PERMS)


def _labelled(recs, user) -> list[dict]:
    """Rows for recordings named by rules: the evidence number always (rules are the custodian's
    to manage), the title, officer and a link only where the user sees the recording."""
    seen = set(Recording.objects.filter(id__in=[r.id for r in recs], pk__in=visible_recording_ids(user))
               .values_list("id", flat=True))
    return [{"rec": r, "visible": r.id in seen, "title": display_title(r) if r.id in seen else "",
             "officer": r.officer.name if r.id in seen else ""} for r in recs]


@login_required
def rules_page(request):
    if not _may_any(request.user):
        _require(request, PERM["restrict"], "access.rules.list")
    now = datetime.now(timezone.utc)
    restrictions = list(Restriction.objects.select_related("recording__officer").prefetch_related("allowed")
                        .order_by("-created_at")[:500])
    locks = list(CriticalIncidentLock.objects.filter(released_at__isnull=True).select_related("recording__officer")
                 .prefetch_related("involved").order_by("-created_at")[:500])
    grants = list(Grant.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                  .select_related("recording__officer", "user").order_by("expires_at")[:500])
    label = {d["rec"].id: d for d in _labelled([x.recording for x in restrictions + locks + grants], request.user)}
    record_request(request, "access.rules.list", object_type="recording",
                   detail={"restrictions": len(restrictions), "locks": len(locks), "grants": len(grants)})
    u = request.user
    return render(request, "web/rules.html", {
        "restrictions": [(r, label[r.recording_id]) for r in restrictions],
        "locks": [(lk, label[lk.recording_id]) for lk in locks],
        "grants": [(g, label[g.recording_id]) for g in grants],
        "can": {k: policy.allowed(u, p) for k, p in PERM.items()}})


def _picks(request) -> tuple[list[dict], bool]:
    """The picker's choices: recordings the user may see matching the search (the search page's
    audited search, one entry per search), one row per recording."""
    params = {k: request.GET.get(k, "") for k in ("q", "officer", "from", "to")}
    searched = any(v.strip() for v in params.values())
    _, page = audited_search(request, {**params, "per_page": "50"})  # SearchError: 400, audited
    out, seen = [], set()
    for clip in page.results:
        rec = clip.recording
        if rec.id in seen:
            continue
        seen.add(rec.id)
        out.append({"rec": rec, "title": display_title(rec), "officer": rec.officer,
                    "account": rec.officer.account})
    return out, searched


def _days(value: str) -> int:
    days = whole_number((value or "").strip())
    if days is None or not 1 <= days <= rl.MAX_GRANT_DAYS:
        raise BadInput(f"a grant lasts 1-{rl.MAX_GRANT_DAYS} days")
    return days


def _create(request, kind: str):
    p, user, src = request.POST, request.user, request_source(request)
    action = {"restrict": "access.restrict", "lock": "access.incident_lock", "grant": "access.grant"}[kind]
    rec = rl.visible_recording(request, p.get("recording", ""), action)  # NotVisible 404, audited
    with refusals_audited(request, action, object_type="recording", object_id=str(rec.id)):
        if kind == "restrict":
            rl.restrict(str(rec.id), p.get("reason", "").strip(), allowed=p.getlist("people"), actor=user, source=src)
        elif kind == "lock":
            rl.lock_incident(str(rec.id), p.getlist("people"), reason=p.get("reason", ""), actor=user, source=src)
        else:
            rl.grant(p.get("user", ""), str(rec.id), p.get("reason", "").strip(), days=_days(p.get("days", "")),
                     actor=user, source=src)


def _rule_form(kind: str):
    @login_required
    @require_http_methods(["GET", "POST"])
    def view(request):
        action = {"restrict": "access.restrict", "lock": "access.incident_lock", "grant": "access.grant"}[kind]
        _require(request, PERM[kind], action)
        if request.method == "POST":
            _create(request, kind)
            return HttpResponseRedirect("/admin/rules/")
        picks, searched = _picks(request)
        people = [u for u in _active_users() if not (kind == "grant" and u.pk == request.user.pk)]
        return render(request, "web/rule_new.html", {
            "kind": kind, "picks": picks, "searched": searched, "people": people,
            "q": {k: request.GET.get(k, "") for k in ("q", "officer", "from", "to")}})
    view.__name__ = f"rule_{kind}"
    return view


rule_restrict, rule_lock, rule_grant = _rule_form("restrict"), _rule_form("lock"), _rule_form("grant")


def _confirm(request, kind: str, key: str):
    """GET: the confirm page; POST (with confirm=yes): lift, release or revoke."""
    action = {"lift": "access.unrestrict", "release": "access.incident_release", "revoke": "access.grant_revoke"}[kind]
    perm = {"lift": PERM["restrict"], "release": PERM["lock"], "revoke": PERM["grant"]}[kind]
    _require(request, perm, action, str(key)[:64])
    p, src = request.POST, request_source(request)
    with refusals_audited(request, action, object_type="recording", object_id=str(key)[:64]):
        rid = parse_uuid(key)
        if kind == "revoke":
            obj = Grant.objects.select_related("recording__officer", "user").filter(id=rid).first() if rid else None
            rec = obj.recording if obj else None
        else:
            rec = Recording.objects.select_related("officer").filter(id=rid).first() if rid else None
            obj = rec and (Restriction.objects.filter(recording=rec).prefetch_related("allowed").first() if kind == "lift"
                           else CriticalIncidentLock.objects.filter(recording=rec, released_at__isnull=True)
                           .prefetch_related("involved").first())
        if obj is None:
            raise rl.RuleNotFound({"lift": "the recording is not restricted",
                                "release": "the recording has no open critical-incident lock",
                                "revoke": "no such grant, or it has ended"}[kind])
        if request.method == "POST":
            if p.get("confirm") != "yes":
                raise BadInput("tick the box to confirm")
            if kind == "lift":
                rl.unrestrict(str(rec.id), p.get("reason", ""), actor=request.user, source=src)
            elif kind == "release":
                rl.release_incident(str(rec.id), actor=request.user, source=src, reason=p.get("reason", ""))
            else:
                rl.revoke_grant(str(obj.id), p.get("reason", ""), actor=request.user, source=src)
            return HttpResponseRedirect("/admin/rules/")
    label, = _labelled([rec], request.user)
    record_request(request, "access.rules.list", object_type="recording", object_id=str(rec.id),
                   detail={"page": kind})
    return render(request, "web/rule_confirm.html", {"kind": kind, "obj": obj, "label": label})


def _confirm_view(kind: str):
    @login_required
    @require_http_methods(["GET", "POST"])
    def view(request, key):
        return _confirm(request, kind, key)
    view.__name__ = f"rule_{kind}_confirm"
    return view


restriction_lift, lock_release, grant_revoke = _confirm_view("lift"), _confirm_view("release"), _confirm_view("revoke")
