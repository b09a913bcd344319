"""The REST API's OpenAPI 3 schema (issue 24): published at /api/schema/ for signed-in people
and API tokens only (deny by default, denials audited), describing every API route with its
error shape, and browsable at /api/docs/ (Swagger UI from our own static files, no inline
script). ``test_schemathesis_live`` runs schemathesis against a real ``bodycam serve``
loaded with the demo footage: no 5xx, no answer outside the schema."""

from __future__ import annotations

import re

import pytest
import yaml
from django.urls import URLPattern, URLResolver, get_resolver

from bodycam.custody.models import AuditEntry

from .access_helpers import client_for, make_user


def _api_routes() -> set[str]:
    """Every /api/ route of the URLconf, in OpenAPI's {name} form."""
    out: set[str] = set()

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                if route.startswith("api/") and route not in ("api/schema/", "api/docs/"):
                    out.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))

    walk(get_resolver().url_patterns)
    return out


@pytest.mark.django_db
def test_schema_only_for_signed_in_and_denial_audited():
    from django.test import Client

    before = AuditEntry.objects.filter(action="api.denied").count()
    r = Client().get("/api/schema/")
    assert r.status_code in (401, 403) and "error" in r.json()
    assert AuditEntry.objects.filter(action="api.denied").count() == before + 1
    # the reference page sends an anonymous visitor to the sign-in page
    r = Client().get("/api/docs/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


@pytest.mark.django_db
def test_schema_describes_every_api_route_with_the_error_shape():
    c = client_for(make_user("ofc.schema", "officer"))
    r = c.get("/api/schema/")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.oai.openapi+json")
    schema = r.json()
    assert schema["openapi"].startswith("3.")
    assert _api_routes() == set(schema["paths"]), "every API route is in the schema, and only those"
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            assert op.get("summary"), f"{method} {path} has no summary"
            if (method, path) == ("delete", "/api/evidence/{clip_id}/"):  # only retention deletes: always 403
                assert not any(code.startswith("2") for code in op["responses"])
            else:
                assert any(code.startswith("2") for code in op["responses"]), f"{method} {path}: no success answer"
            for code in ("400", "403", "404"):
                assert op["responses"][code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"}, f"{method} {path} {code}"
            assert {"apiToken": []} in op["security"]
    # request bodies are described (not the generic empty ones)
    patch = schema["paths"]["/api/evidence/{clip_id}/"]["patch"]["requestBody"]["content"]["application/json"]
    assert patch["schema"]["$ref"] == "#/components/schemas/PatchedMetadataEditRequest"
    edit = schema["components"]["schemas"]["PatchedMetadataEditRequest"]
    assert set(edit["properties"]) == {"note", "tags", "categories", "reason"}
    share = schema["paths"]["/api/evidence/{clip_id}/shares"]["post"]
    assert share["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/ItemShareOut")
    # YAML too
    r = c.get("/api/schema/?format=yaml")
    assert r.status_code == 200 and yaml.safe_load(r.content)["paths"].keys() == schema["paths"].keys()


@pytest.mark.django_db
def test_docs_page_uses_our_static_files_and_no_inline_script():
    c = client_for(make_user("ofc.docs", "officer"))
    r = c.get("/api/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts), scripts
    urls = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls  # no other host
    for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert c.get(url).status_code == 200, url
    assert 'data-schema-url="/api/schema/"' in html


@pytest.mark.django_db
def test_every_role_reaches_the_schema_docs_and_notification_settings_and_anonymous_none(tmp_path):
    from django.test import Client

    from .access_helpers import World

    w = World(tmp_path)
    for role, user in w.users.items():
        c = client_for(user)
        assert c.get("/api/schema/").status_code == 200, role
        assert c.get("/api/docs/").status_code == 200, role
        assert c.get("/notifications/").status_code == 200, role
    anon = Client()
    for path in ("/api/schema/", "/api/schema/?format=yaml"):
        before = AuditEntry.objects.filter(action="api.denied", outcome="denied").count()
        assert anon.get(path).status_code in (401, 403)
        assert AuditEntry.objects.filter(action="api.denied", outcome="denied").count() == before + 1
    for path in ("/api/docs/", "/notifications/"):
        r = anon.get(path)
        assert r.status_code == 302 and r["Location"].startswith("/login/"), path
    assert anon.post("/notifications/", {"save": "1"}).status_code in (302, 403)


def test_schema_generates_without_warnings_and_validates(tmp_path):
    """drf-spectacular warns when it has to guess (an undescribed view, two components with one
    name); the schema must also validate against the OpenAPI 3 meta-schema."""
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert yaml.safe_load((tmp_path / "schema.yaml").read_text())["openapi"].startswith("3.")
