"""What shares grant, answered from the share models this app owns. ``ReleaseConfig.ready``
registers these rules with ``access.policy``, which sits below release and so cannot
import it; the access check (``access.services.visible_recording_ids``) stays one query,
with these sub-selects inside it."""

from __future__ import annotations

from django.db.models import QuerySet

from ..access.policy import ShareRules
from .models import CaseShare, Share, ShareTerms


class ReleaseShareRules(ShareRules):
    def recordings(self, user, now) -> QuerySet:
        return Share.objects.active(now).filter(recipient=user).values("recording")

    def cases(self, user, now) -> QuerySet:
        return CaseShare.objects.active(now).filter(recipient=user).values("case")

    def allows_download(self, user, recording_id) -> bool:
        return Share.objects.active().filter(recipient=user, recording_id=recording_id, allow_download=True).exists() \
            or CaseShare.objects.active().filter(recipient=user, allow_download=True,
                                                 case__recordings=recording_id).exists()

    def no_reshare(self, user, recording_id) -> bool:
        return ShareTerms.objects.filter(share__recipient=user, share__recording_id=recording_id, no_reshare=True,
                                         share__revoked_at__isnull=True).exists() or \
            CaseShare.objects.active().filter(recipient=user, no_reshare=True, case__recordings=recording_id).exists()

    def case_no_reshare(self, user, case) -> bool:
        return CaseShare.objects.active().filter(recipient=user, case=case, no_reshare=True).exists()
