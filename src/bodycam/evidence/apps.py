from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "bodycam.evidence"
    label = "evidence"

    def ready(self):
        from ..storage.refs import register_blob_refs
        from . import signals  # noqa: F401  (bookmark tags are recording tags)
        from .blobs import names_original, original_refs

        register_blob_refs("evidence.originals", original_refs, order=10, names=names_original)

        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        from .identity import PatternError, parse_pattern

        try:  # BODYCAM_EVIDENCE_NUMBER: a bad pattern stops start-up, not the first ingest
            parse_pattern(settings.EVIDENCE_NUMBER_PATTERN)
        except PatternError as exc:
            raise ImproperlyConfigured(str(exc)) from None
