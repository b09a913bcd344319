"""Captions for the player: an extension point the web pages read (moved from web/hooks.py).

CAPTION_PROVIDERS: callables ``fn(clip) -> str | None`` returning the URL of a WebVTT file
for the clip (e.g. from its transcript). The item page and the timeline add a
``<track kind="captions">`` for the first URL given. The URL must itself go through the
access check (it is fetched by the signed-in browser like any other evidence URL).
"""

from __future__ import annotations

CAPTION_PROVIDERS: list = []


def captions_url(clip) -> str | None:
    for provider in CAPTION_PROVIDERS:
        url = provider(clip)
        if url:
            return url
    return None
