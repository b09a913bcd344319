"""``bodycam demo``: officers, cameras, categories and real generated recordings,
ingested through the same validate-then-commit pipeline as camera uploads."""

from __future__ import annotations

import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

DEMO_PASSWORD = "patrol-demo-2026"
USERS = [
    # username, role, badge, axis user id
    ("garcia", "officer", "4127", "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a01"),
    ("chen", "officer", "3318", "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a02"),
    ("sgt.okafor", "supervisor", "2201", None),
    ("det.muller", "detective", "1907", None),
    ("custodian", "custodian", "", None),
    ("admin", "admin", "", None),
    ("auditor", "auditor", "", None),
]
DEVICES = [("BWC-1001", "W110", "body"), ("BWC-1002", "W110", "body"), ("CAR-17", "F101", "vehicle")]


def load_demo() -> None:
    from .access.models import User
    from .evidence.models import Officer
    from .evidence.services import add_device, add_user
    from .ingest import services
    from .media.synth import make_clip

    if User.objects.filter(username="garcia").exists():
        print("demo data already loaded")
        _print_login()
        return
    for username, role, badge, axis in USERS:
        add_user(username, role, DEMO_PASSWORD, badge=badge, axis_user_id=axis, actor="demo")
    for serial, model, kind in DEVICES:
        add_device(serial, model=model, kind=kind, actor="demo")
    car_officer = Officer.objects.get(account__username="garcia")

    # One incident seen by two body cameras and the patrol car, then a second call.
    incident = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)
    plan = [
        ("garcia", "BWC-1001", incident, 8, "SignalLightBar", "Button"),
        ("chen", "BWC-1002", incident + timedelta(seconds=2), 8, "SignalLightBar", "Button"),
        (None, "CAR-17", incident - timedelta(seconds=1), 10, "SignalLightBar", "SignalLightBar"),
        ("chen", "BWC-1002", incident + timedelta(hours=1), 5, "Button", "Button"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for i, (username, serial, start, seconds, on, off) in enumerate(plan):
            officer = Officer.objects.get(account__username=username) if username else car_officer
            name = f"{officer.axis_user_id}_{serial}_{start:%Y%m%dT%H%M%SZ}"
            stop = start + timedelta(seconds=seconds)
            meta = {
                "BWCSerialNumber": serial, "UserID": str(officer.axis_user_id), "TriggerOn": on, "TriggerOff": off,
                "TriggerOnTime": str(int(start.timestamp())), "TriggerOffTime": str(int(stop.timestamp())),
                "StartTime": str(int(start.timestamp())), "StopTime": str(int(stop.timestamp())),
                "TimeZone": "America/Chicago", "BWCModel": "W110", "FirmwareVersion": "demo-1.0",
            }
            services.put_recording(name, meta, "demo", "", replace=True)
            path = Path(tmp) / f"clip{i}.mp4"
            make_clip(str(path), seconds=seconds)
            clip_name = f"{start:%Y%m%d_%H%M%S}_{1000 + i}.mp4"
            with open(path, "rb") as f:
                services.put_object(name, clip_name, f, path.stat().st_size, None,
                                    {"StartTime": meta["StartTime"], "StopTime": meta["StopTime"], "ContainerType": "mp4"},
                                    "demo", "")
            services.put_recording(name, {"Status": "Complete"}, "demo", "", replace=False)
    _demo_access()
    print(f"demo data loaded: {len(USERS)} users, {len(DEVICES)} cameras, {len(plan)} recordings")
    _print_login()


def _demo_access() -> None:
    """Squad, case and a provisioned authenticator for every demo account (MFA is mandatory)."""
    from .access.auth import enrol_with_secret
    from .access.models import Case, Squad, User
    from .evidence.models import Recording

    squad = Squad.objects.create(name="Patrol A")
    squad.supervisors.add(User.objects.get(username="sgt.okafor"))
    User.objects.filter(username__in=["garcia", "chen"]).update(squad=squad)
    case = Case.objects.create(number="2026-000417", title="Demo incident")
    case.detectives.add(User.objects.get(username="det.muller"))
    first = Recording.objects.order_by("trigger_on_time")[:3]
    case.recordings.add(*first)
    for username, *_ in USERS:
        enrol_with_secret(User.objects.get(username=username), label="demo", actor="demo")


def _print_login() -> None:
    from .access import totp
    from .access.models import TotpDevice

    print("log in at http://127.0.0.1:8000/login/ as 'garcia' (officer), 'sgt.okafor' (supervisor),")
    print(f"'det.muller' (detective), 'custodian', 'admin' or 'auditor', password: {DEMO_PASSWORD}")
    print("Every account needs a TOTP code (second factor). Add a demo secret to an authenticator app,")
    print("or print the current codes with `bodycam demo-totp [USERNAME]`:")
    for dev in TotpDevice.objects.filter(label="demo").select_related("user").order_by("user__username"):
        print(f"  {dev.user.username:<12} {totp.otpauth_uri(dev.secret, dev.user.username)}")
