"""Categories and their retention periods, and the call types compliance requires, as a
custodian changes them on the web (/retention/categories/, /retention/call-types/).

The rules are the policy's (``policy.check_change``: never below a category's floor, a floor
never lowered, an indefinite floor stays indefinite) and the changes go through
``policy.apply`` (one transaction, the floor checked again under the category's lock, one
audit entry). A period change is previewed first with the same expiry rule the sweep uses
(``services.expiry``: the longest category wins, indefinite beats any number, no category =
Uncategorized's, ``retain_until`` only later): ``preview_period`` tells how many items in the
catalogue would expire at another time and when. Every change states a reason (1-500
characters), kept in its audit entry. docs/retention.md, "Categories on the web".
"""

from __future__ import annotations

import copy
import re
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q

from ..custody.actions import edit_detail
from ..custody.services import record
from ..evidence.models import Category, Recording
from ..numbers import whole_number
from ..timefmt import iso_seconds
from . import policy as pol
from . import services as ret
from .models import CadIncident, RetentionSettings

REASON_MAX = 500
NAME_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")


class CategoryNotFound(pol.RetentionPolicyError):
    status = 404


class CategoryConflict(pol.RetentionPolicyError):
    """The change no longer fits what is stored (already so, changed since the preview)."""

    status = 409


def reason_of(text) -> str:
    text = (text or "").strip() if isinstance(text, str) else ""
    if not 0 < len(text) <= REASON_MAX:
        raise pol.RetentionPolicyError(f"give a reason (1-{REASON_MAX} characters); it is kept in the audit log")
    return text


def parse_days(raw, what: str = "days") -> int | None:
    """A period typed by a person: a whole number of days or 'indefinite' (None)."""
    raw = (raw or "").strip().lower() if isinstance(raw, str) else ""
    if raw == pol.INDEFINITE:
        return None
    days = whole_number(raw)
    if days is None or not 1 <= days <= pol.MAX_DAYS:
        raise pol.RetentionPolicyError(f"{what} must be a whole number of days from 1 to {pol.MAX_DAYS}, "
                                       f"or '{pol.INDEFINITE}'")
    return days


def days_text(days: int | None) -> str:
    return pol.INDEFINITE if days is None else f"{days} days"


def category(name: str) -> Category:
    cat = Category.objects.filter(name=(name or "").strip()).first() if isinstance(name, str) else None
    if cat is None:
        raise CategoryNotFound(f"no category {name!r}")
    return cat


# ------------------------------------------------------------------ the list
def category_rows() -> list[dict]:
    """Every category with its period, floor, state and how many items in the catalogue carry
    it (Uncategorized: also the items with no category, which are kept for its period)."""
    live = Q(recordings__deleted_at__isnull=True, recordings__purged_at__isnull=True)
    cats = Category.objects.annotate(items=Count("recordings", filter=live)).order_by("-active", "name")
    bare = Recording.objects.in_catalogue().filter(categories__isnull=True).count()
    out = []
    for c in cats:
        extra = bare if c.name == pol.UNCATEGORIZED else 0
        out.append({"name": c.name, "days": c.retention_days, "active": c.active, "items": c.items + extra,
                    "without_category": extra, "floor_indefinite": c.min_indefinite,
                    "floor_days": max(c.min_retention_days, pol.UNCATEGORIZED_FLOOR if c.name == pol.UNCATEGORIZED
                                      else 0)})
    return out


# ------------------------------------------------------------------ a period change
def check_period(cat: Category, days: int | None) -> None:
    """The policy's rules for the new period (floors), and that it is a change at all."""
    pol.check_change(cat, pol.CategoryChange(cat.name, days))
    if cat.retention_days == days:
        raise CategoryConflict(f"{cat.name} is already kept {days_text(days)}; nothing to change")


def preview_period(name: str, days: int | None, now: datetime | None = None) -> dict:
    """What giving category ``name`` the period ``days`` would do, changing nothing.

    Each item in the catalogue that the category's period applies to (it carries the category;
    for Uncategorized also the items with none) is evaluated twice with the sweep's rule
    (``services.expiry``), as it is and with the new period: ``changed`` items would expire at
    another time, ``earliest``/``latest`` of their new expiry (finite ones), ``indefinite``
    would be kept for ever, ``due_now`` would already be past their new expiry (the next sweep
    queues them for deletion, unless ``due_blocked``: a hold, an open case or a records
    request keeps them), ``unchanged`` keep their expiry (a longer category or a kept-until
    date decides it)."""
    cat = category(name)
    check_period(cat, days)
    now = now or ret.utcnow()
    uncat = ret._uncategorized()
    new_cat = copy.copy(cat)
    new_cat.retention_days = days
    new_uncat = new_cat if uncat is not None and uncat.pk == cat.pk else uncat
    carries = Q(categories=cat)
    if cat.name == pol.UNCATEGORIZED:
        carries |= Q(categories__isnull=True)
    recs = (Recording.objects.in_catalogue().filter(carries).distinct()
            .prefetch_related("categories").order_by("trigger_on_time"))
    items = changed = sooner = later = indefinite = 0
    earliest = latest = None
    due: list = []
    for rec in recs.iterator(chunk_size=1000):
        items += 1
        cats = list(rec.categories.all())
        before = ret.expiry(rec, cats, uncat)
        after = ret.expiry(rec, [new_cat if c.pk == cat.pk else c for c in cats], new_uncat)
        if before == after:
            continue
        changed += 1
        if after is None:
            indefinite += 1
            later += 1
            continue
        if before is None or after < before:
            sooner += 1
        else:
            later += 1
        earliest = after if earliest is None or after < earliest else earliest
        latest = after if latest is None or after > latest else latest
        if after <= now:
            due.append(rec.id)
    blocked = ret.blocked_ids() if due else set()
    return {"category": cat.name, "days_before": cat.retention_days, "days_after": days, "items": items,
            "changed": changed, "unchanged": items - changed, "sooner": sooner, "later": later,
            "indefinite": indefinite, "earliest": iso_seconds(earliest), "latest": iso_seconds(latest),
            "due_now": len(due), "due_blocked": sum(1 for r in due if r in blocked), "now": iso_seconds(now)}


def change_period(name: str, days: int | None, reason: str, actor: str, source: str = "",
                  expect_before: int | None | str = "", now: datetime | None = None, preview: dict | None = None) -> dict:
    """Apply a previewed period change. ``expect_before``: the period the preview was made
    against ("" = not checked); a category changed since is refused (409), preview again.
    ``preview``: ``preview_period``'s answer when the caller just made it (the audit entry keeps
    its numbers); ``policy.apply`` checks the floors again under the category's lock."""
    preview = preview or preview_period(name, days, now=now)
    why = reason_of(reason)
    if expect_before != "" and expect_before != preview["days_before"]:
        raise CategoryConflict(f"{name} was changed since your preview (now {days_text(preview['days_before'])}); "
                               "preview the change again")
    summary = {k: preview[k] for k in ("items", "changed", "sooner", "later", "earliest", "latest", "due_now")}
    return pol.apply(pol.Policy(categories=[pol.CategoryChange(preview["category"], days)]), actor=actor,
                     source=source, action="retention.category_period", extra={"reason": why, "preview": summary})


# ------------------------------------------------------------------ create, retire, restore
def create_category(name: str, days: int | None, floor: int | None | str, reason: str, actor: str,
                    source: str = "") -> Category:
    """A new category with its period and, optionally, a floor (``floor``: days, None =
    must stay indefinite, "" = none). Names are unique whatever their case."""
    name = (name or "").strip() if isinstance(name, str) else ""
    if not NAME_RE.match(name):
        raise pol.RetentionPolicyError("a category name is 1-100 characters, without control characters")
    why = reason_of(reason)
    same = Category.objects.filter(name__iexact=name).first()
    if same is not None:
        raise CategoryConflict(f"a category named {same.name!r} already exists"
                               + ("" if same.active else " (retired: restore it instead)"))
    change = pol.CategoryChange(name, days, new=True)
    if floor is None:
        change.min_indefinite = True
    elif floor != "":
        change.min_days = floor
    pol.check_change(None, change)
    pol.apply(pol.Policy(categories=[change]), actor=actor, source=source, action="retention.category_create",
              extra={"reason": why})
    return Category.objects.get(name=name)


def set_active(name: str, active: bool, reason: str, actor: str, source: str = "") -> Category:
    """Retire a category (no longer offered for new footage, to cameras or on item pages;
    the items that carry it keep it and its period) or bring it back."""
    why = reason_of(reason)
    with transaction.atomic():
        cat = Category.objects.select_for_update().filter(pk=category(name).pk).first()
        if not active and cat.name == pol.UNCATEGORIZED:
            raise pol.RetentionPolicyError("Uncategorized keeps footage that has no category; it cannot be retired")
        if cat.active == active:
            raise CategoryConflict(f"{cat.name} is {'in use' if active else 'retired'} already")
        cat.active = active
        cat.save(update_fields=["active"])
        carried = Recording.objects.in_catalogue().filter(categories=cat).count()
        record("retention.category_restore" if active else "retention.category_retire", actor=actor, source=source,
               object_type="category", object_id=str(cat.pk),
               detail=edit_detail({"active": not active}, {"active": active}, category=cat.name, reason=why,
                                  items=carried))
    return cat


# ------------------------------------------------------------------ required call types
def call_type_rows() -> list[dict]:
    """The call types compliance requires, and every call type seen in imported incidents,
    with how many incidents of each were imported."""
    required = set(pol.settings_row().required_call_types)
    seen = dict(CadIncident.objects.values_list("call_type").annotate(n=Count("id")).order_by())
    return [{"call_type": t, "required": t in required, "incidents": seen.get(t, 0)}
            for t in sorted(required | set(seen))]


def set_call_type(call_type: str, required: bool, reason: str, actor: str, source: str = "") -> list[str]:
    """Add a call type to (or remove it from) the ones the activation-compliance report
    requires a recording for. Names are kept as the CAD import stores them (upper case)."""
    name = (call_type or "").strip().upper() if isinstance(call_type, str) else ""
    if not NAME_RE.match(name):
        raise pol.RetentionPolicyError("a call type is 1-100 characters, as the dispatch system writes it")
    why = reason_of(reason)
    with transaction.atomic():
        row = RetentionSettings.objects.select_for_update().filter(id=1).first() or pol.settings_row()
        before = sorted(row.required_call_types)
        if (name in before) == required:
            raise CategoryConflict(f"{name} is {'already' if required else 'not'} a required call type")
        after = sorted(set(before) | {name}) if required else [t for t in before if t != name]
        row.required_call_types = after
        row.save(update_fields=["required_call_types"])
        record("retention.call_types", actor=actor, source=source, object_type="policy", object_id="1",
               detail=edit_detail({"required_call_types": before}, {"required_call_types": after},
                                  call_type=name, required=required, reason=why))
    return after
