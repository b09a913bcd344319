"""Session rules for every request: MFA-complete sessions only, 30 min idle and 12 h
absolute expiry, locked/disabled accounts thrown out, cookies Secure over HTTPS."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponseRedirect, JsonResponse
from django.utils.http import urlencode

from ..custody.services import record_request

AUTH_AT = "bc_auth_at"      # epoch seconds of the completed (password + TOTP) sign-in
SEEN_AT = "bc_seen_at"      # epoch seconds of the last request
MFA_OK = "bc_mfa"           # set only by the MFA step


def _api(request) -> bool:
    return request.path.startswith("/api/")


class SecureCookiesMiddleware:
    """Outermost: every cookie set on an HTTPS response is marked Secure (session and CSRF
    cookies are already HttpOnly/SameSite by settings)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.is_secure():
            for morsel in response.cookies.values():
                morsel["secure"] = True
        return response


class SessionPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            reason = self._expired(request, user)
            if reason:
                record_request(request, "auth.session_end", actor=user.username, object_type="user",
                               object_id=str(user.id), detail={"reason": reason})
                logout(request)
                if _api(request):
                    return JsonResponse({"error": "session ended: " + reason}, status=401)
                return HttpResponseRedirect(settings.LOGIN_URL + "?" + urlencode({"next": request.get_full_path(),
                                                                                   "ended": reason}))
        return self.get_response(request)

    @staticmethod
    def _expired(request, user) -> str:
        s = request.session
        now = time.time()
        if not s.get(MFA_OK):
            return "no second factor"
        if user.locked_at or not user.is_active:
            return "account locked or disabled"
        auth_at, seen_at = s.get(AUTH_AT), s.get(SEEN_AT)
        if not isinstance(auth_at, (int, float)) or now - auth_at > settings.SESSION_ABSOLUTE_SECONDS:
            return "12 hour limit"
        if not isinstance(seen_at, (int, float)) or now - seen_at > settings.SESSION_IDLE_SECONDS:
            return "idle timeout"
        if now - seen_at > 10:
            s[SEEN_AT] = now
        return ""
