"""Verify camera-signed clip manifests at ingest and record Clip.signature.

A clip and its manifest (``<clip>.manifest.json``) are separate objects of one recording
container and may arrive in either order, so verification runs whenever either one is
stored: the second of the pair decides. A clip with no manifest stays ``absent``. Every
verdict is written to the audit chain with its reason. Registering or changing a device's
key re-verifies that device's clips (``reverify_device``).
"""

from __future__ import annotations

import logging

from ..custody.services import record
from ..errors import BodycamError
from ..evidence.models import Attachment, Clip, Device
from ..provenance import manifest as mf
from ..storage import get_store

log = logging.getLogger("bodycam.ingest")


def _read_blob(sha256: str) -> bytes:
    with get_store().open(sha256) as f:
        return f.read(mf.MAX_BYTES + 1)


def verify_clip(clip: Clip, manifest: Attachment, actor: str = "ingest", source: str = "") -> str:
    rec = clip.recording
    verdict = mf.verify(_read_blob(manifest.sha256), rec.device.public_key, clip_sha256=clip.sha256,
                        clip_object=clip.object_name, clip_size=clip.size, device_serial=rec.device.serial,
                        container=rec.container_name)
    status = Clip.Signature.VALID if verdict.valid else Clip.Signature.INVALID
    if clip.signature != status:
        Clip.objects.filter(pk=clip.pk).update(signature=status)
        clip.signature = status
    record("ingest.signature." + status, actor=actor, source=source, object_type="clip",
           object_id=str(clip.id), object_sha256=clip.sha256, outcome="ok" if verdict.valid else "error",
           detail={"container": rec.container_name, "object": clip.object_name, "manifest": manifest.object_name,
                   "manifest_sha256": manifest.sha256, "reason": verdict.reason})
    if not verdict.valid:
        log.warning("clip %s/%s signature invalid: %s", rec.container_name, clip.object_name, verdict.reason)
    return status


def on_object_stored(rec, kind: str, obj_name: str, actor: str = "ingest", source: str = "") -> None:
    """Hook called by ingest.services.put_object after an object's rows are created.

    Verification never makes ingest fail: footage is accepted whatever its signature says,
    and an unexpected error here is logged (the clip keeps its previous status)."""
    if kind not in ("clip", "manifest"):
        return
    from django.db import transaction

    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the ingest transaction usable
            _check_pair(rec, kind, obj_name, actor, source)
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("signature check of %s/%s failed", rec.container_name, obj_name)


def _check_pair(rec, kind: str, obj_name: str, actor: str, source: str) -> None:
    if kind == "clip":
        clip = Clip.objects.select_related("recording__device").get(recording=rec, object_name=obj_name)
        manifest = Attachment.objects.filter(recording=rec, kind="manifest",
                                             object_name=mf.manifest_name(obj_name)).first()
        if manifest is not None:
            verify_clip(clip, manifest, actor, source)
    elif kind == "manifest":
        clip_name = mf.clip_name_for(obj_name)
        clip = Clip.objects.select_related("recording__device").filter(recording=rec, object_name=clip_name).first()
        if clip is not None:
            manifest = Attachment.objects.get(recording=rec, object_name=obj_name)
            verify_clip(clip, manifest, actor, source)


def reverify_device(device: Device, actor: str = "cli") -> dict:
    """Re-check every clip of a device that has a manifest (after its key is registered)."""
    counts = {"valid": 0, "invalid": 0}
    clips = Clip.objects.select_related("recording__device").filter(recording__device=device)
    for clip in clips:
        manifest = Attachment.objects.filter(recording=clip.recording, kind="manifest",
                                             object_name=mf.manifest_name(clip.object_name)).first()
        if manifest is not None:
            counts[verify_clip(clip, manifest, actor)] += 1
    return counts


class DeviceKeyError(BodycamError, ValueError):
    """A public key that cannot be registered."""

    status = 400


def read_public_key(text: str) -> str:
    """Accept a PEM SubjectPublicKeyInfo Ed25519 key or base64 of the raw 32 bytes; return base64 raw."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from ..provenance.keys import public_b64, public_from_b64

    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise DeviceKeyError("not an Ed25519 public key")
            return public_b64(key)
        return public_b64(public_from_b64(text))
    except DeviceKeyError:
        raise
    except (ValueError, TypeError) as exc:
        raise DeviceKeyError(f"not an Ed25519 public key (PEM or base64 of 32 raw bytes): {exc}") from None


def set_device_key(serial: str, key_text: str, actor: str = "cli") -> tuple[Device, dict]:
    """Register (or replace) a device's manifest-verification key, audit it, re-verify its clips."""
    from django.db import transaction

    key_b64 = read_public_key(key_text)
    with transaction.atomic():
        device = Device.objects.select_for_update().filter(serial=serial).first()
        if device is None:
            raise DeviceKeyError(f"unknown device {serial!r}")
        before = device.public_key
        device.public_key = key_b64
        device.save(update_fields=["public_key"])
        record("device.key.set", actor=actor, object_type="device", object_id=str(device.id),
               detail={"serial": serial, "public_key": key_b64, "previous": before})
    return device, reverify_device(device, actor)
