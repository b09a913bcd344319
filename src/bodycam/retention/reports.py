"""Activation compliance and storage/cost reports.

Compliance: every officer (by badge) on a CAD incident whose call type the policy lists
as requiring recording is one *required contact*. It is *recorded* when a body-camera recording
of that officer is linked to the incident (purged footage still counts: it was recorded),
*missed* otherwise, and *late* when the first linked recording started its trigger more
than ``late_activation_s`` after the officer arrived (or was dispatched).
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from django.db.models import Count, Q, Sum

from ..access.models import Squad
from ..access.policy import allowed
from ..errors import BodycamError
from ..evidence.models import Clip, Officer, Recording, not_purged_q
from ..media.models import Derivative
from ..timefmt import iso_seconds, parse_utc
from . import policy as pol
from .models import CadIncident, CadLink
from .services import _uncategorized

TB = 1024 ** 4


class ReportError(BodycamError, ValueError):
    status = 400


def parse_period(start: str | None, end: str | None, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end); default the last 30 days. Dates (YYYY-MM-DD) or ISO times with a zone."""
    now = now or datetime.now(timezone.utc)

    def one(v, what):
        try:
            return parse_utc(v)
        except ValueError:
            raise ReportError(f"{what} must be a date (YYYY-MM-DD) or an ISO time, in years 1-9999 UTC") from None

    e = one(end, "to") if end else now
    try:
        s = one(start, "from") if start else e - timedelta(days=30)
    except OverflowError:
        raise ReportError("from: the 30 days before to fall before year 1") from None
    if s >= e:
        raise ReportError("from must be before to")
    if e - s > timedelta(days=3700):
        raise ReportError("the period is at most ten years")
    return s, e


def parse_seed(raw: str) -> int | None:
    """The review sample's seed (any whole number), or None for a fresh one."""
    if not raw.strip():
        return None
    try:
        return int(raw)
    except ValueError:
        raise ReportError("seed must be a whole number") from None


def parse_price(raw: str) -> float | None:
    """A price per TB and month from 0 to 100000, or None for the configured one."""
    if not raw.strip():
        return None
    try:
        price = float(raw)
    except ValueError:
        price = None
    if price is None or not 0 <= price <= 100000:
        raise ReportError("price must be a number from 0 to 100000")
    return price


def _scope_officers(user=None, squad: str | None = None, badge: str | None = None):
    """Officers the report covers: a supervisor only sees the squads they supervise."""
    qs = Officer.objects.select_related("account__squad")
    if user is not None and allowed(user, "retention.compliance.squads"):
        qs = qs.filter(account__squad__in=Squad.objects.filter(supervisors=user))
    elif user is not None and not allowed(user, "retention.view"):
        return qs.none()
    if squad:
        qs = qs.filter(account__squad__name=squad)
    if badge:
        qs = qs.filter(Q(user_key=badge) | Q(account__badge=badge))
    return qs


def compliance(start: datetime, end: datetime, user=None, squad: str | None = None, badge: str | None = None,
               seed: int | None = None) -> dict:
    row = pol.settings_row()
    required_types = set(row.required_call_types)
    late_after = timedelta(seconds=row.late_activation_s)
    officers = list(_scope_officers(user, squad, badge))
    by_badge: dict[str, Officer] = {}
    for o in officers:
        for b in {o.user_key, getattr(o.account, "badge", "") if o.account_id else ""} - {""}:
            by_badge[b] = o
    scoped_all = user is None and not squad and not badge
    per: dict = {o.id: {"badge": o.user_key or (o.account.badge if o.account_id else ""), "officer": str(o),
                        "squad": o.account.squad.name if o.account_id and o.account.squad_id else "",
                        "required": 0, "recorded": 0, "missed": [], "late": [], "uncategorized": 0}
                 for o in officers}
    unknown_badges: dict[str, list] = defaultdict(list)
    incidents = CadIncident.objects.filter(received_at__gte=start, received_at__lt=end,
                                           call_type__in=required_types).order_by("received_at")
    links = defaultdict(list)  # (incident id, officer id) -> trigger-on times
    # Body cameras only: the in-car camera filming a stop does not make the officer's activation.
    for inc_id, off_id, t in CadLink.objects.filter(incident__in=incidents, removed_at__isnull=True,
                                                   recording__device__kind="body").values_list(
            "incident_id", "recording__officer_id", "recording__trigger_on_time"):
        links[(inc_id, off_id)].append(t)
    for inc in incidents:
        for b in inc.badges:
            o = by_badge.get(b)
            if o is None:
                if scoped_all:
                    unknown_badges[b].append(inc.number)
                continue
            r = per[o.id]
            r["required"] += 1
            times = links.get((inc.id, o.id))
            if not times:
                r["missed"].append(inc.number)
                continue
            r["recorded"] += 1
            on_scene = inc.arrived_at or inc.dispatched_at or inc.received_at
            if min(times) > on_scene + late_after:
                r["late"].append(inc.number)
    recs = Recording.objects.filter(officer__in=officers, trigger_on_time__gte=start, trigger_on_time__lt=end)
    for oid, n in recs.filter(categories__isnull=True).values_list("officer_id").annotate(n=Count("id")):
        per[oid]["uncategorized"] = n
    rows = sorted(per.values(), key=lambda r: (r["squad"], r["officer"]))
    for r in rows:
        r["compliance_pct"] = round(100.0 * r["recorded"] / r["required"], 1) if r["required"] else None
    squads: dict = {}
    for r in rows:
        s = squads.setdefault(r["squad"] or "(none)", {"squad": r["squad"] or "(none)", "required": 0, "recorded": 0,
                                                       "missed": 0, "late": 0, "uncategorized": 0})
        s["required"] += r["required"]
        s["recorded"] += r["recorded"]
        s["missed"] += len(r["missed"])
        s["late"] += len(r["late"])
        s["uncategorized"] += r["uncategorized"]
    for s in squads.values():
        s["compliance_pct"] = round(100.0 * s["recorded"] / s["required"], 1) if s["required"] else None
    # A reproducible random sample of the period's recordings for supervisors to review.
    seed = seed if seed is not None else int(start.timestamp()) ^ int(end.timestamp())
    pool = sorted(str(x) for x in recs.filter(not_purged_q()).values_list("id", flat=True))
    sample = random.Random(seed).sample(pool, min(row.review_sample_size, len(pool)))
    names = {str(k): (c, n or "") for k, c, n in Recording.objects.filter(id__in=sample)
             .values_list("id", "container_name", "evidence_number")}
    return {
        "from": iso_seconds(start), "to": iso_seconds(end), "required_call_types": sorted(required_types),
        "late_activation_s": row.late_activation_s,
        "totals": {"required": sum(r["required"] for r in rows), "recorded": sum(r["recorded"] for r in rows),
                   "missed": sum(len(r["missed"]) for r in rows), "late": sum(len(r["late"]) for r in rows),
                   "uncategorized": sum(r["uncategorized"] for r in rows)},
        "missed_incidents": sorted({n for r in rows for n in r["missed"]}),
        "officers": rows, "squads": sorted(squads.values(), key=lambda s: s["squad"]),
        "unknown_badges": {b: v for b, v in sorted(unknown_badges.items())},
        "review_sample": {"seed": seed, "recordings": [{"recording": i, "container": names.get(i, ("", ""))[0],
                                                        "evidence_number": names.get(i, ("", ""))[1]}
                                                       for i in sample]},
    }


def storage(price: float | None = None, now: datetime | None = None) -> dict:
    """Bytes and hours of live originals by category (the one that governs retention),
    officer, device and month; projected cost for the next 12 months."""
    now = now or datetime.now(timezone.utc)
    row = pol.settings_row()
    price = row.price_per_tb_month if price is None else price
    live = Clip.objects.filter(not_purged_q("recording__"))
    uncat = _uncategorized()

    def group(*fields):
        out = defaultdict(lambda: {"bytes": 0, "hours": 0.0, "clips": 0})
        for *keys, b, s, n in live.values_list(*fields).annotate(b=Sum("size"), s=Sum("duration_s"),
                                                                   n=Count("id")):
            label = keys[0] if len(keys) == 1 else f"{keys[0]} ({keys[1]})" if keys[1] else keys[0]
            g = out[str(label) if label is not None else "(none)"]
            g["bytes"] += b or 0
            g["hours"] += (s or 0) / 3600
            g["clips"] += n
        return out

    by_officer = group("recording__officer__name", "recording__officer__user_key")
    by_device = group("recording__device__serial")
    by_month = defaultdict(lambda: {"bytes": 0, "hours": 0.0, "clips": 0})
    for t, b, s in live.values_list("recording__trigger_on_time", "size", "duration_s").iterator():
        g = by_month[t.astimezone(timezone.utc).strftime("%Y-%m")]
        g["bytes"] += b
        g["hours"] += s / 3600
        g["clips"] += 1
    # Category: each recording counted once, under the category with the longest period.
    cats_of = defaultdict(list)
    for rid, cname, days in Recording.categories.through.objects.filter(
            not_purged_q("recording__")).values_list("recording_id", "category__name",
                                                          "category__retention_days"):
        cats_of[rid].append((cname, days))
    by_cat = defaultdict(lambda: {"bytes": 0, "hours": 0.0, "clips": 0})
    for rid, b, s in live.values_list("recording_id", "size", "duration_s").iterator():
        cs = cats_of.get(rid)
        name = max(cs, key=lambda c: float("inf") if c[1] is None else c[1])[0] if cs else \
            (uncat.name if uncat else pol.UNCATEGORIZED)
        g = by_cat[name]
        g["bytes"] += b
        g["hours"] += s / 3600
        g["clips"] += 1
    total = sum(g["bytes"] for g in by_cat.values())
    derivatives = Derivative.objects.aggregate(b=Sum("size"))["b"] or 0
    recent = live.filter(ingested_at__gte=now - timedelta(days=90)).aggregate(b=Sum("size"))["b"] or 0
    growth = recent / 3  # bytes per month, from the last 90 days
    stored = total + derivatives
    projected = sum((stored + m * growth) / TB * price for m in range(1, 13))

    def rows(d):
        return [{"key": k, "bytes": v["bytes"], "hours": round(v["hours"], 3), "clips": v["clips"]}
                for k, v in sorted(d.items(), key=lambda kv: -kv[1]["bytes"])]

    return {"at": iso_seconds(now), "price_per_tb_month": price, "originals_bytes": total, "derivatives_bytes": derivatives,
            "hours": round(sum(g["hours"] for g in by_cat.values()), 3),
            "monthly_growth_bytes": int(growth), "monthly_cost_now": round(stored / TB * price, 2),
            "projected_annual_cost": round(projected, 2),
            "by_category": rows(by_cat), "by_officer": rows(by_officer), "by_device": rows(by_device),
            "by_month": sorted(rows(by_month), key=lambda r: r["key"])}


def svg_bars(rows: list[dict], value: str = "bytes", width: int = 520, bar_h: int = 18, unit: str = "") -> str:
    """A horizontal bar chart as inline SVG (no script, no external library)."""
    from django.utils.html import escape

    rows = rows[:20]
    top = max([r[value] for r in rows] + [1])
    h = bar_h * len(rows) + 4
    parts = [f'<svg role="img" aria-label="bar chart of {escape(value)}" width="{width + 260}" height="{h}" '
             f'viewBox="0 0 {width + 260} {h}" xmlns="http://www.w3.org/2000/svg">']
    for i, r in enumerate(rows):
        w = max(1, int(width * r[value] / top))
        y = i * bar_h + 2
        label = human(r[value]) if value == "bytes" else f"{r[value]:.2f}{unit}"
        parts.append(f'<text x="0" y="{y + 13}" font-size="12">{escape(str(r["key"])[:28])}</text>'
                     f'<rect x="180" y="{y}" width="{w}" height="{bar_h - 4}" fill="#2b6cb0"><title>'
                     f'{escape(str(r["key"]))}: {label}</title></rect>'
                     f'<text x="{186 + w}" y="{y + 13}" font-size="12">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


