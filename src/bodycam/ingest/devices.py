"""Registering cameras (body and in-car) that upload to the ingest endpoint."""

from __future__ import annotations

from django.db import transaction

from ..custody.services import record
from ..evidence.models import Device
from ..evidence.services import CatalogueError
from .swift import SERIAL_RE


def add_device(serial: str, model: str = "", kind: str = "body", name: str = "", actor: str = "cli") -> Device:
    if not SERIAL_RE.match(serial):
        raise CatalogueError("serial must be 1-64 letters, digits, '.', '-' or '_'")
    if kind not in Device.Kind.values:
        raise CatalogueError("--kind must be body or vehicle")
    if Device.objects.filter(serial=serial).exists():
        raise CatalogueError(f"device {serial!r} already exists")
    with transaction.atomic():
        device = Device.objects.create(serial=serial, model=model[:64], kind=kind, name=name[:100] or serial)
        record("device.create", actor=actor, object_type="device", object_id=str(device.id),
               detail={"serial": serial, "model": model, "kind": kind})
    return device
