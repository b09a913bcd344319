"""Dispatch incidents in a recording's readable identity: the default title uses the linked
incident's call type and location (``evidence.identity``), and the search text follows a
link made, removed or re-imported."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import CadIncident, CadLink


def incidents_for(recording_ids) -> dict:
    """{recording id: {number, call_type, location}} of each recording's earliest linked incident."""
    out: dict = {}
    links = (CadLink.objects.filter(recording_id__in=list(recording_ids), removed_at__isnull=True)
             .select_related("incident").order_by("incident__received_at"))
    for link in links:
        inc = link.incident
        out.setdefault(link.recording_id, {"number": inc.number, "call_type": inc.call_type,
                                           "location": inc.location})
    return out


def recordings_matching(number: str = "", place: str = ""):
    """Sub-select of the recording ids linked (link not removed) to an incident numbered
    ``number`` (exactly, any case) and/or whose location contains ``place``."""
    links = CadLink.objects.filter(removed_at__isnull=True)
    if number:
        links = links.filter(incident__number__iexact=number)
    if place:
        links = links.filter(incident__location__icontains=place)
    return links.values("recording_id")


def _reindex(recording_ids) -> None:
    from ..search import services as search

    for rid in recording_ids:
        search.reindex(rid, (search.METADATA,))


@receiver(post_save, sender=CadLink)
def _link_saved(sender, instance, raw=False, **kw):
    if not raw:
        _reindex([instance.recording_id])


@receiver(post_save, sender=CadIncident)
def _incident_saved(sender, instance, raw=False, created=False, **kw):
    if not raw and not created:
        _reindex(CadLink.objects.filter(incident=instance, removed_at__isnull=True)
                 .values_list("recording_id", flat=True))
