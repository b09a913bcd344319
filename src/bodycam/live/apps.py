from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "bodycam.live"
    label = "live"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Who is command staff (may watch every officer live) is this app's table; the one
        # policy asks through the rules registered here (deny by default without them).
        from django.db.models.signals import post_save

        from ..access.policy import register_live_rules
        from ..evidence.models import Recording
        from .services import LiveRules, recording_arrived

        register_live_rules(LiveRules())
        # Positions sent while recording become the recording's metadata when it is docked.
        post_save.connect(recording_arrived, sender=Recording, dispatch_uid="live.recording_arrived")
