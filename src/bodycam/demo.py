"""``bodycam demo``: officers, cameras, categories and real generated recordings,
ingested through the same validate-then-commit pipeline as camera uploads."""

from __future__ import annotations

import tempfile
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


def load_demo(url: str = "http://127.0.0.1:8000") -> None:
    """Load the demo once; print how to sign in at ``url`` (the address served)."""
    from .access.accounts import add_user
    from .access.models import User
    from .ingest.devices import add_device

    if User.objects.filter(username="garcia").exists():
        print("demo data already loaded")
        _print_login(url)
        return
    for username, role, badge, axis in USERS:
        add_user(username, role, DEMO_PASSWORD, badge=badge, axis_user_id=axis, actor="demo")
    for serial, model, kind in DEVICES:
        add_device(serial, model=model, kind=kind, actor="demo")
    n = _simulate_shift()
    _demo_access()
    print(f"demo data loaded: {len(USERS)} users, {len(DEVICES)} cameras, {n} recordings")
    _print_login(url)


def _simulate_shift() -> int:
    """Run the camera simulator for one incident: the patrol car's light bar starts
    its camera and both body cameras in its group; later a button press on one body camera.
    Each camera signs its clips; the footage goes through the ingest pipeline."""
    from .device.camera import simulate_incident
    from .device.dock import closed_recordings
    from .device.storage import DeviceStorage
    from .evidence.models import Officer
    from .ingest import services
    from .ingest.signatures import set_device_key

    axis = {u: str(Officer.objects.get(account__username=u).axis_user_id) for u in ("garcia", "chen")}
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)
    # Each camera its own picture, so the three angles differ like real ones would.
    crew = [("CAR-17", "vehicle", "garcia", "testsrc2"), ("BWC-1001", "body", "garcia", "smptehdbars"),
            ("BWC-1002", "body", "chen", "mandelbrot")]
    scenario = {
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration": 40,
        "cameras": [{"serial": s, "kind": k, "user_id": axis[u], "groups": ["CAR-17"], "source": src}
                    for s, k, u, src in crew],
        "events": [{"t": 6, "signal": "lightbar", "vehicle": "CAR-17"},
                   {"t": 12, "camera": "BWC-1001", "action": "bookmark", "text": "driver stepped out",
                    "category_id": "3", "category_name": "Traffic stop", "tags": "Plate:ABC123"},
                   {"t": 20, "action": "stop"},
                   {"t": 28, "camera": "BWC-1002", "action": "record"},
                   {"t": 36, "camera": "BWC-1002", "action": "stop"}],
    }
    count = 0
    with tempfile.TemporaryDirectory() as tmp:
        simulate_incident(Path(tmp), "testsrc2", scenario, {"width": 640, "height": 360, "fps": 15,
                                                           "bitrate": 600_000, "buffer_seconds": 5, "clip_seconds": 10})
        for serial, *_ in crew:
            storage = DeviceStorage(Path(tmp) / serial)
            set_device_key(serial, (storage.keys_dir / "device.pub").read_text(), actor="demo")
            for container, meta, items in closed_recordings(storage):
                services.put_recording(container, {**meta, "Status": "Transferring"}, "demo", "", replace=True)
                for item in items:
                    with open(item.path, "rb") as f:
                        services.put_object(container, item.name, f, item.path.stat().st_size, None, item.meta,
                                            "demo", "")
                services.put_recording(container, {"Status": "Complete"}, "demo", "", replace=False)
                count += 1
    return count


def _demo_access() -> None:
    """Squad, case and a provisioned authenticator for every demo account (MFA is mandatory)."""
    from .access.auth import enrol_with_secret
    from .access.models import Squad, User
    from .cases.models import Case
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


def _print_login(url: str) -> None:
    from .access import totp
    from .access.models import TotpDevice

    print(f"log in at {url}/login/ as 'garcia' (officer), 'sgt.okafor' (supervisor),")
    print(f"'det.muller' (detective), 'custodian', 'admin' or 'auditor', password: {DEMO_PASSWORD}")
    print("Every account needs a TOTP code (second factor). Add a demo secret to an authenticator app,")
    print("or print the current codes with `bodycam demo-totp [USERNAME]`:")
    for dev in TotpDevice.objects.filter(label="demo").select_related("user").order_by("user__username"):
        print(f"  {dev.user.username:<12} {totp.otpauth_uri(dev.secret, dev.user.username)}")
