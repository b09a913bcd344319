"""Which recordings belong to one incident (all cameras): used by the multi-camera timeline
(web) and the incident search filter (search). Visibility is applied by the callers."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q, QuerySet

from ..numbers import parse_uuid
from .models import Recording

INCIDENT_WINDOW = timedelta(seconds=15)


def incident_recording_ids(recording_id) -> QuerySet:
    """Sub-select of the ids of the recordings in the incident of ``recording_id``."""
    rid = parse_uuid(recording_id)
    rec = Recording.objects.filter(pk=rid).only("trigger_on", "trigger_on_time", "start_time", "stop_time").first() \
        if rid else None
    if rec is None:
        return Recording.objects.none().values("id")
    t = rec.trigger_on_time
    if rec.trigger_on.startswith("Signal"):
        q = Q(trigger_on=rec.trigger_on, trigger_on_time__range=(t - INCIDENT_WINDOW, t + INCIDENT_WINDOW))
    else:
        lo, hi = rec.start_time or t, rec.stop_time or rec.trigger_off_time or t
        q = (Q(start_time__lte=hi, stop_time__gte=lo)  # overlapping runs; runs without times: by trigger time
             | Q(start_time__isnull=True, trigger_on_time__range=(lo - INCIDENT_WINDOW, hi + INCIDENT_WINDOW)))
    return Recording.objects.filter(q | Q(pk=rec.pk)).values("id")
