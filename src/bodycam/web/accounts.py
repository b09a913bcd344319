"""The Accounts pages (administrators): the list and its filters, creating an account (with
its one-time enrolment link), the account page (details, API tokens, change-log) and its
actions (role, unlock, disable/enable, MFA reset, password reset, a new enrolment link,
tokens), and the public enrolment page a new person opens.

Thin: the rules live in ``access.accounts``, ``access.auth`` and ``access.enrolment``, which
audit every change and every refusal. Each view first asks ``accounts.manage`` (a refusal
is audited) before it looks an account up, so only administrators learn which exist.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..access import accounts, auth, directory, enrolment, totp
from ..access.models import Role, Squad
from ..access.policy import refusals_audited, require
from ..custody.actions import label
from ..custody.services import record_request, request_source
from ..errors import BadInput, BodycamError
from ..numbers import whole_number
from .views import _qr_svg, public_base

TOKEN_DAYS = (30, 90, 180, 365)


def _admin(request, action: str, key: str = ""):
    return require(request, "accounts.manage", action=action, object_type="user", object_id=key,
                   reason="admin role required", message="admin role required")


def _account(request, key: str, action: str):
    _admin(request, action, key)
    return accounts.find_account(key, request.user, action, request_source(request))


def _link_url(request, token: str) -> str:
    return public_base(request) + enrolment.link_path(token)


def _detail(user) -> str:
    return reverse("user-detail", args=[user.username])


# ---------------------------------------------------------------- list and create
@login_required
@require_GET
def user_list(request):
    """Every account, filtered by role, squad, status and a text (username, name, badge)."""
    _admin(request, "account.list")
    f = {k: request.GET.get(k, "") for k in ("role", "squad", "status", "q")}
    rows = list(accounts.find_accounts(**f))  # BadInput: 400
    for u in rows:
        u.directory_source = directory.managed_by(u) if u.directory_managed else ""
    record_request(request, "account.list", object_type="user", detail={k: v for k, v in f.items() if v} or None)
    return render(request, "web/users.html", {
        "users": rows, "roles": Role.values, "squads": Squad.objects.order_by("name"), "statuses": accounts.STATUSES,
        "f": f, "role_filter": f["role"], "filtered": any(f.values())})


def _form_ctx(form=None, error=""):
    form = form or {}
    return {"roles": Role.values, "squads": Squad.objects.order_by("name"), "form": form, "chosen_role":
            form.get("role", ""), "error": error}


@login_required
@require_http_methods(["GET", "POST"])
def user_new(request):
    """Create an account: it gets a one-time enrolment link, shown here once."""
    _admin(request, "account.create")
    if request.method == "GET":
        return render(request, "web/user_new.html", _form_ctx())
    form = {k: request.POST.get(k, "") for k in ("username", "role", "first_name", "last_name", "badge", "email",
                                                 "squad", "axis_user_id", "reason")}
    try:
        user, token = accounts.create_account(form, request.user, request_source(request))
    except auth.AccountError as exc:  # shown beside the form (audited by the service)
        return render(request, "web/user_new.html", _form_ctx(form, exc.message), status=exc.status)
    return render(request, "web/user_link.html", {"account": user, "link": _link_url(request, token),
                                                  "hours": settings.ENROL_LINK_HOURS, "created": True}, status=201)


# ---------------------------------------------------------------- the account page
@login_required
@require_GET
def user_detail(request, username):
    user = _account(request, username, "account.view")
    record_request(request, "account.view", object_type="user", object_id=str(user.id),
                   detail={"username": user.username})
    changes = accounts.account_changes(user)
    for e in changes:
        e.label = label(e.action)
    return render(request, "web/user_detail.html", {
        "account": user, "name": accounts.full_name(user), "directory_source": directory.managed_by(user),
        "mfa_enrolled": auth.is_enrolled(user), "officer": getattr(user, "officer", None),
        "pending": enrolment.pending_link(user), "tokens": accounts.account_tokens(user), "changes": changes,
        "roles": [r for r in Role.values if r != user.role], "token_days": TOKEN_DAYS,
        "own": user.pk == request.user.pk, "has_password": user.has_usable_password()})


@login_required
@require_POST
def user_role(request, username):
    user = _account(request, username, "account.role_change")
    auth.set_role(user, request.POST.get("role", ""), actor=request.user, source=request_source(request),
                  reason=request.POST.get("reason", ""))
    return HttpResponseRedirect(_detail(user))


@login_required
@require_POST
def user_unlock(request, username):
    user = _account(request, username, "account.unlock")
    auth.unlock(user, actor=request.user, source=request_source(request))
    return HttpResponseRedirect(_detail(user))


# What each confirm page says; the change is made by POST with a reason.
CHANGES = {
    "disable": ("Disable (offboard)",
                "The account can no longer sign in. Its sessions end and its API tokens and enrolment links are "
                "revoked now. Its recordings, its camera identity and the audit trail stay."),
    "enable": ("Enable",
               "The account may sign in again with its password and authenticator. Revoked API tokens stay revoked."),
    "mfa-reset": ("Reset the authenticator",
                  "The account's authenticator is removed; the person sets up a new one at their next sign-in."),
    "password-reset": ("Reset the password",
                       "The password is cleared now and the account's sessions end. You get a one-time link to hand "
                       "over, where the person chooses a new password (you never choose or see it)."),
    "enrol-link": ("Issue a new enrolment link",
                   "A new one-time link for this account; any earlier link stops working."),
}


@login_required
@require_http_methods(["GET", "POST"])
def user_change(request, username, change):
    """GET: the confirm page (what happens, a reason); POST: the change."""
    title, what = CHANGES[change]
    user = _account(request, username, {"disable": "account.disable", "enable": "account.enable",
                                        "mfa-reset": "account.mfa_reset", "password-reset": "account.password_reset",
                                        "enrol-link": "account.enrol_link"}[change])
    if request.method == "GET":
        return render(request, "web/user_confirm.html", {"account": user, "title": title, "what": what,
                                                         "action_url": request.path})
    reason, actor, source = request.POST.get("reason", ""), request.user, request_source(request)
    if change in ("disable", "enable"):
        auth.set_active(user, change == "enable", actor=actor, source=source, reason=reason)
    elif change == "mfa-reset":
        auth.reset_mfa(user, actor=actor, source=source, reason=reason)
    else:
        fn = enrolment.reset_password if change == "password-reset" else enrolment.issue_link
        _, token = fn(user, actor=actor, source=source, reason=reason)
        return render(request, "web/user_link.html", {"account": user, "link": _link_url(request, token),
                                                      "hours": settings.ENROL_LINK_HOURS})
    return HttpResponseRedirect(_detail(user))


# ---------------------------------------------------------------- API tokens
@login_required
@require_POST
def token_create(request, username):
    user = _account(request, username, "account.token_create")
    with refusals_audited(request, "account.token_create", "user", str(user.id)):
        days = whole_number(request.POST.get("days", ""))
        if days is None:
            raise BadInput("days must be a whole number")
    tok, key = auth.create_token(user, request.POST.get("name", ""), days=days, by=request.user,
                                 source=request_source(request))
    return render(request, "web/user_token.html", {"account": user, "token": tok, "key": key}, status=201)


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, username, token_id):
    user = _account(request, username, "account.token_revoke")
    if request.method == "GET":
        tok = next((t for t in accounts.account_tokens(user) if str(t.id) == token_id and not t.revoked_at), None)
        if tok is None:
            auth.revoke_token(token_id, by=request.user, source=request_source(request), owner=user)  # raises
        return render(request, "web/user_confirm.html", {
            "account": user, "title": f"Revoke the API token “{tok.name}”",
            "what": "Programs using this token are refused from now on. This cannot be undone; create a new token "
                    "if one is needed again.", "action_url": request.path})
    auth.revoke_token(token_id, by=request.user, source=request_source(request), owner=user,
                      reason=request.POST.get("reason", "").strip())
    return HttpResponseRedirect(_detail(user))


# ---------------------------------------------------------------- the enrolment page (no sign-in)
@require_http_methods(["GET", "POST"])
def enrol_page(request, token):
    """A new person's (or a reset password's) one-time link: choose a password, set up or prove
    the authenticator; then on to the login page."""
    source = request_source(request)
    if request.method == "POST":
        limit, window = settings.MFA_RATE
        if not auth.throttle_hit(f"enrol:{request.META.get('REMOTE_ADDR', '')}", limit, window):
            record_request(request, "auth.rate_limited", outcome="denied", detail={"endpoint": "enrol"})
            raise RateLimited("Too many attempts. Wait a minute and try again.")
        try:
            enrolment.complete(token, request.POST.get("password", ""), request.POST.get("password2", ""),
                               request.POST.get("code", ""), source)
        except enrolment.EnrolmentFailed as exc:  # shown beside the form (audited by the service)
            return _enrol_form(request, enrolment.open_link(token, source), exc.message, 400)
        return HttpResponseRedirect(settings.LOGIN_URL + "?enrolled=1")
    return _enrol_form(request, enrolment.open_link(token, source))


def _enrol_form(request, e, error: str = "", status: int = 200):
    return render(request, "web/enrol.html", {
        "account": e.user, "secret": e.secret, "uri": e.uri, "qr_svg": _qr_svg(e.uri) if e.secret else "",
        "error": error, "reset": e.link.purpose == enrolment.RESET, "digits": totp.DIGITS}, status=status)


class RateLimited(BodycamError):
    """Too many enrolment posts from one address: 429, retry in a minute."""

    status = 429
    retry_after = 60
