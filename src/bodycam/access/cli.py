"""`bodycam user ...` (accounts, MFA), `bodycam token ...` (API tokens), `bodycam access ...` (object rules)."""

from __future__ import annotations

import json

from ..errors import CliError
from ..timefmt import isoformat


def _read_password(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\r\n")
    except OSError as exc:
        raise CliError(f"cannot read password file: {exc.strerror}") from None


def cmd_user_add(args) -> int:
    from ..evidence.services import CatalogueError
    from .accounts import add_user

    try:
        user = add_user(args.username, args.role, _read_password(args.password_file), badge=args.badge or "",
                        axis_user_id=args.axis_user_id)
    except CatalogueError as exc:
        raise CliError(str(exc)) from None
    print(f"created {user.role} {user.username} ({user.id})")
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

    reset_mfa(_account(args.username))
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
    s = user.add_parser("add")
    s.add_argument("username")
    s.add_argument("--role", required=True)
    s.add_argument("--password-file", required=True)
    s.add_argument("--badge")
    s.add_argument("--axis-user-id")
    s.set_defaults(func=cmd_user_add)

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
