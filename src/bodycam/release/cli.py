"""Commands for playback copies and the search index: `bodycam media backfill`, `bodycam search
reindex`. (Court exports are verified by `bodycam verify`, in provenance/export.py.)"""

from __future__ import annotations


def _media(args) -> int:
    from ..media.services import backfill

    n = backfill(inline=args.inline)
    print(f"{'made' if args.inline else 'queued'} playback derivatives for {n} clip(s)")
    return 0


def _search(args) -> int:
    from ..search.services import reindex_all

    print(f"reindexed {reindex_all()} recording(s)")
    return 0


def add_commands(sub) -> None:
    media = sub.add_parser("media", help="playback derivatives").add_subparsers(dest="media_cmd", required=True)
    s = media.add_parser("backfill", help="queue proxy + thumbnail jobs for clips that lack them")
    s.add_argument("--inline", action="store_true", help="make them now, in this process")
    s.set_defaults(func=_media)
    search = sub.add_parser("search", help="the full-text search index").add_subparsers(dest="search_cmd",
                                                                                          required=True)
    s = search.add_parser("reindex", help="rebuild every recording's search documents")
    s.set_defaults(func=_search)
