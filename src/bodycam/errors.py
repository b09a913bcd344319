"""One error base for the whole server side, with its meaning on the class.

``BodycamError.status`` is the HTTP status an API call or a page answers when the error
reaches it; ``exit_code`` is the ``bodycam`` command's exit status. Three mappings, one
each, use them:

* API (DRF): ``bodycam.web.api.exception_handler`` -> ``api_error(exc)``: ``{"error": message}``
* pages: ``bodycam.http.ErrorPageMiddleware`` / ``bodycam.http.error_page`` -> ``error.html``
* CLI: ``bodycam.cli.main`` -> ``cli_error(exc)``: one line on stderr and the exit status

Feature apps subclass it (``class RetentionError(BodycamError)``; keep ``ValueError`` etc. as
a second base where callers catch that). Pure Python: no Django, so device/ and
provenance/ may use it too.
"""

from __future__ import annotations


class BodycamError(Exception):
    """An expected failure with a reason for the person who caused it."""

    status: int = 400  # HTTP status
    exit_code: int = 1  # `bodycam` exit status
    cli_type_prefix: bool = True  # CLI line "bodycam: error: TypeName: message"

    @property
    def message(self) -> str:
        reason = getattr(self, "reason", None)
        return reason if isinstance(reason, str) else str(self)


class BadInput(BodycamError, ValueError):
    """The request's input is wrong (a field, a body, a parameter): 400 with this message."""

    status = 400


class NotFound(BodycamError):
    """No page at this address (the pages' ``handler404``)."""

    status = 404

    def __init__(self, message: str = "There is no page at this address."):
        super().__init__(message)


class ServerError(BodycamError):
    """An unexpected failure on the server (the pages' ``handler500``); the details are in the log."""

    status = 500

    def __init__(self, message: str = "Something went wrong on the server. It has been logged; "
                                      "please try again or tell your administrator."):
        super().__init__(message)


class CliError(BodycamError):
    """A user-facing error of a ``bodycam`` command: printed as one line, exit status 2."""

    exit_code = 2
    cli_type_prefix = False


def api_error(exc: BodycamError) -> tuple[dict, int]:
    """The REST API's answer: body and status."""
    return {"error": exc.message}, exc.status


def page_context(exc: BodycamError) -> dict:
    """The context of the ``error.html`` page (project-level, ``http.ERROR_TEMPLATE``)."""
    return {"status": exc.status, "message": exc.message}


def cli_error(exc: BaseException) -> tuple[str, int]:
    """The CLI's one line (without the trailing newline) and exit status."""
    text = str(exc)
    first = text.splitlines()[0] if text else ""
    if isinstance(exc, BodycamError) and not exc.cli_type_prefix:
        return f"bodycam: error: {text}", exc.exit_code
    return f"bodycam: error: {type(exc).__name__}: {first}", getattr(exc, "exit_code", 1)


__all__ = ["BadInput", "BodycamError", "CliError", "NotFound", "ServerError", "api_error", "cli_error", "page_context"]
