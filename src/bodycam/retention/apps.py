from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "bodycam.retention"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ..storage.refs import register_leaving_blobs
        from .blobs import blobs_waiting_removal

        register_leaving_blobs("retention.blob_purges", blobs_waiting_removal)

        from ..evidence.identity import register_incident_source
        from . import identity

        register_incident_source(identity.incidents_for)
