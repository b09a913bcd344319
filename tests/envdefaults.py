"""Environment defaults for the test process and the servers it starts, set before Django
reads its settings: pytest loads this module first (``-p tests.envdefaults`` in pyproject's
addopts), because pytest-django imports the settings before any conftest.py runs."""

import os
import tempfile

# The test process gets its own data directory.
os.environ.setdefault("BODYCAM_DATA_DIR", tempfile.mkdtemp(prefix="bodycam-test-"))
os.environ.setdefault("BODYCAM_MIN_FREE_BYTES", "0")
# An audit action not declared in custody/actions.py raises (here and in the servers tests start).
os.environ.setdefault("BODYCAM_AUDIT_STRICT", "1")
# The Whisper base model is put together once (145 MB, SHA-256 checked) and shared by test runs.
os.environ.setdefault("BODYCAM_MODELS_DIR", os.path.join(tempfile.gettempdir(), "bodycam-test-models"))
# Analysing every ingested clip for faces and plates (on in production) would run inline in
# every test that ingests with jobs inline; tests that need it turn it on.
os.environ.setdefault("BODYCAM_MEDIA_AUTO_ANALYZE", "0")
