"""Multi-camera timelines: the recordings of one case, or of one incident, on one
wall-clock axis.

An *incident* is found from one of its recordings: every recording started by the same
trigger (e.g. ``SignalLightBar``: the patrol car's light bar starts its own camera and
every body camera of its group) within ``INCIDENT_WINDOW`` of it. A recording started
by a button press forms an incident with the recordings that overlap it in time.
What the user may see is still decided only by ``visible_clips``.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q, QuerySet

from ..access.services import parse_uuid, visible_clips
from ..evidence.models import Recording
from ..evidence.services import iso

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


def timeline(user, recording_ids: QuerySet) -> dict:
    """Lanes (one per recording, i.e. per camera run) of the clips the user may see, with
    times in seconds from the earliest clip start. One query for the clips."""
    from ..media.models import Derivative

    clips = list(visible_clips(user).filter(recording_id__in=recording_ids).order_by("start_time", "object_name"))
    proxies = {str(d.clip_id) for d in Derivative.objects.filter(clip__in=clips, kind=Derivative.Kind.PROXY)}
    if not clips:
        return {"origin": None, "duration": 0, "lanes": [], "clips": []}

    def begins(c):  # cameras that send no clip times: the recording's start (or trigger) time
        return c.start_time or c.recording.start_time or c.recording.trigger_on_time

    origin = min(begins(c) for c in clips)
    lanes: dict[str, dict] = {}
    for c in clips:
        rec = c.recording
        lane = lanes.setdefault(str(rec.id), {
            "recording": str(rec.id), "device": rec.device.serial, "kind": rec.device.kind,
            "officer": rec.officer.name, "trigger": rec.trigger_on, "clips": []})
        start = (begins(c) - origin).total_seconds()
        lane["clips"].append({"id": str(c.id), "object": c.object_name, "start": round(start, 3),
                              "duration": round(c.duration_s, 3), "start_iso": iso(begins(c)),
                              "src": f"/api/evidence/{c.id}/{'proxy' if str(c.id) in proxies else 'stream'}"})
    duration = max(cl["start"] + cl["duration"] for lane in lanes.values() for cl in lane["clips"])
    ordered = sorted(lanes.values(), key=lambda ln: (ln["kind"] != "vehicle", ln["device"], ln["clips"][0]["start"]))
    return {"origin": iso(origin), "duration": round(duration, 3), "lanes": ordered,
            "clips": [str(c.id) for c in clips]}
