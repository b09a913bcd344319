"""Bulk actions on items chosen in the search results (or on one item, from its page):
categorize, add to a case, add to a records request, place a legal hold, share.

Three steps, one URL (``POST /evidence/bulk``):

1. **Confirm** (no ``confirm=yes``): a page that lists the chosen items the user may see,
   says what will happen and asks for what the action needs (a category — none preselected —,
   a case, a request, a hold's name and reason, a prosecutor and terms). Nothing changes.
2. **Act** (``confirm=yes``): item by item (*per item*, not all-or-nothing): each item is
   authorized and changed by the owning app's service, which audits the change or the
   refusal. One item refused does not stop the others.
3. **Summary**: how many changed, how many were so already, how many were refused and why;
   one ``evidence.bulk`` audit entry with the counts.

The logic of each change lives in its app (``evidence_ops.add_category_to``,
``cases.services.add_recording``, ``records.services.add_item_once``,
``retention.services.place_hold``, ``release.services.share_item_once``); this module only
checks the action's own inputs once and runs the items through them."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.shortcuts import render

from ..access.policy import allowed, cases_changeable, require
from ..access.services import EDIT, SHARE, VIEW, authorize, may, visible_clips
from ..cases import services as case_services
from ..custody.services import record_request, request_source
from ..errors import BadInput, BodycamError
from ..evidence.models import Category
from ..evidence_ops import services as ev
from ..http import confirmed
from ..numbers import parse_uuid, whole_number
from ..records import services as rs
from ..release import services as rel
from ..retention import services as ret
from . import readable

MAX_ITEMS = 200
# action -> (title, the confirm button, what it does)
ACTIONS = {
    "categorize": ("Add a category", "Add the category", "adds a category to each item (it removes none)"),
    "add_to_case": ("Add to a case", "Add to the case", "adds each item's recording to the case"),
    "add_to_request": ("Add to a records request", "Add to the request", "adds each item (every clip of its recording) to the open request"),
    "hold": ("Place a legal hold", "Place the hold", "keeps each item's recording until the hold is released: "
             "retention will not delete it"),
    "share": ("Share with a prosecutor", "Share", "gives the prosecutor access to each item's recording"),
}


def offered(user) -> list[tuple[str, str]]:
    """The bulk actions this user's role may start: [(action, title)]."""
    keys = []
    if may(user, EDIT):
        keys.append("categorize")
    if cases_changeable(user).exists():
        keys.append("add_to_case")
    if allowed(user, "records.manage"):
        keys.append("add_to_request")
    if allowed(user, "retention.manage"):
        keys.append("hold")
    if may(user, SHARE):
        keys.append("share")
    return [(k, ACTIONS[k][0]) for k in keys]


@dataclass
class Summary:
    changed: list = field(default_factory=list)  # clip ids
    already: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # (clip id, reason)

    def readable(self, rows: dict) -> dict:
        """The same, as rows a person reads (None for an item the user may not see)."""
        return {"changed": [rows.get(i) for i in self.changed], "already": [rows.get(i) for i in self.already],
                "refused": [(rows.get(i), why) for i, why in self.refused]}


def _back(request) -> str:
    back = request.POST.get("back", "/evidence/")
    return back if back.startswith("/") and not back.startswith("//") else "/evidence/"


def _rows(user, ids) -> dict:
    """{clip id: readable row} for the chosen items the user may see (others are not described)."""
    uuids = [u for u in (parse_uuid(i) for i in ids) if u]
    clips = list(visible_clips(user).filter(id__in=uuids).select_related("recording__officer__account",
                                                                         "recording__device"))
    about = readable.facts(user, list({c.recording_id: c.recording for c in clips}.values()))
    return {str(c.id): {"id": str(c.id), "f": about[c.recording_id]} for c in clips}


def _choices(request, action: str) -> dict:
    user = request.user
    if action == "categorize":
        return {"categories": list(Category.objects.filter(active=True).values_list("name", flat=True))}
    if action == "add_to_case":
        qs = cases_changeable(user).order_by("-created_at")
        return {"cases": list(qs[:500])}
    if action == "add_to_request":
        return {"requests": rs.open_requests(request)}
    if action == "share":
        return {"prosecutors": rel.prosecutors()}
    return {}


def _inputs(request, action: str) -> dict:
    """The action's own inputs, checked once before any item (refusals audited by the checks)."""
    p, user = request.POST, request.user
    if action == "categorize":
        return {"category": ev.category_named(p.get("category", ""))}
    if action == "add_to_case":
        number = p.get("case", "")
        if not number:
            raise BadInput("choose a case")
        case = cases_changeable(user).filter(number=number).first()
        require(request, "case.change", case, action="case.add_recordings", object_type="case",
                object_id=number[:64], reason="not a case this user may add to",
                message="you may not add items to that case")
        return {"case": case}
    if action == "add_to_request":
        if not p.get("request"):
            raise BadInput("choose a records request")
        r = rs.get(request, p.get("request", ""), "add_item")
        return {"request": r}
    if action == "hold":
        require(request, "retention.manage", action="retention.hold", object_type="retention",
                reason=f"role {user.role} may not place legal holds", message="only custodians place legal holds")
        name, reason = p.get("name", "").strip(), p.get("reason", "").strip()
        if not name or not reason or len(name) > 200 or len(reason) > 500:
            raise BadInput("a hold needs a name (1-200 characters) and a reason (1-500 characters)")
        return {"name": name, "reason": reason}
    if action == "share":
        require(request, "evidence.share", action="evidence.share", object_type="clip",
                reason=f"role {user.role} may not share evidence", message="your role may not share evidence")
        recipient = p.get("recipient", "")
        if recipient not in {u.username for u in rel.prosecutors()}:
            raise BadInput("choose a prosecutor")
        days = p.get("days", "").strip()
        if days and (whole_number(days) is None or not 1 <= whole_number(days) <= 3650):
            raise BadInput("expires after: 1-3650 days, or empty for until revoked")
        return {"data": {"recipient": recipient, "days": days or None,
                         "allow_download": p.get("allow_download") == "yes", "no_reshare": p.get("no_reshare") == "yes"}}
    raise BadInput("unknown bulk action")


def _each(request, action: str, cid: str, inputs: dict) -> bool:
    """One item through its app's service: True changed, False already so; raises if refused."""
    if action == "categorize":
        return ev.add_category_to(request, cid, inputs["category"])
    if action == "add_to_case":
        clip = authorize(request, cid, VIEW, audit_action="case.add_recordings")
        return case_services.add_recording(request, inputs["case"], clip.recording)
    if action == "add_to_request":  # a records request holds clips: every clip of the item's recording
        clips = _recording_clips(request.user, cid) or [cid]  # not visible: add_item refuses it (audited)
        return any([rs.add_item_once(request, inputs["request"].number, c) for c in clips])
    if action == "share":
        return rel.share_item_once(request, cid, inputs["data"])
    raise BadInput("unknown bulk action")


def _recording_clips(user, cid) -> list[str]:
    """The clips of the recording ``cid`` belongs to, in order, through the one access check
    (search results are recordings, each sent as its first clip)."""
    uid = parse_uuid(cid)
    rec = visible_clips(user).filter(id=uid).values("recording_id") if uid else None
    if rec is None:
        return []
    return [str(c) for c in visible_clips(user).filter(recording_id__in=rec)
            .order_by("start_time", "object_name").values_list("id", flat=True)]


def _hold(request, ids, inputs, out: Summary) -> None:
    """A legal hold: every item checked first, then one hold over the recordings that passed."""
    recs: dict = {}
    for cid in ids:
        try:
            clip = authorize(request, cid, VIEW, audit_action="retention.hold")
        except BodycamError as exc:
            out.refused.append((cid, str(exc)))
            continue
        if clip.recording_id in recs:
            out.already.append(cid)
        else:
            recs[clip.recording_id] = cid
    if not recs:
        return
    try:
        ret.place_hold(inputs["name"], inputs["reason"], request.user.username, recordings=[str(r) for r in recs],
                       source=request_source(request))
        out.changed.extend(recs.values())
    except BodycamError as exc:
        out.refused.extend((cid, str(exc)) for cid in recs.values())


def run(request, action: str, ids: list, inputs: dict) -> Summary:
    out = Summary()
    if action == "hold":
        _hold(request, ids, inputs, out)
        return out
    for cid in ids:
        try:
            (out.changed if _each(request, action, cid, inputs) else out.already).append(cid)
        except BodycamError as exc:  # audited by the service that refused it
            out.refused.append((cid, str(exc)))
    return out


def bulk_page(request):
    ids = list(dict.fromkeys(request.POST.getlist("clip")))[:MAX_ITEMS]
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        raise BadInput("unknown bulk action")
    if not ids:
        raise BadInput("select at least one item")
    title, button, what = ACTIONS[action]
    rows = _rows(request.user, ids)
    ctx = {"action": action, "title": title, "button": button, "what": what, "ids": ids, "back": _back(request),
           "items": [rows[i] for i in ids if i in rows], "unseen": sum(1 for i in ids if i not in rows),
           "p": request.POST, "error": "", **_choices(request, action)}
    if not confirmed(request):
        return render(request, "web/bulk_confirm.html", ctx)
    error, status = "", 200
    try:
        inputs = _inputs(request, action)
        if action == "add_to_request" and inputs["request"].status != "open":
            raise BadInput("the request is no longer open")
    except BadInput as exc:  # the confirmation page again, the reason beside its form
        error, status = str(exc), exc.status
    if error:
        return render(request, "web/bulk_confirm.html", ctx | {"error": error}, status=status)
    out = run(request, action, ids, inputs)
    target = {"case": getattr(inputs.get("case"), "number", None),
              "request": getattr(inputs.get("request"), "number", None),
              "category": getattr(inputs.get("category"), "name", None), "hold": inputs.get("name"),
              "recipient": inputs.get("data", {}).get("recipient")}
    record_request(request, "evidence.bulk", outcome="ok" if out.changed or not out.refused else "denied",
                   detail={"bulk": action, **{k: v for k, v in target.items() if v},
                           "changed": len(out.changed), "already": len(out.already), "refused": len(out.refused)})
    return render(request, "web/bulk_done.html", ctx | {"out": out.readable(_rows(request.user, ids)),
                                                        "target": target})
