"""REST framework glue: API-token authentication and a JSON 429/4xx error shape."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from .auth import user_for_token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer bct_...`` (or ``Token bct_...``). Tokens act with their
    user's role and object rules; they are issued by ``bodycam token create``."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be: Bearer <token>")
        found = user_for_token(header[1].decode(errors="replace"))
        if found is None:
            from ..custody.services import record_request

            record_request(request._request, "auth.token", actor="token", outcome="failed",
                           detail={"reason": "unknown, expired or revoked token"})
            raise exceptions.AuthenticationFailed("invalid, expired or revoked token")
        return found

    def authenticate_header(self, request):
        return "Bearer"
