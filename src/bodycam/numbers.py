"""Whole numbers and ids typed by people (form fields, query strings, JSON strings, URL
parts), each read one way.

``str.isdigit()`` is true for "²" and "①", which ``int()`` refuses (a 500 where a 400 was
meant), and ``int()`` of a few thousand digits raises too. ``uuid.UUID`` raises three different
errors for three kinds of bad input. Pure Python: any layer (device/ and provenance/ too) may use it.
"""

from __future__ import annotations

import re
import uuid

_WHOLE = re.compile(r"[0-9]{1,18}")


def whole_number(text) -> int | None:
    """``text`` as an int when it is 1-18 ASCII digits (spaces around allowed), else None."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    return int(text) if _WHOLE.fullmatch(text) else None


def parse_uuid(value) -> uuid.UUID | None:
    """``value`` as a UUID (any form ``uuid.UUID`` reads from ``str(value)``), else None."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None
