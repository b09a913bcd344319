"""The kinds of notification, who may receive each (a permission of access.policy) and what
the person sees on their settings page."""

from __future__ import annotations

from dataclasses import dataclass

from ..access.policy import allowed


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    permission: str  # access.policy: the roles that may receive it


KINDS = {k.name: k for k in (
    Kind("share.received", "Footage or a case was shared with me", "notify.share_received"),
    Kind("records.deadline", "A public-records request is due soon", "notify.records_deadline"),
    Kind("retention.approval", "Deletions are waiting for approval", "notify.deletion_approval"),
    Kind("custody.alert", "Fixity or storage alerts", "notify.custody_alert"),
    Kind("camera.undocked", "A camera has not docked for days", "notify.camera_undocked"),
    Kind("access.decided", "My request for access to footage was decided", "notify.access_decided"),
    Kind("access.awaiting", "Requests for access to footage await my decision", "notify.access_awaiting"),
)}


def kinds_for(user) -> list[Kind]:
    """The kinds ``user`` may receive, in a fixed order."""
    return [k for k in KINDS.values() if allowed(user, k.permission)]
