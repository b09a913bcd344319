"""Whole numbers typed by people (form fields, query strings, JSON strings), read one way.

``str.isdigit()`` is true for "²" and "①", which ``int()`` refuses (a 500 where a 400 was
meant), and ``int()`` of a few thousand digits raises too. Pure Python: any layer may use it.
"""

from __future__ import annotations

import re

_WHOLE = re.compile(r"[0-9]{1,18}")


def whole_number(text) -> int | None:
    """``text`` as an int when it is 1-18 ASCII digits (spaces around allowed), else None."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    return int(text) if _WHOLE.fullmatch(text) else None
