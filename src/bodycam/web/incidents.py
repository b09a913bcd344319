"""Multi-camera timelines: the recordings of one case, or of one incident, on one
wall-clock axis.

An *incident* is found from one of its recordings: every recording started by the same
trigger (e.g. ``SignalLightBar``: the patrol car's light bar starts its own camera and
every body camera of its group) within ``INCIDENT_WINDOW`` of it. A recording started
by a button press forms an incident with the recordings that overlap it in time.
What the user may see is still decided only by ``visible_clips``.
"""

from __future__ import annotations

from django.db.models import QuerySet

from ..access.services import visible_clips
from ..timefmt import iso_as_given


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
                              "duration": round(c.duration_s, 3), "start_iso": iso_as_given(begins(c)),
                              "src": f"/api/evidence/{c.id}/{'proxy' if str(c.id) in proxies else 'stream'}"})
    duration = max(cl["start"] + cl["duration"] for lane in lanes.values() for cl in lane["clips"])
    ordered = sorted(lanes.values(), key=lambda ln: (ln["kind"] != "vehicle", ln["device"], ln["clips"][0]["start"]))
    return {"origin": iso_as_given(origin), "duration": round(duration, 3), "lanes": ordered,
            "clips": [str(c.id) for c in clips]}
