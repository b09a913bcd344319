"""The retention purge's last check before a blob is removed for good ("does a live row other
than the purged recording's name these bytes?") asks every provider registered with
``storage.refs``, not a list of its own: bytes a release package, a case file or a row of an
app registered later names stay. Real clips through the real ingest path; a real local store."""

import ast
import inspect
import textwrap
from datetime import date, timedelta

import pytest

from bodycam.access.models import Role
from bodycam.custody.fixity import check_all
from bodycam.evidence.defaults import ensure_default_categories
from bodycam.media.synth import make_clip
from bodycam.records.models import RecordsRequest
from bodycam.retention import services as ret
from bodycam.retention.models import Tombstone
from bodycam.storage import get_store, refs, register_blob_refs

from .access_helpers import make_user
from .retention_helpers import device, ingest, officer, utc

pytestmark = pytest.mark.django_db

T0 = utc(2026, 1, 10, 12, 0, 0)
DAY = timedelta(days=1)


@pytest.fixture
def rec(tmp_path):
    ensure_default_categories()
    clip = make_clip(str(tmp_path / "a.mp4"), seconds=1)
    return ingest(officer("Officer Reyes", "4711"), device("BWC-1"), T0, clip)


def purge(rec):
    ret.sweep(now=T0 + 400 * DAY)  # uncategorized: 365 days, then 30 days of grace
    rep = ret.sweep(now=T0 + 440 * DAY)
    assert [p["container"] for p in rep["purged"]] == [rec.container_name]
    return Tombstone.objects.get(recording=rec)


def test_purge_keeps_a_blob_a_release_package_names(rec):
    """A released records request whose package is these very bytes: the package must stay
    downloadable, so the purge keeps the blob (and says so in the tombstone)."""
    sha = rec.clips.get().sha256
    RecordsRequest.objects.create(number="PRR-7", requester="press", scope="all", received_on=date(2026, 1, 20),
                                  deadline=date(2026, 2, 20), created_by=make_user("cust", Role.CUSTODIAN),
                                  status=RecordsRequest.Status.RELEASED, package_sha256=sha, package_size=1)
    tomb = purge(rec)
    assert get_store().exists(sha)
    assert tomb.blobs_kept == [sha] and tomb.blobs_removed == []
    assert check_all()[1] == []  # fixity still finds the package's bytes


def test_purge_asks_every_registered_provider(rec):
    """An owner registered later (here: a test provider) is asked too, with the purged
    recording's id to leave out; its answer keeps the blob."""
    sha = rec.clips.get().sha256
    asked = []

    def names(sha256, besides_recording):
        asked.append((sha256, besides_recording))
        return sha256 == sha

    register_blob_refs("tests.extra", lambda: [(sha, {"kind": "test", "id": "1", "container": "c", "object": "o"})],
                       order=99, names=names)
    try:
        tomb = purge(rec)
    finally:
        refs._registry.pop("tests.extra")
    assert (sha, rec.pk) in asked
    assert get_store().exists(sha) and tomb.blobs_kept == [sha]


def test_a_provider_without_a_per_hash_answer_is_listed_whole(rec):
    sha = rec.clips.get().sha256
    register_blob_refs("tests.listed", lambda: [(sha, {"kind": "test", "id": "1", "container": "c", "object": "o"})],
                       order=99)
    try:
        assert refs.is_named(sha, besides_recording=rec.pk)
        tomb = purge(rec)
    finally:
        refs._registry.pop("tests.listed")
    assert get_store().exists(sha) and tomb.blobs_kept == [sha]


def test_every_owner_answers_per_hash_and_the_purged_recording_does_not_count(rec):
    sha = rec.clips.get().sha256
    assert all(r.names is not None for r in refs.registered())
    assert refs.is_named(sha) and not refs.is_named(sha, besides_recording=rec.pk)


def test_still_needed_names_no_model():
    """retention keeps no list of its own of the rows that name blobs: ``_still_needed``
    touches no model (no ``.objects``) and asks ``storage.refs``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(ret._still_needed)))
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert "objects" not in attrs and "is_named" in names
