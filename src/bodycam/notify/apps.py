from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "bodycam.notify"
    label = "notify"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # A share made to someone is mailed when its transaction commits (as a job), not only
        # at the next periodic sweep.
        from django.db.models.signals import post_save

        from ..release.models import CaseShare, Share
        from .services import share_created

        post_save.connect(share_created, sender=Share, dispatch_uid="notify.share")
        post_save.connect(share_created, sender=CaseShare, dispatch_uid="notify.case_share")

        from ..access.models import AccessRequest
        from .services import access_request_saved

        post_save.connect(access_request_saved, sender=AccessRequest, dispatch_uid="notify.access_request")
