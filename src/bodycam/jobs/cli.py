"""Background job commands: `bodycam jobs list|submit|retry|reconcile`."""

from __future__ import annotations

import argparse
import json

from ..errors import CliError
from ..timefmt import isoformat


def _jobs_list(args) -> int:
    from .models import Job

    qs = Job.objects.all()
    if args.status:
        qs = qs.filter(status=args.status)
    rows = [{"id": str(j.id), "kind": j.kind, "status": j.status, "attempts": j.attempts, "progress": j.progress,
             "object": f"{j.object_type}:{j.object_id}" if j.object_type else "", "error": j.error.splitlines()[0]
             if j.error else "", "created": isoformat(j.created_at)} for j in qs[: args.limit]]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['created'][:19]}  {r['status']:9}  {r['kind']:18} {r['object']:44} try {r['attempts']}  "
                  f"{r['error']}")
    return 0


def _jobs_submit(args) -> int:
    from .services import submit

    params = {}
    for kv in args.param:
        key, sep, value = kv.partition("=")
        if not sep or not key:
            raise CliError(f"--param wants KEY=VALUE, got {kv!r}")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    try:
        jobs = [submit(args.kind, params=params, inline=args.inline or None) for _ in range(args.count)]
    except ValueError as exc:
        raise CliError(str(exc)) from None
    for j in jobs:
        print(j.id)
    return 0


def _jobs_retry(args) -> int:
    """Send a job to the workers again (after a worker outage, or a failed job once its cause
    is fixed). A job that already succeeded is left alone by the worker that gets it."""
    from django.db import transaction
    from django.utils import timezone

    from ..custody.services import record
    from ..numbers import parse_uuid
    from .models import Job
    from .services import enqueue

    uid = parse_uuid(args.job_id)
    job = Job.objects.filter(pk=uid).first() if uid else None
    if job is None:
        raise CliError(f"no job {args.job_id}")
    with transaction.atomic():
        Job.objects.filter(pk=job.pk, status=Job.Status.FAILED).update(status=Job.Status.QUEUED, message="retry asked",
                                                                       due_at=timezone.now())
        record("job.retry", actor="cli", object_type="job", object_id=str(job.id), detail={"status": job.status})
        enqueue(job)
    print(f"sent {job.id} ({job.kind}, {job.status}) to the workers")
    return 0


def _jobs_reconcile(args) -> int:
    """Send overdue jobs to the workers again (every worker runs this with ``--every``
    BODYCAM_JOB_RECONCILE seconds; by hand it is one round)."""
    from .services import reconcile, reconcile_loop

    def report(res):
        if args.quiet and not (res["sent"] or res["failed"] or res["unsent"]):
            return
        print(json.dumps(res) if args.json else
              f"{res['overdue']} overdue: {res['sent']} sent again, {res['failed']} ended failed (no attempts left), "
              f"{res['waiting']} sent recently, {res['unsent']} not sent (broker unreachable)", flush=True)

    if args.every:
        reconcile_loop(args.every, parent=args.parent, report=report)
    else:
        report(reconcile())
    return 0


def add_commands(sub) -> None:
    jobs = sub.add_parser("jobs", help="background jobs").add_subparsers(dest="jobs_cmd", required=True)
    s = jobs.add_parser("list", help="newest jobs first")
    s.add_argument("--status", choices=["queued", "running", "succeeded", "failed"])
    s.add_argument("--limit", type=int, default=50)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_jobs_list)
    s = jobs.add_parser("submit", help="queue a job (e.g. jobs.selftest to check the workers)")
    s.add_argument("kind")
    s.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="JSON or text value")
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--inline", action="store_true", help="run it here, now")
    s.set_defaults(func=_jobs_submit)
    s = jobs.add_parser("retry", help="send a job to the workers again")
    s.add_argument("job_id")
    s.set_defaults(func=_jobs_retry)
    s = jobs.add_parser("reconcile", help="send overdue jobs (queued or lease ran out) to the workers again")
    s.add_argument("--every", type=float, default=0, metavar="SECONDS", help="keep doing it, this often")
    s.add_argument("--parent", type=int, default=None, help=argparse.SUPPRESS)  # stop when this process is gone
    s.add_argument("--quiet", action="store_true", help="say nothing for rounds that found nothing to do")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_jobs_reconcile)
