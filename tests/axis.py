"""Build Axis-style recordings for tests: names and metadata exactly as the spec gives them."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def register(conn, user_id: str | None = None, serial: str = "ABC123", name: str = "Officer Garcia",
             badge: str | None = None) -> tuple[str, str]:
    """Register an officer (a new one unless ``user_id``) and the camera. A badge number (the
    Axis UserID) belongs to one officer: by default each officer gets one of their own, so tests
    sharing a server can each register theirs."""
    user_id = user_id or str(uuid.uuid4())
    badge = badge or str(int(hashlib.sha256(user_id.encode()).hexdigest(), 16) % 10**9)
    conn.put_object("Users", user_id, b"", headers={
        "X-Object-Meta-Name": name, "X-Object-Meta-Active": "True", "X-Object-Meta-UserID": badge})
    conn.put_object("Devices", serial, b"", headers={
        "X-Object-Meta-Name": f"Camera {serial}", "X-Object-Meta-Active": "True", "X-Object-Meta-Model": "W110"})
    return user_id, serial


def recording(user_id: str, serial: str, trigger_on: datetime, seconds: float = 10, prebuffer: float = 0):
    """(container name, container metadata headers)."""
    start = trigger_on - timedelta(seconds=prebuffer)
    stop = trigger_on + timedelta(seconds=seconds)
    name = f"{user_id}_{serial}_{trigger_on:%Y%m%dT%H%M%SZ}"
    meta = {
        "ContainerName": name, "BWCSerialNumber": serial, "SCUSerialNumber": "SCU-9", "FirmwareVersion": "11.2.1",
        "UserID": user_id, "TriggerOn": "Button", "TriggerOff": "Button",
        "TriggerOnTime": str(int(trigger_on.timestamp())), "TriggerOnTimeISO": iso(trigger_on),
        "TriggerOnLocation": "+55.718409+013.221184+5.0+" + str(int(trigger_on.timestamp())),
        "TriggerOffTime": str(int(stop.timestamp())), "TriggerOffTimeISO": iso(stop),
        "StartTime": str(int(start.timestamp())), "StartTimeISO": iso(start),
        "StopTime": str(int(stop.timestamp())), "StopTimeISO": iso(stop),
        "TimeZone": "Europe/Stockholm", "BWCModel": "W110", "Status": "Transferring",
    }
    return name, {f"X-Container-Meta-{k}": v for k, v in meta.items()}


def clip_headers(start: datetime, seconds: float, container_type: str = "mp4") -> dict:
    stop = start + timedelta(seconds=seconds)
    return {
        "X-Object-Meta-StartTime": str(int(start.timestamp())), "X-Object-Meta-StartTimeISO": iso(start),
        "X-Object-Meta-StopTime": str(int(stop.timestamp())), "X-Object-Meta-StopTimeISO": iso(stop),
        "X-Object-Meta-ContainerType": container_type,
    }


def clip_name(start: datetime, rec_id: int, container_type: str = "mp4") -> str:
    return f"{start:%Y%m%d_%H%M%S}_{rec_id}.{container_type}"


def gnss_track(start: datetime, points: int = 5) -> bytes:
    entries = []
    for i in range(points):
        t = start + timedelta(seconds=10 * i)
        entries.append({"LocationWKT": f"POINT({13.221184 + i * 0.0001:.6f} {55.718409 + i * 0.0001:.6f})",
                        "SecondsFromStart": 10.0 * i, "Timestamp": iso(t)})
    return json.dumps({"CoordinateEntries": entries}).encode()


def new_recording(conn, t0: datetime | None = None, badge: str | None = None, **kw) -> tuple[str, datetime]:
    """Register a new officer (and the camera) and open a recording container for them."""
    user_id, serial = register(conn, badge=badge)
    t0 = t0 or now()
    name, meta = recording(user_id, serial, t0, **kw)
    conn.put_container(name, headers=meta)
    return name, t0


def status_of(fn, *args, **kw) -> int:
    """The HTTP status of the swiftclient call ``fn(*args, **kw)``, which must fail."""
    import pytest
    import swiftclient

    with pytest.raises(swiftclient.ClientException) as e:
        fn(*args, **kw)
    return e.value.http_status


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
