"""Default categories, reflecting common agency retention schedules (days; None = indefinite).
Custodians change them later (retention/); these only seed an empty catalogue."""

UNCATEGORIZED = "Uncategorized"  # the period of a recording with no category (retention)

DEFAULT_CATEGORIES = [
    ("1", "Uncategorized", 365),
    ("2", "Non-evidentiary", 365),
    ("3", "Traffic stop", 730),
    ("4", "Citation", 730),
    ("5", "Arrest", 1095),
    ("6", "Use of force", 1095),
    ("7", "Pursuit", 1095),
    ("8", "Officer injury", 1825),
    ("9", "Homicide", None),
    ("10", "Sex crime", None),
    ("11", "Pedestrian check", 365),
    ("12", "Probation search", 730),
    ("13", "Domestic violence", 1825),
    ("14", "Officer-involved shooting", None),
]

# Floors under each default period (days; None = must stay indefinite). Shortening a
# category below its floor is refused (retention.services.set_category_retention).
DEFAULT_MINIMUMS = {
    "Uncategorized": 60, "Non-evidentiary": 60, "Traffic stop": 365, "Citation": 365, "Arrest": 730,
    "Use of force": 730, "Pursuit": 730, "Officer injury": 1095, "Homicide": None, "Sex crime": None,
    "Pedestrian check": 180, "Probation search": 365, "Domestic violence": 1095, "Officer-involved shooting": None,
}


def minimum_fields(name: str) -> dict:
    if name not in DEFAULT_MINIMUMS:
        return {}
    floor = DEFAULT_MINIMUMS[name]
    return {"min_indefinite": True, "min_retention_days": 0} if floor is None else \
        {"min_indefinite": False, "min_retention_days": floor}


def ensure_default_categories() -> int:
    from .models import Category

    if Category.objects.exists():
        return 0
    Category.objects.bulk_create(Category(axis_id=i, name=n, retention_days=d, **minimum_fields(n))
                                 for i, n, d in DEFAULT_CATEGORIES)
    return len(DEFAULT_CATEGORIES)
