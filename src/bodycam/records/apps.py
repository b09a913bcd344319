from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "bodycam.records"
    label = "records"

    def ready(self):
        # Auto-transcription is queued by the ingest hook (media.services.on_clip_stored).
        from ..media.transcripts import caption_provider
        from ..web.hooks import CAPTION_PROVIDERS

        if caption_provider not in CAPTION_PROVIDERS:
            CAPTION_PROVIDERS.append(caption_provider)
