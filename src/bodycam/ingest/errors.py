"""Ingest errors, each with the HTTP status the Axis spec assigns it."""

from ..errors import BodycamError


class IngestError(BodycamError):
    status = 500

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class BadRequest(IngestError):
    status = 400  # never storable: unknown user/device, zero-length, bad timestamps, bad media


class Unauthorized(IngestError):
    status = 401


class Forbidden(IngestError):
    status = 403


class NotFound(IngestError):
    status = 404


class Conflict(IngestError):
    status = 409


class TooLarge(IngestError):
    status = 413  # a size no store could take (Content-Length beyond any disk): no alert


class ChecksumMismatch(IngestError):
    status = 422  # Swift's answer when the body does not match the ETag sent


class Busy(IngestError):
    status = 503


class Unavailable(IngestError):
    status = 503  # the catalogue or the blob store cannot be reached now: nothing stored, retry (Retry-After)


class OutOfSpace(IngestError):
    status = 507
