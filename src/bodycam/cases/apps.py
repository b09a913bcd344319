from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "bodycam.cases"
    label = "cases"

    def ready(self):
        from ..storage.refs import register_blob_refs
        from .blobs import case_file_refs, names_case_file

        register_blob_refs("cases.files", case_file_refs, order=30, names=names_case_file)
