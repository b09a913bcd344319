from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "bodycam.retention"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ..cases.services import register_status_hook
        from ..panels import register_panel
        from ..storage.refs import register_leaving_blobs
        from .blobs import blobs_waiting_removal
        from .panels import case_panel
        from .services import case_status_changed

        register_leaving_blobs("retention.blob_purges", blobs_waiting_removal)
        register_status_hook(case_status_changed)
        register_panel("case", "retention/case_panel.html", case_panel)

        from ..evidence.identity import register_incident_finder, register_incident_source
        from . import identity

        register_incident_source(identity.incidents_for)
        register_incident_finder(identity.recordings_matching)
