"""Retention's panel on the case page (registered for the ``"case"`` slot of ``bodycam.panels``
in ``RetentionConfig.ready()``): the dispatch incident the case's number names (CAD) and the
case's legal holds. The case page (web/cases.py) has already checked that the user may see
the case and shows the case's own facts, files and forms itself."""

from .models import CadIncident, LegalHold


def case_panel(request, case) -> dict:
    incident = CadIncident.objects.filter(number=case.incident_number).first() if case.incident_number else None
    return {"case": case, "holds": list(LegalHold.objects.filter(case=case, released_at__isnull=True)),
            "incident": incident}
