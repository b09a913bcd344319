"""Command-line parts of the transcription/redaction/release issue:
`bodycam c2pa-verify FILE` and `bodycam transcribe CLIP_ID`."""

from __future__ import annotations

import json
import os


def _verify(args) -> int:
    from ..media import c2pa_sign

    if not os.path.isfile(args.file):
        from ..errors import CliError

        raise CliError(f"no such file {args.file}")
    trust = None
    if args.trust:
        with open(args.trust, encoding="utf-8") as f:
            trust = f.read()
    try:
        summary = c2pa_sign.verify(args.file, trust_pem=trust)
    except c2pa_sign.Invalid as exc:
        print(f"INVALID: {exc}")
        return 1
    print(f"OK: C2PA manifest {summary['state']}, signed by {summary['signer']}")
    print(f"  parent: {', '.join(i or '?' for i in summary['ingredients'])}")
    for a in summary["actions"]:
        print(f"  {a.get('action')}: {a.get('description', '')}")
    if args.json:
        print(json.dumps(summary, indent=1))
    return 0


def _transcribe(args) -> int:
    from ..jobs.services import submit

    job = submit("media.transcribe", params={"clip_id": args.clip_id}, object_type="clip",
                 object_id=args.clip_id, inline=True)
    print(f"{job.status}: {job.result or job.error.splitlines()[0] if job.error else job.result}")
    return 0 if job.status == job.Status.SUCCEEDED else 1


def add_commands(sub) -> None:
    s = sub.add_parser("c2pa-verify", help="validate the C2PA manifest of a redacted copy")
    s.add_argument("file")
    s.add_argument("--trust", help="CA bundle (PEM) to trust; default: this installation's release CA")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_verify)
    s = sub.add_parser("transcribe", help="transcribe one clip now (in this process)")
    s.add_argument("clip_id")
    s.set_defaults(func=_transcribe)
