from django.apps import AppConfig


class CustodyConfig(AppConfig):
    name = "bodycam.custody"
    label = "custody"

    def ready(self):
        from ..storage.refs import register_blob_refs
        from .blobs import audit_export_refs, names_audit_export

        register_blob_refs("custody.audit_exports", audit_export_refs, order=60, names=names_audit_export)
