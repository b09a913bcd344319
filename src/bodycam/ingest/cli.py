"""`bodycam device ...` (cameras and their manifest keys) and `bodycam connection-file`."""

from __future__ import annotations

import json

from ..errors import CliError


def cmd_device_add(args) -> int:
    from ..evidence.services import CatalogueError
    from .devices import add_device

    key = _read_key(args.public_key_file) if args.public_key_file else None
    try:
        device = add_device(args.serial, model=args.model or "", kind=args.kind, name=args.name or "")
    except CatalogueError as exc:
        raise CliError(str(exc)) from None
    print(f"created {device.kind} camera {device.serial} ({device.id})")
    if key:
        return cmd_device_set_key(args, key)
    return 0


def _read_key(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(16 * 1024)
    except OSError as exc:
        raise CliError(f"cannot read public key file: {exc.strerror}") from None


def cmd_device_set_key(args, key: str | None = None) -> int:
    from .signatures import DeviceKeyError, set_device_key

    try:
        device, counts = set_device_key(args.serial, key or _read_key(args.public_key_file))
    except DeviceKeyError as exc:
        raise CliError(str(exc)) from None
    print(f"registered manifest key for {device.serial}; re-verified clips: {counts['valid']} valid, {counts['invalid']} invalid")
    return 0


def cmd_connection_file(args) -> int:
    from .connection import connection_file

    if len(args.site) > 64:
        raise CliError("--site is at most 64 characters")
    print(json.dumps(connection_file(args.site, args.url, args.container_type), indent=2))
    return 0


def add_commands(sub) -> None:
    device = sub.add_parser("device", help="cameras").add_subparsers(dest="device_cmd", required=True)
    s = device.add_parser("add")
    s.add_argument("serial")
    s.add_argument("--model")
    s.add_argument("--kind", default="body", choices=["body", "vehicle"])
    s.add_argument("--name")
    s.add_argument("--public-key-file", help="the camera's Ed25519 public key (PEM or base64), to verify its manifests")
    s.set_defaults(func=cmd_device_add)
    s = device.add_parser("set-key", help="register/replace a camera's manifest key; re-verifies its clips")
    s.add_argument("serial")
    s.add_argument("--public-key-file", required=True)
    s.set_defaults(func=cmd_device_set_key)


    s = sub.add_parser("connection-file", help="print the Axis connection JSON for a Body Worn Manager")
    s.add_argument("--site", default="bodycam")
    s.add_argument("--url", default=None, help="public base URL (default: BODYCAM_PUBLIC_URL, else the address "
                                                "`bodycam serve` last served from this data directory)")
    s.add_argument("--container-type", default="mp4", choices=["mp4", "mkv"])
    s.set_defaults(func=cmd_connection_file)
