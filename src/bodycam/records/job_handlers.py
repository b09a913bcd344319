"""Jobs of the public-records workflow (the job code lives in records.services)."""

from __future__ import annotations

from ..jobs.registry import handler


@handler("records.package")
def package(ctx, request_id: str) -> dict:
    from . import services

    return services.package_job(ctx, request_id)
