"""Registering and administering cameras (body and in-car) that upload to the ingest endpoint:
register one with its manifest key, assign it to an officer or a vehicle, retire it.

Each change is one audit entry with its reason. ``actor`` is a User (checked against
``access.policy`` "devices.manage"; a reason is then required), or None (the operator's CLI) or
the name of a system actor ("demo").

* **Assignment** is an inventory fact (who carries the camera, or which vehicle/unit it is
  mounted in). It never changes whose recordings a camera's uploads are: that is the officer
  its container names (the camera's user id), as the Axis API says.
* **Retirement** keeps everything: the row, its manifest key (clips already stored are still
  verified with it) and every recording. A retired camera's later uploads are accepted (no
  evidence is ever turned away) and flagged: the recording's audit entry says so and a custody
  alert ``camera.retired_upload`` is raised (``ingest.services.put_recording``).
"""

from __future__ import annotations

from datetime import datetime, timezone

from django.db import transaction

from ..access import policy
from ..custody.services import record
from ..errors import BodycamError
from ..evidence.models import Device, Officer
from ..evidence.services import CatalogueError
from ..numbers import parse_uuid
from .signatures import read_public_key
from .swift import SERIAL_RE

MAX_KEY_FILE = 16 * 1024  # a PEM or base64 Ed25519 public key is well under 200 bytes
MAX_REASON = 500


class DeviceNotFound(BodycamError):
    """No camera with this serial: 404."""

    status = 404


def _who(actor, reason: str, source: str = "", action: str = "device.manage", serial: str = "") -> str:
    if actor is None or isinstance(actor, str):  # the operator's CLI, the demo loader, a test
        return actor or "cli"
    policy.require(actor, "devices.manage", action=action, object_type="device", object_id=serial, source=source,
                   reason="role may not manage cameras", message="your role may not manage cameras")
    if not (reason or "").strip():
        raise CatalogueError("a reason is required (it is kept in the audit log)")
    if len(reason) > MAX_REASON:
        raise CatalogueError(f"the reason is at most {MAX_REASON} characters")
    return actor.username


def get_device(serial: str) -> Device:
    device = Device.objects.select_related("assigned_officer__account").filter(serial=serial).first()
    if device is None:
        raise DeviceNotFound(f"no camera {serial[:64]!r}")
    return device


def _officer(key) -> Officer | None:
    """An officer chosen on a page (its id) or named on the CLI (id, badge/UserID or username)."""
    if key in (None, ""):
        return None
    key = str(key).strip()
    found = None
    if parse_uuid(key):
        found = Officer.objects.filter(id=parse_uuid(key)).first() or Officer.objects.filter(
            axis_user_id=parse_uuid(key)).first()
    if found is None and key:
        found = (Officer.objects.filter(user_key=key).first()
                 or Officer.objects.filter(account__username=key).first())
    if found is None:
        raise CatalogueError(f"no officer {key[:100]!r}")
    return found


def _vehicle(value: str) -> str:
    value = (value or "").strip()
    if len(value) > 100 or any(ord(c) < 32 for c in value):
        raise CatalogueError("the vehicle/unit name is at most 100 printable characters")
    return value


def key_text(data: bytes | str) -> str:
    """The text of an uploaded public-key file (PEM or base64), or CatalogueError."""
    if isinstance(data, str):
        return data
    if len(data) > MAX_KEY_FILE:
        raise CatalogueError("the key file is too large to be an Ed25519 public key (PEM or base64)")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise CatalogueError("the key file is not a PEM or base64 text file") from None


def add_device(serial: str, model: str = "", kind: str = "body", name: str = "", actor=None, *,
               public_key: str | bytes | None = None, officer=None, vehicle: str = "", reason: str = "",
               source: str = "") -> Device:
    """Register a camera. Everything is checked before anything is stored: serial, kind, the
    key (PEM SubjectPublicKeyInfo or base64 of the raw 32 bytes), the officer, the vehicle."""
    who = _who(actor, reason, source, action="device.create", serial=serial[:64])
    if not SERIAL_RE.match(serial):
        raise CatalogueError("serial must be 1-64 letters, digits, '.', '-' or '_'")
    if kind not in Device.Kind.values:
        raise CatalogueError("--kind must be body or vehicle")
    if len(model) > 64 or len(name) > 100:
        raise CatalogueError("the model is at most 64 characters and the name at most 100")
    key_b64 = read_public_key(key_text(public_key)) if public_key not in (None, b"", "") else ""
    assigned, vehicle = _officer(officer), _vehicle(vehicle)
    if Device.objects.filter(serial=serial).exists():
        raise CatalogueError(f"device {serial!r} already exists")
    with transaction.atomic():
        device = Device.objects.create(serial=serial, model=model, kind=kind, name=name or serial,
                                       public_key=key_b64, assigned_officer=assigned, vehicle=vehicle)
        detail = {"serial": serial, "model": model, "kind": kind}
        if not isinstance(actor, (str, type(None))) or key_b64 or assigned or vehicle:
            detail |= {"public_key": key_b64, "officer": str(assigned.id) if assigned else "", "vehicle": vehicle,
                       "reason": reason}
        record("device.create", actor=who, source=source, object_type="device", object_id=str(device.id),
               detail=detail)
    return device


def assign(serial: str, officer=None, vehicle: str = "", reason: str = "", actor=None, source: str = "") -> Device:
    """Assign a camera to an officer and/or a vehicle (both empty: unassigned)."""
    who = _who(actor, reason, source, action="device.assign", serial=serial[:64])
    device = get_device(serial)
    if device.retired_at:
        raise CatalogueError(f"camera {serial} is retired; a retired camera is not assigned")
    assigned, vehicle = _officer(officer), _vehicle(vehicle)
    with transaction.atomic():
        before = {"officer": str(device.assigned_officer_id or ""), "vehicle": device.vehicle}
        after = {"officer": str(assigned.id) if assigned else "", "vehicle": vehicle}
        Device.objects.filter(pk=device.pk).update(assigned_officer=assigned, vehicle=vehicle)
        record("device.assign", actor=who, source=source, object_type="device", object_id=str(device.id),
               detail={"serial": serial, "reason": reason,
                       "before": {k: v for k, v in before.items() if after[k] != v},
                       "after": {k: v for k, v in after.items() if before[k] != v}})
    return get_device(serial)


def retire(serial: str, reason: str = "", actor=None, source: str = "") -> Device:
    """Retire a camera: it leaves the fleet status and its assignment ends; its row, key and
    evidence stay. Final: the pages offer no way back (the serial stays taken)."""
    who = _who(actor, reason, source, action="device.retire", serial=serial[:64])
    with transaction.atomic():
        device = Device.objects.select_for_update().filter(serial=serial).first()
        if device is None:
            raise DeviceNotFound(f"no camera {serial[:64]!r}")
        if device.retired_at:
            raise CatalogueError(f"camera {serial} is already retired")
        before = {"officer": str(device.assigned_officer_id or ""), "vehicle": device.vehicle}
        now = datetime.now(timezone.utc)
        Device.objects.filter(pk=device.pk).update(retired_at=now, retired_reason=reason[:MAX_REASON],
                                                   assigned_officer=None, vehicle="")
        record("device.retire", actor=who, source=source, object_type="device", object_id=str(device.id),
               detail={"serial": serial, "reason": reason, "assignment_ended": before,
                       "public_key": device.public_key})
    return get_device(serial)
