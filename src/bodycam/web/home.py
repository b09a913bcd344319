"""The home page (``/``): what needs doing, per role, as queues. Each queue is a count, a few
rows and a link to where the work is done: evidence queues link into the search page with
the very filters that made them (the count and rows come from the search service itself, so
they go through the one access check and match what the link shows); the other queues come
from the services of the app that owns them (records, retention, custody, jobs, accounts)
and link to its page. Which queues a person gets follows their permissions
(``access.policy``), never a role's name. One view writes one audit entry, ``home.view``,
with each queue's count and the items shown."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from ..access import policy
from ..access.policy import allowed
from ..access.services import visible_clips
from ..custody.services import record_request
from ..evidence.defaults import UNCATEGORIZED
from ..evidence.models import Category
from ..search import services as search
from ..timefmt import local
from . import readable

RECENT_DAYS = 7        # "recent shifts": an officer's and a supervisor's window
USE_OF_FORCE_DAYS = 30
ROWS = 4               # rows shown per queue (the link shows them all)
USE_OF_FORCE = "Use of force"


@dataclass
class Queue:
    key: str
    title: str
    empty: str                      # what would appear here
    link: str = ""
    link_text: str = ""
    count: int = 0
    capped: bool = False            # "1000+"
    unit: str = "item"
    units: str = ""                 # the plural, when not unit + "s"
    rows: list = field(default_factory=list)  # {url, number, title, meta, when, tone}
    note: str = ""
    shown: list = field(default_factory=list)  # ids for the audit entry

    @property
    def unit_text(self) -> str:
        return self.unit if self.count == 1 else self.units or self.unit + "s"


def _today():
    return local(datetime.now(timezone.utc), settings.AGENCY_TIME_ZONE).date()


def _days_ago(days: int) -> str:
    """A search ``from`` date: ``days`` before today, in the agency's zone."""
    return (_today() - timedelta(days=days)).isoformat()


def _evidence_rows(user, clips) -> list[dict]:
    """One row per recording (its first clip given), readable (web/readable.py)."""
    about = readable.facts(user, [c.recording for c in clips])
    return [{"url": reverse("evidence-detail", args=[c.id]), "number": about[c.recording_id]["number"],
             "title": about[c.recording_id]["title"],
             "meta": about[c.recording_id]["officer"] + (f" #{about[c.recording_id]['badge']}"
                                                          if about[c.recording_id]["badge"] else ""),
             "when": about[c.recording_id]["started"]} for c in clips]


def search_queue(user, key: str, title: str, params: dict, empty: str) -> Queue:
    """A queue that is a search: its count and first rows from ``search.search`` (the one
    access check inside), its link the search page with the same filters."""
    page = search.search(user, search.parse_query({**params, "per_page": "25"}))
    first: dict = {}
    for c in page.results:
        first.setdefault(c.recording_id, c)
    clips = list(first.values())[:ROWS]
    return Queue(key, title, empty, link=reverse("evidence-list") + ("?" + urlencode(params) if params else ""),
                 link_text="Open in search", count=page.total, capped=page.capped, rows=_evidence_rows(user, clips),
                 shown=[str(c.id) for c in clips])


# ------------------------------------------------------------------ officers: my footage
def _own_queues(user) -> list[Queue]:
    since = _days_ago(RECENT_DAYS)
    return [
        search_queue(user, "mine-uncategorized", f"My recordings without a category (last {RECENT_DAYS} days)",
                     {"category": UNCATEGORIZED, "from": since},
                     f"Your recordings of the last {RECENT_DAYS} days that have no category would appear here."),
        search_queue(user, "mine-untitled", f"My recordings without a title (last {RECENT_DAYS} days)",
                     {"titled": "no", "from": since},
                     f"Your recordings of the last {RECENT_DAYS} days still showing the default title would appear "
                     "here (give each one a title on its page)."),
    ]


# ------------------------------------------------------------------ supervisors: the squad
def _squad_queues(user) -> list[Queue]:
    since = _days_ago(RECENT_DAYS)
    out = [
        search_queue(user, "squad-uncategorized", "Your squads' recordings without a category",
                     {"category": UNCATEGORIZED},
                     "Recordings of your squads' officers that have no category would appear here."),
        search_queue(user, "squad-flagged", f"Flagged moments (camera bookmarks, last {RECENT_DAYS} days)",
                     {"bookmarked": "yes", "from": since},
                     f"Recordings of the last {RECENT_DAYS} days in which an officer pressed the bookmark button "
                     "would appear here."),
    ]
    if Category.objects.filter(name=USE_OF_FORCE, active=True).exists():
        out.append(search_queue(user, "squad-use-of-force", f"Use of force (last {USE_OF_FORCE_DAYS} days)",
                                {"category": USE_OF_FORCE, "from": _days_ago(USE_OF_FORCE_DAYS)},
                                f"Recordings of the last {USE_OF_FORCE_DAYS} days categorized {USE_OF_FORCE} "
                                "would appear here."))
    out.append(review_sample(user))
    if allowed(user, "retention.compliance"):
        out.append(_compliance(user))
    return out


def review_sample(user) -> Queue:
    """A random sample of the recordings the user may see from the last RECENT_DAYS days, for
    review: the retention policy's sample size, drawn by a hash of (user, today's date,
    recording), so it is the same all day (a reload does not reshuffle it); a recording
    arriving later joins only where its hash ranks it."""
    from ..retention.policy import settings_row

    size = settings_row().review_sample_size
    start = datetime.now(timezone.utc) - timedelta(days=RECENT_DAYS)
    pool = set(visible_clips(user).filter(recording__trigger_on_time__gte=start)
               .values_list("recording_id", flat=True)[:20_000])
    day = _today().isoformat()
    picked = sorted(pool, key=lambda rid: hashlib.sha256(f"{user.pk}:{day}:{rid}".encode()).hexdigest())[:size]
    first: dict = {}
    for c in visible_clips(user).filter(recording_id__in=picked).order_by("start_time", "object_name"):
        first.setdefault(c.recording_id, c)
    clips = [first[rid] for rid in picked if rid in first]
    return Queue("review-sample", f"Today's review sample ({size} at random, last {RECENT_DAYS} days)",
                 f"A random sample of your squads' recordings of the last {RECENT_DAYS} days would appear here, "
                 "the same all day.", link=reverse("evidence-list") + "?" + urlencode({"from": _days_ago(RECENT_DAYS)}),
                 link_text="All of them in search", count=len(clips), unit="recording",
                 rows=_evidence_rows(user, clips), shown=[str(c.id) for c in clips])


def _compliance(user) -> Queue:
    """Activation compliance of the user's squads (retention's report) over RECENT_DAYS days:
    late or missed activations, per officer."""
    from ..retention import reports
    from ..retention.policy import settings_row

    end = datetime.now(timezone.utc)
    rep = reports.compliance(end - timedelta(days=RECENT_DAYS), end, user=user)
    q = Queue("compliance", f"Activation compliance (last {RECENT_DAYS} days)", "",
              link=reverse("retention-compliance"), link_text="The compliance report", unit="problem")
    if not settings_row().required_call_types:
        q.empty = ("No dispatch call type is marked as needing a recording (retention policy), so activation "
                   "compliance cannot be measured yet.")
        return q
    t = rep["totals"]
    if not t["required"]:
        q.empty = (f"No dispatch call of the last {RECENT_DAYS} days needed a recording by your squads' officers "
                   "(calls come from the CAD import); late or missed activations would appear here.")
        return q
    q.note = f"{t['recorded']} of {t['required']} calls recorded; {t['late']} late, {t['missed']} missed."
    q.count = t["late"] + t["missed"]
    q.empty = "Every call that needed a recording was recorded on time."
    for r in rep["officers"]:
        if r["late"] or r["missed"]:
            bits = [f"{len(r['late'])} late ({', '.join(r['late'])})" if r["late"] else "",
                    f"{len(r['missed'])} missed ({', '.join(r['missed'])})" if r["missed"] else ""]
            q.rows.append({"url": reverse("retention-compliance") + "?" + urlencode({"badge": r["badge"]}),
                           "number": f"#{r['badge']}" if r["badge"] else "", "title": r["officer"],
                           "meta": "; ".join(b for b in bits if b), "tone": "warn"})
    q.rows = q.rows[:ROWS]
    return q


# ------------------------------------------------------------------ detectives: cases, access requests, shares
def _case_queues(user) -> list[Queue]:
    from ..cases.models import Case

    since = _days_ago(RECENT_DAYS)
    q = Queue("case-footage", f"My cases with new footage (last {RECENT_DAYS} days)",
              f"Your open cases with footage recorded in the last {RECENT_DAYS} days would appear here.",
              link=reverse("case-list"), link_text="All my cases", unit="case")
    for case in policy.cases_visible(user).filter(status=Case.Status.OPEN).order_by("-created_at")[:50]:
        params = {"case": case.number, "from": since}
        page = search.search(user, search.parse_query({**params, "per_page": "1"}))
        if page.total:
            q.count += 1
            q.shown.append(case.number)
            if len(q.rows) < ROWS:
                q.rows.append({"url": reverse("evidence-list") + "?" + urlencode(params), "number": case.number,
                               "title": case.title, "meta": f"{page.total}{'+' if page.capped else ''} new "
                                                            f"item{'s' if page.total != 1 else ''}"})
    return [q]


def access_requests_queue(user) -> Queue:
    """The user's access requests still awaiting someone else's decision (access's service),
    newest first: the recording as the request shows it (metadata only: the requester cannot
    see it yet), each row linking to its request page."""
    from ..access.requests import describe, open_requests_of

    pending = open_requests_of(user)
    asked = list(pending[:ROWS])
    about = {r["id"]: r for r in describe(user, [ar.recording for ar in asked])}
    rows = [{"url": reverse("access-request", args=[ar.id]), "number": about[str(ar.recording_id)]["number"],
             "title": about[str(ar.recording_id)]["title"],
             "meta": f"for case {ar.case.number}, {about[str(ar.recording_id)]['officer']}'s recording",
             "when": ar.created_at, "when_label": "asked"} for ar in asked]
    return Queue("my-access-requests", "My requests for access awaiting a decision",
                 "Recordings you asked to see for one of your cases would appear here until a supervisor or "
                 "custodian approves or denies the request.", link=reverse("access-requests"),
                 link_text="All my access requests", count=pending.count(), unit="request", rows=rows,
                 shown=[str(ar.id) for ar in asked])


def shares_queue(user) -> Queue:
    """The user's live shares and links, soonest to expire first (release's service)."""
    from ..release.services import shares_made_by

    total, shares = shares_made_by(user, ROWS)
    clips = {c.recording_id: c for c in visible_clips(user).filter(
        recording_id__in=[s["recording_id"] for s in shares if s["recording_id"]]).order_by("-start_time")}
    about = readable.facts(user, [c.recording for c in clips.values()])
    soon = datetime.now(timezone.utc) + timedelta(days=RECENT_DAYS)
    rows = []
    for s in shares:
        c = clips.get(s["recording_id"])
        if c is not None:
            row = {"url": reverse("evidence-detail", args=[c.id]), "number": about[c.recording_id]["number"],
                   "title": about[c.recording_id]["title"]}
        else:
            row = {"url": reverse("case-detail", args=[s["case"]]), "number": f"Case {s['case']}", "title": ""}
        kind = {"item": "shared with", "case": "case shared with", "link": "link for"}[s["kind"]]
        row |= {"meta": f"{kind} {s['to']}" + ("" if s["expires_at"] else ", no expiry"),
                "when": s["expires_at"], "when_label": "expires",
                "tone": "warn" if s["expires_at"] and s["expires_at"] <= soon else ""}
        rows.append(row)
    return Queue("my-shares", "Shares and links I made (soonest to expire first)",
                 "Items and cases you share with a prosecutor or by a link would appear here, the ones about to "
                 "expire first.", link=reverse("evidence-list") + "?shared=mine", link_text="Their items in search",
                 count=total, unit="share", rows=rows, shown=[r["url"] for r in rows])


# ------------------------------------------------------------------ prosecutors: shared with me
def _shared_with_me(user) -> list[Queue]:
    cases = policy.cases_visible(user).order_by("-created_at")
    q = Queue("shared-cases", "Cases shared with me", "Cases a detective or custodian shares with you would "
              "appear here.", link=reverse("case-list"), link_text="All shared cases", count=cases.count(),
              unit="case", rows=[{"url": reverse("case-detail", args=[c.number]), "number": c.number, "title": c.title}
                                 for c in cases[:ROWS]])
    q.shown = [r["number"] for r in q.rows]
    return [q, search_queue(user, "shared-items", "Items shared with me (newest first)", {},
                            "Recordings shared with you, alone or through a case, would appear here.")]


# ------------------------------------------------------------------ custodians: records, retention
def _records_queue() -> Queue:
    from ..records import services as records

    total, due = records.due(ROWS)
    rows = [{"url": reverse("records-request", args=[r.number]), "number": r.number, "title": r.requester,
             "meta": (f"due in {r.days_left} day{'s' if r.days_left != 1 else ''}" if r.days_left >= 0
                      else f"overdue by {-r.days_left} day{'s' if r.days_left != -1 else ''}") + f" · {r.status}",
             "tone": "bad" if r.days_left < 0 else "warn" if r.days_left <= 3 else ""} for r in due]
    return Queue("records-due", "Records requests by days left", "Public-records requests still to answer would "
                 "appear here, the nearest deadline first.", link=reverse("records-list"),
                 link_text="All records requests", count=total, unit="request", rows=rows,
                 shown=[r.number for r in due])


def _retention_queues() -> list[Queue]:
    from ..evidence.models import Recording
    from ..retention import services as retention
    from ..retention.policy import settings_row

    overview = reverse("retention")
    dq = retention.deletion_queue(ROWS)
    queue = Queue("deletion-queue", "Deletion queue" + (" awaiting approval" if dq["require_approval"] else ""),
                  "Recordings whose retention ran out would appear here during their grace period, before the purge.",
                  link=overview, link_text="The retention page", count=dq["awaiting_approval"] if dq["require_approval"]
                  else dq["count"], unit="recording",
                  rows=[{"url": overview, "number": e.recording.evidence_number or "",
                         "title": f"{e.recording.officer}, {', '.join(e.categories) or UNCATEGORIZED}",
                         "meta": ("approved" if e.approved_at else "not approved yet") if dq["require_approval"]
                         else "purged after the grace period", "when": e.purge_after, "when_label": "purge after"}
                        for e in dq["rows"]], shown=[str(e.recording_id) for e in dq["rows"]])
    if not dq["require_approval"]:
        queue.note = "The policy purges without approval once the grace period ends."
    days = settings_row().notice_days
    soon = [r for r in retention.upcoming(days=days) if r["state"] == "expiring"]
    numbers = {str(k): n or "" for k, n in Recording.objects.filter(id__in=[r["recording"] for r in soon[:ROWS]])
               .values_list("id", "evidence_number")}
    upcoming = Queue("upcoming-deletions", f"Retention running out in the next {days} days",
                     f"Recordings whose retention ends within {days} days (and that no hold or case keeps) would appear "
                     "here.", link=overview, link_text="The retention page", count=len(soon), unit="recording",
                     rows=[{"url": overview, "number": numbers.get(r["recording"], ""),
                            "title": f"{r['officer']}, {', '.join(r['categories'])}",
                            "when": datetime.fromisoformat(r["expires_at"].replace("Z", "+00:00")),
                            "when_label": "expires"} for r in soon[:ROWS]],
                     shown=[r["recording"] for r in soon[:ROWS]])
    total, holds = retention.open_holds(ROWS)
    held = Queue("holds", "Legal holds in force", "Legal holds not yet released would appear here.", link=overview,
                 link_text="The retention page", count=total, unit="hold",
                 rows=[{"url": overview, "number": h.name, "title": h.reason,
                        "meta": f"{h.n_recordings} recording{'s' if h.n_recordings != 1 else ''}"
                                + (f", case {h.case.number}" if h.case_id else ""),
                        "when": h.placed_at, "when_label": "placed"} for h in holds], shown=[str(h.id) for h in holds])
    return [queue, upcoming, held]


def alerts_queue(user) -> Queue:
    """Open custody alerts: fixity, storage, witness, retention (custody's service)."""
    from ..custody.services import open_alerts

    total, alerts = open_alerts(ROWS)
    return Queue("alerts", "Fixity and storage alerts", "Alerts nobody acknowledged yet (a changed or missing file, "
                 "a full or unreachable store, a witness that cannot be written) would appear here.",
                 link=reverse("ops-storage") if allowed(user, "metrics.view") else "",
                 link_text="The storage page", count=total, unit="alert",
                 rows=[{"number": a.kind, "title": a.message, "when": a.created_at, "when_label": "raised",
                        "tone": "bad" if a.level == "critical" else "warn"} for a in alerts],
                 shown=[str(a.id) for a in alerts])


# ------------------------------------------------------------------ auditors: the chain
def _chain_queue() -> Queue:
    from ..custody.chain import chain_state

    st = chain_state()
    audit = reverse("audit")
    rows = []
    v = st["verify"]
    rows.append({"url": audit, "number": "Last verification",
                 "title": ("intact" if v["ok"] else "BROKEN") + (", witnessed" if v["witnessed"] else ", not witnessed")
                 if v else "none recorded yet (bodycam audit verify --record)", "when": v["at"] if v else None,
                 "meta": f"by {v['by']}, {v['entries']} entries" if v else "",
                 "tone": "" if v and v["ok"] and v["witnessed"] else "bad" if v and not v["ok"] else "warn"})
    cp = st["checkpoint"]
    rows.append({"url": audit, "number": "Last checkpoint",
                 "title": f"signed at entry {cp['size']}" if cp else "none signed yet", "when": cp["at"] if cp else None,
                 "meta": f"{cp['behind']} entries since" if cp else "", "tone": "" if cp else "warn"})
    w = st["witness"]
    rows.append({"url": audit, "number": "Witness file",
                 "title": w["path"] or "turned off: nothing outside the database vouches for the chain",
                 "meta": ("present" if w["exists"] else "missing") if w["path"] else "",
                 "tone": "" if w["path"] and w["exists"] and not st["witness_alerts"] else "bad"})
    for a in st["witness_alerts"]:
        rows.append({"number": "Witness alert", "title": a["message"], "when": a["created_at"], "tone": "bad"})
    return Queue("chain", "The audit chain", "", link=audit, link_text="Open the audit log", count=st["entries"],
                 unit="entry", units="entries", rows=rows)


# ------------------------------------------------------------------ admins: IT
def _admin_queues(user) -> list[Queue]:
    out = []
    if allowed(user, "jobs.view"):
        from ..jobs.services import needs_attention

        j = needs_attention(ROWS)
        failed = Queue("failed-jobs", "Failed background jobs", "Background jobs that failed (after their retries) "
                       "would appear here.", link=reverse("job-list") + "?status=failed", link_text="Failed jobs",
                       count=j["failed"], unit="job",
                       rows=[{"url": reverse("job-detail", args=[job.id]), "number": job.kind,
                              "title": (job.error or job.message).strip().splitlines()[-1][:160] if (job.error or job.message)
                              else "", "when": job.finished_at or job.created_at, "when_label": "failed", "tone": "bad"}
                             for job in j["failed_rows"]], shown=[str(job.id) for job in j["failed_rows"]])
        failed.note = (f"{j['waiting']} waiting or running" + (f", {j['overdue']} overdue (no worker took them)"
                                                               if j["overdue"] else "") + ".")
        out.append(failed)
    if allowed(user, "metrics.view"):
        out.append(_storage_queue())
    if allowed(user, "accounts.manage"):
        from ..access.accounts import locked_accounts

        total, users = locked_accounts(ROWS)
        out.append(Queue("locked-accounts", "Locked accounts", "Accounts locked after repeated failed sign-ins "
                         "would appear here (unlock them on the accounts page).", link=reverse("users"),
                         link_text="The accounts page", count=total, unit="account",
                         rows=[{"url": reverse("users"), "number": u.username, "title": u.get_role_display(),
                                "when": u.locked_at, "when_label": "locked", "tone": "warn"} for u in users],
                         shown=[u.username for u in users]))
    return out


def _storage_queue() -> Queue:
    """Whether the evidence store answers and has room above its reserve (as /readyz asks)."""
    from ..retention.reports import human
    from ..storage import get_store

    q = Queue("storage", "Storage and readiness", "", link=reverse("ops-storage"), link_text="The storage page",
              unit="problem")
    try:
        store = get_store()
        store.ping()
        free = store.free_bytes()
    except Exception as exc:  # noqa: BLE001 - shown as the problem it is
        q.count = 1
        q.rows = [{"number": "Storage", "title": f"not reachable: {type(exc).__name__}", "tone": "bad"}]
        return q
    if free is not None and free < store.min_free_bytes:
        q.count = 1
        q.rows = [{"number": "Storage", "title": f"{human(free)} free, below the reserve of "
                                                 f"{human(store.min_free_bytes)}: ingest is refused", "tone": "bad"}]
    else:
        q.note = "The store answers" + (f"; {human(free)} free." if free is not None else ".")
        q.empty = "Nothing to do: a store that does not answer, or is below its free-space reserve, would appear here."
    return q


# ------------------------------------------------------------------ the page
def queues_for(user) -> list[Queue]:
    """The user's queues, by what their permissions let them work on."""
    out: list[Queue] = []
    scope = policy.evidence_scope(user)
    if scope == policy.OWN:
        out += _own_queues(user)
    elif scope == policy.SQUADS:
        out += _squad_queues(user)
    elif scope == policy.ASSIGNED_CASES:
        out += _case_queues(user)
    elif scope == policy.SHARED:
        out += _shared_with_me(user)
    if allowed(user, "access.request"):
        out.append(access_requests_queue(user))
    if allowed(user, "records.manage"):
        out.append(_records_queue())
    if allowed(user, "retention.manage"):
        out += _retention_queues()
    if allowed(user, "evidence.share"):
        out.append(shares_queue(user))
    if allowed(user, "notify.custody_alert"):
        out.append(alerts_queue(user))
    if allowed(user, "audit.read"):
        out.append(_chain_queue())
    out += _admin_queues(user)
    return out


@login_required
@require_GET
def home_page(request):
    queues = queues_for(request.user)
    record_request(request, "home.view", detail={"queues": {q.key: {"count": q.count, "shown": q.shown}
                                                            for q in queues}})
    return render(request, "web/home.html", {"queues": queues})
