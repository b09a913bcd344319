"""``bodycam live command-staff``: which supervisors may watch every officer live."""

from __future__ import annotations

import json


def cmd_command_staff(args) -> int:
    from .models import CommandStaff
    from .services import set_command_staff

    if args.add or args.remove:
        for name in args.add or []:
            set_command_staff(name, True, actor="cli")
        for name in args.remove or []:
            set_command_staff(name, False, actor="cli")
    rows = [{"username": c.user.username, "added_by": c.added_by, "added_at": c.added_at.isoformat(timespec="seconds")}
            for c in CommandStaff.objects.select_related("user").order_by("user__username")]
    print(json.dumps(rows, indent=2))
    return 0


def add_commands(sub) -> None:
    live = sub.add_parser("live", help="live view (docs/live.md)").add_subparsers(dest="live_cmd", required=True)
    s = live.add_parser("command-staff", help="list, add or remove command staff: supervisors who may watch every "
                                              "officer live (audited)")
    s.add_argument("--add", action="append", metavar="USER")
    s.add_argument("--remove", action="append", metavar="USER")
    s.set_defaults(func=cmd_command_staff)
