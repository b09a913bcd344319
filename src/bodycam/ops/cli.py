"""Operations commands: `bodycam backup`, `bodycam restore`."""

from __future__ import annotations

import json

from ..errors import CliError


def _backup(args) -> int:
    from .backup import BackupError, backup

    try:
        m = backup(args.out)
    except BackupError as exc:
        raise CliError(str(exc)) from None
    print(f"backup written to {args.out}: {m['engine']} database, {m['audit_entries']} audit entries, "
          f"{m['blobs']} blobs by reference (store: {m['storage']})")
    return 0


def _restore(args) -> int:
    from .backup import BackupError, restore

    try:
        report = restore(args.archive)
    except BackupError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(report, indent=2))
    elif report["ok"]:
        print(f"restored: {report['audit_entries']} audit entries verified, "
              f"{report['blobs_verified']}/{report['blobs_expected']} blobs re-hashed OK; "
              f"audit witness: {report['witness']}")
    else:
        print("RESTORED WITH PROBLEMS:")
        for p in report["problems"][:50]:
            print(f"  {p}")
    return 0 if report["ok"] else 1


def add_commands(sub) -> None:
    s = sub.add_parser("backup", help="database + keys + audit chain into one archive (blobs by reference)")
    s.add_argument("out", help="archive to write (.tar.gz; refuses to overwrite)")
    s.set_defaults(func=_backup)
    s = sub.add_parser("restore", help="restore a backup into an empty installation, then verify every blob hash")
    s.add_argument("archive")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_restore)
