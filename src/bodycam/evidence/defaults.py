"""Default categories, reflecting common agency retention schedules (days; None = indefinite).
Custodians change them later (retention issue); these only seed an empty catalogue."""

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
]


def ensure_default_categories() -> int:
    from .models import Category

    if Category.objects.exists():
        return 0
    Category.objects.bulk_create(Category(axis_id=i, name=n, retention_days=d) for i, n, d in DEFAULT_CATEGORIES)
    return len(DEFAULT_CATEGORIES)
