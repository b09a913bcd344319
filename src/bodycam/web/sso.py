"""OpenID Connect sign-in pages (thin: the protocol is in bodycam.access.oidc, the account and
its role in bodycam.access.directory; every outcome audited there or here).

``POST /login/oidc/`` (the login page's "Sign in with <provider>" button, with the system-use
acknowledgement) sends the browser to the provider; ``GET /login/oidc/callback`` takes it back:
a person whose ID token shows the provider's MFA is signed in, anyone else goes on to /mfa/.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.views.decorators.http import require_GET, require_POST

from ..access import auth, directory, oidc
from ..custody.services import request_source, session_ref
from .views import BANNER_AT, _client, _next, _too_many, begin_second_factor, complete_login, login_page, public_base

NEXT = "bc_oidc_next"
STARTED_AT = "bc_oidc_at"
FLOW_TTL = 600  # seconds from the button to the callback


def _redirect_uri(request) -> str:
    return public_base(request) + "/login/oidc/callback"


def _login_page(request, error: str, status: int, nxt: str = "/"):
    ctx = {"banner": settings.SYSTEM_USE_BANNER, "next": nxt, "error": error, "sso_name": oidc.provider_name()}
    return login_page(request, ctx, status)


@require_POST
def oidc_start(request):
    if not oidc.enabled():
        raise Http404("single sign-on is not configured")
    nxt = _next(request)
    ctx = {"banner": settings.SYSTEM_USE_BANNER, "next": nxt, "sso_name": oidc.provider_name()}
    limit, window = settings.LOGIN_RATE
    if not auth.throttle_hit(f"login:{_client(request)}", limit, window):
        return _too_many(request, "web/login.html", ctx, "login")
    if request.POST.get("acknowledge") != "yes":
        return _login_page(request, "You must acknowledge the system-use notice to sign in.", 400, nxt)
    if not request.session.session_key:
        request.session.save()
    try:
        response = oidc.start(request, _redirect_uri(request))
    except directory.DirectoryRefused as exc:
        directory.refuse("", "oidc", exc.reason, request_source(request), session_ref(request), outcome="error")
        return _login_page(request, exc.public, 503, nxt)
    request.session[NEXT] = nxt
    request.session[STARTED_AT] = time.time()
    request.session[BANNER_AT] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return response


@require_GET
def oidc_callback(request):
    if not oidc.enabled():
        raise Http404("single sign-on is not configured")
    nxt = request.session.pop(NEXT, "/")
    started = request.session.pop(STARTED_AT, None)
    source, session = request_source(request), session_ref(request)
    if not isinstance(started, (int, float)) or time.time() - started > FLOW_TTL:
        directory.refuse("", "oidc", "no sign-in under way in this session (expired or not started here)",
                         source, session)
        return _login_page(request, "The sign-in took too long or was not started here. Please try again.", 400)
    try:
        identity = oidc.finish(request)
        mapping = directory.parse_group_roles(settings.OIDC_GROUP_ROLES, "BODYCAM_OIDC_GROUP_ROLES")
        if not identity.username:
            raise directory.refuse(identity, "oidc", f"the ID token has no {settings.OIDC_USERNAME_CLAIM!r} claim",
                                   source, session)
        user = directory.sign_in(identity, mapping, source, session)
    except directory.DirectoryRefused as exc:
        unavailable = isinstance(exc, directory.DirectoryUnavailable)
        if not exc.audited:
            directory.refuse("", "oidc", exc.reason, source, session, outcome="error" if unavailable else "denied")
        return _login_page(request, exc.public, 503 if unavailable else 403, nxt)
    if identity.mfa:
        complete_login(request, user, "oidc", mfa="idp", mfa_evidence=identity.mfa)
        return HttpResponseRedirect(nxt)
    return begin_second_factor(request, user, "oidc", nxt)
