from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "bodycam.media"
    label = "media"

    def ready(self):
        from ..storage.refs import register_blob_refs
        from .blobs import derivative_refs

        register_blob_refs("media.derivatives", derivative_refs, order=20)
