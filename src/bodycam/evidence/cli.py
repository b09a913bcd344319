"""`bodycam evidence list|show`: the catalogue."""

from __future__ import annotations

import json

from ..errors import CliError


def cmd_evidence_list(args) -> int:
    from .services import all_clips, clip_summary

    rows = [clip_summary(c) for c in all_clips()]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['id']}  {r['sha256'][:16]}  {r['size']:>12}  {r['officer']['username'] or r['officer']['name']:<12} "
                  f"{r['device']:<12} {r['recording']}/{r['object']}  {r['start']}  {r['status']}")
    return 0


def cmd_evidence_show(args) -> int:
    from .services import CatalogueError, recording_detail

    try:
        detail = recording_detail(args.recording)
    except CatalogueError as exc:
        raise CliError(str(exc)) from None
    print(json.dumps(detail, indent=2, ensure_ascii=False))
    return 0


def add_commands(sub) -> None:
    ev = sub.add_parser("evidence", help="the catalogue").add_subparsers(dest="evidence_cmd", required=True)
    s = ev.add_parser("list")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_evidence_list)
    s = ev.add_parser("show", help="one recording with its clips, bookmarks and GNSS track (JSON)")
    s.add_argument("recording", help="container name or recording id")
    s.add_argument("--json", action="store_true", help="(always JSON; accepted for symmetry)")
    s.set_defaults(func=cmd_evidence_show)
