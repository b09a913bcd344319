"""``{% load when %}{{ t|when }}``: the one way a page shows a time. In the agency's zone
(``BODYCAM_TIME_ZONE``), readable, whole seconds, with the UTC time on hover and in the
``datetime`` attribute:

    <time datetime="2026-12-05T15:23:58Z" title="2026-12-05 15:23:58 UTC">Sat 5 Dec 2026, 07:23:58 PST</time>

``t`` is a datetime or an ISO 8601 string (as the API dicts hold them); None or "" shows "—".
A style may follow: ``|when:"minute"``, ``|when:"short"``, ``|when:"date"`` (timefmt.readable).
``|when_text`` is the same text without the element (inside attributes)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.conf import settings
from django.utils.html import format_html

from ...timefmt import isoformat, parse_utc, readable, utc_text

register = template.Library()
STYLES = ("full", "minute", "short", "date")


def _moment(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return parse_utc(value)
        except ValueError:
            return None
    return None


@register.filter(is_safe=True)
def when(value, style: str = "full"):
    t = _moment(value)
    if t is None:
        return "—" if value in (None, "") else value
    return format_html('<time datetime="{}" title="{}">{}</time>', isoformat(t, timespec="seconds"), utc_text(t),
                       readable(t, settings.AGENCY_TIME_ZONE, style if style in STYLES else "full"))


@register.filter
def when_text(value, style: str = "full") -> str:
    t = _moment(value)
    if t is None:
        return "" if value is None else str(value)
    return readable(t, settings.AGENCY_TIME_ZONE, style if style in STYLES else "full")


@register.filter
def duration(seconds) -> str:
    """A length read at a glance: ``8.5 s``, ``4 min 05 s``, ``1 h 02 min``."""
    try:
        s = float(seconds or 0)
    except (TypeError, ValueError):
        return ""
    if s < 60:
        return f"{s:.1f} s"
    whole = int(round(s))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
