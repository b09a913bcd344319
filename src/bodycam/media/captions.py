"""Captions for the player: an extension point the web pages read.

CAPTION_PROVIDERS: callables ``fn(clip) -> str | None`` returning the URL of a WebVTT file
for the clip (e.g. from its transcript), or a dict ``{"src", "srclang", "label"}``, or a list
of such dicts (e.g. the transcript in its language and a machine translation). The item page
adds a ``<track kind="captions">`` for each (the first one on by default); the timeline uses
the first URL. The URL must itself go through the
access check (it is fetched by the signed-in browser like any other evidence URL).
"""

from __future__ import annotations

CAPTION_PROVIDERS: list = []


def caption_tracks(clip) -> list[dict]:
    out: list[dict] = []
    for provider in CAPTION_PROVIDERS:
        got = provider(clip)
        if not got:
            continue
        for t in got if isinstance(got, list) else [got]:
            out.append(t if isinstance(t, dict) else {"src": t, "srclang": "en", "label": "Transcript"})
    return out


def captions_url(clip) -> str | None:
    tracks = caption_tracks(clip)
    return tracks[0]["src"] if tracks else None
