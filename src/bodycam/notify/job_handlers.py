"""``notify.sweep``: mail what is due (the scheduler runs it every NOTIFY_INTERVAL seconds;
a share made to someone submits one for shares). Idempotent: ``Sent`` remembers each mail."""

from __future__ import annotations

from ..jobs.registry import handler


@handler("notify.sweep")
def notify_sweep(ctx, kinds: list | None = None) -> dict:
    from .services import sweep

    counts = sweep(kinds=kinds if isinstance(kinds, list) else None)
    ctx.log(", ".join(f"{k}: {v}" for k, v in counts.items()))
    return counts
