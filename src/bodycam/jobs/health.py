"""Is the broker there, and how many messages wait in it (for /readyz, /metrics and the
reconciler's hint). Short timeouts: a probe never hangs on a broker that is down."""

from __future__ import annotations

from pathlib import Path


def _redis():
    from django.conf import settings

    if not settings.BROKER_URL.startswith(("redis://", "rediss://")):
        return None
    import redis

    return redis.Redis.from_url(settings.BROKER_URL, socket_timeout=2, socket_connect_timeout=2)


def broker_check() -> str:
    """"ok", or "error: <what>" when the broker cannot be reached."""
    from django.conf import settings

    try:
        r = _redis()
        if r is not None:
            r.ping()
        elif settings.BROKER_URL.startswith("filesystem://"):
            from . import celery_app  # noqa: F401 - configuring it makes the broker's folders

            queue = Path(settings.DATA_DIR) / "broker" / "queue"
            if not queue.is_dir():
                return "error: no broker folder"
        return "ok"
    except Exception as exc:  # noqa: BLE001 - the answer is the error's name
        return f"error: {type(exc).__name__}"


def broker_depth() -> int | None:
    """Messages waiting in the Redis broker's queue, or None for other brokers. Raises when
    Redis cannot be reached."""
    r = _redis()
    if r is None:
        return None
    return int(r.llen("celery"))
