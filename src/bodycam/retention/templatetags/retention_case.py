"""``{% case_panel case %}``: status, incident number, detectives, closing and attached
files on the case page (release/case.html). The case was already access-checked by that
page; the forms post to web/cases.py, which checks again (cases.services audits)."""

from django import template

from ...access.policy import allowed
from ..models import CadIncident, LegalHold

register = template.Library()


@register.inclusion_tag("retention/case_panel.html", takes_context=True)
def case_panel(context, case):
    user = context["request"].user
    can_change = allowed(user, "case.change", case)
    incident = CadIncident.objects.filter(number=case.incident_number).first() if case.incident_number else None
    return {"case": case, "can_change": can_change, "csrf_token": context.get("csrf_token"),
            "detectives": list(case.detectives.values_list("username", flat=True)),
            "files": list(case.files.select_related("uploaded_by")),
            "holds": list(LegalHold.objects.filter(case=case, released_at__isnull=True)), "incident": incident}


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
