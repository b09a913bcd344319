"""schemathesis against a real ``bodycam serve`` loaded with the demo footage (issue 24): every
operation of /api/schema/, a fixed number of derandomized examples each, as a custodian and
an admin (API tokens), half the cases naming real items: no 5xx, and every answer's status,
media type and body as the schema says."""

from __future__ import annotations

import json
import zlib

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 12  # per operation: a bounded run (about a minute or two)


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    """A real ``bodycam serve`` with the demo footage; a custodian's and an admin's API token."""
    from .live import LiveServer

    server = LiveServer(tmp_path_factory.mktemp("schema"), {"BODYCAM_JOBS_INLINE": "1",
                                                             "BODYCAM_LOGIN_RATE": "100000"})
    server.cli("demo", "--no-serve", "--port", str(server.port))
    server.env.pop("BODYCAM_JOBS_INLINE")  # jobs the fuzzing asks for stay queued (no worker runs)
    server.start(workers=2, threads=4)
    tokens = {role: json.loads(server.cli("token", "create", user, "--name", "schemathesis").stdout)["token"]
              for role, user in (("custodian", "custodian"), ("admin", "admin"))}
    ids = {"clip_id": [r[0] for r in server.sql("SELECT id FROM evidence_clip ORDER BY object_name")],
           "recording_id": [r[0] for r in server.sql("SELECT id FROM evidence_recording ORDER BY container_name")],
           "case_key": [r[0] for r in server.sql("SELECT number FROM access_case ORDER BY number")],
           "username": ["garcia", "chen"]}
    server.known_ids = {k: [_uuid(str(v)) if k.endswith("_id") else str(v) for v in vals]
                        for k, vals in ids.items() if vals}
    server.tokens = tokens
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_schema(demo_site):
    return schemathesis.openapi.from_url(demo_site.url + "/api/schema/",
                                         headers={"Authorization": f"Bearer {demo_site.tokens['custodian']}"})


api = schemathesis.pytest.from_fixture("live_schema")


def _uuid(text: str) -> str:
    return text if "-" in text or len(text) != 32 else f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@pytest.mark.slow
@pytest.mark.catalogue
@api.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_schemathesis_live(case, demo_site):
    # Half the generated cases (chosen by their own content, so the run stays deterministic)
    # name a real item, recording, case or account instead of random text, so the answers
    # for things that exist are checked too; each case runs as a custodian or an admin.
    params = case.path_parameters or {}
    digest = zlib.crc32(repr(sorted(params.items())).encode())
    if digest % 2 == 0:
        for name, values in demo_site.known_ids.items():
            if name in params:
                params[name] = values[digest % len(values)]
    role = "admin" if digest % 3 == 0 else "custodian"
    case.call_and_validate(headers={"Authorization": f"Bearer {demo_site.tokens[role]}"}, checks=CHECKS)
