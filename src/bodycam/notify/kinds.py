"""The kinds of notification, who may receive each (by role) and what the person sees on
their settings page."""

from __future__ import annotations

from dataclasses import dataclass

from ..access.models import Role


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    roles: frozenset


KINDS = {k.name: k for k in (
    Kind("share.received", "Footage or a case was shared with me", frozenset({Role.PROSECUTOR})),
    Kind("records.deadline", "A public-records request is due soon", frozenset({Role.CUSTODIAN})),
    Kind("retention.approval", "Deletions are waiting for approval", frozenset({Role.CUSTODIAN})),
    Kind("custody.alert", "Fixity or storage alerts", frozenset({Role.CUSTODIAN, Role.ADMIN})),
    Kind("camera.undocked", "A camera has not docked for days", frozenset({Role.CUSTODIAN, Role.ADMIN})),
)}


def kinds_for(user) -> list[Kind]:
    """The kinds ``user`` may receive (their role's), in a fixed order."""
    return [k for k in KINDS.values() if user.role in k.roles]
