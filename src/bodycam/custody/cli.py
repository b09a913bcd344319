"""`bodycam fsck`, `bodycam alerts`, `bodycam orphan-sweep`, `bodycam audit ...`: custody and fixity."""

from __future__ import annotations

import json
import sys

from ..errors import CliError
from ..timefmt import isoformat


def cmd_fsck(args) -> int:
    from dataclasses import asdict

    from .fixity import run_fixity_check

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
    from .models import Alert

    rows = [{"id": str(a.id), "created_at": isoformat(a.created_at), "level": a.level, "kind": a.kind,
             "message": a.message, "acknowledged": a.acknowledged_at is not None}
            for a in Alert.objects.all()[: args.limit]]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['created_at']}  {r['level']:<8} {r['kind']:<20} {r['message']}")
    return 0


def cmd_orphan_sweep(args) -> int:
    from .fixity import sweep_orphans

    print(json.dumps(sweep_orphans(grace_seconds=args.grace), indent=2))
    return 0


def cmd_orphans_list(args) -> int:
    from .fixity import orphan_report

    rep = orphan_report()
    if args.json:
        print(json.dumps(rep, indent=2))
        return 0
    for o in rep["items"]:
        print(f"{o['sha256']}  {o['size']:>14}  set aside {o['set_aside_at']}  ({o['age_days']:.1f} days)"
              + ("  NAMED BY THE CATALOGUE: kept" if o["named_by_catalogue"] else ""))
    print(f"{rep['orphans']} orphan(s), {rep['orphan_bytes']} bytes; "
          f"{rep['incoming_files']} upload temp file(s), {rep['incoming_bytes']} bytes")
    return 0


def cmd_orphans_purge(args) -> int:
    from django.conf import settings

    from .fixity import purge_orphans

    days = settings.ORPHAN_GRACE_DAYS if args.older_than_days is None else args.older_than_days
    import getpass

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    res = purge_orphans(reason=args.reason, older_than_days=days, actor=f"cli:{who}", dry_run=args.dry_run)
    print(json.dumps(res, indent=2))
    return 1 if res["refused_by_store"] else 0


def cmd_audit_verify(args) -> int:
    """Exit 0: chain intact and checked against a witness. 1: broken (the first problem named).
    2: a witness file cannot be read. 3: intact in the database, but no witness was checked (none
    configured or given, or the configured file is missing), so nothing outside the database
    vouches for it (said loudly on stderr)."""
    from .chain import NOT_WITNESSED, record_verify, verify_chain

    try:
        res = verify_chain(witness=args.witness)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read witness file: {exc}") from None
    if args.record:  # after reading: the result is known later (the auditor's home page)
        record_verify(res, actor="cli")
    for w in res.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    if not res.witnessed:
        print(f"AUDIT CHAIN NOT WITNESSED: {res.unwitnessed}: {NOT_WITNESSED}", file=sys.stderr)
    if args.json:
        print(json.dumps(res.as_dict(), indent=2))
    elif res.ok:
        print(f"audit chain OK: {res.entries} entries, head {res.head_hash}, {res.checkpoints} checkpoint(s) "
              f"verified; witness: "
              + ("; ".join(res.witness_files) + f" ({res.witness_checkpoints} checkpoint(s), "
                 f"{res.witness_heads} entry hash(es) matched)" if res.witnessed else "NONE"))
    else:
        first = res.first
        print(f"AUDIT CHAIN BROKEN at entry {first.seq}: {first.message}" if first.seq is not None
              else f"AUDIT CHAIN BROKEN: {first.message}")
        for p in res.problems[1:20]:
            print(f"  also: {p.message}")
    if not res.ok:
        return 1
    return 0 if res.witnessed else 3


def cmd_audit_export(args) -> int:
    from .chain import export_chain
    from .services import record

    record("audit.export", actor="cli", object_type="audit_log", detail={"out": args.out or "-"})
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            n = export_chain(f)
        print(f"exported {n} entries to {args.out}", file=sys.stderr)
    else:
        export_chain(sys.stdout)
    return 0


def cmd_audit_checkpoint(args) -> int:
    from .chain import checkpoint_dict, create_checkpoint

    cp = create_checkpoint(actor="cli", witness=args.witness)
    print(json.dumps(checkpoint_dict(cp), indent=2))
    if cp.witness_error:
        print(f"bodycam: error: checkpoint stored in the database but NOT witnessed: {cp.witness_error}",
              file=sys.stderr)
        return 1
    return 0


def add_commands(sub) -> None:
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

    orphans = sub.add_parser("orphans", help="quarantined orphan blobs: count them; remove them (audited)"
                             ).add_subparsers(dest="orphans_cmd", required=True)
    s = orphans.add_parser("list", help="orphans in orphans/ and upload temp files, with sizes and ages")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_orphans_list)
    s = orphans.add_parser("purge", help="remove orphans set aside longer than the grace; never one a catalogue "
                                         "row names; one audit entry each")
    s.add_argument("--reason", required=True, help="why (kept in each audit entry)")
    s.add_argument("--older-than-days", type=float, default=None,
                   help="grace in days since set aside (default BODYCAM_ORPHAN_GRACE_DAYS, 30)")
    s.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    s.set_defaults(func=cmd_orphans_purge)


    audit = sub.add_parser("audit", help="the tamper-evident audit chain").add_subparsers(dest="audit_cmd", required=True)
    s = audit.add_parser("verify", help="recompute the chain, checkpoints and witness; exit 1 naming the first bad "
                                        "entry, 3 when no witness is configured")
    s.add_argument("--json", action="store_true")
    s.add_argument("--witness", action="append",
                   help="also check this witness file (e.g. a copy from another host); repeatable. The configured "
                        "one (BODYCAM_AUDIT_WITNESS_FILE) is always checked")
    s.add_argument("--record", action="store_true",
                   help="write the result into the chain as an audit.verify entry (the auditor's home page shows "
                        "the last one); off by default, so a verification leaves the chain as it found it")
    s.set_defaults(func=cmd_audit_verify)
    s = audit.add_parser("export", help="the whole chain, checkpoints and server key as JSON lines")
    s.add_argument("--out", help="file to write (default: standard output)")
    s.set_defaults(func=cmd_audit_export)
    s = audit.add_parser("checkpoint", help="sign the chain head now (Ed25519); append it to a witness file")
    s.add_argument("--witness", help="witness file (JSON lines) to append to (default BODYCAM_AUDIT_WITNESS_FILE); "
                                     "exit 1 when it cannot be written (the checkpoint is still stored)")
    s.set_defaults(func=cmd_audit_checkpoint)
