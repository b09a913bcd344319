import logging

from django.apps import AppConfig

log = logging.getLogger("bodycam.records")


def _auto_transcribe(sender, instance, created, **kwargs):
    """settings.MEDIA_AUTO_TRANSCRIBE: queue a transcript once a new clip's commit lands.
    Never fails ingest (`bodycam transcribe` catches up)."""
    from django.conf import settings
    from django.db import transaction

    if not (created and getattr(settings, "MEDIA_AUTO_TRANSCRIBE", False)):
        return

    def queue():
        from ..media.transcripts import schedule

        try:
            schedule(instance.id)
        except Exception:  # noqa: BLE001
            log.exception("could not queue a transcript for clip %s", instance.id)

    transaction.on_commit(queue)


class RecordsConfig(AppConfig):
    name = "bodycam.records"
    label = "records"

    def ready(self):
        from django.db.models.signals import post_save

        from ..evidence.models import Clip
        from ..media.captions import CAPTION_PROVIDERS
        from ..media.transcripts import caption_provider
        from ..storage.refs import register_blob_refs
        from .blobs import release_package_refs

        register_blob_refs("records.packages", release_package_refs, order=40)

        if caption_provider not in CAPTION_PROVIDERS:
            CAPTION_PROVIDERS.append(caption_provider)
        post_save.connect(_auto_transcribe, sender=Clip, dispatch_uid="records.auto_transcribe")
