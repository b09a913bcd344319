from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "bodycam.cases"
    label = "cases"

    def ready(self):
        from ..storage.refs import register_blob_refs
        from .blobs import case_file_refs, names_case_file

        register_blob_refs("cases.files", case_file_refs, order=30, names=names_case_file)

        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        from ..evidence.identity import PatternError, parse_pattern

        try:  # BODYCAM_CASE_NUMBER: a bad pattern stops start-up, not the first new case
            parse_pattern(settings.CASE_NUMBER_PATTERN)
        except PatternError as exc:
            raise ImproperlyConfigured(str(exc).replace("evidence number", "case number")) from None
