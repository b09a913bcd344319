"""The one access check for evidence: a single restricted query per user.

Deny by default: a role not named here sees nothing. Later issues refine the rules
(squads, cases, restricted items, shares) here and only here.
"""

from django.db.models import QuerySet

from ..evidence.models import Clip
from .models import Role

# Roles that see the whole catalogue until squad/case rules land (issue 4).
_SEE_ALL = {Role.SUPERVISOR, Role.DETECTIVE, Role.CUSTODIAN}


def visible_clips(user) -> QuerySet:
    qs = Clip.objects.select_related("recording__officer__account", "recording__device")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.role in _SEE_ALL:
        return qs
    if user.role == Role.OFFICER:
        return qs.filter(recording__officer__account=user)
    return qs.none()
