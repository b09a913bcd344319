"""No role literal outside access/policy.py: every role rule lives there (issue 15).

Allowed elsewhere: the Role enum itself (access/models.py), migrations, demo data
(demo.py), and ``Role.values`` / ``Role.choices`` (the list of roles, e.g. for
``bodycam user add --role``). Everything else asks ``access.policy`` by permission name."""

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
