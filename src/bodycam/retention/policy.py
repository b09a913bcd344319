"""The retention policy file (YAML or JSON) and category retention changes.

A policy file is validated whole before anything changes: one bad value refuses the
whole file (clear error, nothing applied). Example (docs/retention.md has all keys)::

    grace_days: 30
    require_approval: false
    categories:
      Uncategorized: 365
      Traffic stop: {days: 1095, min_days: 730}
      Homicide: indefinite
    call_type_categories: {"TRAFFIC STOP": "Traffic stop"}
    compliance: {required_call_types: ["TRAFFIC STOP", "911"], late_activation_s: 120}
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from django.db import transaction

from ..custody.services import record
from ..errors import BodycamError
from ..evidence.models import Category
from .models import RetentionSettings

INDEFINITE = "indefinite"
MAX_DAYS = 100 * 366
UNCATEGORIZED = "Uncategorized"
UNCATEGORIZED_FLOOR = 60  # the lowest floor for non-evidentiary footage, whatever the file says

TOP_KEYS = {"grace_days", "require_approval", "notice_days", "price_per_tb_month", "categories",
            "call_type_categories", "compliance", "cad"}
COMPLIANCE_KEYS = {"required_call_types", "late_activation_s", "review_sample_size"}
CAD_KEYS = {"link_slack_s"}


class RetentionPolicyError(BodycamError, ValueError):
    """An invalid policy or retention change; nothing was applied."""

    status = 400


def settings_row() -> RetentionSettings:
    row, _ = RetentionSettings.objects.get_or_create(id=1)
    return row


@dataclass
class CategoryChange:
    name: str
    days: int | None            # None = indefinite
    min_days: int | None = None  # raise the floor (never lower)
    min_indefinite: bool | None = None
    new: bool = False


@dataclass
class Policy:
    scalars: dict = field(default_factory=dict)
    categories: list[CategoryChange] = field(default_factory=list)
    sha256: str = ""


def _int(value, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise RetentionPolicyError(f"{what} must be a whole number from {lo} to {hi} (got {value!r})")
    return value


def _days(value, what: str) -> int | None:
    if isinstance(value, str) and value.strip().lower() == INDEFINITE:
        return None
    return _int(value, what + " (days, or 'indefinite')", 1, MAX_DAYS)


def parse_text(text: str) -> Policy:
    import yaml

    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise RetentionPolicyError(f"not valid YAML/JSON: {str(exc).splitlines()[0]}") from None
    policy = parse(data)
    policy.sha256 = hashlib.sha256(text.encode()).hexdigest()
    return policy


def load_file(path: str) -> Policy:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(1024 * 1024 + 1)
    except OSError as exc:
        raise RetentionPolicyError(f"cannot read policy file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RetentionPolicyError(f"policy file {path} is not UTF-8 text") from None
    if len(text) > 1024 * 1024:
        raise RetentionPolicyError("policy file is larger than 1 MiB")
    return parse_text(text)


def parse(data) -> Policy:
    """Validate a policy mapping against the current categories (floors included)."""
    if not isinstance(data, dict):
        raise RetentionPolicyError("the policy must be a mapping (key: value)")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise RetentionPolicyError(f"unknown policy key(s): {', '.join(sorted(map(str, unknown)))}")
    p = Policy()
    s = p.scalars
    if "grace_days" in data:
        s["grace_days"] = _int(data["grace_days"], "grace_days", 0, 3650)
    if "notice_days" in data:
        s["notice_days"] = _int(data["notice_days"], "notice_days", 0, 3650)
    if "require_approval" in data:
        if not isinstance(data["require_approval"], bool):
            raise RetentionPolicyError("require_approval must be true or false")
        s["require_approval"] = data["require_approval"]
    if "price_per_tb_month" in data:
        v = data["price_per_tb_month"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 100000:
            raise RetentionPolicyError("price_per_tb_month must be a number from 0 to 100000")
        s["price_per_tb_month"] = float(v)
    comp = data.get("compliance", {}) or {}
    if not isinstance(comp, dict) or set(comp) - COMPLIANCE_KEYS:
        raise RetentionPolicyError(f"compliance must be a mapping with keys {', '.join(sorted(COMPLIANCE_KEYS))}")
    if "required_call_types" in comp:
        v = comp["required_call_types"]
        if not isinstance(v, list) or not all(isinstance(x, str) and 0 < len(x.strip()) <= 100 for x in v):
            raise RetentionPolicyError("compliance.required_call_types must be a list of call type names")
        s["required_call_types"] = sorted({x.strip().upper() for x in v})
    if "late_activation_s" in comp:
        s["late_activation_s"] = _int(comp["late_activation_s"], "compliance.late_activation_s", 0, 86400)
    if "review_sample_size" in comp:
        s["review_sample_size"] = _int(comp["review_sample_size"], "compliance.review_sample_size", 0, 1000)
    cad = data.get("cad", {}) or {}
    if not isinstance(cad, dict) or set(cad) - CAD_KEYS:
        raise RetentionPolicyError("cad must be a mapping with key link_slack_s")
    if "link_slack_s" in cad:
        s["link_slack_s"] = _int(cad["link_slack_s"], "cad.link_slack_s", 0, 86400)

    cats = data.get("categories", {}) or {}
    if not isinstance(cats, dict):
        raise RetentionPolicyError("categories must be a mapping of category name to days / 'indefinite'")
    existing = {c.name: c for c in Category.objects.all()}
    for name, spec in cats.items():
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 100:
            raise RetentionPolicyError(f"bad category name {name!r}")
        name = name.strip()
        if isinstance(spec, dict):
            extra = set(spec) - {"days", "min_days"}
            if extra or "days" not in spec:
                raise RetentionPolicyError(f"category {name}: give days (and optionally min_days)")
            days = _days(spec["days"], f"category {name}")
            min_raw = spec.get("min_days")
        else:
            days, min_raw = _days(spec, f"category {name}"), None
        change = CategoryChange(name, days, new=name not in existing)
        if min_raw is not None:
            floor = None if str(min_raw).strip().lower() == INDEFINITE else \
                _int(min_raw, f"category {name} min_days (days, or 'indefinite')", 0, MAX_DAYS)
            if floor is None:
                change.min_indefinite = True
            else:
                change.min_days = floor
        check_change(existing.get(name), change)
        p.categories.append(change)
    mapping = data.get("call_type_categories", None)
    if mapping is not None:
        if not isinstance(mapping, dict):
            raise RetentionPolicyError("call_type_categories must map call type -> category name")
        known = set(existing) | {c.name for c in p.categories}
        out = {}
        for ct, cat in mapping.items():
            if not isinstance(ct, str) or not isinstance(cat, str) or cat not in known:
                raise RetentionPolicyError(f"call_type_categories: {ct!r} -> {cat!r}: no such category")
            out[ct.strip().upper()] = cat
        s["call_type_categories"] = out
    return p


def floor_of(cat: Category | None, change: CategoryChange) -> tuple[bool, int]:
    """(must be indefinite, minimum days) after the change."""
    indefinite = bool(cat and cat.min_indefinite) or bool(change.min_indefinite)
    floor = max(cat.min_retention_days if cat else 0, change.min_days or 0)
    if change.name == UNCATEGORIZED:
        floor = max(floor, UNCATEGORIZED_FLOOR)
    return indefinite, floor


def check_change(cat: Category | None, change: CategoryChange) -> None:
    """Refuse shortening below the floor, and lowering the floor itself."""
    if cat is not None and change.min_days is not None and change.min_days < cat.min_retention_days:
        raise RetentionPolicyError(f"category {change.name}: the minimum cannot be lowered "
                          f"({cat.min_retention_days} -> {change.min_days} days)")
    if cat is not None and cat.min_indefinite and change.min_indefinite is False:
        raise RetentionPolicyError(f"category {change.name}: must be kept indefinitely")
    indefinite, floor = floor_of(cat, change)
    if change.days is not None:
        if indefinite:
            raise RetentionPolicyError(f"category {change.name}: must be kept indefinitely; {change.days} days refused")
        if change.days < floor:
            raise RetentionPolicyError(f"category {change.name}: {change.days} days is below its minimum of {floor} days; "
                              "retention may be extended freely but never shortened below the minimum")


def apply(policy: Policy, actor: str = "cli", source: str = "", action: str = "retention.policy",
          extra: dict | None = None) -> dict:
    """Apply a validated policy in one transaction; one audit entry (``action``) lists what
    changed, with ``extra`` (a page's reason, its preview) beside the changes."""
    changes = []
    with transaction.atomic():
        row = RetentionSettings.objects.select_for_update().filter(id=1).first() or settings_row()
        for key, value in policy.scalars.items():
            if getattr(row, key) != value:
                changes.append({"setting": key, "from": getattr(row, key), "to": value})
                setattr(row, key, value)
        for ch in policy.categories:
            cat = Category.objects.select_for_update().filter(name=ch.name).first()
            check_change(cat, ch)  # again, inside the transaction
            changes += _apply_category(cat, ch)
        if policy.sha256:
            from ..custody.services import now_ms

            row.policy_sha256, row.policy_loaded_at = policy.sha256, now_ms()
        row.save()
        record(action, actor=actor, source=source, object_type="policy", object_id="1",
               detail={"policy_sha256": policy.sha256, "changes": changes, **(extra or {})})
    return {"policy_sha256": policy.sha256, "changes": changes}


def _apply_category(cat: Category | None, ch: CategoryChange) -> list[dict]:
    if cat is None:
        used = {int(a) for a in Category.objects.values_list("axis_id", flat=True) if str(a).isdigit()}
        cat = Category.objects.create(axis_id=str(max(used | {0}) + 1), name=ch.name, retention_days=ch.days,
                                      min_retention_days=ch.min_days or 0, min_indefinite=bool(ch.min_indefinite))
        return [{"category": ch.name, "created": True, "days": ch.days}]
    out = []
    if cat.retention_days != ch.days:
        old = cat.retention_days
        longer = ch.days is None or (old is not None and ch.days > old)
        out.append({"category": cat.name, "from": old, "to": ch.days, "change": "extended" if longer else "shortened"})
        cat.retention_days = ch.days
    if ch.min_days is not None and ch.min_days != cat.min_retention_days:
        out.append({"category": cat.name, "min_from": cat.min_retention_days, "min_to": ch.min_days})
        cat.min_retention_days = ch.min_days
    if ch.min_indefinite and not cat.min_indefinite:
        out.append({"category": cat.name, "min_indefinite": True})
        cat.min_indefinite = True
    if out:
        cat.save()
    return out


def set_category_retention(name: str, days: int | None, actor: str, source: str = "") -> dict:
    """One category's period (the custodian's form): the same rules as a policy file."""
    if not Category.objects.filter(name=name).exists():
        raise RetentionPolicyError(f"no category {name!r}")
    return apply(Policy(categories=[CategoryChange(name, days)]), actor=actor, source=source)  # apply checks it


def export_policy() -> dict:
    row = settings_row()
    return {
        "grace_days": row.grace_days, "require_approval": row.require_approval, "notice_days": row.notice_days,
        "price_per_tb_month": row.price_per_tb_month,
        "categories": {c.name: ({"days": c.retention_days if c.retention_days is not None else INDEFINITE,
                                 "min_days": INDEFINITE if c.min_indefinite else c.min_retention_days})
                       for c in Category.objects.order_by("name")},
        "call_type_categories": row.call_type_categories,
        "compliance": {"required_call_types": row.required_call_types, "late_activation_s": row.late_activation_s,
                       "review_sample_size": row.review_sample_size},
        "cad": {"link_slack_s": row.link_slack_s},
    }
