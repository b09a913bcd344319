from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "bodycam.records"
    label = "records"

    def ready(self):
        from ..media.transcripts import caption_provider
        from ..web.hooks import CAPTION_PROVIDERS

        if caption_provider not in CAPTION_PROVIDERS:
            CAPTION_PROVIDERS.append(caption_provider)
