"""Live view: what cameras announce (on the air, positions, watch me), their video relayed
to the people allowed to watch, every view audited. docs/live.md.

Cameras speak to ``device_*`` (each request signed with the camera's device key,
``provenance.signed_requests``); people reach ``onair`` and ``watch`` through the one policy
(``live.onair``, ``live.watch``). The media itself is the relay's (``live.relay``), which runs
on this process's live loop (``live.loop``); this module is the only caller of both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Q

from ..access.policy import LiveRules as _LiveRulesBase
from ..access.policy import live_command_staff, require
from ..custody.services import record, record_request
from ..errors import BadInput, BodycamError
from ..evidence.models import Device, Officer
from ..numbers import parse_uuid
from ..provenance import signed_requests as sr
from ..timefmt import iso_seconds
from . import loop as live_loop
from .models import CommandStaff, LivePosition, LiveSession

EVENTS = ("start", "position", "watchme", "stop")
MAX_STATUS_BYTES = 16 * 1024
MAX_SDP_BYTES = 64 * 1024
TURN_CREDENTIAL_S = 12 * 3600
RELAY_TIMEOUT_S = 30


class LiveError(BodycamError):
    status = 400


class LiveOff(LiveError):
    status = 403

    def __init__(self):
        super().__init__("live view is off at this site (BODYCAM_LIVE)")


class DeviceRefused(LiveError):
    status = 401


class OffAir(LiveError):
    """The recording is not (or no longer) on the air."""

    status = 409


class Busy(LiveError):
    status = 503
    retry_after = 10


class LiveRules(_LiveRulesBase):
    def is_command_staff(self, user) -> bool:
        return CommandStaff.objects.filter(user_id=user.pk).exists()


def enabled() -> bool:
    return bool(settings.LIVE_ENABLED)


def require_enabled() -> None:
    if not enabled():
        raise LiveOff()


def ice_servers(name: str = "") -> list[dict]:
    """ICE servers for a camera or a browser, in the browser's RTCIceServer form. TURN
    credentials are coturn's time-limited ones (``use-auth-secret``): user ``expiry:name``,
    password base64(HMAC-SHA1(secret, user))."""
    out = []
    if settings.LIVE_STUN_URLS:
        out.append({"urls": list(settings.LIVE_STUN_URLS)})
    if settings.LIVE_TURN_URLS:
        entry = {"urls": list(settings.LIVE_TURN_URLS)}
        if settings.LIVE_TURN_SECRET:
            user = f"{int(time.time()) + TURN_CREDENTIAL_S}:{name[:64] or 'bodycam'}"
            digest = hmac.new(settings.LIVE_TURN_SECRET.encode(), user.encode(), hashlib.sha1).digest()
            entry.update(username=user, credential=base64.b64encode(digest).decode())
        out.append(entry)
    return out


# ------------------------------------------------------------------ the relay of this process
_relay = None
_relay_lock = threading.Lock()
_viewers: dict[str, dict] = {}  # viewer id -> who watches whom since when (for the end entry)


def relay():
    """This process's relay (created on first use, with its loop)."""
    global _relay
    with _relay_lock:
        if _relay is None:
            from .relay import Relay

            _relay = Relay(live_loop.default().run_blocking, on_stream_end=_stream_ended,
                           on_viewer_end=_viewer_ended)
        return _relay


def _relay_call(coro_fn):
    from .relay import Full, NotOnAir, RelayError

    try:
        return live_loop.default().submit(coro_fn, timeout=RELAY_TIMEOUT_S)
    except Full as exc:
        raise Busy(str(exc)) from None
    except NotOnAir as exc:
        raise OffAir(str(exc)) from None
    except RelayError as exc:
        raise BadInput(str(exc)) from None
    except TimeoutError as exc:
        raise Busy(str(exc)) from None


def _in_pool(fn):
    """Relay callbacks run in the loop's thread pool: give each its own fresh connection use."""
    def run(*args):
        close_old_connections()
        try:
            return fn(*args)
        finally:
            close_old_connections()
    return run


@_in_pool
def _stream_ended(stream_id: str, reason: str) -> None:
    s = LiveSession.objects.select_related("device").filter(pk=stream_id).first()
    record("live.publish.end", actor=f"device:{s.device.serial}" if s else "live", object_type="live_session",
           object_id=stream_id, detail={"reason": reason[:200], "container": s.container_name if s else ""})


@_in_pool
def _viewer_ended(viewer_id: str, stream_id: str, reason: str) -> None:
    meta = _viewers.pop(viewer_id, None)
    if meta is None:
        return
    now = datetime.now(timezone.utc)
    record("live.watch.end", actor=meta["actor"], source=meta["source"], object_type="live_session",
           object_id=stream_id, detail={"viewer": viewer_id, "officer": meta["officer"], "from": iso_seconds(meta["from"]),
                                        "to": iso_seconds(now), "seconds": round((now - meta["from"]).total_seconds(), 1),
                                        "reason": reason[:200]})


# ------------------------------------------------------------------ cameras (device-signed)
_nonces: dict[str, float] = {}
_nonce_lock = threading.Lock()


def _fresh_nonce(serial: str, nonce: str, now: float) -> bool:
    """A nonce is used once (within the clock window; older requests are refused anyway).
    Kept in this process: the live view runs in one (docs/live.md)."""
    with _nonce_lock:
        if len(_nonces) > 50_000 or (_nonces and next(iter(_nonces.values())) < now - 2 * sr.MAX_SKEW_S):
            for k in [k for k, t in _nonces.items() if t < now - 2 * sr.MAX_SKEW_S]:
                del _nonces[k]
        key = f"{serial}:{nonce}"
        if key in _nonces:
            return False
        _nonces[key] = now
        return True


def authenticate_device(request, body: bytes) -> Device:
    """The device that signed this request, or ``DeviceRefused`` (401, audited)."""
    serial = (request.headers.get(sr.HEADERS["device"]) or "")[:64]
    try:
        claim = sr.read_claim(request.headers.get)
        device = Device.objects.filter(serial=claim.serial).first()
        if device is None:
            raise sr.SignatureError(f"unknown device {claim.serial!r}")
        now = time.time()
        sr.verify(claim, device.public_key, request.method, request.get_full_path(), body, now=now)
        if not _fresh_nonce(claim.serial, claim.nonce, now):
            raise sr.SignatureError("this request was sent before (replayed nonce)")
    except sr.SignatureError as exc:
        record_request(request, "live.device.refused", actor=f"device:{serial}" if serial else "anonymous",
                       outcome="denied", detail={"reason": str(exc), "status": 401})
        raise DeviceRefused(str(exc)) from None
    return device


def _parse_at(value) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise BadInput("'at' must be an ISO 8601 time")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput("'at' must be an ISO 8601 time") from None
    if at.tzinfo is None:
        raise BadInput("'at' needs a time zone (Z or +hh:mm)")
    return at.astimezone(timezone.utc)


def _parse_position(value) -> tuple[float, float, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadInput("'position' must be an object {lat, lon, accuracy}")
    try:
        lat, lon = float(value["lat"]), float(value["lon"])
        acc = float(value.get("accuracy", 0))
    except (KeyError, TypeError, ValueError):
        raise BadInput("'position' needs numbers lat and lon (and accuracy in metres)") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 <= acc <= 100_000):
        raise BadInput("'position' is out of range (lat -90..90, lon -180..180, accuracy 0..100000 m)")
    return lat, lon, acc


def _check_container(device: Device, container) -> str:
    if not isinstance(container, str) or not 1 <= len(container) <= 255:
        raise BadInput("'container' must be the recording's container name")
    if f"_{device.serial}_" not in container:
        raise BadInput(f"container {container!r} is not a recording of camera {device.serial}")
    return container


def _officer_for(container: str) -> Officer | None:
    uid = parse_uuid(container.split("_", 1)[0])
    return Officer.objects.filter(axis_user_id=uid).first() if uid else None


def parse_status(body: bytes) -> dict:
    if len(body) > MAX_STATUS_BYTES:
        raise BadInput(f"a status message is at most {MAX_STATUS_BYTES} bytes")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadInput("the body must be a JSON object") from None
    if not isinstance(doc, dict):
        raise BadInput("the body must be a JSON object")
    if doc.get("event") not in EVENTS:
        raise BadInput(f"'event' must be one of {', '.join(EVENTS)}")
    trigger = doc.get("trigger", "")
    if not isinstance(trigger, str) or len(trigger) > 64:
        raise BadInput("'trigger' must be text of at most 64 characters")
    return {"event": doc["event"], "container": doc.get("container"), "trigger": trigger,
            "at": _parse_at(doc.get("at")), "position": _parse_position(doc.get("position"))}


def device_status(request, device: Device, doc: dict) -> dict:
    """A camera's ``start`` / ``position`` / ``watchme`` / ``stop``. Checked before anything is stored."""
    container = _check_container(device, doc["container"])
    event, at, pos = doc["event"], doc["at"], doc["position"]
    now = datetime.now(timezone.utc)
    actor = f"device:{device.serial}"
    ended, superseded = False, []
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().filter(device=device, container_name=container).first()
        if event == "start":
            if session is None:
                # A camera records one thing at a time: an earlier recording it never said
                # "stop" for (battery out, out of coverage at the end) is over now.
                superseded = list(LiveSession.objects.select_for_update().filter(device=device, ended_at__isnull=True))
                for old in superseded:
                    LiveSession.objects.filter(pk=old.pk).update(ended_at=at, trigger_off="Superseded")
                    record_request(request, "live.session.stop", actor=actor, object_type="live_session",
                                   object_id=str(old.id), detail={"container": old.container_name,
                                                                  "trigger": "Superseded", "at": iso_seconds(at)})
                session = LiveSession.objects.create(device=device, container_name=container, officer=_officer_for(container),
                                                     trigger=doc["trigger"], started_at=at, last_heard_at=now)
                record_request(request, "live.session.start", actor=actor, object_type="live_session",
                               object_id=str(session.id), detail={"container": container, "trigger": doc["trigger"],
                                                                  "at": iso_seconds(at)})
            elif session.ended_at is not None:
                raise OffAir("this recording has already stopped")
        elif session is None:
            raise OffAir("this recording is not on the air: send 'start' first")
        elif session.ended_at is not None and event != "stop":
            raise OffAir("this recording has already stopped")
        updates = {"last_heard_at": now}
        if event == "watchme":
            updates["watchme_at"] = at
            record_request(request, "live.watchme", actor=actor, object_type="live_session", object_id=str(session.id),
                           detail={"container": container, "at": iso_seconds(at)})
        if event == "stop" and session.ended_at is None:
            updates.update(ended_at=at, trigger_off=doc["trigger"])
            ended = True
            record_request(request, "live.session.stop", actor=actor, object_type="live_session",
                           object_id=str(session.id), detail={"container": container, "trigger": doc["trigger"],
                                                              "at": iso_seconds(at)})
        LiveSession.objects.filter(pk=session.pk).update(**updates)
        if pos is not None:
            LivePosition.objects.create(session=session, recording=session.recording, event=event, at=at,
                                        latitude=pos[0], longitude=pos[1], accuracy=pos[2])
    if ended:
        end_stream(session, "recording stopped")
    for old in superseded:
        end_stream(old, "the camera started another recording")
    answer = {"session": str(session.id), "streaming": _relay is not None and str(session.id) in _relay.streams}
    if event == "start":
        answer.update(video=True, ice_servers=ice_servers(device.serial))
    return answer


def device_publish(request, device: Device, container: str, offer: bytes) -> tuple[LiveSession, str]:
    """A camera's WebRTC offer for the recording it announced; returns its answer."""
    container = _check_container(device, container)
    if not offer or len(offer) > MAX_SDP_BYTES:
        raise BadInput(f"the body must be an SDP offer of at most {MAX_SDP_BYTES} bytes")
    try:
        sdp = offer.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("the SDP offer is not UTF-8 text") from None
    session = LiveSession.objects.filter(device=device, container_name=container).first()
    if session is None or session.ended_at is not None:
        raise OffAir("this recording is not on the air: send 'start' first")
    sid, r = str(session.id), relay()
    answer = _relay_call(lambda: r.publish(sid, sdp, ice_servers(device.serial), settings.LIVE_MAX_PUBLISHERS))
    record_request(request, "live.publish", actor=f"device:{device.serial}", object_type="live_session", object_id=sid,
                   detail={"container": container})
    return session, answer


def device_unpublish(request, device: Device, stream_id: str) -> None:
    sid = parse_uuid(stream_id)
    session = LiveSession.objects.filter(pk=sid, device=device).first() if sid else None
    if session is None:
        raise OffAir("no such stream of this camera")
    end_stream(session, "camera ended the stream")


def end_stream(session: LiveSession, reason: str) -> None:
    """End the session's video (the relay closes every viewer's connection too)."""
    if _relay is None:
        return
    sid, r = str(session.id), _relay
    live_loop.default().submit(lambda: r.end_stream(sid, reason), timeout=RELAY_TIMEOUT_S)


def recording_arrived(sender, instance, created, **kwargs):
    """post_save of evidence.Recording: the positions sent live become this recording's."""
    if not created:
        return
    ids = list(LiveSession.objects.filter(device_id=instance.device_id, container_name=instance.container_name)
               .values_list("id", flat=True))
    if ids:
        LiveSession.objects.filter(id__in=ids).update(recording=instance)
        LivePosition.objects.filter(session_id__in=ids).update(recording=instance)


def forget_positions(recording) -> int:
    """Retention's purge: the recording's live positions go with it."""
    n, _ = LivePosition.objects.filter(Q(recording=recording) | Q(session__recording=recording)).delete()
    return n


# ------------------------------------------------------------------ people
def tile_origin() -> str:
    """The origin of the agency's map tiles (for the on-air page's CSP), or ""."""
    from urllib.parse import urlsplit

    url = settings.LIVE_TILE_URL
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def trigger_label(trigger: str) -> str:
    """"SignalSiren" -> "siren signal", "Button" -> "record button" (the device's TriggerOn names)."""
    import re

    if trigger.startswith("Signal") and len(trigger) > 6:
        return " ".join(w.lower() for w in re.findall(r"[A-Z][a-z]*|[A-Z]+(?![a-z])", trigger[6:])) + " signal"
    return {"Button": "record button", "": "—"}.get(trigger, trigger)


def row_json(row: dict) -> dict:
    """An ``onair`` row for the page's script (times as ISO 8601, UTC)."""
    out = dict(row)
    for k in ("started_at", "last_heard_at", "watchme_at"):
        out[k] = iso_seconds(row[k])
    if row["position"]:
        out["position"] = {**row["position"], "at": iso_seconds(row["position"]["at"])}
    return out


def watchable(user):
    """Sessions on the air whose officer ``user`` may watch (the policy's ``live.watch``, as one query)."""
    qs = LiveSession.objects.filter(ended_at__isnull=True).select_related("officer", "device")
    if live_command_staff(user):
        return qs
    return qs.filter(officer__account__squad__supervisors=user)


def onair(request) -> list[dict]:
    """Who is on the air that this person may watch: since when, started by what, where."""
    require(request, "live.onair", action="live.onair.view")
    now = datetime.now(timezone.utc)
    stale = timedelta(seconds=settings.LIVE_STALE_SECONDS)
    sessions = list(watchable(request.user).order_by("-watchme_at", "started_at"))
    streaming = set(_relay.streams) if _relay is not None else set()
    trails: dict = {}
    for p in LivePosition.objects.filter(session__in=[s.id for s in sessions]).order_by("session_id", "-at")[:5000]:
        t = trails.setdefault(p.session_id, [])
        if len(t) < 30:
            t.append(p)
    rows = []
    for s in sessions:
        trail = list(reversed(trails.get(s.id, [])))
        last = trail[-1] if trail else None
        rows.append({
            "id": str(s.id), "officer": str(s.officer) if s.officer else "(unknown officer)", "device": s.device.serial,
            "trigger": s.trigger, "trigger_label": trigger_label(s.trigger), "started_at": s.started_at, "last_heard_at": s.last_heard_at,
            "stale": now - s.last_heard_at > stale, "watchme_at": s.watchme_at, "video": str(s.id) in streaming,
            "position": {"lat": last.latitude, "lon": last.longitude, "accuracy": last.accuracy, "at": last.at}
            if last else None,
            "trail": [[p.latitude, p.longitude] for p in trail],
        })
    record_request(request, "live.onair.view", detail={"shown": [r["id"] for r in rows]})
    return rows


def session_for(request, session_id: str) -> LiveSession:
    """A session the person may watch (denials audited); 404 for none."""
    sid = parse_uuid(session_id)
    session = LiveSession.objects.select_related("officer", "device").filter(pk=sid).first() if sid else None
    if session is None:
        from ..access.policy import NotVisible, audit_denied

        require(request, "live.onair", action="live.watch")  # the role first: a 403 for those without it
        audit_denied(request, "live.watch", "no such live recording", status=404)
        raise NotVisible("no such live recording")
    require(request, "live.watch", session.officer, action="live.watch", object_type="live_session",
            object_id=str(session.id), message="you may not watch this officer live")
    return session


def watch(request, session: LiveSession, offer) -> tuple[str, str]:
    """Start relaying the session's video to this browser; returns (viewer id, SDP answer)."""
    if not isinstance(offer, str) or not offer or len(offer) > MAX_SDP_BYTES:
        raise BadInput("send the browser's SDP offer as 'sdp'")
    if session.ended_at is not None:
        raise OffAir("this recording has stopped: the live view ended with it")
    viewer_id, sid, r = uuid.uuid4().hex, str(session.id), relay()
    answer = _relay_call(lambda: r.watch(sid, viewer_id, offer, ice_servers(request.user.username),
                                         settings.LIVE_MAX_VIEWERS))
    now = datetime.now(timezone.utc)
    entry = record_request(request, "live.watch", object_type="live_session", object_id=sid,
                           detail={"viewer": viewer_id, "officer": str(session.officer) if session.officer else "",
                                   "device": session.device.serial, "from": iso_seconds(now)})
    _viewers[viewer_id] = {"actor": entry.actor, "source": entry.source, "officer": entry.detail["officer"],
                           "from": now, "user_id": request.user.pk}
    return viewer_id, answer


def end_watch(request, session: LiveSession, viewer_id: str) -> None:
    meta = _viewers.get(viewer_id)
    if meta is None or meta["user_id"] != request.user.pk or _relay is None:
        return  # already ended (its entry is written) or not this person's
    r = _relay
    live_loop.default().submit(lambda: r.end_viewer(viewer_id, "viewer closed the player"), timeout=RELAY_TIMEOUT_S)


# ------------------------------------------------------------------ command staff (administrators, CLI)
def set_command_staff(username: str, on: bool, actor: str) -> bool:
    """Make a supervisor command staff (or not); audited. Returns whether anything changed."""
    from ..access.models import User
    from ..access.policy import role_may

    user = User.objects.filter(username=username).first()
    if user is None:
        raise BadInput(f"no account {username!r}")
    if user.username == actor:
        raise BadInput("nobody changes their own privileges")
    if on and not role_may(user.role, "live.onair"):
        raise BadInput(f"{username} is a {user.role}: command staff are supervisors")
    with transaction.atomic():
        if on:
            _, changed = CommandStaff.objects.get_or_create(user=user, defaults={"added_by": actor[:150]})
        else:
            changed = CommandStaff.objects.filter(user=user).delete()[0] > 0
        if changed:
            record("live.command_staff.add" if on else "live.command_staff.remove", actor=actor, object_type="user",
                   object_id=str(user.pk), detail={"username": username})
    return changed


class device_refusals_audited:  # noqa: N801 - used as ``with``
    """Like ``access.policy.refusals_audited`` for a camera's request: any refusal after the
    signature was checked (bad input, not on the air, relay full) writes one denied entry
    under the device's name, then goes on to the mapper."""

    def __init__(self, request, device: Device):
        self.request, self.device = request, device

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and isinstance(exc, BodycamError) and not isinstance(exc, DeviceRefused):
            record_request(self.request, "live.device.refused", actor=f"device:{self.device.serial}", outcome="denied",
                           detail={"reason": exc.message[:300], "status": exc.status})
        return False
