"""OpenID Connect sign-in (Entra ID, Okta, Keycloak...): authorization code flow with PKCE,
through Authlib's Django client.

``start`` sends the browser to the provider with a fresh ``state``, ``nonce`` and PKCE
``code_challenge`` (S256), kept in the session; ``finish`` takes the code back, checks the
state, redeems the code with the client secret and the ``code_verifier``, and checks the ID
token (signature against the provider's JWKS, ``iss``, ``aud``, ``exp``, ``nonce``,
``at_hash``). The groups come from the ID token's groups claim, or from the userinfo endpoint
when the ID token has none. The provider's MFA counts when the ID token's ``amr`` names one of
``BODYCAM_OIDC_MFA_AMR`` or its ``acr`` is one of ``BODYCAM_OIDC_MFA_ACR``.
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from .directory import DirectoryRefused, DirectoryUnavailable, Identity


def enabled() -> bool:
    return bool(settings.OIDC_DISCOVERY_URL)


def provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME or "single sign-on"


@lru_cache(maxsize=4)
def _client(discovery_url: str, client_id: str):
    from authlib.integrations.django_client import OAuth

    oauth = OAuth()
    return oauth.register("bodycam_oidc", client_id=client_id, client_secret=settings.OIDC_CLIENT_SECRET,
                          server_metadata_url=discovery_url,
                          client_kwargs={"scope": settings.OIDC_SCOPES, "code_challenge_method": "S256",
                                         "timeout": 15})


def client():
    return _client(settings.OIDC_DISCOVERY_URL, settings.OIDC_CLIENT_ID)


def authorization_origin() -> str:
    """scheme://host[:port] of the provider's authorization endpoint (the discovery URL's when
    the provider cannot be asked now): the login page's CSP ``form-action`` must allow the form's
    redirect there, or the browser stops the SSO button."""
    from urllib.parse import urlsplit

    url = settings.OIDC_DISCOVERY_URL
    try:
        url = client().load_server_metadata().get("authorization_endpoint") or url
    except Exception:  # noqa: BLE001 - unreachable/invalid metadata: the start step reports it
        pass
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def start(request, redirect_uri: str):
    """The redirect to the provider's authorization endpoint (state, nonce, PKCE in the session)."""
    from authlib.integrations.base_client.errors import OAuthError
    from requests import RequestException

    extra = {"acr_values": settings.OIDC_ACR_VALUES} if settings.OIDC_ACR_VALUES else {}
    try:
        return client().authorize_redirect(request, redirect_uri, **extra)
    except (OAuthError, RequestException, ValueError, RuntimeError) as exc:
        raise DirectoryUnavailable(f"OpenID provider: {type(exc).__name__}: {exc}"[:200]) from None


def _words(value) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return []


def mfa_evidence(claims: dict) -> dict | None:
    """The ID token's amr/acr when they show the provider did MFA by the agency's rule, else None."""
    amr = _words(claims.get("amr"))
    acr = str(claims.get("acr") or "")
    accepted_amr = {v.strip().lower() for v in settings.OIDC_MFA_AMR.split(",") if v.strip()}
    accepted_acr = {v.strip() for v in settings.OIDC_MFA_ACR.split(",") if v.strip()}
    if any(a.lower() in accepted_amr for a in amr) or (acr and acr in accepted_acr):
        return {"amr": amr, "acr": acr}
    return None


def finish(request) -> Identity:
    """The identity from the provider's answer on the callback. Raises DirectoryRefused: the
    provider refused (``error=access_denied``, a disabled account...), a wrong or replayed
    state, a bad ID token; DirectoryUnavailable when the provider cannot be reached."""
    from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
    from joserfc.errors import JoseError
    from requests import RequestException

    c = client()
    try:
        token = c.authorize_access_token(request)
    except MismatchingStateError:
        raise DirectoryRefused("state does not match this session (expired, replayed or forged)") from None
    except OAuthError as exc:
        raise DirectoryRefused(f"provider refused: {exc.error or ''} {exc.description or ''}".strip()[:200]) from None
    except JoseError as exc:
        raise DirectoryRefused(f"ID token rejected: {type(exc).__name__} {exc}"[:200]) from None
    except RequestException as exc:
        raise DirectoryUnavailable(f"OpenID provider: {type(exc).__name__}"[:200]) from None
    claims = dict(token.get("userinfo") or {})
    if not claims.get("sub"):
        raise DirectoryRefused("no ID token in the provider's answer")
    groups_claim = settings.OIDC_GROUPS_CLAIM
    if groups_claim not in claims and c.load_server_metadata().get("userinfo_endpoint"):
        try:
            info = c.userinfo(token=token)
        except (OAuthError, RequestException) as exc:
            raise DirectoryUnavailable(f"userinfo: {type(exc).__name__}"[:200]) from None
        if info.get("sub") == claims["sub"]:  # OIDC Core 5.3.2: must be the same person
            claims.setdefault(groups_claim, info.get(groups_claim))
            for k in (settings.OIDC_USERNAME_CLAIM, "email", "name"):
                if k not in claims and k in info:
                    claims[k] = info[k]
    groups = claims.get(groups_claim)
    groups = [str(g) for g in groups] if isinstance(groups, list) else ([groups] if isinstance(groups, str) else [])
    username = str(claims.get(settings.OIDC_USERNAME_CLAIM) or "")
    return Identity(source="oidc", issuer=str(claims.get("iss", ""))[:255], subject=str(claims["sub"])[:255],
                    username=username, groups=groups, email=str(claims.get("email") or ""),
                    name=str(claims.get("name") or ""), mfa=mfa_evidence(claims))
