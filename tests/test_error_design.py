"""The error design (docs/architecture.md, "Errors"): a view raises, the central mappers
answer. Pages: ``http.ErrorPageMiddleware`` renders ``web/error.html`` with the error's
status; the REST API: ``web.api.exception_handler``; the CLI: ``errors.cli_error``. No
view catches a ``Denied`` (audited where it was raised) or renders the error page by hand,
and a refusal a view audits is audited once."""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from bodycam.access.policy import Denied
from bodycam.errors import BodycamError

SRC = pathlib.Path(__file__).resolve().parent.parent / "src" / "bodycam"

# The mappers themselves, the only functions of a view module that may show the error page.
MAPPERS = {
    ("bodycam.web.views", "csrf_failure"),  # Django's CSRF refusal hook (CSRF_FAILURE_VIEW), not a view's error
}
ERROR_PAGE_NAMES = {"error_page", "bad_request_page"}


def _callbacks(patterns):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _callbacks(p.url_patterns)
        elif isinstance(p, URLPattern):
            yield p.callback


def view_modules() -> list[str]:
    """Every module a URL routes to, and every views.py and web/ module."""
    names = {cb.__module__ for cb in _callbacks(get_resolver().url_patterns)}
    names = {n for n in names if n.startswith("bodycam.")}
    files = list(SRC.rglob("views.py")) + list((SRC / "web").glob("*.py"))
    names |= {"bodycam." + ".".join(f.relative_to(SRC).with_suffix("").parts) for f in files}
    return sorted(n for n in names if not n.endswith(".__init__"))


def _resolve(mod, node):
    """The classes an ``except`` clause names (Name, dotted Attribute, or a tuple of them)."""
    if isinstance(node, ast.Tuple):
        return [c for elt in node.elts for c in _resolve(mod, elt)]
    if isinstance(node, ast.Name):
        found = getattr(mod, node.id, None)
        return [found] if isinstance(found, type) else []
    if isinstance(node, ast.Attribute):
        owner = _resolve_value(mod, node.value)
        found = getattr(owner, node.attr, None) if owner is not None else None
        return [found] if isinstance(found, type) else []
    return []


def _resolve_value(mod, node):
    if isinstance(node, ast.Name):
        return getattr(mod, node.id, None)
    if isinstance(node, ast.Attribute):
        owner = _resolve_value(mod, node.value)
        return getattr(owner, node.attr, None) if owner is not None else None
    return None


def _functions(tree):
    """(function name, node) for each top-level function and method, nested ones with their outer one."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node


def _by_hand(mod, source: str) -> list[str]:
    modname = mod.__name__
    tree = ast.parse(source)
    found = []
    for fname, fn in _functions(tree):
        if (modname, fname) in MAPPERS:
            continue
        where = f"{modname}.{fname}"
        for node in ast.walk(fn):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                caught = _resolve(mod, node.type)
                denied = [c.__name__ for c in caught if issubclass(c, Denied)]
                if denied:
                    found.append(f"{where}:{node.lineno} catches {', '.join(denied)} (audited where raised; "
                                 "let it go to the mapper)")
                mapped = [c for c in caught if issubclass(c, BodycamError)]
                for inner in ast.walk(ast.Module(body=node.body, type_ignores=[])) if mapped else ():
                    if isinstance(inner, ast.Raise) and isinstance(inner.exc, ast.Call) and any(
                            issubclass(c, BodycamError) for c in _resolve(mod, inner.exc.func)):
                        found.append(f"{where}:{inner.lineno} turns one BodycamError into another by hand")
                    if isinstance(inner, ast.Dict) and any(
                            isinstance(k, ast.Constant) and k.value == "error" for k in inner.keys):
                        found.append(f"{where}:{inner.lineno} builds an {{'error': ...}} answer by hand")
            if isinstance(node, ast.Name) and node.id in ERROR_PAGE_NAMES:
                found.append(f"{where}:{node.lineno} calls {node.id} (raise the error instead)")
            if isinstance(node, ast.Constant) and node.value == "web/error.html":
                found.append(f"{where}:{node.lineno} renders web/error.html by hand")
    return found


def test_views_leave_errors_to_the_central_mappers():
    mods = view_modules()
    assert {"bodycam.web.pages", "bodycam.web.api", "bodycam.web.cases", "bodycam.release.views",
            "bodycam.records.views", "bodycam.retention.views", "bodycam.jobs.views", "bodycam.ingest.views"} <= set(mods)
    found = []
    for name in mods:
        mod = importlib.import_module(name)
        found += _by_hand(mod, inspect.getsource(mod))
    assert not found, "views map errors by hand:\n" + "\n".join(found)


def test_the_rule_sees_a_hand_mapping():
    """The check above finds each kind of hand mapping (so an empty result means something)."""
    import types

    src = '''
def page(request):
    try:
        go()
    except Denied as exc:
        return error_page(request, exc)
    except BadInput as exc:
        raise CliError(str(exc)) from None
    except CaseError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return render(request, "web/error.html", {})
'''
    from bodycam.cases.services import CaseError
    from bodycam.errors import BadInput, CliError

    mod = types.ModuleType("bodycam.fake_views")
    mod.Denied, mod.BadInput, mod.CliError, mod.CaseError = Denied, BadInput, CliError, CaseError
    found = _by_hand(mod, src)
    assert sorted(f.split(" ", 1)[1] for f in found) == [
        "builds an {'error': ...} answer by hand",
        "calls error_page (raise the error instead)",
        "catches Denied (audited where raised; let it go to the mapper)",
        "renders web/error.html by hand",
        "turns one BodycamError into another by hand",
    ]


def test_bad_input_lives_with_the_error_base():
    from bodycam.errors import BadInput

    assert BadInput.__module__ == "bodycam.errors" and BadInput.status == 400
    assert issubclass(BadInput, ValueError)


# ---------------------------------------------------------------- behaviour through the mappers
@pytest.mark.django_db
def test_page_refusals_are_answered_by_the_mapper_and_audited_once():
    from bodycam.custody.models import AuditEntry

    from .access_helpers import client_for, make_user

    cust = client_for(make_user("cust", "custodian"))
    off = client_for(make_user("off", "officer"))
    admin = client_for(make_user("adm", "admin"))

    def denied(action, actor):
        return list(AuditEntry.objects.filter(action=action, actor=actor, outcome="denied")
                    .values_list("detail", flat=True))

    r = cust.get("/retention/storage/?price=abc")
    assert r.status_code == 400 and b"price must be a number from 0 to 100000" in r.content
    assert [d["reason"] for d in denied("retention.storage", "cust")] == ["price must be a number from 0 to 100000"]
    r = cust.get("/retention/compliance/?seed=abc")
    assert r.status_code == 400 and b"seed must be a whole number" in r.content
    r = cust.get("/retention/compliance/?from=2026-99-01")
    assert r.status_code == 400
    assert [(d["status"], d["reason"][:4]) for d in denied("retention.compliance", "cust")] == \
        [(400, "seed"), (400, "from")]
    # A Denied is audited where it is raised, once, and the page answers its status.
    assert off.get("/retention/storage/").status_code == 403
    assert len(denied("retention.storage", "off")) == 1
    assert off.get("/jobs/").status_code == 403 and len(denied("job.list", "off")) == 1
    # Not found through the mapper too.
    r = admin.get("/jobs/00000000-0000-0000-0000-000000000000/")
    assert r.status_code == 404 and b"No such job." in r.content


@pytest.mark.django_db
def test_ingest_services_say_what_a_write_did_not_its_http_status():
    """ingest.services returns an Outcome; ingest/views.py alone turns it into Swift's status."""
    import uuid

    from bodycam.ingest import services
    from bodycam.ingest.services import Outcome

    user = str(uuid.uuid4())
    assert services.put_user(user, {"Name": "A"}, "test", create=True) is Outcome.CREATED
    assert services.put_user(user, {"Name": "B"}, "test", create=False) is Outcome.UPDATED
    assert services.put_device("D-1", {"Name": "cam"}, "test", create=True) is Outcome.CREATED
    assert services.put_system_object(str(uuid.uuid4()), {}, "test", replace=True) is Outcome.CREATED
    name = f"{user}_D-1_20260101T000000Z"
    assert services.put_recording(name, {"TriggerOn": "Button"}, "test", "", replace=True) is Outcome.CREATED
    assert services.put_recording(name, {"Name": "x"}, "test", "", replace=False) is Outcome.UPDATED
