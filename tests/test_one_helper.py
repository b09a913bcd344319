"""Small helpers that had grown copies live once, outside the layers: ``bodycam.numbers``
(``parse_uuid``), ``bodycam.files`` (private files, directory fsync), ``bodycam.timefmt`` (named
ISO formats). The helpers behave as the copies did, and the source has no new copies of them."""

from __future__ import annotations

import ast
import os
import stat
import uuid
from pathlib import Path

import pytest

from bodycam.files import fsync_dir, open_private, write_private
from bodycam.numbers import parse_uuid
from bodycam.timefmt import iso_as_given, iso_seconds

SRC = Path(__file__).resolve().parent.parent / "src" / "bodycam"


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield path.relative_to(SRC).as_posix(), ast.parse(path.read_text(encoding="utf-8"), str(path))


def _dotted(node) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def test_parse_uuid_reads_what_uuid_reads_and_nothing_else():
    u = uuid.uuid4()
    for form in (str(u), str(u).upper(), u.hex, "{%s}" % u, f"urn:uuid:{u}", u, f"  {u}"[2:]):
        assert parse_uuid(form) == u
    for bad in (None, "", "x", "²" * 32, 12, [], b"\x00" * 16, str(u) + "0", f"{u}\n"[:-2]):
        assert parse_uuid(bad) is None


def test_private_file_is_owner_only_from_the_first_byte(tmp_path):
    old = os.umask(0)  # the mode must not depend on the umask
    try:
        write_private(tmp_path / "a", "secret")
        assert (tmp_path / "a").read_text() == "secret"
        assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o600
        loose = tmp_path / "b"
        loose.write_bytes(b"old and longer")
        loose.chmod(0o644)
        write_private(loose, b"new")
        assert loose.read_bytes() == b"new" and stat.S_IMODE(loose.stat().st_mode) == 0o600
        with pytest.raises(FileExistsError):
            write_private(loose, b"other", exclusive=True)
        assert loose.read_bytes() == b"new"
        with open_private(tmp_path / "c", exclusive=True) as f:
            f.write(b"stream")
        assert stat.S_IMODE((tmp_path / "c").stat().st_mode) == 0o600
    finally:
        os.umask(old)
    fsync_dir(tmp_path)
    with pytest.raises(NotADirectoryError):
        fsync_dir(tmp_path / "a")


def test_named_iso_formats_are_the_ones_stored():
    from datetime import datetime, timedelta, timezone

    at = datetime(2026, 12, 4, 20, 31, 21, 123456, tzinfo=timezone.utc)
    assert iso_seconds(at) == "2026-12-04T20:31:21+00:00"
    assert iso_seconds(at.astimezone(timezone(timedelta(hours=2)))) == "2026-12-04T20:31:21+00:00"
    assert iso_as_given(at) == "2026-12-04T20:31:21.123Z"
    assert iso_as_given(at.astimezone(timezone(timedelta(hours=2)))) == "2026-12-04T22:31:21.123+02:00"
    assert iso_seconds(None) is None and iso_as_given(None) is None


def test_no_copies_of_the_shared_helpers():
    found = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            # parse_uuid: uuid.UUID(...) guarded by a try that turns its error into None/4xx
            if isinstance(node, ast.Try) and name != "numbers.py":
                calls = [c for stmt in node.body for c in ast.walk(stmt)
                         if isinstance(c, ast.Call) and _dotted(c.func) in ("uuid.UUID", "UUID")]
                if calls:
                    found.append(f"{name}:{node.lineno}: try: uuid.UUID(...) (use bodycam.numbers.parse_uuid)")
            if isinstance(node, ast.Call) and _dotted(node.func) == "os.open" and name != "files.py":
                flags = ast.unparse(node.args[1]) if len(node.args) > 1 else ""
                mode = ast.unparse(node.args[2]) if len(node.args) > 2 else ""
                if mode in ("0o600", "384"):
                    found.append(f"{name}:{node.lineno}: os.open(..., 0o600) (use bodycam.files.write_private)")
                if "O_WRONLY" not in flags and "O_RDWR" not in flags:
                    found.append(f"{name}:{node.lineno}: os.open of a directory (use bodycam.files.fsync_dir)")
            # ISO wrappers: a function whose whole body returns isoformat(...)
            if isinstance(node, ast.FunctionDef) and name != "timefmt.py" and len(node.body) == 1 \
                    and isinstance(node.body[0], ast.Return) and node.body[0].value is not None:
                value = node.body[0].value
                value = value.body if isinstance(value, ast.IfExp) else value  # isoformat(dt) if dt else None
                if isinstance(value, ast.Call) and _dotted(value.func).split(".")[-1] == "isoformat":
                    found.append(f"{name}:{node.lineno}: def {node.name} wraps isoformat (name it in bodycam.timefmt)")
    assert not found, "copies of shared helpers:\n" + "\n".join(found)


def test_each_shared_helper_is_defined_once():
    names = ("parse_uuid", "fsync_dir", "write_private", "open_private", "iso_seconds", "iso_as_given")
    where = {n: [] for n in names}
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.lstrip("_") in names:
                where[node.name.lstrip("_")].append(name)
    assert where == {"parse_uuid": ["numbers.py"], "fsync_dir": ["files.py"], "write_private": ["files.py"],
                     "open_private": ["files.py"], "iso_seconds": ["timefmt.py"], "iso_as_given": ["timefmt.py"]}


def test_access_policy_does_not_lean_on_access_services():
    """services imports policy (the role rules); policy never imports services back (it once
    re-exported services' functions through a module ``__getattr__`` that nothing used)."""
    tree = ast.parse((SRC / "access" / "policy.py").read_text(encoding="utf-8"))
    back = [f"line {n.lineno}" for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and (n.module in ("services", "bodycam.access.services")
                                                  or (n.level and n.module is None
                                                      and any(a.name == "services" for a in n.names)))]
    getattr_hooks = [n.lineno for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "__getattr__"]
    assert not back and not getattr_hooks, (back, getattr_hooks)


def test_code_says_why_not_where_it_came_from():
    """History ("moved from …", "(issue 20, item 14)") belongs in git, not in comments."""
    import re

    history = re.compile(r"\bissue \d+|\bmoved (from|out of) ", re.IGNORECASE)
    found = [f"{path.relative_to(SRC)}:{n}: {line.strip()}"
             for path in sorted(SRC.rglob("*.py")) if "migrations" not in path.parts
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if history.search(line)]
    assert not found, "history notes in the code:\n" + "\n".join(found)
