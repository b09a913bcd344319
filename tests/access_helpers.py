"""Helpers for tests that need signed-in users: real sign-in (password + TOTP) through
the real views, and a small world of users, squads, cases, shares and ingested clips."""

from __future__ import annotations

import io
import os
import time
import uuid
from datetime import datetime, timedelta, timezone

from django.test import Client

from bodycam.access import totp
from bodycam.access.accounts import add_user
from bodycam.access.auth import enrol_with_secret
from bodycam.access.models import Squad, TotpDevice, User
from bodycam.cases.models import Case
from bodycam.evidence.models import Clip, Device, Officer
from bodycam.release.models import Share

PASSWORD = "correct-horse-battery-9"


def make_user(username: str, role: str, enrol: bool = True, **kw) -> User:
    user = add_user(username, role, PASSWORD, actor="test", **kw)
    if enrol:
        enrol_with_secret(user, actor="test")
    return user


def current_code(user: User) -> str:
    """A code the server will accept now (a later step if this step's code was used)."""
    dev = TotpDevice.objects.get(user=user)
    now_step = totp.step_at()
    step = max(now_step, dev.last_step + 1)
    assert step <= now_step + 1, "too many sign-ins for one user within 30 s"
    return totp.hotp(totp._key(dev.secret), step)


def sign_in(client: Client, user: User, password: str = PASSWORD, **extra):
    r = client.post("/login/", {"username": user.username, "password": password, "acknowledge": "yes"}, **extra)
    assert r.status_code == 302 and r["Location"].startswith("/mfa/"), (r.status_code, r.content[:300])
    r = client.post("/mfa/", {"code": current_code(user)}, **extra)
    assert r.status_code == 302 and not r["Location"].startswith("/login"), (r.status_code, r.content[:300])
    return client


def client_for(user: User) -> Client:
    return sign_in(Client(), user)


def ingest_clip_for(officer: Officer, tmp_path, seconds: float = 1, serial: str | None = None) -> Clip:
    from bodycam.ingest import services
    from bodycam.media.synth import make_clip

    device = Device.objects.create(serial=serial or f"D{uuid.uuid4().hex[:6]}")
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    name = f"{officer.axis_user_id}_{device.serial}_{t0:%Y%m%dT%H%M%SZ}"
    services.put_recording(name, {"TriggerOn": "Button"}, "test", "", replace=True)
    path = make_clip(str(tmp_path / f"{uuid.uuid4().hex}.mp4"), seconds=seconds)
    with open(path, "rb") as f:
        services.put_object(name, f"{t0:%Y%m%d_%H%M%S}_1.mp4", f, os.path.getsize(path), None, {}, "test", "")
    return Clip.objects.get(recording__container_name=name)


def two_clip_recording(officer: Officer, tmp_path, bookmarks=(), clip_s: float = 10.0, with_times: bool = True,
                       prebuffer: float = 0.0, serial: str | None = None):
    """A recording of two ``clip_s`` clips back to back (real H.264), through the camera's
    ingest path, with bookmarks given as (seconds from the first clip's start, text, Tags
    header); ``prebuffer``: seconds of pre-event buffer (the trigger that long after the first
    frame). Returns (first clip, second clip)."""
    from bodycam.ingest import services
    from bodycam.media.synth import make_clip

    device = Device.objects.create(serial=serial or f"D{uuid.uuid4().hex[:6]}")
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)
    trigger = t0 + timedelta(seconds=prebuffer)
    name = f"{officer.axis_user_id}_{device.serial}_{trigger:%Y%m%dT%H%M%SZ}"
    services.put_recording(name, {"TriggerOn": "Button", "StartTimeISO": t0.isoformat(),
                                  "StopTimeISO": (t0 + timedelta(seconds=2 * clip_s)).isoformat()},
                           "test", "", replace=True)
    path = make_clip(str(tmp_path / f"{uuid.uuid4().hex}.mp4"), seconds=clip_s, width=160, height=90, fps=10)
    for i in range(2):
        start = t0 + timedelta(seconds=i * clip_s)
        meta = {"StartTimeISO": start.isoformat(), "StopTimeISO": (start + timedelta(seconds=clip_s)).isoformat()} \
            if with_times else {}
        # The same picture twice is the same blob, stored once: fine, the rows differ.
        with open(path, "rb") as f:
            services.put_object(name, f"{start:%Y%m%d_%H%M%S}_{i + 1}.mp4", f, os.path.getsize(path), None, meta,
                                "test", "")
    for n, (at, text, tags) in enumerate(bookmarks):
        body = text.encode()
        meta = {"StartTime": (t0 + timedelta(seconds=at)).isoformat(), "Tags": tags}
        services.put_object(name, f"bookmark_{int(t0.timestamp())}_{n}", io.BytesIO(body), len(body), None, meta,
                            "test", "")
    clips = list(Clip.objects.filter(recording__container_name=name).order_by("object_name"))
    assert len(clips) == 2
    return clips[0], clips[1]


class World:
    """Two officers in two squads, one supervisor of squad A, a detective on a case that
    holds officer A's recording, a custodian, a prosecutor the recording is shared with
    (view + download), an admin and an auditor."""

    def __init__(self, tmp_path):
        self.squad_a = Squad.objects.create(name="A")
        self.squad_b = Squad.objects.create(name="B")
        self.officer = make_user("off.a", "officer", badge="101")
        self.other_officer = make_user("off.b", "officer", badge="102")
        User.objects.filter(pk=self.officer.pk).update(squad=self.squad_a)
        User.objects.filter(pk=self.other_officer.pk).update(squad=self.squad_b)
        self.supervisor = make_user("sgt", "supervisor")
        self.squad_a.supervisors.add(self.supervisor)
        self.detective = make_user("det", "detective")
        self.custodian = make_user("cust", "custodian")
        self.prosecutor = make_user("ada", "prosecutor")
        self.admin = make_user("adm", "admin")
        self.auditor = make_user("aud", "auditor")
        self.clip = ingest_clip_for(Officer.objects.get(account=self.officer), tmp_path)
        self.other_clip = ingest_clip_for(Officer.objects.get(account=self.other_officer), tmp_path)
        case = Case.objects.create(number="C-1")
        case.detectives.add(self.detective)
        case.recordings.add(self.clip.recording)
        Share.objects.create(recording=self.clip.recording, recipient=self.prosecutor, created_by=self.custodian,
                             allow_download=True)

    @property
    def users(self) -> dict[str, User]:
        return {"officer": self.officer, "other_officer": self.other_officer, "supervisor": self.supervisor,
                "detective": self.detective, "custodian": self.custodian, "prosecutor": self.prosecutor,
                "admin": self.admin, "auditor": self.auditor}


def wait_next_step():
    time.sleep(totp.STEP - time.time() % totp.STEP + 0.05)
