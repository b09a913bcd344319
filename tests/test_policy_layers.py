"""The layer rules the import contract cannot see.

* No role literal outside access/policy.py: every role rule lives there. Allowed elsewhere:
  the Role enum itself (access/models.py), migrations, demo data (demo.py), and
  ``Role.values`` / ``Role.choices`` (the list of roles, e.g. for ``bodycam user add --role``).
  Everything else asks ``access.policy`` by permission name.
* Templates obey the layers: a template (or a template name in Python) of app X extends,
  includes, renders and loads only templates and tag libraries of X itself, of apps in lower
  layers, the project-level folder (``src/bodycam/templates/``) or Django's own.
* A job kind is registered by the app it is named for (``@handler("media.x")`` in media)."""

import pathlib
import re

SRC = pathlib.Path(__file__).resolve().parent.parent / "src" / "bodycam"
EXEMPT = {"access/policy.py", "access/models.py", "demo.py"}
ROLE_NAMES = "officer|supervisor|detective|custodian|prosecutor|admin|auditor"

PY_PATTERNS = [
    # Role.CUSTODIAN, Role.ADMIN, ... (Role.values / Role.choices are the list, not a role)
    re.compile(r"\bRole\.(?!values\b|choices\b|labels\b|names\b)[A-Za-z_]+"),
    # user.role == ..., .role in {...}, .role != ..., .role not in (...)
    re.compile(r"\.role\s*(==|!=|\bin\b|\bnot\s+in\b)"),
    # a quoted role name that is not also a common field name
    re.compile(r"[\"'](supervisor|detective|custodian|prosecutor|auditor)[\"']"),
    # role="officer", role='admin'
    re.compile(r"\brole\s*=\s*[\"'](" + ROLE_NAMES + r")[\"']"),
]
# In templates: any role test inside a {% %} tag ({{ u.role }} to show a role is fine).
TAG = re.compile(r"{%.*?%}", re.S)
TPL_PATTERNS = [re.compile(r"\.role\b"), re.compile(r"[\"'][^\"']*\b(" + ROLE_NAMES + r")\b[^\"']*[\"']")]


def offenders() -> list[str]:
    out = []
    for path in sorted(SRC.rglob("*")):
        rel = path.relative_to(SRC).as_posix()
        if rel in EXEMPT or "/migrations/" in f"/{rel}" or not path.is_file():
            continue
        if path.suffix == ".py":
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if any(p.search(line) for p in PY_PATTERNS):
                    out.append(f"{rel}:{n}: {line.strip()}")
        elif path.suffix == ".html":
            text = path.read_text(encoding="utf-8")
            for m in TAG.finditer(text):
                if any(p.search(m.group(0)) for p in TPL_PATTERNS):
                    n = text.count("\n", 0, m.start()) + 1
                    out.append(f"{rel}:{n}: {m.group(0)}")
    return out


def test_no_role_literal_outside_access_policy():
    found = offenders()
    assert not found, "role literals outside access/policy.py (ask access.policy by permission):\n" + "\n".join(found)


def test_the_check_finds_what_it_looks_for():
    samples = ['if user.role == Role.CUSTODIAN:', 'ok = request.user.role in ("a", "b")',
               'ROLES = {"detective", "custodian"}', 'make(role="admin")']
    assert all(any(p.search(s) for p in PY_PATTERNS) for s in samples)
    assert not any(p.search('d = {"officer": rec.officer.name}; Role.values') for p in PY_PATTERNS)
    tag = '{% if user.role in "detective custodian prosecutor" %}'
    assert all(p.search(tag) for p in TPL_PATTERNS)


def test_the_layer_contract_has_no_exceptions():
    """import-linter (scripts/lint.sh) checks the layers; no upward import is let through."""
    import tomllib

    conf = tomllib.loads((SRC.parent.parent / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = [c for c in conf["contracts"] if c["type"] == "layers"]
    assert layers and all(not c.get("ignore_imports") for c in layers)
    assert all(not c.get("ignore_imports") for c in conf["contracts"])


# --- templates obey the layers -------------------------------------------------------------

PROJECT = "project-level"  # src/bodycam/templates/, bodycam/http.py, bodycam/panels.py, ...
ENTRY_POINTS = {"cli.py", "demo.py", "server.py", "urls.py", "wsgi.py", "settings.py"}  # may name anything
TPL_REF = re.compile(r"{%\s*(?:extends|include)\s+([\"'])(.+?)\1")
TPL_LOAD = re.compile(r"{%\s*load\s+(.+?)\s*%}")
PY_TPL_NAME = re.compile(r"[\w./-]+\.html")  # render(request, "x/y.html"), inclusion_tag("...")


def layer_ranks() -> dict[str, float]:
    """App -> its layer from pyproject's [tool.importlinter] (0 = lowest). The project-level
    templates and tag libraries sit just above access: base.html loads access's ``policy``
    tags, and every app that renders a page is above access."""
    import tomllib

    conf = tomllib.loads((SRC.parent.parent / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in conf["contracts"] if c["type"] == "layers")["layers"]
    ranks = {mod.strip().removeprefix("bodycam."): float(i)
             for i, line in enumerate(reversed(layers)) for mod in line.split("|")}
    ranks[PROJECT] = ranks["access"] + 0.5
    return ranks


def owner_of(path: pathlib.Path, ranks: dict) -> str | None:
    """The app a file of ours belongs to, PROJECT for the rest of src/bodycam, None outside it."""
    try:
        first = path.resolve().relative_to(SRC).parts[0]
    except ValueError:
        return None  # Django's or a library's own
    return first if first in ranks else PROJECT


def template_owner(name: str, ranks: dict) -> str | None:
    from django.template import TemplateDoesNotExist, engines

    try:
        _, origin = engines["django"].engine.find_template(name)
    except TemplateDoesNotExist:
        return "missing"
    return owner_of(pathlib.Path(origin.name), ranks)


def library_owner(name: str, ranks: dict) -> str | None:
    from django.template import engines

    module = engines["django"].engine.libraries.get(name)
    if module is None:
        return "missing"
    parts = module.split(".")
    if parts[0] != "bodycam":
        return None
    return parts[1] if len(parts) > 2 and parts[1] in ranks else PROJECT


def loaded_libraries(args: str) -> list[str]:
    """``load a b`` -> [a, b]; ``load x y from lib`` -> [lib]."""
    words = args.split()
    return [words[-1]] if "from" in words else words


def python_strings(text: str) -> list[tuple[int, str]]:
    """(line, value) of the string constants in Python source, docstrings left out."""
    import ast

    tree = ast.parse(text)
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs]


def references(rel: str, text: str) -> list[tuple[int, str, str]]:
    """(line, "template" or "library", name) that the file at SRC/rel names: extends, include
    and load in templates; in Python, template names (render, inclusion_tag, register_panel)
    and template text in strings (ops/views.py)."""
    if rel.endswith(".html"):
        pieces = [(1, text)]
        found = [(text.count("\n", 0, m.start()) + 1, "template", m.group(2)) for m in TPL_REF.finditer(text)]
    else:
        strings = python_strings(text)
        pieces = [(n, v) for n, v in strings if "{%" in v]
        found = [(n, "template", v) for n, v in strings if PY_TPL_NAME.fullmatch(v)]
        found += [(n + v.count("\n", 0, m.start()), "template", m.group(2)) for n, v in pieces
                  for m in TPL_REF.finditer(v)]
    for first, piece in pieces:
        for m in TPL_LOAD.finditer(piece):
            found += [(first + piece.count("\n", 0, m.start()), "library", lib) for lib in loaded_libraries(m.group(1))]
    return found


def template_offenders(rel: str, text: str, ranks: dict) -> list[str]:
    """A file of app X may use templates and tag libraries of X, of lower layers (apps on one
    line of the contract are independent), the project-level folder, or Django's."""
    source = owner_of(SRC / rel, ranks)
    out = []
    for line, kind, name in references(rel, text):
        target = template_owner(name, ranks) if kind == "template" else library_owner(name, ranks)
        if target == "missing":
            out.append(f"{rel}:{line}: names {kind} {name!r}, which does not exist")
        elif target not in (None, source) and ranks[target] >= ranks[source]:
            out.append(f"{rel}:{line}: {source} uses {kind} {name!r} of {target}, which is not below it")
    return out


def test_templates_obey_the_layers():
    ranks = layer_ranks()
    out = []
    for path in sorted(SRC.rglob("*")):
        rel = path.relative_to(SRC).as_posix()
        if path.suffix not in (".py", ".html") or rel in ENTRY_POINTS or "/migrations/" in f"/{rel}":
            continue
        out += template_offenders(rel, path.read_text(encoding="utf-8"), ranks)
    assert not out, ("templates across the layers (a lower page shows a higher app's part through "
                     "bodycam.panels.register_panel):\n" + "\n".join(out))


def test_the_template_check_finds_what_it_looks_for():
    ranks = layer_ranks()
    case = "release/templates/release/case.html"
    assert template_offenders(case, '{% load static %}{% load panels %}{% extends "base.html" %}', ranks) == []
    assert template_offenders(case, "{% load static retention_case %}", ranks) == [
        f"{case}:1: release uses library 'retention_case' of retention, which is not below it"]
    assert len(template_offenders(case, '{% load x from retention_case %}\n{% include "web/item.html" %}', ranks)) == 2
    assert "ingest uses template" in template_offenders("ingest/views.py", 'render(r, "records/request.html")',
                                                         ranks)[0]  # same line of the contract: independent
    assert "does not exist" in template_offenders("jobs/views.py", 'render(r, "web/error.html")', ranks)[0]
    assert "not below" in template_offenders("templates/base.html", "{% load retention_case %}", ranks)[0]
    assert template_offenders("web/templates/web/item.html", "{% load retention_case policy %}", ranks) == []


# --- job kinds with their owner --------------------------------------------------------------

JOB_KIND = re.compile(r"^[ \t]*@?(?:[\w.]+\.)?(?:handler\(|HANDLERS\[)\s*[\"']([^\"']+)[\"']", re.M)


def job_kind_offenders(rel: str, text: str) -> list[str]:
    app = rel.split("/")[0]
    return [f"{rel}:{text.count(chr(10), 0, m.start()) + 1}: job kind {m.group(1)!r} registered in {app}"
            for m in JOB_KIND.finditer(text) if m.group(1).split(".")[0] != app]


def test_job_kinds_are_registered_by_the_app_they_are_named_for():
    out = []
    for path in sorted(SRC.rglob("*.py")):
        out += job_kind_offenders(path.relative_to(SRC).as_posix(), path.read_text(encoding="utf-8"))
    assert not out, "job kinds registered outside their owner:\n" + "\n".join(out)


def test_the_job_kind_check_finds_what_it_looks_for():
    assert job_kind_offenders("records/job_handlers.py", '@handler("media.transcribe")\ndef f(): ...') == [
        "records/job_handlers.py:1: job kind 'media.transcribe' registered in records"]
    assert job_kind_offenders("records/apps.py", 'HANDLERS["media.x"] = fn') != []
    assert job_kind_offenders("media/job_handlers.py", '@handler("media.redact.render")') == []
    assert job_kind_offenders("ingest/views.py", "status=handler(obj, meta)") == []
