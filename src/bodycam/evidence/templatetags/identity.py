"""``{% load identity %}{{ clip|item_name }}``: how a page names one clip of a recording —
the recording's evidence number and title, and which clip it is when there are several
("2026-000003 · Traffic stop · Main St · clip 2 of 3"), never the camera's file name."""

from __future__ import annotations

from django import template

from ..identity import display_title

register = template.Library()


@register.filter
def item_name(clip) -> str:
    rec = clip.recording
    name = " · ".join(x for x in (rec.evidence_number or "", display_title(rec)) if x)
    ids = list(rec.clips.order_by("start_time", "object_name").values_list("id", flat=True))
    if len(ids) > 1 and clip.id in ids:
        name += f" · clip {ids.index(clip.id) + 1} of {len(ids)}"
    return name
