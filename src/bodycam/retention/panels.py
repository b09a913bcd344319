"""Retention's panel on the case page (registered for the ``"case"`` slot of ``bodycam.panels``
in ``RetentionConfig.ready()``): status, incident number, detectives, legal holds, closing and
attached files. The case page has already checked that the user may see the case; the forms
post to web/cases.py, which checks again (cases.services audits)."""

from ..access.policy import allowed
from .models import CadIncident, LegalHold


def case_panel(request, case) -> dict:
    incident = CadIncident.objects.filter(number=case.incident_number).first() if case.incident_number else None
    return {"case": case, "can_change": allowed(request.user, "case.change", case),
            "detectives": list(case.detectives.values_list("username", flat=True)),
            "files": list(case.files.select_related("uploaded_by")),
            "holds": list(LegalHold.objects.filter(case=case, released_at__isnull=True)), "incident": incident}
