"""``bodycam demo``: a small department and one recorded shift, made with the project's own
camera and dock code from what is installed (nothing downloaded).

* People: two squads of officers, their supervisors, detectives, a custodian, a prosecutor,
  an auditor and an admin, each with a provisioned authenticator (MFA is mandatory).
* The shift (``demoscene`` renders what is in front of each lens): a traffic stop filmed by
  the patrol car's camera and two body cameras, all started by the light bar's signed
  Bluetooth LE signal (``device.signals``: each camera verifies it), with faces, a readable
  plate, GNSS tracks and speech (English, and one Spanish exchange); other calls of the
  shift (a still, a late activation, a use of force, an old patrol past its retention).
  The cameras sign their clips; the dock uploads them through the Axis API of this server
  (served in-process on 127.0.0.1 while loading) and frees the cameras.
* Work for every role (each one's home page lists it): dispatch incidents linked (categories
  set, some left uncategorized), a case shared with the prosecutor, a public-records request
  two days from its deadline, a legal hold, a restricted item, a critical-incident lock, items
  in the deletion queue, an account locked after wrong passwords, a signed checkpoint and a
  verification of the audit chain, and background jobs (transcripts with the Spanish
  translation, face analysis) for the worker.

Loading twice changes nothing. ``--small``: shorter other calls, for quick tests.
"""

from __future__ import annotations

import json
import tempfile
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from .errors import BodycamError

DEMO_PASSWORD = "patrol-demo-2026"
CASE_NUMBER = "2026-000417"
CAD_STOP = "CAD-26-0917"
SQUADS = {"Patrol A": "sgt.okafor", "Patrol B": "sgt.reyes"}
USERS = [
    # username, role, badge, axis user id, squad
    ("garcia", "officer", "4127", "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a01", "Patrol A"),
    ("chen", "officer", "3318", "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a02", "Patrol A"),
    ("patel", "officer", "3560", "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a03", "Patrol A"),
    ("novak", "officer", "2874", "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a04", "Patrol A"),
    ("silva", "officer", "4410", "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a05", "Patrol B"),
    ("kim", "officer", "3991", "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a06", "Patrol B"),
    ("obrien", "officer", "2650", "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a07", "Patrol B"),
    ("haddad", "officer", "4032", "5f0c6a1e-9a43-4c55-9a0e-0d5b1f2f4a08", "Patrol B"),
    ("sgt.okafor", "supervisor", "2201", None, ""),
    ("sgt.reyes", "supervisor", "2215", None, ""),
    ("det.muller", "detective", "1907", None, ""),
    ("det.ito", "detective", "1932", None, ""),
    ("custodian", "custodian", "", None, ""),
    ("ada.park", "prosecutor", "", None, ""),
    ("admin", "admin", "", None, ""),
    ("auditor", "auditor", "", None, ""),
]
# serial, model, kind, officer (the camera's wearer; the car's driver for the car camera)
DEVICES = [("BWC-1001", "W110", "body", "garcia"), ("BWC-1002", "W110", "body", "chen"),
           ("CAR-17", "F101", "vehicle", "garcia"), ("BWC-1003", "W110", "body", "patel"),
           ("BWC-1004", "W110", "body", "novak"), ("BWC-1005", "W110", "body", "silva"),
           ("BWC-1006", "W110", "body", "kim"), ("BWC-1008", "W110", "body", "haddad")]
CAR_UNIT = 17          # the patrol car's unit id on the BLE roster
LIGHTBAR_T = 6         # seconds into the shift scenario
TALK_T = 11.5          # the conversations start (on the body cameras' second clip)
CAMERA_SETTINGS = {"width": 640, "height": 360, "fps": 15, "bitrate": 600_000, "buffer_seconds": 5,
                   "clip_seconds": 10}
TRACK = [[55.70490, 13.19100], [55.70565, 13.19310], [55.70600, 13.19420]]  # Lund, along the stop


class DemoError(BodycamError):
    pass


def load_demo(url: str = "http://127.0.0.1:8000", small: bool = False) -> None:
    """Load the demo once; print how to sign in at ``url`` (the address served)."""
    from .access.models import TotpDevice, User

    if User.objects.filter(username="garcia").exists():
        if not TotpDevice.objects.filter(user__username="auditor", label="demo").exists():
            raise DemoError("a previous `bodycam demo` stopped half-way; start again from an empty data directory")
        print("demo data already loaded")
        _print_login(url)
        return
    from .demoscene import have_espeak

    if not have_espeak():
        print("warning: espeak-ng is not installed: the demo's recordings have no speech "
              "(scripts/demo.sh installs it)")
    _people()
    with tempfile.TemporaryDirectory(prefix="bodycam-demo-") as tmp:
        n = _record_and_dock(Path(tmp), small)
    _work_for_every_role()
    jobs = _background_jobs()
    _chain_checked()
    for username, *_ in USERS:  # last: marks the demo as loaded
        from .access.auth import enrol_with_secret

        enrol_with_secret(User.objects.get(username=username), label="demo", actor="demo")
    print(f"demo data loaded: {len(USERS)} users, {len(DEVICES)} cameras, {n} recordings; "
          f"{jobs} background jobs (transcripts, translation, face analysis) for the worker")
    _print_login(url)


# ------------------------------------------------------------------ people and cameras

def _people() -> None:
    from .access.accounts import add_user
    from .access.models import Squad, User
    from .ingest.devices import add_device

    for username, role, badge, axis, _ in USERS:
        add_user(username, role, DEMO_PASSWORD, badge=badge, axis_user_id=axis, actor="demo")
    for name, sup in SQUADS.items():
        squad = Squad.objects.create(name=name)
        squad.supervisors.add(User.objects.get(username=sup))
        User.objects.filter(username__in=[u for u, *_, s in USERS if s == name]).update(squad=squad)
    for serial, model, kind, wearer in DEVICES:  # body cameras carried by their officer, CAR-17 in its car
        add_device(serial, model=model, kind=kind, actor="demo", officer=wearer if kind == "body" else None,
                   vehicle=serial if kind == "vehicle" else "")


# ------------------------------------------------------------------ the shift

def _axis(username: str) -> str:
    return next(a for u, _, _, a, _ in USERS if u == username)


def _lightbar(root: Path, serials: list[str]) -> dict:
    """The patrol car's light bar as a signed BLE advertisement, checked by each camera's own
    verifier (roster: unit 17); returns serial -> [(t, accepted Event)]."""
    from .device.signals import AgencyKey, CameraKeys, EmitterKey, Frame, Verifier, encode, next_counter
    from .device.storage import DeviceStorage
    from .device.triggers import Policy

    agency = AgencyKey.generate()
    car = EmitterKey.provision(agency, CAR_UNIT, 1)
    ad = encode(Frame("lightbar", CAR_UNIT, 1, next_counter(root / "car17.counter")), car.key)
    heard = {}
    for i, serial in enumerate(serials):
        storage = DeviceStorage(root / serial).ensure()
        keys = CameraKeys(agency, frozenset({CAR_UNIT}), CAR_UNIT, 100 + i)
        keys.save(storage.keys_dir)
        verdict = Verifier(keys, Policy.default(), storage.log_event, storage.root / "ble-counters.json").check(
            ad, rssi=-48 - 6 * i, address="c4:17:00:00:00:01")
        if verdict is None:
            raise DemoError(f"{serial} refused the light bar's signal (see its events.jsonl)")
        heard[serial] = [(LIGHTBAR_T, verdict[1])]
    return heard


def _traffic_stop(root: Path, start: datetime) -> None:
    from . import demoscene
    from .device.camera import simulate_incident

    seconds = 40
    crew = [("CAR-17", "vehicle", "garcia"), ("BWC-1001", "body", "garcia"), ("BWC-1002", "body", "chen")]
    sources = {}
    for serial, scene in demoscene.traffic_stop(seconds, LIGHTBAR_T, TALK_T).items():
        sources[serial] = str(root / f"{serial}.scene.mp4")
        demoscene.render(sources[serial], scene)
    scenario = {
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration": seconds,
        "gnss": {"points": TRACK, "speed_mps": 9},
        "cameras": [{"serial": s, "kind": k, "user_id": _axis(u), "groups": [str(CAR_UNIT)], "source": sources[s]}
                    for s, k, u in crew],
        "events": [{"t": 12, "camera": "BWC-1001", "action": "bookmark", "text": "driver stepped out",
                    "category_id": "3", "category_name": "Traffic stop", "tags": "Plate:ABC123"},
                   {"t": 20, "action": "stop"},
                   {"t": 28, "camera": "BWC-1002", "action": "record"},
                   {"t": 36, "camera": "BWC-1002", "action": "stop"}],
    }
    simulate_incident(root, "testsrc2", scenario, CAMERA_SETTINGS,
                      heard=_lightbar(root, [s for s, *_ in crew]))


# Other calls of the shift: (serial, officer, minutes after the traffic stop (negative: before),
# seconds, scenario events, scene options). Times are on each camera's own virtual clock.
def _other_calls(small: bool) -> list[tuple]:
    sec = 8 if small else 14
    return [
        ("BWC-1003", "patel", -95, sec, [{"t": 1, "action": "record"}, {"t": 3, "action": "still"},
                                         {"t": 4, "action": "bookmark", "text": "parked car blocking the hydrant",
                                          "tags": "Plate:KLM482"}, {"t": sec - 1, "action": "stop"}],
         {"seed": 31, "plate": "KLM 482"}),
        ("BWC-1004", "novak", -60, sec, [{"t": 2, "action": "record"}, {"t": sec - 1, "action": "stop"}],
         {"seed": 41, "photo": "cameraman"}),
        ("BWC-1005", "silva", 40, sec, [{"t": 1, "signal": "holster", "vehicle": ""},
                                        {"t": sec - 1, "action": "stop"}], {"seed": 51, "photo": "astronaut"}),
        ("BWC-1006", "kim", 75, sec, [{"t": 1, "action": "record"}, {"t": sec - 1, "action": "stop"}],
         {"seed": 61}),
    ]


def _other_call(root: Path, serial: str, officer: str, start: datetime, seconds: int, events: list,
                scene: dict) -> None:
    from . import demoscene
    from .device.camera import simulate
    from .device.config import load_config
    from .device.storage import DeviceStorage

    src = str(root / f"{serial}-{start:%H%M}.scene.mp4")
    demoscene.render(src, demoscene.street_call(seconds, **scene))
    storage = DeviceStorage(root / serial).ensure()
    config = load_config(storage, **CAMERA_SETTINGS, serial=serial, kind="body", user_id=_axis(officer))
    track = [[p[0] + 0.01 * (hash(serial) % 7), p[1] - 0.01] for p in TRACK]
    simulate(storage, src, {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration": seconds,
                            "gnss": {"points": track, "speed_mps": 1.5}, "events": events}, config)


def _record_and_dock(root: Path, small: bool) -> int:
    """Record the shift on the virtual clock, then dock every camera through the Axis API."""
    from .device.storage import DeviceStorage
    from .ingest.signatures import set_device_key

    stop = _shift_start()
    _traffic_stop(root, stop)
    for serial, officer, minutes, seconds, events, scene in _other_calls(small):
        _other_call(root, serial, officer, stop + timedelta(minutes=minutes), seconds, events, scene)
    # An old patrol of last year, uncategorized: past its retention (the deletion queue).
    old = stop - timedelta(days=400)
    _other_call(root, "BWC-1008", "haddad", old, 6, [{"t": 1, "action": "record"}, {"t": 5, "action": "stop"}],
                {"seed": 81})
    for serial, *_ in DEVICES:
        storage = DeviceStorage(root / serial)
        set_device_key(serial, (storage.keys_dir / "device.pub").read_text(), actor="demo")
    return _dock_all(root)


def _shift_start() -> datetime:
    """The traffic stop's scenario start: three hours ago, on a whole minute."""
    return datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=3)


def _dock_all(root: Path) -> int:
    """Serve this process's Django app on 127.0.0.1 (a free port) while the real dock uploads
    each camera's recordings through the Axis/Swift API, checks the hashes and frees the camera."""
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connections

    from .device.dock import Dock
    from .device.storage import DeviceStorage
    from .ingest.connection import connection_file

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    class Server(WSGIServer):
        def process_request(self, request, client_address):
            try:
                super().process_request(request, client_address)
            finally:
                connections.close_all()  # this thread's connection (SQLite: release the file)

    httpd = make_server("127.0.0.1", 0, WSGIHandler(), server_class=Server, handler_class=Quiet)
    thread = threading.Thread(target=httpd.serve_forever, name="demo-ingest", daemon=True)
    thread.start()
    uploaded = 0
    try:
        conn = connection_file("Demo dock", base_url=f"http://127.0.0.1:{httpd.server_port}")
        for serial, *_ in DEVICES:
            result = Dock(DeviceStorage(root / serial), conn, scu_serial="demo-dock", log=lambda *a: None).run()
            if result["rejected"] or result["failed"] or result["kept"]:
                raise DemoError(f"docking {serial} failed: {json.dumps(result)[:500]}")
            uploaded += len(result["uploaded"])
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
    return uploaded


# ------------------------------------------------------------------ work for every role

def _as(username: str):
    """A request made by ``username`` (the services audit who did what, from where)."""
    from django.test import RequestFactory

    from .access.models import User

    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1", HTTP_USER_AGENT="bodycam demo")
    request.user = User.objects.get(username=username)
    return request


def _stop_recordings():
    """The three recordings the light bar started (car + both body cameras)."""
    from .evidence.models import Recording

    return list(Recording.objects.filter(trigger_on="SignalLightBar", device__serial__in=["CAR-17", "BWC-1001", "BWC-1002"])
                .order_by("device__serial"))


def _by(serial: str):
    from .evidence.models import Recording

    return Recording.objects.filter(device__serial=serial).order_by("trigger_on_time").first()


def _work_for_every_role() -> None:
    from .access import rules
    from .access.models import User
    from .records import services as records
    from .release import services as release
    from .retention import cad, policy
    from .retention import services as retention

    # The agency's policy: which dispatch calls must be recorded, and their categories.
    policy.apply(policy.parse({"call_type_categories": {"TRAFFIC STOP": "Traffic stop",
                                                        "USE OF FORCE": "Use of force",
                                                        "PARKING": "Non-evidentiary"},
                               "compliance": {"required_call_types": ["TRAFFIC STOP", "DISTURBANCE", "USE OF FORCE"],
                                              "late_activation_s": 120}}), actor="demo")
    # Dispatch (CAD) incidents of the shift: linked to the recordings that overlap them. The
    # disturbance call: novak arrived at 14:..; his camera started four minutes later (late).
    stop = _stop_recordings()[0].trigger_on_time
    at = {s: _by(s).trigger_on_time for s in ("BWC-1003", "BWC-1004", "BWC-1005", "BWC-1006")}
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    rows = [
        {"incident_number": CAD_STOP, "call_type": "TRAFFIC STOP", "received_at": iso(stop - timedelta(minutes=2)),
         "dispatched_at": iso(stop - timedelta(minutes=2)), "arrived_at": iso(stop),
         "cleared_at": iso(stop + timedelta(minutes=20)), "location": "Main St & 3rd Ave",
         "badges": ["4127", "3318"], "units": ["CAR-17"]},
        {"incident_number": "CAD-26-0902", "call_type": "PARKING", "received_at": iso(at["BWC-1003"] - timedelta(minutes=5)),
         "arrived_at": iso(at["BWC-1003"]), "cleared_at": iso(at["BWC-1003"] + timedelta(minutes=15)),
         "location": "Elm St 12", "badges": ["3560"]},
        {"incident_number": "CAD-26-0908", "call_type": "DISTURBANCE", "received_at": iso(at["BWC-1004"] - timedelta(minutes=9)),
         "dispatched_at": iso(at["BWC-1004"] - timedelta(minutes=8)), "arrived_at": iso(at["BWC-1004"] - timedelta(minutes=4)),
         "cleared_at": iso(at["BWC-1004"] + timedelta(minutes=25)), "location": "Harbor Rd 40", "badges": ["2874"]},
        {"incident_number": "CAD-26-0931", "call_type": "USE OF FORCE", "received_at": iso(at["BWC-1005"] - timedelta(minutes=3)),
         "arrived_at": iso(at["BWC-1005"]), "cleared_at": iso(at["BWC-1005"] + timedelta(minutes=30)),
         "location": "Station Sq", "badges": ["4410"]},
    ]
    cad.import_incidents(json.dumps(rows).encode(), "json", source="demo CAD export", actor="demo")
    # kim's call (a welfare check) stays uncategorized: work for the supervisor's queue.

    # The traffic stop becomes a case: the detective works it, shares it with the prosecutor.
    custodian = User.objects.get(username="custodian")
    case = rules.add_case(CASE_NUMBER, title="Traffic stop, Main St (speeding; passenger)",
                          detectives=["det.muller"], recordings=[r.container_name for r in _stop_recordings()],
                          actor=custodian)
    release.share_case(_as("det.muller"), case.number, {"recipient": "ada.park", "allow_download": True})
    # The use of force: a critical incident (the officer involved is locked out until release),
    # restricted to the investigating detective, and under a legal hold for a civil claim.
    uof = _by("BWC-1005").container_name
    rules.lock_incident(uof, ["silva"], reason="use of force review", actor=custodian)
    rules.restrict(_by("BWC-1006").container_name, "juvenile involved", allowed=["det.ito"], actor=custodian)
    retention.place_hold("Civil claim 26-114", "notice of claim received", "demo", recordings=[uof])
    # A public-records request received long enough ago that its deadline is two days away.
    from django.conf import settings

    received = date.today() - timedelta(days=settings.RECORDS_STANDARD_DAYS - 2)
    req = records.create(_as("custodian"), {"requester": "Harbor Gazette (J. Lind)", "received_on": received.isoformat(),
                                            "scope": "Body camera footage of the Elm St parking call"})
    records.add_item(_as("custodian"), req.number, _by("BWC-1003").clips.order_by("start_time").first().id)
    # Retention: last year's uncategorized patrol is past its period: the sweep queues it.
    retention.sweep(actor="demo")
    # The admin's queue: an account locked after repeated wrong passwords (the real sign-in check).
    from .access.auth import LOCKOUT_FAILURES, AuthFailed, check_password

    for _ in range(LOCKOUT_FAILURES):
        try:
            check_password("obrien", "wrong-password", "10.0.0.23")
        except AuthFailed:
            pass


def _chain_checked() -> None:
    """The auditor's home: a signed checkpoint of the chain and a verification (both audited)."""
    from .custody.chain import create_checkpoint, record_verify, verify_chain

    create_checkpoint(actor="demo")
    record_verify(verify_chain(), actor="demo")


# ------------------------------------------------------------------ background jobs

def speech_clips():
    """The clips the conversations are on: (English clip, Spanish clip)."""
    return tuple(_clip_at(serial, TALK_T + 2) for serial in ("BWC-1001", "BWC-1002"))


def _clip_at(serial: str, t: float):
    rec = next(r for r in _stop_recordings() if r.device.serial == serial)
    start = _shift_start_of(rec)
    when = start + timedelta(seconds=t)
    for clip in rec.clips.order_by("start_time"):
        if clip.start_time and clip.start_time <= when and (clip.stop_time is None or clip.stop_time > when):
            return clip
    return rec.clips.order_by("start_time").last()


def _shift_start_of(rec) -> datetime:
    return rec.trigger_on_time - timedelta(seconds=LIGHTBAR_T)


def _background_jobs() -> int:
    """Queue (never run here) transcripts of the conversations, with the Spanish one's English
    translation, and the face analysis of the driver's clip: the worker of `bodycam serve`
    makes them; the pages show their progress."""
    from django.test import override_settings

    from .jobs.services import submit
    from .media import redactions

    english, spanish = speech_clips()
    for clip in (english, spanish):
        submit("media.transcribe", params={"clip_id": str(clip.id)}, object_type="clip", object_id=str(clip.id),
               inline=False)
    with override_settings(JOBS_INLINE=False):  # queued for the worker even where jobs run inline
        redactions.start(_as("custodian"), english.id)
    return 3


def _print_login(url: str) -> None:
    from .access import totp
    from .access.models import TotpDevice

    roles = ", ".join(f"'{u}' ({r})" for u, r, *_ in USERS if u in ("garcia", "sgt.okafor", "det.muller",
                                                                     "custodian", "ada.park", "admin", "auditor"))
    print(f"log in at {url}/login/ as {roles}; password: {DEMO_PASSWORD}")
    print("Every account needs a TOTP code (second factor). Add a demo secret to an authenticator app,")
    print("or print the current codes with `bodycam demo-totp [USERNAME]`:")
    for dev in TotpDevice.objects.filter(label="demo").select_related("user").order_by("user__username"):
        print(f"  {dev.user.username:<12} {dev.user.role:<11} {totp.otpauth_uri(dev.secret, dev.user.username)}")
