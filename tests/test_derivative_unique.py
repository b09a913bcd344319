"""One derivative per (clip, kind, settings) (issue 21, item 5): ``media backfill`` beside a
running playback job made two proxies of one clip. Forced here: two playback runs held at a
barrier after both looked for an existing proxy, so both transcode and both try to catalogue
one. The unique constraint lets one row in; the other run finds it and records nothing. The
migration resolves duplicates made before without removing a row or a blob. Both engines."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from bodycam.custody.models import AuditEntry
from bodycam.evidence.models import Officer
from bodycam.jobs.models import Job
from bodycam.jobs.services import run, submit
from bodycam.media import transcode
from bodycam.media.models import Derivative, params_key
from bodycam.storage import catalogue_hashes, get_store

from .access_helpers import ingest_clip_for, make_user

pytestmark = pytest.mark.catalogue


@pytest.mark.django_db(transaction=True)
def test_two_playback_runs_at_once_make_one_proxy(tmp_path, settings, monkeypatch):
    """The interleaving, step by step (one thread moves at a time, so SQLite's in-memory test
    database sees no two writers at once): A and B both find no proxy and both transcode; B
    stores its blob and is held just before cataloguing it; A stores and catalogues its proxy
    and finishes; then B goes on: the constraint refuses its row and B returns A's."""
    settings.MEDIA_AUTO_PLAYBACK = False
    clip = ingest_clip_for(Officer.objects.get(account=make_user("o1", "officer")), tmp_path, seconds=1)
    jobs = {name: submit("media.playback", params={"clip_id": str(clip.id)}, object_type="clip",
                         object_id=str(clip.id), inline=False) for name in "AB"}
    reached = {step: threading.Event() for step in ("A looked", "B looked", "B stored")}
    go = {step: threading.Event() for step in ("A transcodes", "B transcodes", "B catalogues")}

    def hold(reached_step, go_step):
        reached[reached_step].set()
        assert go[go_step].wait(120), f"never released: {go_step}"

    real_transcode = transcode.transcode

    def transcode_when_told(*a, **kw):  # called after the run found no proxy
        name = threading.current_thread().name
        hold(f"{name} looked", f"{name} transcodes")
        return real_transcode(*a, **kw)

    store = get_store()
    real_receive = store.receive

    def receive_then_hold(*a, **kw):
        incoming = real_receive(*a, **kw)
        if threading.current_thread().name == "B" and not reached["B stored"].is_set():
            hold("B stored", "B catalogues")
        return incoming

    monkeypatch.setattr(transcode, "transcode", transcode_when_told)
    monkeypatch.setattr(store, "receive", receive_then_hold)
    done, errors = {}, []

    def worker():
        name = threading.current_thread().name
        try:
            done[name] = run(jobs[name].id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = {name: threading.Thread(target=worker, name=name) for name in "AB"}
    threads["A"].start()
    assert reached["A looked"].wait(120)
    threads["B"].start()
    assert reached["B looked"].wait(120)
    go["B transcodes"].set()
    assert reached["B stored"].wait(120)
    go["A transcodes"].set()
    threads["A"].join(300)
    go["B catalogues"].set()
    threads["B"].join(300)
    assert not errors, errors
    assert {j.status for j in done.values()} == {Job.Status.SUCCEEDED}, [(j.status, j.error) for j in done.values()]
    proxies = list(Derivative.objects.filter(clip=clip, kind=Derivative.Kind.PROXY))
    assert len(proxies) == 1
    assert {j.result["proxy"] for j in done.values()} == {str(proxies[0].id)}  # both name the one
    assert "made meanwhile" in done["B"].log
    assert Derivative.objects.filter(clip=clip, kind=Derivative.Kind.THUMBNAIL).count() == 1
    assert AuditEntry.objects.filter(action="media.derivative.proxy", object_id=str(clip.id)).count() == 1
    assert get_store().exists(proxies[0].sha256)
    # The database itself refuses a second one with the same settings (written in another order).
    with pytest.raises(IntegrityError), transaction.atomic():
        Derivative.objects.create(clip=clip, parent_sha256=clip.sha256, kind=Derivative.Kind.PROXY,
                                  sha256="f" * 64, size=1, content_type="video/mp4",
                                  params=dict(reversed(list(proxies[0].params.items()))))


@pytest.mark.django_db
def test_backfill_beside_a_queued_or_running_playback_job_queues_no_second_one(tmp_path, settings):
    from bodycam.media.services import backfill

    clip = ingest_clip_for(Officer.objects.get(account=make_user("o1", "officer")), tmp_path, seconds=1)
    job = Job.objects.get(kind="media.playback", object_id=str(clip.id))  # queued by ingest
    assert job.status == Job.Status.QUEUED
    assert backfill() == 0
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=1)
    assert backfill() == 0
    assert Job.objects.filter(kind="media.playback", object_id=str(clip.id)).count() == 1
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED)  # ended without the derivatives
    assert backfill() == 1


def _blob(data: bytes) -> str:
    import io

    store = get_store()
    incoming = store.receive(io.BytesIO(data), len(data))
    try:
        store.commit(incoming)
    finally:
        incoming.discard()
    return incoming.sha256


@pytest.mark.django_db(transaction=True)
def test_migration_resolves_duplicates_keeping_every_row_and_blob(tmp_path, settings):
    settings.MEDIA_AUTO_PLAYBACK = False
    clip = ingest_clip_for(Officer.objects.get(account=make_user("o1", "officer")), tmp_path, seconds=1)
    same, other, thumb, t1, t2 = (_blob(b"proxy bytes"), _blob(b"other proxy bytes"), _blob(b"jpeg"),
                                  _blob(b"json 1"), _blob(b"json 2"))
    proxy_params = {"codec": "h264", "container": "mp4", "faststart": True, "max_height": 720}
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("media", "0003_languages_translation")])  # before the constraint
    old = executor.loader.project_state([("media", "0003_languages_translation")]).apps
    try:
        D = old.get_model("media", "Derivative")

        def add(kind, sha, params, second):
            d = D.objects.create(id=uuid.uuid4(), clip_id=clip.id, parent_sha256=clip.sha256, kind=kind,
                                 sha256=sha, size=1, content_type="x", params=params)
            D.objects.filter(pk=d.pk).update(created_at=f"2026-01-01T00:00:0{second}Z")  # auto_now_add
            return d

        # Three proxies with the same settings (two share their bytes, hence their blob; one
        # wrote them in another order), one thumbnail, and two transcript JSONs of which the
        # transcript names the newer.
        p1 = add("proxy", same, proxy_params, 1)
        p2 = add("proxy", same, dict(reversed(list(proxy_params.items()))), 2)
        p3 = add("proxy", other, proxy_params, 3)
        th = add("thumbnail", thumb, {"at": 1.0, "width": 320}, 1)
        j_old = add("other", t1, {"transcript": "json", "model": "m"}, 1)
        j_new = add("other", t2, {"transcript": "json", "model": "m"}, 2)
        old.get_model("media", "Transcript").objects.create(
            clip_id=clip.id, parent_sha256=clip.sha256, model="m", machine=[], segments=[], json_id=j_new.pk)
    finally:
        call_command("migrate", verbosity=0)

    rows = {d.id: d for d in Derivative.objects.filter(clip=clip)}
    assert set(rows) == {p1.id, p2.id, p3.id, th.id, j_old.id, j_new.id}  # no row removed
    assert rows[p1.id].params_key == params_key(proxy_params)  # the oldest of the proxies is the one
    assert rows[p2.id].params_key == f"duplicate:{p2.id.hex}" and rows[p3.id].params_key == f"duplicate:{p3.id.hex}"
    assert rows[th.id].params_key == params_key({"at": 1.0, "width": 320})
    assert rows[j_new.id].params_key == params_key({"transcript": "json", "model": "m"})  # the one a row names
    assert rows[j_old.id].params_key == f"duplicate:{j_old.id.hex}"
    named = catalogue_hashes()
    for sha in (same, other, thumb, t1, t2):  # every blob still named, still stored
        assert sha in named and get_store().exists(sha)
    with connection.cursor() as cur:
        constraints = connection.introspection.get_constraints(cur, "media_derivative")
    assert any(c["unique"] and c["columns"] == ["clip_id", "kind", "params_key"] for c in constraints.values())
    # The handlers find the one, and make no other.
    from bodycam.media.derivatives import existing_derivative

    assert existing_derivative(clip, "proxy", proxy_params).id == p1.id
