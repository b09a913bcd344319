"""``bodycam camera ...``, ``bodycam signal send`` and ``bodycam dock``: argument parsing only;
the work is in the modules next to this one. None of these commands needs Django."""

from __future__ import annotations

import json
import sys

from ..errors import BodycamError, CliError


class DeviceCliError(CliError):
    pass


def _config_args(s) -> None:
    g = s.add_argument_group("camera settings (saved in DIR/device.json)")
    g.add_argument("--serial")
    g.add_argument("--user-id", help="Axis user UUID of the officer wearing the camera")
    g.add_argument("--model")
    g.add_argument("--firmware")
    g.add_argument("--time-zone")
    g.add_argument("--group", action="append", dest="groups", metavar="VEHICLE",
                   help="vehicle/unit whose signals this camera obeys (repeatable)")
    g.add_argument("--resolution", help="WIDTHxHEIGHT (default 1280x720)")
    g.add_argument("--fps", type=int)
    g.add_argument("--bitrate", type=int, help="video bits per second")
    g.add_argument("--keyframe-interval", type=float, dest="keyframe_interval_s", help="seconds")
    g.add_argument("--no-audio", action="store_const", const=False, dest="audio")
    g.add_argument("--container-type", choices=["mp4", "mkv"])
    g.add_argument("--buffer", type=float, dest="buffer_seconds", help="pre-event buffer seconds, 0-120 (default 30)")
    g.add_argument("--buffer-max-mb", type=float, help="pre-event buffer memory bound (default 64)")
    g.add_argument("--buffer-audio", action="store_const", const=True, dest="buffer_audio",
                   help="keep audio in the pre-event buffer (default: video only)")
    g.add_argument("--clip-length", type=float, dest="clip_seconds", help="split clips every N seconds (default 300)")
    g.add_argument("--live-url", metavar="URL",
                   help="live view: the bodycam server to stream to while recording (docs/live.md); '' turns it off")
    g.add_argument("--live-position-interval", type=float, dest="live_position_interval_s",
                   help="live view: seconds between positions sent while recording (default 10)")


def _load(args):
    from .config import ConfigError, load_config
    from .storage import DeviceStorage

    storage = DeviceStorage(args.storage).ensure()
    over = {k: getattr(args, k, None) for k in ("serial", "user_id", "model", "firmware", "time_zone", "groups", "fps",
                                                "bitrate", "keyframe_interval_s", "audio", "container_type",
                                                "buffer_seconds", "buffer_audio", "clip_seconds", "live_url",
                                                "live_position_interval_s")}
    if getattr(args, "resolution", None):
        try:
            w, h = args.resolution.lower().split("x")
            over["width"], over["height"] = int(w), int(h)
        except ValueError:
            raise DeviceCliError("--resolution must be WIDTHxHEIGHT") from None
    if getattr(args, "buffer_max_mb", None) is not None:
        over["buffer_max_bytes"] = int(args.buffer_max_mb * 1024 * 1024)
    try:
        config = load_config(storage, **over)
    except (ConfigError, TypeError) as exc:
        raise DeviceCliError(str(exc)) from None
    return storage, config


def _policy_and_gnss(args):
    from . import gnss
    from .triggers import Policy, TriggerPolicyError

    try:
        policy = Policy.load(args.policy)
    except TriggerPolicyError as exc:
        raise DeviceCliError(str(exc)) from None
    track = None
    if getattr(args, "gnss", None):
        try:
            track = gnss.load(args.gnss)
        except (OSError, ValueError) as exc:
            raise DeviceCliError(f"GNSS file: {exc}") from None
    return policy, track


def cmd_camera_init(args) -> int:
    from ..provenance.keys import public_b64

    storage, config = _load(args)
    if not config.user_id:
        raise DeviceCliError("--user-id (the officer's Axis user UUID) is required")
    print(json.dumps({"serial": config.serial, "user_id": config.user_id, "public_key": public_b64(storage.key()),
                      "public_key_file": str(storage.keys_dir / "device.pub")}, indent=2))
    return 0


def cmd_camera_key(args) -> int:
    from ..provenance.keys import public_b64
    from .storage import DeviceStorage

    print(public_b64(DeviceStorage(args.storage).ensure().key()))
    return 0


def cmd_camera_simulate(args) -> int:
    from .camera import ScenarioError, load_scenario, simulate
    from .sources import SourceError

    storage, config = _load(args)
    policy, track = _policy_and_gnss(args)
    try:
        scenario = load_scenario(args.scenario)
        if scenario.get("cameras"):
            from .camera import simulate_incident

            settings = {k: v for k, v in config.to_dict().items() if k not in ("serial", "user_id", "groups", "kind")}
            print(json.dumps(simulate_incident(storage.root, args.source, scenario, settings), indent=2))
            return 0
        if scenario.get("device"):
            from .config import ConfigError, DeviceConfig

            try:
                config = DeviceConfig.from_dict({**config.to_dict(), **scenario["device"]})
            except (ConfigError, TypeError) as exc:
                raise DeviceCliError(f"scenario device: {exc}") from None
        if not config.user_id:
            raise DeviceCliError("the camera has no officer: pass --user-id (Axis user UUID)")
        summary = simulate(storage, args.source, scenario, config, policy, track, fsync=args.fsync)
    except (ScenarioError, SourceError) as exc:
        raise DeviceCliError(str(exc)) from None
    print(json.dumps(summary, indent=2))
    return 0


def cmd_camera_run(args) -> int:
    from .camera import run
    from .sources import SourceError

    storage, config = _load(args)
    if not config.user_id:
        raise DeviceCliError("the camera has no officer: pass --user-id (Axis user UUID)")
    policy, track = _policy_and_gnss(args)
    try:
        summary = run(storage, args.source, config, policy, track, duration=args.duration,
                      signals=not args.no_signals, record_now=args.record,
                      ready=lambda: print("camera ready", flush=True), ble=args.ble)
    except SourceError as exc:
        raise DeviceCliError(str(exc)) from None
    except BodycamError as exc:  # BLE keys missing or damaged, no dongle
        raise DeviceCliError(str(exc)) from None
    print(json.dumps(summary, indent=2))
    return 0


def cmd_camera_ctl(args) -> int:
    from .triggers import Event, send_control

    ev = Event(args.action, text=args.text or "", category_id=args.category_id or "",
               category_name=args.category_name or "", tags=args.tags or "", source="button")
    try:
        send_control(args.storage, ev)
    except ConnectionError as exc:
        raise DeviceCliError(str(exc)) from None
    return 0


def cmd_camera_status(args) -> int:
    from .storage import DeviceStorage, read_json

    storage = DeviceStorage(args.storage)
    rows = []
    for d in storage.recordings():
        state = read_json(d / "recording.json") or {}
        up = read_json(d / "upload.json", {}) or {}
        rows.append({"recording": d.name, "state": state.get("state"), "clips": len(state.get("clips", [])),
                     "trigger_on": state.get("metadata", {}).get("TriggerOn"),
                     "trigger_off": state.get("metadata", {}).get("TriggerOff"),
                     "upload": up.get("status", "pending")})
    print(json.dumps(rows, indent=2))
    return 0


def cmd_camera_ble_keys(args) -> int:
    from .signals import AgencyKey, CameraKeys, SignalKeyError
    from .storage import DeviceStorage

    storage = DeviceStorage(args.storage).ensure()
    try:
        units = frozenset(int(u) for u in args.units.split(",") if u.strip())
        keys = CameraKeys(AgencyKey.load(args.agency_key), units, args.unit or 0, args.emitter or 0)
    except ValueError as exc:
        raise DeviceCliError(f"--units: {exc}" if not isinstance(exc, SignalKeyError) else str(exc)) from None
    if (keys.unit or keys.emitter) and not (keys.unit and keys.emitter):
        raise DeviceCliError("--unit and --emitter go together (both non-zero): the camera's own group starts")
    path = keys.save(storage.keys_dir)
    print(json.dumps({"file": str(path), "units": sorted(keys.units), "unit": keys.unit, "emitter": keys.emitter}))
    return 0


def cmd_signal_keygen(args) -> int:
    from .signals import AgencyKey

    AgencyKey.generate(args.key_id, int(args.company_id, 0)).save(args.out)
    print(json.dumps({"file": args.out, "key_id": args.key_id}))
    return 0


def cmd_signal_provision(args) -> int:
    from .signals import AgencyKey, EmitterKey, SignalKeyError

    try:
        key = EmitterKey.provision(AgencyKey.load(args.agency_key), args.unit, args.emitter)
    except SignalKeyError as exc:
        raise DeviceCliError(str(exc)) from None
    key.save(args.out)
    print(json.dumps({"file": args.out, "unit": key.unit, "emitter": key.emitter, "key_id": key.key_id}))
    return 0


def cmd_signal_send_ble(args) -> int:
    from ..config import env_value
    from .ble import BleError, send_ble_signal
    from .signals import EVENT_CODES, EmitterKey, SignalKeyError

    if args.off:
        raise DeviceCliError("BLE signals only start recordings: there is no --off")
    if args.vehicle:
        raise DeviceCliError("with --ble the unit comes from the key file, not --vehicle")
    if args.kind not in EVENT_CODES:
        raise DeviceCliError(f"{args.kind} has no BLE event code; one of {', '.join(EVENT_CODES)}")
    if not args.key_file:
        raise DeviceCliError("--ble needs --key-file (from `bodycam signal provision`)")
    transport = args.transport or env_value("BODYCAM_BLE_TRANSPORT")
    try:
        key = EmitterKey.load(args.key_file)
        out = send_ble_signal(args.kind, key, transport, args.counter_file or f"{args.key_file}.counter",
                              value=args.value, seconds=args.seconds)
    except (BleError, SignalKeyError, ValueError, OSError) as exc:
        raise DeviceCliError(str(exc)) from None
    print(json.dumps(out))
    return 0


def cmd_signal_send(args) -> int:
    from .triggers import send_signal

    if args.ble:
        return cmd_signal_send_ble(args)
    if args.kind == "group":
        raise DeviceCliError("a group start is a BLE signal: use --ble")
    try:
        ev = send_signal(args.kind, vehicle=args.vehicle or "", state="off" if args.off else "on", value=args.value)
    except (ValueError, OSError) as exc:
        raise DeviceCliError(str(exc)) from None
    print(json.dumps(ev.to_dict()))
    return 0


def cmd_dock(args) -> int:
    from .dock import DockError, dock
    from .swift import SwiftError

    try:
        result = dock(args.storage, args.connection_file, scu_serial=args.scu_serial, parallel=args.parallel,
                      rate_limit=args.rate_limit, watch=args.watch, retry_rejected=args.retry_rejected,
                      log=(lambda *a: None) if args.json else (lambda m: print(m, flush=True)))
    except (DockError, SwiftError) as exc:
        raise DeviceCliError(str(exc)) from None
    if args.json:
        print(json.dumps(result, indent=2))
    return 1 if result["failed"] else 0


def add_commands(sub) -> None:
    from .triggers import ACTIONS, SIGNALS

    cam = sub.add_parser("camera", help="the body camera (device side)").add_subparsers(dest="camera_cmd", required=True)

    s = cam.add_parser("init", help="create device storage: identity, settings and Ed25519 key; print the public key")
    s.add_argument("--storage", required=True, metavar="DIR")
    _config_args(s)
    s.set_defaults(func=cmd_camera_init, no_django=True)

    s = cam.add_parser("key", help="print the camera's public key (base64) for `bodycam device set-key`")
    s.add_argument("--storage", required=True, metavar="DIR")
    s.set_defaults(func=cmd_camera_key, no_django=True)

    s = cam.add_parser("run", help="record in real time from a source; buttons via `camera ctl`, signals via multicast")
    s.add_argument("--storage", required=True, metavar="DIR")
    s.add_argument("--source", required=True, help="testsrc2 | barcode | lavfi:GRAPH | /dev/video0 | rtsp://... | FILE")
    s.add_argument("--policy", help="activation policy JSON")
    s.add_argument("--gnss", help="NMEA, GPX or JSON track file")
    s.add_argument("--duration", type=float, help="stop after N seconds (default: until SIGTERM)")
    s.add_argument("--record", action="store_true", help="start recording at once")
    s.add_argument("--no-signals", action="store_true", help="do not listen for vehicle signals")
    s.add_argument("--ble", metavar="TRANSPORT",
                   help="also listen for Bluetooth LE signals on this bumble transport (usb:0, serial:/dev/ttyACM0, ...)")
    _config_args(s)
    s.set_defaults(func=cmd_camera_run, no_django=True)

    s = cam.add_parser("ble-keys", help="provision the camera for BLE signals: agency key, units it accepts, "
                                        "its own unit/emitter id for group starts (DIR/keys/ble.json)")
    s.add_argument("--storage", required=True, metavar="DIR")
    s.add_argument("--agency-key", required=True, metavar="F", help="from `bodycam signal keygen`")
    s.add_argument("--units", required=True, help="comma-separated unit ids whose signals this camera accepts")
    s.add_argument("--unit", type=int, help="this camera's unit (for the group starts it sends)")
    s.add_argument("--emitter", type=int, help="this camera's emitter id within its unit (1-65535, unique)")
    s.set_defaults(func=cmd_camera_ble_keys, no_django=True)

    s = cam.add_parser("simulate", help="run a scripted shift on a virtual clock (seconds, not hours); "
                                        "with a 'cameras' list, several cameras in DIR/<serial>")
    s.add_argument("--storage", required=True, metavar="DIR")
    s.add_argument("--source", required=True)
    s.add_argument("--scenario", required=True, metavar="FILE")
    s.add_argument("--policy")
    s.add_argument("--gnss")
    s.add_argument("--fsync", action="store_true", help="fsync every fragment as a real camera does")
    _config_args(s)
    s.set_defaults(func=cmd_camera_simulate, no_django=True)

    s = cam.add_parser("ctl", help="press a button on a running camera (watchme: ask supervisors to look now)")
    s.add_argument("action", choices=ACTIONS)
    s.add_argument("--storage", required=True, metavar="DIR")
    s.add_argument("--text")
    s.add_argument("--category-id")
    s.add_argument("--category-name")
    s.add_argument("--tags", help="'key:value;key:value'")
    s.set_defaults(func=cmd_camera_ctl, no_django=True)

    s = cam.add_parser("status", help="recordings on the device and their upload state (JSON)")
    s.add_argument("--storage", required=True, metavar="DIR")
    s.set_defaults(func=cmd_camera_status, no_django=True)

    sig = sub.add_parser("signal", help="vehicle/sensor signals").add_subparsers(dest="signal_cmd", required=True)
    s = sig.add_parser("send", help="broadcast a signal (UDP multicast, or BLE with --ble) to cameras in range")
    s.add_argument("kind", choices=list(SIGNALS))
    s.add_argument("--vehicle", help="sending vehicle/unit: only cameras in its group react")
    s.add_argument("--off", action="store_true", help="the signal ended (e.g. light bar switched off)")
    s.add_argument("--value", type=float, help="speed in km/h for `speed`")
    s.add_argument("--ble", action="store_true", help="send as a Bluetooth LE advertisement (docs/device.md)")
    s.add_argument("--key-file", metavar="F", help="BLE: this emitter's key (`bodycam signal provision`)")
    s.add_argument("--transport", help="BLE: bumble transport of the dongle (default $BODYCAM_BLE_TRANSPORT or usb:0)")
    s.add_argument("--counter-file", metavar="F", help="BLE: where the counter is kept (default KEY_FILE.counter)")
    s.add_argument("--seconds", type=float, default=1.5, help="BLE: how long to advertise (default 1.5)")
    s.set_defaults(func=cmd_signal_send, no_django=True)

    s = sig.add_parser("keygen", help="BLE: make a new agency key (keep it like a CA key)")
    s.add_argument("--out", required=True, metavar="F")
    s.add_argument("--key-id", type=int, default=1, choices=range(256), metavar="0-255")
    s.add_argument("--company-id", default="0xFFFF", help="Bluetooth SIG company id in the advertisement")
    s.set_defaults(func=cmd_signal_keygen, no_django=True)

    s = sig.add_parser("provision", help="BLE: an emitter's key (vehicle, holster...) derived from the agency key")
    s.add_argument("--agency-key", required=True, metavar="F")
    s.add_argument("--unit", type=int, required=True, help="unit/vehicle id, 0-4294967295")
    s.add_argument("--emitter", type=int, required=True, help="emitter id within the unit, 0-65535")
    s.add_argument("--out", required=True, metavar="F")
    s.set_defaults(func=cmd_signal_provision, no_django=True)

    s = sub.add_parser("dock", help="upload a camera's recordings through the Axis/Swift API, then free them")
    s.add_argument("--storage", required=True, metavar="DIR")
    s.add_argument("--connection-file", required=True, metavar="F")
    s.add_argument("--scu-serial", default="bodycam-dock")
    s.add_argument("--parallel", type=int, default=1, help="recordings uploaded at once")
    s.add_argument("--rate-limit", type=int, help="bytes per second per upload")
    s.add_argument("--watch", type=float, help="keep running, checking every N seconds")
    s.add_argument("--retry-rejected", action="store_true",
                   help="try again recordings the server refused before (e.g. after registering the camera)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_dock, no_django=True)


def run_device_command(args) -> int | None:
    """Called by bodycam.cli.main for commands that need no Django; None if not one of ours."""
    if not getattr(args, "no_django", False):
        return None
    try:
        return args.func(args)
    except DeviceCliError as exc:
        print(f"bodycam: error: {exc}", file=sys.stderr)
        return 2
