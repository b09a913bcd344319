"""Fleet status: what docks and ingest already know about each camera, and the cameras that
have not docked for ``settings.CAMERA_STALE_DAYS`` days (a list, and a custody alert each).

What the server knows comes from uploads only: a dock with nothing to upload leaves no trace.
So **last dock** is the last time a dock wrote anything for the camera (a recording created or
completed, a file stored) with that dock's serial (``SCUSerialNumber``); **last upload** the last
file stored; **firmware** and **model** those its latest recording names (the registered model
when it has none); **clips per day** the files stored per agency day, last 7 days;
**signature** the verdict on its latest clip's manifest (valid, invalid, absent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate

from ..custody.models import Alert
from ..evidence.models import Clip, Device, Recording
from ..timefmt import zone

STALE_ALERT = "camera.stale"
RETIRED_UPLOAD_ALERT = "camera.retired_upload"
DAYS_SHOWN = 7


@dataclass
class CameraStatus:
    device: Device
    last_dock: datetime | None
    dock: str
    last_upload: datetime | None
    firmware: str
    model: str
    signature: str
    per_day: list[tuple[date, int]] = field(default_factory=list)
    stale: bool = False

    @property
    def silent_since(self) -> datetime:
        """Since when nothing came from the camera: its last dock, else its registration."""
        return self.last_dock or self.device.created_at


def _today(now: datetime) -> date:
    return now.astimezone(zone(settings.AGENCY_TIME_ZONE)).date()


def fleet_status(now: datetime | None = None, *, include_retired: bool = True,
                 serial: str | None = None) -> list[CameraStatus]:
    """Every camera (by serial; or the one ``serial``) with what docks and ingest know of it;
    a few queries whatever the fleet's size."""
    now = now or datetime.now(timezone.utc)
    latest_rec = Recording.objects.filter(device=OuterRef("pk")).order_by("-created_at")
    latest_clip = Clip.objects.filter(recording__device=OuterRef("pk")).order_by("-ingested_at")
    devices = Device.objects.select_related("assigned_officer__account").annotate(
        rec_created=Max("recordings__created_at"), rec_completed=Max("recordings__completed_at"),
        last_upload=Max("recordings__clips__ingested_at"),
        firmware_seen=Subquery(latest_rec.values("firmware")[:1]),
        model_seen=Subquery(latest_rec.values("bwc_model")[:1]),
        dock_seen=Subquery(latest_rec.values("scu_serial")[:1]),
        last_signature=Subquery(latest_clip.values("signature")[:1]),
    ).order_by("serial")
    if not include_retired:
        devices = devices.filter(retired_at__isnull=True)
    if serial is not None:
        devices = devices.filter(serial=serial)
    today = _today(now)
    days = [today - timedelta(days=i) for i in range(DAYS_SHOWN - 1, -1, -1)]
    tz = zone(settings.AGENCY_TIME_ZONE)
    since = datetime.combine(days[0], datetime.min.time(), tz)
    counts: dict = {}
    clips = Clip.objects.filter(ingested_at__gte=since)
    if serial is not None:
        clips = clips.filter(recording__device__serial=serial)
    for row in (clips.annotate(day=TruncDate("ingested_at", tzinfo=tz))
                .values("recording__device_id", "day").annotate(n=Count("id"))):
        counts[(row["recording__device_id"], row["day"])] = row["n"]
    cutoff = now - timedelta(days=settings.CAMERA_STALE_DAYS)
    out = []
    for d in devices:
        last_dock = max((t for t in (d.rec_created, d.rec_completed, d.last_upload) if t), default=None)
        st = CameraStatus(device=d, last_dock=last_dock, dock=d.dock_seen or "", last_upload=d.last_upload,
                          firmware=d.firmware_seen or "", model=d.model_seen or d.model,
                          signature=d.last_signature or "", per_day=[(day, counts.get((d.id, day), 0)) for day in days])
        st.stale = d.retired_at is None and d.active and st.silent_since < cutoff
        out.append(st)
    return out


def stale_cameras(now: datetime | None = None) -> list[CameraStatus]:
    return [s for s in fleet_status(now, include_retired=False) if s.stale]


def _stale_message(s: CameraStatus) -> str:
    since = _today(s.silent_since).isoformat()
    what = "has not docked since" if s.last_dock else "has never docked since its registration on"
    return f"Camera {s.device.serial} {what} {since} ({settings.CAMERA_STALE_DAYS}+ days)"


def check_stale(now: datetime | None = None) -> list[Alert]:
    """Raise one custody alert (warning ``camera.stale``) per stale camera per silence: a camera
    that stays silent is not alerted again; one that docks and falls silent again is."""
    out = []
    for s in stale_cameras(now):
        message = _stale_message(s)
        with transaction.atomic():
            if not Alert.objects.filter(kind=STALE_ALERT, message=message).exists():
                out.append(Alert.objects.create(kind=STALE_ALERT, level=Alert.Level.WARNING, message=message))
    return out


def open_alerts():
    """Unacknowledged fleet alerts, newest first (the cameras page shows them)."""
    return Alert.objects.filter(Q(kind=STALE_ALERT) | Q(kind=RETIRED_UPLOAD_ALERT), acknowledged_at__isnull=True)
