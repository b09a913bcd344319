"""Every ``bodycam ...`` command the README and docs/ name (in code: `inline` or fenced) exists
in the command-line parser, sub-command included, so the docs cannot drift from the CLI."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]

WORDS = r"[a-z][a-z0-9-]*(?:[/|][a-z][a-z0-9-]*)*"  # "jobs", "user/token/access", "list|submit"
COMMAND = re.compile(rf"(?<![\w.-])bodycam ({WORDS})(?:\.\.\.)?(?: ({WORDS})(?=\s|$))?")


def _code(text: str):
    """The text of every code span and every line of a fenced block."""
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            yield line
        else:
            yield from re.findall(r"`([^`]+)`", line)


def _subcommands(parser: argparse.ArgumentParser) -> dict:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def named_commands():
    for doc in DOCS:
        for code in _code(doc.read_text(encoding="utf-8")):
            for first, second in COMMAND.findall(code):
                yield doc.relative_to(ROOT).as_posix(), first, second


def test_docs_name_commands_at_all():
    named = {(first, second) for _, first, second in named_commands()}
    assert ("serve", "") in named and ("audit", "verify") in named  # the scan reads the docs


def test_every_command_the_docs_name_exists():
    from bodycam.cli import build_parser

    top = _subcommands(build_parser())
    missing = set()
    for doc, first, second in named_commands():
        for name in re.split(r"[/|]", first):
            if name not in top:
                missing.add(f"{doc}: bodycam {name}")
            elif second and "/" not in first and (sub := _subcommands(top[name])):
                missing.update(f"{doc}: bodycam {name} {s}" for s in re.split(r"[/|]", second) if s not in sub)
    assert not missing, "commands named in the docs that `bodycam` does not have:\n" + "\n".join(sorted(missing))
