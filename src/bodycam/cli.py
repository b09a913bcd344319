"""The one ``bodycam`` command. Sub-commands map to the packages (see DESIGN.md).

Every error exits non-zero with a one-line reason.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


# Packages that add their own sub-commands (one line each; keep sorted).
COMMAND_MODULES = (
    "bodycam.ops.cli",  # backup, restore, jobs list
    "bodycam.release.cli",  # media backfill, search reindex, share/export
    "bodycam.retention.cli",  # retention, cad, compliance, storage
    "bodycam.records.cli",  # transcribe, redact, c2pa-verify, records requests
)


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


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


def _read_password(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\r\n")
    except OSError as exc:
        raise CliError(f"cannot read password file: {exc.strerror}") from None


def cmd_user_add(args) -> int:
    from .evidence.services import CatalogueError, add_user

    try:
        user = add_user(args.username, args.role, _read_password(args.password_file), badge=args.badge or "",
                        axis_user_id=args.axis_user_id)
    except CatalogueError as exc:
        raise CliError(str(exc)) from None
    print(f"created {user.role} {user.username} ({user.id})")
    return 0


def cmd_device_add(args) -> int:
    from .evidence.services import CatalogueError, add_device

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
    from .ingest.signatures import KeyError_, set_device_key

    try:
        device, counts = set_device_key(args.serial, key or _read_key(args.public_key_file))
    except KeyError_ as exc:
        raise CliError(str(exc)) from None
    print(f"registered manifest key for {device.serial}; re-verified clips: {counts['valid']} valid, {counts['invalid']} invalid")
    return 0


def cmd_connection_file(args) -> int:
    from .ingest.connection import connection_file

    if len(args.site) > 64:
        raise CliError("--site is at most 64 characters")
    print(json.dumps(connection_file(args.site, args.url, args.container_type), indent=2))
    return 0


def cmd_evidence_list(args) -> int:
    from .evidence.services import all_clips, clip_summary

    rows = [clip_summary(c) for c in all_clips()]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['id']}  {r['sha256'][:16]}  {r['size']:>12}  {r['officer']['username'] or r['officer']['name']:<12} "
                  f"{r['device']:<12} {r['recording']}/{r['object']}  {r['start']}  {r['status']}")
    return 0


def cmd_evidence_show(args) -> int:
    from .evidence.services import CatalogueError, recording_detail

    try:
        detail = recording_detail(args.recording)
    except CatalogueError as exc:
        raise CliError(str(exc)) from None
    print(json.dumps(detail, indent=2, ensure_ascii=False))
    return 0


def cmd_fsck(args) -> int:
    from dataclasses import asdict

    from .custody.fixity import run_fixity_check

    checked, problems = run_fixity_check(actor="cli:fsck")
    if args.json:
        print(json.dumps({"checked": checked, "ok": not problems, "problems": [asdict(p) for p in problems]}, indent=2))
    else:
        for p in problems:
            for item in p.items:
                print(f"{p.problem.upper()}: {item['container']}/{item['object']} ({item['kind']} {item['id']}) "
                      f"sha256 {p.sha256}" + (f" now hashes to {p.actual_sha256}" if p.actual_sha256 else ""))
        print(f"{checked} objects checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_alerts(args) -> int:
    from .custody.models import Alert

    rows = [{"id": str(a.id), "created_at": a.created_at.isoformat(), "level": a.level, "kind": a.kind,
             "message": a.message, "acknowledged": a.acknowledged_at is not None}
            for a in Alert.objects.all()[: args.limit]]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['created_at']}  {r['level']:<8} {r['kind']:<20} {r['message']}")
    return 0


def cmd_orphan_sweep(args) -> int:
    from .custody.fixity import sweep_orphans

    print(json.dumps(sweep_orphans(grace_seconds=args.grace), indent=2))
    return 0


def cmd_audit_verify(args) -> int:
    from .custody.chain import verify_chain

    try:
        res = verify_chain(witness=args.witness)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read witness file: {exc}") from None
    if args.json:
        print(json.dumps(res.as_dict(), indent=2))
    elif res.ok:
        print(f"audit chain OK: {res.entries} entries, head {res.head_hash}, {res.checkpoints} checkpoint(s) "
              f"and {res.witness_checkpoints} witnessed checkpoint(s) verified")
    else:
        first = res.first
        print(f"AUDIT CHAIN BROKEN at entry {first.seq}: {first.message}" if first.seq is not None
              else f"AUDIT CHAIN BROKEN: {first.message}")
        for p in res.problems[1:20]:
            print(f"  also: {p.message}")
    return 0 if res.ok else 1


def cmd_audit_export(args) -> int:
    from .custody.chain import export_chain
    from .custody.services import record

    record("audit.export", actor="cli", object_type="audit_log", detail={"out": args.out or "-"})
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            n = export_chain(f)
        print(f"exported {n} entries to {args.out}", file=sys.stderr)
    else:
        export_chain(sys.stdout)
    return 0


def cmd_audit_checkpoint(args) -> int:
    from .custody.chain import checkpoint_dict, create_checkpoint

    cp = create_checkpoint(actor="cli", witness=args.witness)
    print(json.dumps(checkpoint_dict(cp), indent=2))
    return 0


def _account(username):
    from .access.auth import AccountError, get_user

    try:
        return get_user(username)
    except AccountError as exc:
        raise CliError(str(exc)) from None


def cmd_user_unlock(args) -> int:
    from .access.auth import unlock

    unlock(_account(args.username))
    print(f"unlocked {args.username}")
    return 0


def cmd_user_role(args) -> int:
    from .access.auth import AccountError, set_role

    try:
        set_role(_account(args.username), args.role)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    print(f"{args.username} is now {args.role}")
    return 0


def cmd_user_mfa_reset(args) -> int:
    from .access.auth import reset_mfa

    reset_mfa(_account(args.username))
    print(f"{args.username} must enrol a new authenticator at next sign-in")
    return 0


def cmd_token_create(args) -> int:
    from .access.auth import AccountError, create_token

    try:
        tok, key = create_token(_account(args.username), args.name, days=args.days)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    print(json.dumps({"id": str(tok.id), "user": args.username, "token": key,
                      "expires_at": tok.expires_at.isoformat() if tok.expires_at else None}, indent=2))
    return 0


def cmd_token_revoke(args) -> int:
    from .access.auth import AccountError, revoke_token

    try:
        revoke_token(args.token_id)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    print(f"revoked {args.token_id}")
    return 0


def _rules(fn, *a, **kw):
    from .access.rules import RuleError

    try:
        return fn(*a, **kw)
    except RuleError as exc:
        raise CliError(str(exc)) from None


def cmd_access(args) -> int:
    from .access import rules

    if args.access_cmd == "squad":
        squad = _rules(rules.add_squad, args.name, supervisors=args.supervisor, members=args.member)
        print(f"squad {squad.name} ({squad.id})")
    elif args.access_cmd == "case":
        case = _rules(rules.add_case, args.number, title=args.title or "", detectives=args.detective,
                      recordings=args.recording)
        print(f"case {case.number} ({case.id})")
    elif args.access_cmd == "restrict":
        r = _rules(rules.restrict, args.recording, args.reason, allowed=args.allow)
        print(f"restricted {args.recording} ({r.id}); allowed: {', '.join(r.allowed.values_list('username', flat=True))}")
    elif args.access_cmd == "incident-lock":
        lock = _rules(rules.lock_incident, args.recording, args.involved, reason=args.reason or "")
        print(f"locked {args.recording} for {', '.join(args.involved)} ({lock.id})")
    elif args.access_cmd == "incident-release":
        n = _rules(rules.release_incident, args.recording)
        print(f"released {n} lock(s) on {args.recording}")
    elif args.access_cmd == "grant":
        g = _rules(rules.grant, args.username, args.recording, args.reason, days=args.days)
        print(f"granted {args.username} access to {args.recording} ({g.id})")
    return 0


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
    load_demo()
    if args.no_serve:
        return 0
    from .server import serve

    serve(args.host, args.port)
    return 0


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

    user = sub.add_parser("user", help="accounts").add_subparsers(dest="user_cmd", required=True)
    s = user.add_parser("add")
    s.add_argument("username")
    s.add_argument("--role", required=True)
    s.add_argument("--password-file", required=True)
    s.add_argument("--badge")
    s.add_argument("--axis-user-id")
    s.set_defaults(func=cmd_user_add)

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

    from .device.cli import add_commands as add_device_commands

    add_device_commands(sub)  # camera, signal, dock: device side, no Django

    s = sub.add_parser("connection-file", help="print the Axis connection JSON for a Body Worn Manager")
    s.add_argument("--site", default="bodycam")
    s.add_argument("--url", default=None, help="public base URL (default http://127.0.0.1:8000)")
    s.add_argument("--container-type", default="mp4", choices=["mp4", "mkv"])
    s.set_defaults(func=cmd_connection_file)

    ev = sub.add_parser("evidence", help="the catalogue").add_subparsers(dest="evidence_cmd", required=True)
    s = ev.add_parser("list")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_evidence_list)
    s = ev.add_parser("show", help="one recording with its clips, bookmarks and GNSS track (JSON)")
    s.add_argument("recording", help="container name or recording id")
    s.add_argument("--json", action="store_true", help="(always JSON; accepted for symmetry)")
    s.set_defaults(func=cmd_evidence_show)

    s = sub.add_parser("fsck", help="re-hash every stored original; exit 1 on any mismatch or missing object")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_fsck)

    s = sub.add_parser("alerts", help="operator alerts (full disk, fixity failures), newest first")
    s.add_argument("--json", action="store_true")
    s.add_argument("--limit", type=int, default=100)
    s.set_defaults(func=cmd_alerts)

    s = sub.add_parser("orphan-sweep", help="quarantine blobs no catalogue row names; drop stale partial uploads")
    s.add_argument("--grace", type=float, default=3600.0, help="seconds a blob must be old (default 3600)")
    s.set_defaults(func=cmd_orphan_sweep)

    user_s = user
    s = user_s.add_parser("unlock", help="clear a sign-in lockout (audited)")
    s.add_argument("username")
    s.set_defaults(func=cmd_user_unlock)
    s = user_s.add_parser("set-role", help="change an account's role (audited)")
    s.add_argument("username")
    s.add_argument("role")
    s.set_defaults(func=cmd_user_role)
    s = user_s.add_parser("mfa-reset", help="remove an account's authenticator; it enrols again at next sign-in")
    s.add_argument("username")
    s.set_defaults(func=cmd_user_mfa_reset)

    tok = sub.add_parser("token", help="API tokens for integrations").add_subparsers(dest="token_cmd", required=True)
    s = tok.add_parser("create", help="issue a token acting as USERNAME (shown once)")
    s.add_argument("username")
    s.add_argument("--name", required=True)
    s.add_argument("--days", type=int, default=None, help="expire after this many days")
    s.set_defaults(func=cmd_token_create)
    s = tok.add_parser("revoke")
    s.add_argument("token_id")
    s.set_defaults(func=cmd_token_revoke)

    audit = sub.add_parser("audit", help="the tamper-evident audit chain").add_subparsers(dest="audit_cmd", required=True)
    s = audit.add_parser("verify", help="recompute the chain and checkpoints; exit 1 naming the first bad entry")
    s.add_argument("--json", action="store_true")
    s.add_argument("--witness", help="also check the checkpoints in this witness file")
    s.set_defaults(func=cmd_audit_verify)
    s = audit.add_parser("export", help="the whole chain, checkpoints and server key as JSON lines")
    s.add_argument("--out", help="file to write (default: standard output)")
    s.set_defaults(func=cmd_audit_export)
    s = audit.add_parser("checkpoint", help="sign the chain head now (Ed25519); append it to a witness file")
    s.add_argument("--witness", help="witness file (JSON lines) to append to (default BODYCAM_AUDIT_WITNESS_FILE)")
    s.set_defaults(func=cmd_audit_checkpoint)

    acc = sub.add_parser("access", help="object rules: squads, cases, restrictions, incident locks, grants "
                         "(all audited)").add_subparsers(dest="access_cmd", required=True)
    s = acc.add_parser("squad", help="create/extend a squad")
    s.add_argument("name")
    s.add_argument("--supervisor", action="append", default=[])
    s.add_argument("--member", action="append", default=[])
    s = acc.add_parser("case", help="create/extend a case: detectives see its recordings")
    s.add_argument("number")
    s.add_argument("--title")
    s.add_argument("--detective", action="append", default=[])
    s.add_argument("--recording", action="append", default=[], help="container name or recording id")
    s = acc.add_parser("restrict", help="restrict a recording to named people")
    s.add_argument("recording")
    s.add_argument("--reason", required=True)
    s.add_argument("--allow", action="append", default=[])
    s = acc.add_parser("incident-lock", help="critical-incident lockout for involved officers")
    s.add_argument("recording")
    s.add_argument("--involved", action="append", required=True)
    s.add_argument("--reason")
    s = acc.add_parser("incident-release", help="release the critical-incident locks on a recording")
    s.add_argument("recording")
    s = acc.add_parser("grant", help="let one user see one recording (e.g. an admin)")
    s.add_argument("username")
    s.add_argument("recording")
    s.add_argument("--reason", required=True)
    s.add_argument("--days", type=int)
    for sp in acc.choices.values():
        sp.set_defaults(func=cmd_access)

    s = sub.add_parser("verify", help="check a court export ZIP offline (hashes, signatures); exit 1 on any problem")
    s.add_argument("export")
    s.add_argument("--key", help="trusted server public key (base64, or a PEM/base64 file) to pin")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_verify_export, offline=True)
    # Each package with commands of its own exposes add_commands(sub) in its cli module.
    import importlib

    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub)

    s = sub.add_parser("demo-totp", help="current authenticator codes of the demo accounts")
    s.add_argument("username", nargs="?")
    s.set_defaults(func=cmd_demo_totp)

    s = sub.add_parser("demo", help="load demo officers, devices and real recordings, then serve")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--no-serve", action="store_true")
    s.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "offline", False):  # e.g. `bodycam verify`: no settings, no database
            return args.func(args)
        if getattr(args, "no_django", False):
            from .device.cli import run_device_command

            return run_device_command(args)
        _django()
        return args.func(args)
    except CliError as exc:
        print(f"bodycam: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line, not a traceback, for operators
        if os.environ.get("BODYCAM_DEBUG") == "1":
            raise
        print(f"bodycam: error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # `python -m bodycam.cli` runs this file as __main__; the command modules import
    # bodycam.cli, so go through that one module, or their CliError would be another class.
    from bodycam.cli import main as _main

    sys.exit(_main())
