"""Find what to tell whom, and mail it.

``sweep()`` (the ``notify.sweep`` job: periodically, and when a share is made) looks at the
catalogue for each kind, skips people who opted out, have no e-mail address or were already
told about that event (``Sent``), and sends one plain-text mail per event. A mail holds a
sentence and links to the app's pages (sign-in required), never evidence: no names of
officers, no recording names, no notes, transcripts or audit details. Every mail is audited
(``notify.mail``: the recipient's account and address, the kind; not the body).
"""

from __future__ import annotations

import hashlib
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction

from ..access.models import User
from ..access.policy import allowed
from ..custody.services import record
from ..errors import BodycamError
from .kinds import KINDS
from .models import OptOut, Sent

# A share or an alert older than this is not mailed any more (a person given an address
# later is not sent a month of old events).
RECENT = timedelta(days=7)


class NotifyError(BodycamError):
    status = 503


@dataclass
class Notice:
    kind: str
    key: str  # the event: one mail per (person, kind, key)
    subject: str
    text: str  # one or two sentences; nothing from the evidence
    path: str  # the page to open
    recipients: list = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def base_url() -> str:
    from ..ingest.connection import public_base_url

    return public_base_url().rstrip("/")


def _people(kind: str) -> list:
    """The active accounts that may receive ``kind`` (access.policy decides, by permission)."""
    perm = KINDS[kind].permission
    return [u for u in User.objects.filter(is_active=True).order_by("username") if allowed(u, perm)]


# ---------------------------------------------------------------------------------- the kinds
def shares_received(now: datetime) -> list[Notice]:
    from ..release.models import CaseShare, Share

    out = []
    live = dict(revoked_at__isnull=True, created_at__gte=now - RECENT)
    for s in Share.objects.filter(**live).select_related("recipient", "created_by").order_by("created_at"):
        if s.expires_at and s.expires_at <= now:
            continue
        clip = s.recording.clips.order_by("start_time", "object_name").values_list("id", flat=True).first()
        if clip is None:
            continue
        out.append(Notice("share.received", f"item:{s.id}", "Footage was shared with you",
                          f"{s.created_by.username} shared footage with you.", f"/evidence/{clip}/", [s.recipient]))
    for s in CaseShare.objects.filter(**live).select_related("recipient", "created_by").order_by("created_at"):
        if s.expires_at and s.expires_at <= now:
            continue
        out.append(Notice("share.received", f"case:{s.id}", "A case was shared with you",
                          f"{s.created_by.username} shared a case with you.", f"/cases/{s.case_id}/", [s.recipient]))
    return out


def records_deadlines(now: datetime) -> list[Notice]:
    from ..records.models import RecordsRequest

    days = settings.NOTIFY_RECORDS_DEADLINE_DAYS
    today = now.date()
    open_states = [RecordsRequest.Status.OPEN, RecordsRequest.Status.SUBMITTED, RecordsRequest.Status.APPROVED]
    people = _people("records.deadline")
    out = []
    for r in RecordsRequest.objects.filter(status__in=open_states, deadline__lte=today + timedelta(days=days)) \
            .order_by("deadline", "number"):
        left = (r.deadline - today).days
        when = "is overdue" if left < 0 else "is due today" if left == 0 else f"is due in {left} day(s)"
        out.append(Notice("records.deadline", f"{r.id}:{r.deadline.isoformat()}",
                          "A public-records request is due soon",
                          f"Public-records request {r.number} {when} ({r.deadline.isoformat()}).",
                          f"/records/{r.number}/", people))
    return out


def deletions_awaiting_approval(now: datetime) -> list[Notice]:
    from ..retention.models import DeletionEntry
    from ..retention.policy import settings_row

    if not settings_row().require_approval:
        return []
    ids = sorted(str(i) for i in DeletionEntry.objects.filter(state=DeletionEntry.State.PENDING,
                                                              approved_at__isnull=True).values_list("id", flat=True))
    if not ids:
        return []
    key = hashlib.sha256(",".join(ids).encode()).hexdigest()  # a new mail when the waiting set changes
    return [Notice("retention.approval", key, "Deletions are waiting for approval",
                   f"{len(ids)} recording(s) in the deletion queue wait for a custodian's approval.",
                   "/retention/", _people("retention.approval"))]


ALERT_PREFIXES = ("fixity.", "storage.")


def custody_alerts(now: datetime) -> list[Notice]:
    from django.db.models import Q

    from ..custody.models import Alert

    people = _people("custody.alert")
    match = Q()
    for p in ALERT_PREFIXES:
        match |= Q(kind__startswith=p)
    out = []
    for a in Alert.objects.filter(match, acknowledged_at__isnull=True, created_at__gte=now - RECENT) \
            .order_by("created_at"):
        # the alert's kind and level only: its message names stored objects
        out.append(Notice("custody.alert", str(a.id), f"{a.level.capitalize()} alert: {a.kind}",
                          f"A {a.level} {a.kind} alert was raised. `bodycam alerts` lists it; acknowledge it "
                          "once dealt with.", "/ops/storage/", people))
    return out


def cameras_not_docked(now: datetime) -> list[Notice]:
    from django.db.models import Max

    from ..evidence.models import Device

    days = settings.CAMERA_STALE_DAYS
    cutoff = now - timedelta(days=days)
    people = _people("camera.undocked")
    out = []
    for d in Device.objects.filter(active=True, kind=Device.Kind.BODY, retired_at__isnull=True).annotate(
            last=Max("recordings__clips__ingested_at")).order_by("serial"):
        last = d.last or d.created_at
        if last is None or last > cutoff:
            continue
        since = last.date().isoformat()
        out.append(Notice("camera.undocked", f"{d.id}:{since}", f"Camera {d.serial} has not docked for {days}+ days",
                          f"Camera {d.serial} has uploaded nothing since {since}.",
                          f"/evidence/?device={d.serial}", people))
    return out


def access_decided(now: datetime) -> list[Notice]:
    """A detective's access request approved or denied (the page says which recording)."""
    from ..access.models import AccessRequest

    out = []
    for r in (AccessRequest.objects.filter(decided_at__gte=now - RECENT).exclude(status=AccessRequest.Status.PENDING)
              .select_related("requester").order_by("decided_at")):
        out.append(Notice("access.decided", str(r.id), f"Your access request was {r.status}",
                          f"A request of yours for access to footage was {r.status}.",
                          f"/access-requests/{r.id}/", [r.requester]))
    return out


def access_awaiting(now: datetime) -> list[Notice]:
    """Access requests awaiting a person who may decide them (one mail per new set)."""
    from ..access.requests import requests_awaiting

    out = []
    for user in _people("access.awaiting"):
        ids = sorted(str(i) for i in requests_awaiting(user).filter(created_at__gte=now - RECENT)
                     .values_list("id", flat=True))
        if ids:
            key = hashlib.sha256(",".join(ids).encode()).hexdigest()
            out.append(Notice("access.awaiting", key, "Access requests await your decision",
                              f"{len(ids)} request(s) for access to footage await your decision.",
                              "/access-requests/", [user]))
    return out


FINDERS = {"share.received": shares_received, "records.deadline": records_deadlines,
           "retention.approval": deletions_awaiting_approval, "custody.alert": custody_alerts,
           "camera.undocked": cameras_not_docked, "access.decided": access_decided,
           "access.awaiting": access_awaiting}


# ---------------------------------------------------------------------------------- sending
def smtp_configured() -> bool:
    return bool(settings.NOTIFY_SMTP.get("host"))


def _connection():
    c = settings.NOTIFY_SMTP
    return get_connection("django.core.mail.backends.smtp.EmailBackend", host=c["host"], port=c["port"],
                          username=c["user"] or None, password=c["password"] or None, use_tls=c["starttls"],
                          use_ssl=c["ssl"], timeout=c["timeout"], fail_silently=False)


def render(notice: Notice, user) -> EmailMessage:
    base = base_url()
    body = (f"Hello {user.get_full_name() or user.username},\n\n{notice.text}\n\n"
            f"Open it in bodycam (sign-in required):\n{base}{notice.path}\n\n"
            "This message holds no evidence, only a link to it.\n"
            f"Choose which notifications you receive: {base}/notifications/\n")
    return EmailMessage(f"[bodycam] {notice.subject}", body, settings.NOTIFY_SMTP["from"], [user.email])


def _claim(user, notice: Notice, now: datetime) -> Sent | None:
    try:
        with transaction.atomic():
            return Sent.objects.create(user=user, kind=notice.kind, key=notice.key[:200], at=now)
    except IntegrityError:
        return None  # told already (or another sweep is telling them now)


def sweep(kinds=None, now: datetime | None = None) -> dict:
    """Send every notification due now (of ``kinds``, default all). Returns counts. Without an
    SMTP host configured nothing is sent or recorded."""
    now = now or _now()
    counts = {"sent": 0, "refused": 0, "opted_out": 0, "no_address": 0}
    if not smtp_configured():
        return counts | {"skipped": "no SMTP host configured (BODYCAM_SMTP_HOST)"}
    wanted = [k for k in (kinds or FINDERS) if k in FINDERS]
    notices = [n for k in wanted for n in FINDERS[k](now)]
    opted = set(OptOut.objects.values_list("user_id", "kind"))
    told = set(Sent.objects.filter(kind__in=wanted).values_list("user_id", "kind", "key"))
    connection = None
    try:
        for n in notices:
            for user in n.recipients:
                if (user.pk, n.kind, n.key[:200]) in told:
                    continue
                if not allowed(user, KINDS[n.kind].permission):  # e.g. a share's recipient since moved role
                    continue
                if (user.pk, n.kind) in opted:
                    counts["opted_out"] += 1
                    continue
                if not user.email or not user.is_active:
                    counts["no_address"] += 1
                    continue
                claim = _claim(user, n, now)
                if claim is None:
                    continue
                if connection is None:
                    connection = _connection()
                    try:
                        connection.open()
                    except (OSError, smtplib.SMTPException) as exc:
                        Sent.objects.filter(pk=claim.pk).delete()  # not sent: the next sweep tries again
                        raise NotifyError(f"cannot reach the SMTP server: {type(exc).__name__}: {exc}") from None
                try:
                    connection.send_messages([render(n, user)])
                    outcome = Sent.Outcome.SENT
                except smtplib.SMTPRecipientsRefused:
                    outcome = Sent.Outcome.REFUSED
                except (OSError, smtplib.SMTPException) as exc:
                    Sent.objects.filter(pk=claim.pk).delete()
                    raise NotifyError(f"the SMTP server failed: {type(exc).__name__}: {exc}") from None
                Sent.objects.filter(pk=claim.pk).update(outcome=outcome)
                record("notify.mail", actor="job:notify", object_type="user", object_id=user.username,
                       outcome="ok" if outcome == Sent.Outcome.SENT else "failed",
                       detail={"kind": n.kind, "to": user.email, "event": n.key[:200]})
                counts["sent" if outcome == Sent.Outcome.SENT else "refused"] += 1
    finally:
        if connection is not None:
            connection.close()
    return counts


def share_created(sender, instance, created, **kwargs):
    """post_save of a Share/CaseShare: once committed, a ``notify.sweep`` job for shares."""
    if not created or not smtp_configured():
        return

    def submit():
        from ..jobs.services import submit as submit_job

        submit_job("notify.sweep", params={"kinds": ["share.received"]}, object_type="share",
                   object_id=str(instance.pk))

    transaction.on_commit(submit)


def access_request_saved(sender, instance, created, **kwargs):
    """post_save of an AccessRequest: once committed, a ``notify.sweep`` job for the people to
    tell (its deciders when it is made, its requester when it is decided)."""
    if not smtp_configured() or (not created and instance.status == instance.Status.PENDING):
        return
    kind = "access.awaiting" if created else "access.decided"

    def submit():
        from ..jobs.services import submit as submit_job

        submit_job("notify.sweep", params={"kinds": [kind]}, object_type="access_request", object_id=str(instance.pk))

    transaction.on_commit(submit)


# ---------------------------------------------------------------------------------- preferences
def save_preferences(request, receive: set[str], email: str) -> None:
    """The person's own choice: the kinds (of their role's) they receive, and their address."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from ..custody.services import record_request
    from .kinds import kinds_for

    user = request.user
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise BadAddress("that is not an e-mail address") from None
        if len(email) > 254:
            raise BadAddress("the e-mail address is too long")
    mine = {k.name for k in kinds_for(user)}
    unknown = receive - mine
    if unknown:
        raise BadAddress(f"unknown notification kind(s): {', '.join(sorted(unknown))[:200]}")
    off = sorted(mine - receive)
    with transaction.atomic():
        OptOut.objects.filter(user=user).exclude(kind__in=off).delete()
        for kind in off:
            OptOut.objects.get_or_create(user=user, kind=kind)
        changed = email != user.email
        if changed:
            User.objects.filter(pk=user.pk).update(email=email)
            user.email = email
        record_request(request, "notify.preferences", object_type="user", object_id=user.username,
                       detail={"off": off, "receive": sorted(receive), "email_changed": changed})


class BadAddress(BodycamError):
    """The settings form's bad input (400): nothing is changed."""

    status = 400
