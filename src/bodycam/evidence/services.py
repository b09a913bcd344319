"""Catalogue operations used by the CLI, the demo and the web views."""

from __future__ import annotations

import uuid

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from ..access.models import Role, User
from ..access.policy import role_may
from ..custody.services import record
from .models import Clip, Device, Officer


class CatalogueError(Exception):
    pass


def iso(dt) -> str | None:
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z") if dt else None


def add_user(username: str, role: str, password: str, badge: str = "", axis_user_id: str | None = None,
             actor: str = "cli") -> User:
    if role not in Role.values:
        raise CatalogueError(f"unknown role {role!r}; one of: {', '.join(Role.values)}")
    if not username or len(username) > 150 or not all(c.isalnum() or c in "@.+-_" for c in username):
        raise CatalogueError("username must be 1-150 letters, digits or @.+-_")
    if User.objects.filter(username=username).exists():
        raise CatalogueError(f"user {username!r} already exists")
    axis_uuid = None
    if axis_user_id:
        try:
            axis_uuid = uuid.UUID(axis_user_id)
        except ValueError:
            raise CatalogueError("--axis-user-id must be a UUID") from None
    user = User(username=username, role=role, badge=badge[:32])
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise CatalogueError("password rejected: " + " ".join(exc.messages)) from None
    user.set_password(password)
    with transaction.atomic():
        user.save()
        if axis_uuid or role_may(role, "evidence.own_recordings"):
            officer, created = Officer.objects.get_or_create(
                axis_user_id=axis_uuid or uuid.uuid4(), defaults={"name": username, "user_key": badge[:100]})
            if officer.account_id and officer.account_id != user.id:
                raise CatalogueError(f"Axis user {axis_uuid} is already linked to another account")
            officer.account = user
            officer.save(update_fields=["account"])
        record("account.create", actor=actor, object_type="user", object_id=str(user.id),
               detail={"username": username, "role": role, "badge": badge, "axis_user_id": str(axis_uuid or "")})
    return user


def add_device(serial: str, model: str = "", kind: str = "body", name: str = "", actor: str = "cli") -> Device:
    from ..ingest.swift import SERIAL_RE

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


def clip_summary(clip: Clip) -> dict:
    rec = clip.recording
    account = rec.officer.account
    return {
        "id": str(clip.id),
        "sha256": clip.sha256,
        "size": clip.size,
        "officer": {"username": account.username if account else None, "name": rec.officer.name,
                    "axis_user_id": str(rec.officer.axis_user_id)},
        "device": rec.device.serial,
        "recording": rec.container_name,
        "object": clip.object_name,
        "start": iso(clip.start_time or rec.start_time),
        "stop": iso(clip.stop_time or rec.stop_time),
        "duration_s": clip.duration_s,
        "trigger_on": rec.trigger_on,
        "trigger_off": rec.trigger_off,
        "trigger_on_time": iso(rec.trigger_on_time),
        "status": rec.status,
        "signature": clip.signature,
    }


def all_clips():
    return Clip.objects.select_related("recording__officer__account", "recording__device").order_by(
        "recording__trigger_on_time", "start_time", "object_name")


def recording_detail(key: str) -> dict:
    """Everything the catalogue holds about one recording (by container name or id)."""
    from .models import Recording

    qs = Recording.objects.select_related("officer__account", "device")
    rec = qs.filter(container_name=key).first()
    if rec is None:
        try:
            rec = qs.filter(id=uuid.UUID(key)).first()
        except ValueError:
            rec = None
    if rec is None:
        raise CatalogueError(f"no recording {key!r}")
    return {
        "id": str(rec.id), "container": rec.container_name, "status": rec.status,
        "officer": {"name": rec.officer.name, "axis_user_id": str(rec.officer.axis_user_id),
                    "username": rec.officer.account.username if rec.officer.account else None},
        "device": {"serial": rec.device.serial, "kind": rec.device.kind, "model": rec.device.model},
        "trigger_on": rec.trigger_on, "trigger_off": rec.trigger_off,
        "trigger_on_time": iso(rec.trigger_on_time), "trigger_off_time": iso(rec.trigger_off_time),
        "start": iso(rec.start_time), "stop": iso(rec.stop_time), "time_zone": rec.time_zone,
        "metadata": rec.metadata,
        "categories": sorted(rec.categories.values_list("name", flat=True)),
        "clips": [clip_summary(c) for c in rec.clips.select_related("recording__officer__account", "recording__device")],
        "attachments": [{"object": a.object_name, "kind": a.kind, "sha256": a.sha256, "size": a.size}
                        for a in rec.attachments.order_by("object_name")],
        "bookmarks": [{"text": b.text, "category_id": b.category_id, "category_name": b.category_name,
                       "tags": b.tags, "start": iso(b.start_time), "end": iso(b.end_time)} for b in rec.bookmarks.all()],
        "gnss": [[p.latitude, p.longitude] for p in rec.gnss_points.all()],
    }
