from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "bodycam.media"
    label = "media"

    def ready(self):
        # Auto-transcription is queued by the ingest hook (media.services.on_clip_stored).
        from ..storage.refs import register_blob_refs
        from .blobs import derivative_refs, names_derivative
        from .captions import CAPTION_PROVIDERS
        from .transcripts import caption_provider

        register_blob_refs("media.derivatives", derivative_refs, order=20, names=names_derivative)
        if caption_provider not in CAPTION_PROVIDERS:
            CAPTION_PROVIDERS.append(caption_provider)
