from django.apps import AppConfig


class ReleaseConfig(AppConfig):
    name = "bodycam.release"
    label = "release"

    def ready(self):
        # access.policy asks these rules what a share grants (it may not import release).
        from ..access.policy import register_share_rules
        from .rules import ReleaseShareRules

        register_share_rules(ReleaseShareRules())
        # search's "shared=mine" filter: the recordings a user's own live shares reach.
        from ..search.filters import register_shared_by
        from .services import recordings_shared_by

        register_shared_by(recordings_shared_by)
