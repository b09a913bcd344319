from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "bodycam.records"
    label = "records"

    def ready(self):
        from ..storage.refs import register_blob_refs
        from .blobs import correspondence_refs, names_correspondence, names_release_package, release_package_refs

        register_blob_refs("records.packages", release_package_refs, order=40, names=names_release_package)
        register_blob_refs("records.correspondence", correspondence_refs, order=41, names=names_correspondence)
