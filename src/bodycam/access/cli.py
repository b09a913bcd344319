"""`bodycam user ...` (accounts, MFA), `bodycam token ...` (API tokens), `bodycam access ...` (object rules)."""

from __future__ import annotations

import json

from ..errors import BadInput, CliError
from ..timefmt import isoformat


def _read_password(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\r\n")
    except OSError as exc:
        raise CliError(f"cannot read password file: {exc.strerror}") from None


def _link(token: str, url: str | None) -> str:
    from django.conf import settings

    from .enrolment import link_path

    base = (url or settings.PUBLIC_URL or "").rstrip("/")
    return base + link_path(token)


def _print_link(username: str, token: str, url: str | None) -> None:
    from django.conf import settings

    link = _link(token, url)
    print(f"enrolment link for {username} (works once, for {settings.ENROL_LINK_HOURS} hours; hand it over now, "
          "it is not shown again):")
    print(link)
    if not link.startswith("http"):
        print("(prefix it with the server's address, or pass --url / set BODYCAM_PUBLIC_URL)")


def cmd_user_add(args) -> int:
    from ..evidence.services import CatalogueError
    from .accounts import add_user, find_squad
    from .enrolment import new_account_link

    password = _read_password(args.password_file) if args.password_file else None
    try:
        squad = find_squad(args.squad or "")
        user = add_user(args.username, args.role, password, badge=args.badge or "", axis_user_id=args.axis_user_id,
                        first_name=args.first_name or "", last_name=args.last_name or "", email=args.email or "",
                        squad=squad)
    except (CatalogueError, BadInput) as exc:
        raise CliError(str(exc)) from None
    print(f"created {user.role} {user.username} ({user.id})")
    if password is None:
        _, token = new_account_link(user, "cli", "")
        _print_link(user.username, token, args.url)
    return 0


def cmd_user_list(args) -> int:
    from .accounts import STATUSES, find_accounts, full_name

    try:
        rows = list(find_accounts(role=args.role or "", squad=args.squad or "", status=args.status or "",
                                  q=args.q or ""))
    except BadInput as exc:
        raise CliError(str(exc)) from None

    def status(u) -> str:
        if not u.is_active:
            return "disabled"
        if u.locked_at:
            return "locked"
        if not u.has_usable_password() and not u.directory_managed:
            return STATUSES["pending"]
        return "active"

    out = [{"username": u.username, "name": full_name(u), "badge": u.badge, "role": u.role,
            "squad": u.squad.name if u.squad else "", "status": status(u), "mfa": u.mfa_enrolled,
            "directory": u.directory_managed, "last_login": isoformat(u.last_login) if u.last_login else ""}
           for u in rows]
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    cols = ("username", "name", "badge", "role", "squad", "status", "mfa", "last_login")
    table = [[c.upper() for c in cols]] + [
        [("yes" if r[c] else "no") if c == "mfa" else (r[c] + (" (directory)" if c == "role" and r["directory"]
                                                               else "")) or "-" for c in cols] for r in out]
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    for row in table:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    print(f"{len(out)} account(s)")
    return 0


def cmd_user_active(args) -> int:
    from .auth import AccountError, set_active

    active = args.user_cmd == "enable"
    try:
        ended = set_active(_account(args.username), active, reason=args.reason)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    extra = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in ended.items())
    print(f"{args.username} {'enabled' if active else 'disabled'}" + (f" ({extra})" if extra else ""))
    return 0


def cmd_user_enrol_link(args) -> int:
    from .auth import AccountError
    from .enrolment import issue_link

    try:
        _, token = issue_link(_account(args.username), reason=args.reason or "")
    except AccountError as exc:
        raise CliError(str(exc)) from None
    _print_link(args.username, token, args.url)
    return 0


def _account(username):
    from .auth import AccountError, get_user

    try:
        return get_user(username)
    except AccountError as exc:
        raise CliError(str(exc)) from None


def cmd_user_unlock(args) -> int:
    from .auth import unlock

    unlock(_account(args.username))
    print(f"unlocked {args.username}")
    return 0


def cmd_user_role(args) -> int:
    from .auth import AccountError, set_role

    try:
        set_role(_account(args.username), args.role, reason=args.reason)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    print(f"{args.username} is now {args.role}")
    return 0


def cmd_user_mfa_reset(args) -> int:
    from .auth import reset_mfa

    reset_mfa(_account(args.username), reason=args.reason)
    print(f"{args.username} must enrol a new authenticator at next sign-in")
    return 0


def cmd_token_create(args) -> int:
    from .auth import AccountError, create_token

    try:
        tok, key = create_token(_account(args.username), args.name, days=args.days)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    print(json.dumps({"id": str(tok.id), "user": args.username, "token": key,
                      "expires_at": isoformat(tok.expires_at)}, indent=2))
    return 0


def cmd_token_revoke(args) -> int:
    from .auth import AccountError, revoke_token

    try:
        revoke_token(args.token_id)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    print(f"revoked {args.token_id}")
    return 0


def _rules(fn, *a, **kw):
    from ..cases.services import CaseError
    from .rules import RuleError

    try:
        return fn(*a, **kw)
    except (RuleError, CaseError) as exc:
        raise CliError(str(exc)) from None


def cmd_access(args) -> int:
    from . import rules

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


def add_commands(sub) -> None:
    user = sub.add_parser("user", help="accounts").add_subparsers(dest="user_cmd", required=True)
    s = user.add_parser("add", help="create an account (audited); without --password-file it gets a one-time "
                        "enrolment link where the person sets the password and the authenticator")
    s.add_argument("username")
    s.add_argument("--role", required=True)
    s.add_argument("--password-file", help="a file holding the initial password (else: an enrolment link)")
    s.add_argument("--badge")
    s.add_argument("--axis-user-id")
    s.add_argument("--first-name")
    s.add_argument("--last-name")
    s.add_argument("--email")
    s.add_argument("--squad", help="squad name")
    s.add_argument("--url", help="the server's address for the link (default: BODYCAM_PUBLIC_URL)")
    s.set_defaults(func=cmd_user_add)

    s = user.add_parser("list", help="accounts as a table (or --json), with filters")
    s.add_argument("--role")
    s.add_argument("--squad", help="squad name")
    s.add_argument("--status", help="active, disabled, locked or pending (enrolment link not used yet)")
    s.add_argument("--q", help="text in the username, name or badge")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_user_list)
    for name, what in (("disable", "disable (offboard) an account: its sessions, API tokens and enrolment links end "
                                   "now; its footage and audit trail stay"),
                       ("enable", "enable a disabled account again")):
        s = user.add_parser(name, help=what + " (audited, with the reason)")
        s.add_argument("username")
        s.add_argument("--reason", required=True, help="why (1-500 characters; in the audit entry)")
        s.set_defaults(func=cmd_user_active)
    s = user.add_parser("enrol-link", help="print a fresh one-time enrolment link for an account (earlier links "
                        "stop working): the person sets a password and their authenticator there")
    s.add_argument("username")
    s.add_argument("--reason", help="why (in the audit entry)")
    s.add_argument("--url", help="the server's address for the link (default: BODYCAM_PUBLIC_URL)")
    s.set_defaults(func=cmd_user_enrol_link)

    user_s = user
    s = user_s.add_parser("unlock", help="clear a sign-in lockout (audited)")
    s.add_argument("username")
    s.set_defaults(func=cmd_user_unlock)
    s = user_s.add_parser("set-role", help="change an account's role (audited, with the reason)")
    s.add_argument("username")
    s.add_argument("role")
    s.add_argument("--reason", required=True, help="why the role changes (1-500 characters; in the audit entry)")
    s.set_defaults(func=cmd_user_role)
    s = user_s.add_parser("mfa-reset", help="remove an account's authenticator; it enrols again at next sign-in")
    s.add_argument("username")
    s.add_argument("--reason", help="why (in the audit entry)")
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
