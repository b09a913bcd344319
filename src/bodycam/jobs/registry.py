"""Job handlers by kind. Each app that has jobs puts them in ``<app>/job_handlers.py``
and decorates them with ``@handler("kind")``; workers load every such module.

A handler is ``fn(ctx: JobContext, **params) -> dict`` and must be idempotent: running it
again after a crash or a retry does no harm (look for the result it would make first)."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Callable

HANDLERS: dict[str, Callable] = {}


def handler(kind: str):
    def register(fn):
        HANDLERS[kind] = fn
        return fn

    return register


def load_handlers() -> dict[str, Callable]:
    from django.apps import apps

    for config in apps.get_app_configs():
        if config.name.startswith("bodycam."):
            module = f"{config.name}.job_handlers"
            if importlib.util.find_spec(module) is not None:
                importlib.import_module(module)
    return HANDLERS
