"""Shared helpers from issue 15: the error base and its mappings, the time formatter, the
blob-reference registry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bodycam.errors import BodycamError, CliError, api_error, cli_error, page_context
from bodycam.timefmt import iso_from_epoch, isoformat


class Teapot(BodycamError):
    status = 418


def test_error_mappings_use_the_status_on_the_class():
    assert api_error(Teapot("short and stout")) == ({"error": "short and stout"}, 418)
    assert page_context(Teapot("x")) == {"status": 418, "message": "x"}
    assert cli_error(Teapot("first\nsecond")) == ("bodycam: error: Teapot: first", 1)
    assert cli_error(CliError("no such case")) == ("bodycam: error: no such case", 2)
    assert cli_error(ValueError("")) == ("bodycam: error: ValueError: ", 1)


def test_existing_roots_keep_their_statuses():
    from bodycam.access.auth import AccountDenied, AccountError, AuthFailed
    from bodycam.access.services import Denied, NotVisible
    from bodycam.errors import BadInput
    from bodycam.ingest.errors import ChecksumMismatch, OutOfSpace
    from bodycam.release.services import Gone
    from bodycam.storage import InsufficientStorage

    assert [c.status for c in (Denied, NotVisible, Gone, BadInput, AccountError, AccountDenied)] == \
        [403, 404, 410, 400, 400, 403]
    assert (ChecksumMismatch.status, OutOfSpace.status, InsufficientStorage.status) == (422, 507, 507)
    assert isinstance(BadInput("x"), ValueError)  # callers that catch ValueError still do
    assert AuthFailed("internal reason").message != "internal reason"  # never shown to the user


def test_every_error_class_has_the_one_root():
    """Each exception class bodycam defines derives from BodycamError (one place for its
    HTTP status and exit code), the camera/dock side's included."""
    import ast
    import pathlib

    src = pathlib.Path(__file__).resolve().parent.parent / "src" / "bodycam"
    roots = []
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(b, ast.Name) and b.id in ("Exception", "ValueError", "RuntimeError", "OSError")
                    for b in node.bases[:1]):
                roots.append(f"{path.relative_to(src)}:{node.name}")
    assert roots == ["errors.py:BodycamError"]


def test_time_formats_are_the_ones_already_stored():
    dt = datetime(2026, 12, 4, 20, 31, 21, 123456, tzinfo=timezone.utc)
    plus2 = dt.astimezone(timezone(timedelta(hours=2)))
    assert isoformat(dt) == "2026-12-04T20:31:21.123Z"
    assert isoformat(plus2) == "2026-12-04T20:31:21.123Z"  # audit chain / custody: always UTC
    assert isoformat(plus2, to_utc=False) == "2026-12-04T22:31:21.123+02:00"  # catalogue fields: as given
    assert isoformat(dt, timespec="seconds", z=False) == "2026-12-04T20:31:21+00:00"  # retention
    assert isoformat(None) is None
    assert iso_from_epoch(1_700_000_000.1236) == "2023-11-14T22:13:20.124Z"  # ms rounded, as the camera did
    assert iso_from_epoch(1_700_000_000.5, ms=False) == "2023-11-14T22:13:20Z"


@pytest.mark.django_db
def test_blob_reference_registry_feeds_fixity():
    from bodycam.custody.fixity import check_all
    from bodycam.storage import catalogue_hashes, get_store, refs, register_blob_refs

    names = [r.name for r in refs.registered()]
    assert names == ["evidence.originals", "media.derivatives", "cases.files", "records.packages",
                     "records.correspondence", "custody.audit_exports"]
    store = get_store()
    import io

    incoming = store.receive(io.BytesIO(b"registered elsewhere"), 20)
    store.commit(incoming)
    incoming.discard()
    item = {"kind": "test", "id": "1", "container": "c", "object": "o"}
    register_blob_refs("tests.extra", lambda: [(incoming.sha256, item)], order=99)
    try:
        assert catalogue_hashes()[incoming.sha256] == [item]
        checked, problems = check_all()
        assert checked >= 1 and problems == []
    finally:
        refs._registry.pop("tests.extra")


@pytest.mark.django_db
def test_uncaught_error_on_a_page_answers_its_status(client, rf):
    from bodycam.http import ErrorPageMiddleware

    mw = ErrorPageMiddleware(lambda request: None)
    resp = mw.process_exception(rf.get("/"), Teapot("no tea here"))
    assert resp.status_code == 418 and b"no tea here" in resp.content
    assert mw.process_exception(rf.get("/"), RuntimeError("bug")) is None  # a bug stays a 500
