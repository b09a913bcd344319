from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "bodycam.evidence"
    label = "evidence"

    def ready(self):
        from ..storage.refs import register_blob_refs
        from . import signals  # noqa: F401  (bookmark tags are recording tags)
        from .blobs import names_original, original_refs

        register_blob_refs("evidence.originals", original_refs, order=10, names=names_original)
