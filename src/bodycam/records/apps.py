from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "bodycam.records"
    label = "records"

    def ready(self):
        # Auto-transcription is queued by the ingest hook (media.services.on_clip_stored).
        from ..media.captions import CAPTION_PROVIDERS
        from ..media.transcripts import caption_provider
        from ..storage.refs import register_blob_refs
        from .blobs import release_package_refs

        register_blob_refs("records.packages", release_package_refs, order=40)

        if caption_provider not in CAPTION_PROVIDERS:
            CAPTION_PROVIDERS.append(caption_provider)
