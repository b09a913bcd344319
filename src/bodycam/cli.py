"""The one ``bodycam`` command. Sub-commands map to the packages (see docs/architecture.md).

Every error exits non-zero with a one-line reason.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from .errors import CliError, cli_error

# Apps whose commands come first in `bodycam --help` (each module: add_commands(sub)).
CORE_COMMAND_MODULES = (
    "bodycam.access.cli",  # user, token, access
    "bodycam.ingest.cli",  # device, connection-file
    "bodycam.evidence.cli",  # evidence list/show
    "bodycam.custody.cli",  # fsck, alerts, orphan-sweep, orphans, audit
)

# Packages that add their own sub-commands (one line each; keep sorted).
COMMAND_MODULES = (
    "bodycam.jobs.cli",  # jobs list/submit/retry/reconcile
    "bodycam.live.cli",  # live command-staff
    "bodycam.media.cli",  # media backfill, transcribe, models, c2pa-verify
    "bodycam.ops.cli",  # backup, restore
    "bodycam.retention.cli",  # retention, cad, compliance, storage
    "bodycam.search.cli",  # search reindex
)


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bodycam.settings")
    import django

    django.setup()


def cmd_init(args) -> int:
    from .ops import initialise

    initialise(verbose=not args.quiet)
    return 0


def cmd_serve(args) -> int:
    from .ops import initialise
    from .server import serve

    initialise(verbose=False)
    serve(args.host, args.port, workers=args.workers, threads=args.threads, with_worker=not args.no_worker)
    return 0


def cmd_worker(args) -> int:
    from .server import run_worker

    return run_worker(beat=not args.no_beat)


def cmd_demo_totp(args) -> int:
    from .access import totp
    from .access.models import TotpDevice

    devs = TotpDevice.objects.filter(label="demo", confirmed_at__isnull=False).select_related("user")
    if args.username:
        devs = devs.filter(user__username=args.username)
    rows = [(d.user.username, totp.code_at(d.secret)) for d in devs.order_by("user__username")]
    if not rows:
        raise CliError("no demo-provisioned authenticator for that user (run `bodycam demo` first)")
    for username, code in rows:
        print(f"{username:<12} {code}")
    return 0


def cmd_demo(args) -> int:
    from .demo import load_demo
    from .ops import initialise

    initialise(verbose=False)
    from .ingest.connection import public_base_url, served_url

    load_demo(public_base_url(fallback=served_url(args.host, args.port)), small=args.small)
    if args.no_serve:
        return 0
    from .server import serve

    serve(args.host, args.port)
    return 0


def cmd_config_show(args) -> int:
    from . import config

    rows = config.show(config.load())
    if args.json:
        print(json.dumps([{"name": n, "value": v, "source": s} for n, v, s in rows], indent=2))
        return 0
    width = max(len(name) for name, _, _ in rows)
    for name, value, source in rows:
        print(f"{name:<{width}}  {source:<11}  {value or '(empty)'}")
    return 0


def cmd_config_docs(args) -> int:
    from . import config

    print(config.reference(), end="")
    return 0


def _debug() -> bool:
    from . import config

    try:
        return bool(config.env_value("BODYCAM_DEBUG"))
    except config.SettingError:
        return False


def _verify_export(args) -> int:
    from .provenance.export import cli_verify

    return cli_verify(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bodycam", description="Body-worn camera evidence system")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("init", help="create/migrate the database and keys (idempotent)")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("serve", help="web app + ingest endpoint + background worker")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--threads", type=int, default=8)
    s.add_argument("--no-worker", action="store_true", help="do not start the embedded job worker")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("worker", help="run a background job worker (Celery)")
    s.add_argument("--no-beat", action="store_true", help="do not schedule periodic jobs from this worker")
    s.set_defaults(func=cmd_worker)

    # Server commands each app owns (its cli.add_commands), then the device side (no Django).
    for module in CORE_COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub)
    from .device.cli import add_commands as add_device_commands

    add_device_commands(sub)  # camera, signal, dock: device side, no Django

    s = sub.add_parser("verify", help="check a court export ZIP offline (hashes, signatures); exit 1 on any problem")
    s.add_argument("export")
    s.add_argument("--key", help="trusted server public key (base64, or a PEM/base64 file) to pin")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_verify_export, offline=True)

    s = sub.add_parser("config", help="the BODYCAM_* settings: values in effect, reference")
    config_sub = s.add_subparsers(dest="config_command", required=True)
    c = config_sub.add_parser("show", help="every setting's value in effect (secrets masked) and where it came from")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_config_show, offline=True)
    c = config_sub.add_parser("docs", help="the settings reference (docs/settings.md) as Markdown")
    c.set_defaults(func=cmd_config_docs, offline=True)
    # Each package with commands of its own exposes add_commands(sub) in its cli module.
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub)

    s = sub.add_parser("demo-totp", help="current authenticator codes of the demo accounts")
    s.add_argument("username", nargs="?")
    s.set_defaults(func=cmd_demo_totp)

    s = sub.add_parser("demo", help="load demo officers, devices and real recordings, then serve")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--no-serve", action="store_true")
    s.add_argument("--small", action="store_true", help="shorter other calls (quick tests); the same people and queues")
    s.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "offline", False):  # e.g. `bodycam verify`: no settings, no database
            return args.func(args)
        if getattr(args, "no_django", False):
            from .device.cli import run_device_command

            return run_device_command(args)
        _django()
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line, not a traceback, for operators (bodycam.errors.cli_error)
        if not isinstance(exc, CliError) and _debug():
            raise
        line, code = cli_error(exc)
        print(line, file=sys.stderr)
        return code


if __name__ == "__main__":
    # `python -m bodycam.cli` runs this file as __main__; go through the one bodycam.cli module
    # (the command modules import it via importlib, and CliError lives in bodycam.errors).
    from bodycam.cli import main as _main

    sys.exit(_main())
