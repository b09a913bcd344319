"""Search commands: `bodycam search reindex`."""

from __future__ import annotations


def _reindex(args) -> int:
    from .services import reindex_all

    print(f"reindexed {reindex_all()} recording(s)")
    return 0


def add_commands(sub) -> None:
    search = sub.add_parser("search", help="the full-text search index").add_subparsers(dest="search_cmd",
                                                                                          required=True)
    s = search.add_parser("reindex", help="rebuild every recording's search documents")
    s.set_defaults(func=_reindex)
