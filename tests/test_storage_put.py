"""storage.put_file: receive, then under the blob's lock commit and name the row in one
transaction; the temp copy goes whatever happens. Real local store; both engines."""

import io
import os
import threading

import pytest

from bodycam.storage import get_store, locks, put_file

pytestmark = pytest.mark.django_db(transaction=True)


def test_put_file_names_the_row_under_the_lock_and_discards_the_temp_copy(monkeypatch):
    temps = []
    contended = threading.Event()
    monkeypatch.setattr(locks, "race_hook", lambda point, sha: contended.set())

    def name_row(incoming):
        temps.append(incoming.temp_path)
        # Someone else wanting the same blob's lock now has to wait: the row is named under it.
        other = threading.Thread(target=lambda: _take_and_close(incoming.sha256))
        other.start()
        assert contended.wait(60), "the blob's lock was not held while naming the row"
        return ("row", incoming.sha256, incoming.size, other)

    what, sha, size, other = put_file(io.BytesIO(b"a case file"), 11, name_row)
    other.join(60)
    assert what == "row" and size == 11 and get_store().exists(sha)
    assert not os.path.exists(temps[0])


def test_put_file_lets_the_row_error_through_and_discards(monkeypatch):
    temps = []

    def name_row(incoming):
        temps.append(incoming.temp_path)
        raise ValueError("row refused")

    with pytest.raises(ValueError, match="row refused"):
        put_file(io.BytesIO(b"never named"), 11, name_row)
    assert not os.path.exists(temps[0])


def _take_and_close(sha256):
    from django.db import connection

    try:
        with locks.blob_lock(sha256):
            pass
    finally:
        connection.close()
