"""``{% item_retention recording_id %}``: retention and dispatch rows on the item page
(web/item.html; web sits above retention). The case page's panel is not a tag: it is
registered with ``bodycam.panels`` (``retention/panels.py``)."""

from django import template

from ..models import CadIncident

register = template.Library()


@register.inclusion_tag("retention/item_rows.html")
def item_retention(recording_id):
    """Rows for the item page (already access-checked there): retention and dispatch incidents."""
    from ...evidence.models import Recording
    from ..services import retention_info

    rec = Recording.objects.filter(pk=recording_id).first()
    if rec is None:
        return {"info": None}
    incidents = list(CadIncident.objects.filter(links__recording=rec, links__removed_at__isnull=True)
                     .values_list("number", "call_type"))
    return {"info": retention_info(rec), "incidents": incidents}
