"""Server-rendered pages. Thin: sign-in logic lives in bodycam.access.auth, evidence logic
in bodycam.evidence_ops.services (both audited there); the audit page is web.audit.

Sign-in is two steps in one session: /login/ (system-use banner acknowledgement, username,
password) then /mfa/ (TOTP code; first time: enrolment with secret + QR code). Django's
``login()`` happens only after the second factor.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from ..access import auth, directory, oidc, totp
from ..access.middleware import AUTH_AT, MFA_OK, SEEN_AT
from ..access.models import User
from ..access.services import Denied
from ..custody.services import record_request, request_source, session_ref
from ..http import CONTENT_SECURITY_POLICY, error_page

PENDING, PENDING_AT, BANNER_AT = "bc_pending", "bc_pending_at", "bc_banner_at"
METHOD = "bc_method"  # how the first factor was passed: password | ldap | oidc
PENDING_TTL = 300  # seconds to complete the second factor


def _client(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _next(request, default="/") -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or default
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return default
    return nxt


def public_base(request) -> str:
    """The address people reach this server at (``BODYCAM_PUBLIC_URL``, else this request's), no
    trailing slash: for links that leave the page (SSO callback, enrolment links)."""
    return settings.PUBLIC_URL.rstrip("/") if settings.PUBLIC_URL else request.build_absolute_uri("/").rstrip("/")


def _too_many(request, template, ctx, what):
    record_request(request, "auth.rate_limited", outcome="denied", detail={"endpoint": what})
    ctx = dict(ctx, error="Too many attempts. Wait a minute and try again.")
    resp = render(request, template, ctx, status=429)
    resp["Retry-After"] = "60"
    return resp


def login_page(request, ctx: dict, status: int = 200):
    """The login page; with single sign-on its CSP lets the form go on to the provider."""
    response = render(request, "web/login.html", ctx, status=status)
    origin = oidc.authorization_origin() if oidc.enabled() else ""
    if origin:
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {origin}")
    return response


@require_http_methods(["GET", "POST"])
def login_view(request):
    ctx = {"banner": settings.SYSTEM_USE_BANNER, "next": _next(request), "ended": request.GET.get("ended", ""),
           "enrolled": request.GET.get("enrolled") == "1",
           "sso_name": oidc.provider_name() if oidc.enabled() else ""}
    if request.user.is_authenticated:
        return HttpResponseRedirect(ctx["next"])
    if request.method == "GET":
        return login_page(request, ctx)
    limit, window = settings.LOGIN_RATE
    if not auth.throttle_hit(f"login:{_client(request)}", limit, window):
        return _too_many(request, "web/login.html", ctx, "login")
    ctx["username"] = request.POST.get("username", "")[:150]
    if request.POST.get("acknowledge") != "yes":
        ctx["error"] = "You must acknowledge the system-use notice to sign in."
        return login_page(request, ctx, 400)
    if not request.session.session_key:
        request.session.save()
    try:
        user = auth.check_password(request.POST.get("username", ""), request.POST.get("password", ""),
                                   request_source(request), session_ref(request))
    except auth.AuthFailed as exc:
        ctx["error"] = exc.public
        return login_page(request, ctx, 401)
    request.session[BANNER_AT] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return begin_second_factor(request, user, "ldap" if directory.managed_by(user) else "password", ctx["next"])


def _pending_user(request) -> User | None:
    uid, at = request.session.get(PENDING), request.session.get(PENDING_AT)
    if not uid or not isinstance(at, (int, float)) or time.time() - at > PENDING_TTL:
        return None
    return User.objects.filter(id=uid, is_active=True).first()


@require_http_methods(["GET", "POST"])
def mfa_view(request):
    user = _pending_user(request)
    if user is None:
        return HttpResponseRedirect(settings.LOGIN_URL + "?ended=sign-in+step+expired")
    enrolled = auth.is_enrolled(user)
    ctx = {"next": _next(request), "enrolled": enrolled, "username": user.username}
    if not enrolled:
        dev = auth.begin_enrolment(user)
        uri = totp.otpauth_uri(dev.secret, user.username)
        ctx.update(secret=dev.secret, uri=uri, qr_svg=_qr_svg(uri))
    if request.method == "GET":
        return render(request, "web/mfa.html", ctx)
    limit, window = settings.MFA_RATE
    if not auth.throttle_hit(f"mfa:{_client(request)}", limit, window):
        return _too_many(request, "web/mfa.html", ctx, "mfa")
    try:
        auth.verify_totp(user, request.POST.get("code", ""), request_source(request), session_ref(request),
                         enrolling=not enrolled)
    except auth.AuthFailed as exc:
        user.refresh_from_db(fields=["locked_at"])
        if user.locked_at:
            request.session.flush()
            return HttpResponseRedirect(settings.LOGIN_URL + "?ended=locked")
        ctx["error"] = exc.public
        return render(request, "web/mfa.html", ctx, status=401)
    complete_login(request, user, request.session.get(METHOD) or "password")
    return HttpResponseRedirect(ctx["next"])


def begin_second_factor(request, user: User, method: str, nxt: str):
    """The first factor passed (password, LDAP, or an OpenID provider without MFA): on to /mfa/."""
    request.session.cycle_key()
    request.session[PENDING] = str(user.id)
    request.session[PENDING_AT] = time.time()
    request.session[METHOD] = method
    request.session[BANNER_AT] = request.session.get(BANNER_AT) or datetime.now(timezone.utc).isoformat(
        timespec="milliseconds")
    return HttpResponseRedirect("/mfa/?next=" + nxt)


def complete_login(request, user: User, method: str, mfa: str = "totp", mfa_evidence: dict | None = None) -> None:
    """Both factors done: Django's login(), the session's MFA mark, the audit entry."""
    banner_at = request.session.get(BANNER_AT, "")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    now = time.time()
    for k in (PENDING, PENDING_AT, METHOD):
        request.session.pop(k, None)
    request.session[MFA_OK] = True
    request.session[AUTH_AT] = now
    request.session[SEEN_AT] = now
    request.session.save()
    auth.login_succeeded(user, request_source(request), session_ref(request), banner_at, method=method, mfa=mfa,
                         mfa_evidence=mfa_evidence)


def _qr_svg(uri: str) -> str:
    import segno

    return segno.make(uri, error="m").svg_inline(scale=4)


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        record_request(request, "auth.logout", object_type="user", object_id=str(request.user.id))
    logout(request)
    return HttpResponseRedirect(settings.LOGIN_URL)


def csrf_failure(request, reason=""):
    record_request(request, "security.csrf_rejected", outcome="denied", detail={"reason": reason[:200]})
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "CSRF check failed: " + reason}, status=403)
    return error_page(request, Denied("The form expired or did not come from this site (CSRF check failed). "
                                      "Reload the page and try again."))


def healthz(request):
    return JsonResponse({"status": "ok"})
