"""Each feature has one home (docs/architecture.md, "Where each feature lives"): an app's job
kinds are handled in that app's job_handlers.py, its commands are added by its cli.py, and
the case pages are one module."""

import argparse

from django.urls import resolve

from bodycam.cli import build_parser
from bodycam.jobs.registry import load_handlers


def test_job_kinds_are_handled_by_their_owner():
    wrong = {kind: fn.__module__ for kind, fn in load_handlers().items()
             if fn.__module__ != f"bodycam.{kind.split('.')[0]}.job_handlers"}
    assert not wrong, f"job kinds handled outside the app they are named for: {wrong}"


def _commands(parser) -> dict:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def _func_module(parser) -> str:
    found = parser.get_default("func")
    if found is None:  # a group of sub-commands: all from one module
        mods = {_func_module(p) for p in _commands(parser).values()}
        assert len(mods) == 1, mods
        return mods.pop()
    return found.__module__


def test_commands_live_with_their_owner():
    cmds = _commands(build_parser())
    owners = {"transcribe": "media", "models": "media", "c2pa-verify": "media", "media": "media",
              "search": "search", "jobs": "jobs", "backup": "ops", "restore": "ops", "retention": "retention",
              "evidence": "evidence", "access": "access", "fsck": "custody"}
    got = {name: _func_module(cmds[name]) for name in owners}
    assert got == {name: f"bodycam.{app}.cli" for name, app in owners.items()}
    assert {"list", "submit", "retry", "reconcile"} == set(_commands(cmds["jobs"]))


def test_the_case_pages_are_one_module():
    paths = ["/cases/", "/cases/C-1/", "/cases/C-1/status", "/cases/C-1/files", "/cases/C-1/files/x"]
    assert {resolve(p).func.__module__ for p in paths} == {"bodycam.web.cases"}
    assert [resolve(p).url_name for p in paths] == ["case-list", "case-detail", "case-status", "case-file-upload",
                                                     "case-file"]
