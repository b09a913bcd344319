"""`bodycam retention ...`, `bodycam cad ...`, `bodycam compliance`, `bodycam storage`.
Every refusal exits non-zero with a one-line reason and changes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from ..numbers import whole_number
from ..timefmt import iso_seconds


def _err(exc):
    from ..errors import CliError

    return CliError(str(exc))


def _print(obj, as_json: bool, text: str = "") -> None:
    print(json.dumps(obj, indent=2, default=str) if as_json or not text else text)


def _now(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _err(f"--now {value!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise _err("--now needs a time zone (e.g. 2027-01-01T00:00:00Z)")
    return dt.astimezone(timezone.utc)


def _sweep(args) -> int:
    from .services import RetentionError, sweep

    try:
        rep = sweep(now=_now(args.now), dry_run=args.dry_run, actor="cli", policy_file=args.policy)
    except RetentionError as exc:
        raise _err(exc) from None
    word = "would " if args.dry_run else ""
    text = (f"{'dry run: ' if args.dry_run else ''}{word}queue {len(rep['queued'])}, {word}purge {len(rep['purged'])}, "
            f"cancel {len(rep['cancelled'])}; awaiting approval {len(rep['awaiting_approval'])}; "
            f"upcoming {len(rep['upcoming'])}")
    for item in rep["purged"]:
        text += f"\n  purged {item['container']}"
    for item in rep["queued"]:
        text += f"\n  queued {item['container']} (expired {item['expired_at']}, purge after {item['purge_after']})"
    _print(rep, args.json, text)
    return 0


def _policy(args) -> int:
    from . import policy as pol

    try:
        if args.policy_cmd == "show":
            _print(pol.export_policy(), True)
            return 0
        p = pol.load_file(args.file)
        if args.policy_cmd == "validate":
            print(f"policy {args.file} is valid ({len(p.categories)} categories, sha256 {p.sha256[:16]})")
            return 0
        res = pol.apply(p, actor="cli")
    except pol.RetentionPolicyError as exc:
        raise _err(exc) from None
    print(f"policy applied: {len(res['changes'])} change(s)")
    for c in res["changes"]:
        print("  " + json.dumps(c))
    return 0


def _category(args) -> int:
    from . import policy as pol

    indefinite = args.days.lower() == "indefinite"
    days = None if indefinite else whole_number(args.days)
    if days is None and not indefinite:
        raise _err("--days must be a whole number or 'indefinite'")
    try:
        res = pol.set_category_retention(args.name, days, actor="cli")
    except pol.RetentionPolicyError as exc:
        raise _err(exc) from None
    print(json.dumps(res["changes"]))
    return 0


def _hold(args) -> int:
    from .models import LegalHold
    from .services import RetentionError, place_hold, release_hold

    try:
        if args.hold_cmd == "place":
            h = place_hold(args.name, args.reason, "cli", recordings=args.recording, case=args.case)
            print(f"legal hold {h.name} placed ({h.id})")
            if h.already_purged:
                print(f"note: {len(h.already_purged)} recording(s) of case {args.case} were purged before the hold "
                      f"and are not held (only their tombstones remain): {', '.join(h.already_purged)}")
        elif args.hold_cmd == "release":
            h = release_hold(args.hold, "cli", reason=args.reason or "")
            print(f"legal hold {h.name} released")
        else:
            rows = [{"id": str(h.id), "name": h.name, "reason": h.reason, "case": h.case.number if h.case else None,
                     "recordings": h.recordings.count(), "placed_at": iso_seconds(h.placed_at),
                     "released_at": iso_seconds(h.released_at)} for h in LegalHold.objects.select_related("case")]
            _print(rows, True)
    except RetentionError as exc:
        raise _err(exc) from None
    return 0


def _recover(args) -> int:
    from .services import RetentionError, recover

    try:
        rec = recover(args.recording, "cli", days=args.days, reason=args.reason)
    except RetentionError as exc:
        raise _err(exc) from None
    print(f"recovered {rec.container_name}; kept at least until {iso_seconds(rec.retain_until)}")
    return 0


def _extend(args) -> int:
    from .services import RetentionError, extend

    until = _now(args.until if "T" in args.until else args.until + "T00:00:00Z")
    try:
        rec = extend(args.recording, until, "cli", args.reason)
    except RetentionError as exc:
        raise _err(exc) from None
    print(f"{rec.container_name} kept at least until {iso_seconds(rec.retain_until)}")
    return 0


def _approve(args) -> int:
    from .services import RetentionError, approve

    try:
        n = approve(args.recording, "cli")
    except RetentionError as exc:
        raise _err(exc) from None
    print(f"approved {n} purge(s)")
    return 0


def _list(args) -> int:
    from .models import Tombstone
    from .services import blobs_pending, queue_rows, tombstone_dict, upcoming

    if args.retention_cmd == "queue":
        rows = queue_rows(args.state if args.state != "all" else "")
    elif args.retention_cmd == "upcoming":
        rows = upcoming(days=args.days)
    elif args.retention_cmd == "blobs":
        rows = blobs_pending()
    else:
        rows = [tombstone_dict(t) for t in Tombstone.objects.all()[:1000]]
    _print(rows, True)
    return 0


def _info(args) -> int:
    from .services import RetentionError, _recording, retention_info

    try:
        _print(retention_info(_recording(args.recording)), True)
    except RetentionError as exc:
        raise _err(exc) from None
    return 0


def _case(args) -> int:
    from ..cases.models import Case
    from ..cases.services import CaseError, set_case_status

    case = Case.objects.filter(number=args.number).first()
    if case is None:
        raise _err(f"no case {args.number!r}")
    try:
        case = set_case_status(case, args.status or "", "cli", incident_number=args.incident)
    except CaseError as exc:
        raise _err(exc) from None
    case.refresh_from_db()
    print(f"case {case.number}: {case.status}; incident {case.incident_number or '-'}")
    return 0


def _cad(args) -> int:
    from . import cad

    try:
        if args.cad_cmd == "import":
            if bool(args.file) == bool(args.url):
                raise _err("give a FILE or --url")
            if args.url:
                data, fmt = cad.fetch(args.url)
                source = args.url
            else:
                try:
                    with open(args.file, "rb") as f:
                        data = f.read(cad.MAX_BYTES + 1)
                except OSError as exc:
                    raise _err(f"cannot read {args.file}: {exc.strerror}") from None
                fmt, source = None, args.file
            res = cad.import_incidents(data, args.format or fmt, source=source, actor="cli")
            print(f"imported {res['incidents']} incident(s) ({res['created']} new, {res['updated']} updated); "
                  f"{res['links']} recording link(s) made")
        elif args.cad_cmd == "link":
            cad.link_manual(args.incident, args.recording, "cli")
            print(f"linked {args.recording} to {args.incident}")
        elif args.cad_cmd == "unlink":
            cad.unlink(args.incident, args.recording, "cli", args.reason)
            print(f"unlinked {args.recording} from {args.incident}")
        else:
            from .models import CadIncident

            inc = CadIncident.objects.filter(number=args.incident).first()
            if inc is None:
                raise _err(f"no CAD incident {args.incident!r}")
            _print(cad.incident_dict(inc), True)
    except cad.CadError as exc:
        raise _err(exc) from None
    return 0


def _compliance(args) -> int:
    from .reports import ReportError, compliance, parse_period

    try:
        start, end = parse_period(args.from_, args.to)
    except ReportError as exc:
        raise _err(exc) from None
    rep = compliance(start, end, squad=args.squad, badge=args.badge, seed=args.seed)
    t = rep["totals"]
    text = (f"compliance {rep['from']} .. {rep['to']}: required {t['required']}, recorded {t['recorded']}, "
            f"missed {t['missed']}, late {t['late']}, uncategorized recordings {t['uncategorized']}")
    for r in rep["officers"]:
        if r["required"] or r["uncategorized"]:
            text += (f"\n  {r['badge']:>8} {r['officer'][:30]:<30} {r['squad'][:12]:<12} "
                     f"{r['recorded']}/{r['required']} missed: {', '.join(r['missed']) or '-'}"
                     f" late: {', '.join(r['late']) or '-'}")
    _print(rep, args.json, text)
    return 0


def _storage(args) -> int:
    from .reports import human, storage

    rep = storage(price=args.price)
    text = (f"originals {human(rep['originals_bytes'])} ({rep['hours']:.1f} h), derivatives "
            f"{human(rep['derivatives_bytes'])}; ${rep['monthly_cost_now']:.2f}/month now, projected "
            f"${rep['projected_annual_cost']:.2f} for the next 12 months at ${rep['price_per_tb_month']}/TB-month")
    for r in rep["by_category"]:
        text += f"\n  {r['key']:<28} {human(r['bytes']):>10} {r['hours']:>8.2f} h"
    _print(rep, args.json, text)
    return 0


def add_commands(sub) -> None:
    ret = sub.add_parser("retention", help="retention policy, legal holds, deletion queue, sweeps") \
        .add_subparsers(dest="retention_cmd", required=True)
    s = ret.add_parser("sweep", help="queue expired items; purge those past the grace period (audited)")
    s.add_argument("--dry-run", action="store_true", help="report only; change nothing")
    s.add_argument("--now", help="clock override (ISO time with zone), e.g. for tests")
    s.add_argument("--policy", help="policy file to validate and apply first (default BODYCAM_RETENTION_POLICY)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_sweep)
    pol = ret.add_parser("policy", help="the policy file (YAML or JSON)").add_subparsers(dest="policy_cmd",
                                                                                          required=True)
    for name, hlp in (("validate", "check a policy file; change nothing"), ("load", "validate and apply a file")):
        s = pol.add_parser(name, help=hlp)
        s.add_argument("file")
        s.set_defaults(func=_policy)
    pol.add_parser("show", help="the policy in force, as JSON").set_defaults(func=_policy)
    s = ret.add_parser("category", help="set one category's retention (extend freely; never below its minimum)")
    s.add_argument("name")
    s.add_argument("--days", required=True, help="days, or 'indefinite'")
    s.set_defaults(func=_category)
    hold = ret.add_parser("hold", help="legal holds").add_subparsers(dest="hold_cmd", required=True)
    s = hold.add_parser("place")
    s.add_argument("name")
    s.add_argument("--reason", required=True)
    s.add_argument("--recording", action="append", default=[], help="container name or recording id")
    s.add_argument("--case", help="case number: every recording of the case")
    s.set_defaults(func=_hold)
    s = hold.add_parser("release")
    s.add_argument("hold", help="hold id or name")
    s.add_argument("--reason")
    s.set_defaults(func=_hold)
    hold.add_parser("list").set_defaults(func=_hold)
    s = ret.add_parser("recover", help="take an item back out of the deletion queue (grace period)")
    s.add_argument("recording")
    s.add_argument("--reason", required=True)
    s.add_argument("--days", type=int, default=30, help="keep it at least this many more days (default 30)")
    s.set_defaults(func=_recover)
    s = ret.add_parser("extend", help="keep one recording at least until a date (never shortens)")
    s.add_argument("recording")
    s.add_argument("--until", required=True, help="YYYY-MM-DD or ISO time with zone")
    s.add_argument("--reason", required=True)
    s.set_defaults(func=_extend)
    s = ret.add_parser("approve", help="approve purges (when the policy requires approval)")
    s.add_argument("recording", nargs="+")
    s.set_defaults(func=_approve)
    s = ret.add_parser("queue", help="the deletion queue (JSON)")
    s.add_argument("--state", default="pending", choices=["pending", "recovered", "cancelled", "purged", "all"])
    s.set_defaults(func=_list)
    s = ret.add_parser("upcoming", help="items leaving within --days (default: the policy's notice days)")
    s.add_argument("--days", type=int)
    s.set_defaults(func=_list)
    ret.add_parser("tombstones", help="purged recordings: hashes, categories, dates (JSON)").set_defaults(func=_list)
    ret.add_parser("blobs", help="purged blobs the store has not removed yet (Object Lock) and when the sweep "
                                 "tries again (JSON)").set_defaults(func=_list)
    s = ret.add_parser("info", help="one recording's retention: period, expiry, what blocks deletion")
    s.add_argument("recording")
    s.set_defaults(func=_info)
    s = ret.add_parser("case", help="close/reopen a case (closing lets retention run), set its incident number")
    s.add_argument("number")
    s.add_argument("--status", choices=["open", "closed"])
    s.add_argument("--incident")
    s.set_defaults(func=_case)

    cad = sub.add_parser("cad", help="dispatch (CAD) incidents").add_subparsers(dest="cad_cmd", required=True)
    s = cad.add_parser("import", help="import CSV/JSON incidents from a file or an HTTP endpoint; link recordings")
    s.add_argument("file", nargs="?")
    s.add_argument("--url")
    s.add_argument("--format", choices=["csv", "json"])
    s.set_defaults(func=_cad)
    for name in ("link", "unlink"):
        s = cad.add_parser(name, help=f"{name} a recording by hand (audited override)")
        s.add_argument("incident")
        s.add_argument("recording")
        if name == "unlink":
            s.add_argument("--reason", required=True)
        s.set_defaults(func=_cad)
    s = cad.add_parser("show")
    s.add_argument("incident")
    s.set_defaults(func=_cad)

    s = sub.add_parser("compliance", help="activation compliance per officer and squad")
    s.add_argument("--from", dest="from_")
    s.add_argument("--to")
    s.add_argument("--squad")
    s.add_argument("--badge")
    s.add_argument("--seed", type=int, help="seed of the random review sample")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_compliance)
    s = sub.add_parser("storage", help="storage by category/officer/device/month and projected cost")
    s.add_argument("--price", type=float, help="price per TB-month (default: the policy's)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_storage)
