"""LDAP / Active Directory sign-in: bind + search (python-ldap), then the user's own bind.

1. connect (``ldaps://``, or ``ldap://`` with StartTLS when ``BODYCAM_LDAP_STARTTLS=1``; the
   server certificate is always checked, against ``BODYCAM_LDAP_CA_FILE`` when set);
2. bind as the service account (``BODYCAM_LDAP_BIND_DN``; anonymous when empty) and find
   exactly one entry with ``BODYCAM_LDAP_USER_FILTER`` under ``BODYCAM_LDAP_USER_BASE``;
3. refuse an Active Directory account whose ``userAccountControl`` has the disabled flag (0x2);
4. bind as that entry with the password typed (an empty password is refused first: LDAP treats
   it as an anonymous bind that "succeeds");
5. the groups: the entry's ``memberOf`` plus the groups ``BODYCAM_LDAP_GROUP_FILTER`` finds
   under ``BODYCAM_LDAP_GROUP_BASE``; a user outside ``BODYCAM_LDAP_REQUIRE_GROUP`` is refused.

Returns a ``directory.Identity``; ``directory.sign_in`` maps the groups to a role.
"""

from __future__ import annotations

from django.conf import settings

from .directory import DirectoryRefused, DirectoryUnavailable, Identity, in_group

AD_ACCOUNTDISABLE = 0x2


def enabled() -> bool:
    return bool(settings.LDAP_URL)


def _connect():
    import ldap

    conn = ldap.initialize(settings.LDAP_URL)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, settings.LDAP_TIMEOUT)
    conn.set_option(ldap.OPT_TIMEOUT, settings.LDAP_TIMEOUT)
    conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
    if settings.LDAP_CA_FILE:
        conn.set_option(ldap.OPT_X_TLS_CACERTFILE, settings.LDAP_CA_FILE)
    conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)  # apply the TLS options above to this connection
    if settings.LDAP_STARTTLS:
        conn.start_tls_s()
    return conn


def _text(values) -> str:
    if not values:
        return ""
    v = values[0]
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            return v.hex()  # objectGUID and other binary ids
    return str(v)


def _decode_all(values) -> list[str]:
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values or []]


def authenticate(username: str, password: str) -> Identity:
    """Check the password with the directory. Raises DirectoryRefused (reason for the audit)
    or DirectoryUnavailable."""
    import ldap
    from ldap.filter import escape_filter_chars

    if not password:
        raise DirectoryRefused("empty password")
    uid_attr, id_attr = settings.LDAP_USERNAME_ATTR, settings.LDAP_ID_ATTR
    try:
        conn = _connect()
        try:
            conn.simple_bind_s(settings.LDAP_BIND_DN, settings.LDAP_BIND_PASSWORD)
            found = [(dn, attrs) for dn, attrs in conn.search_s(
                settings.LDAP_USER_BASE, ldap.SCOPE_SUBTREE,
                settings.LDAP_USER_FILTER.format(username=escape_filter_chars(username)),
                [uid_attr, id_attr, "userAccountControl", "memberOf", "mail", "displayName", "cn"]) if dn]
            if not found:
                raise DirectoryRefused("unknown user")
            if len(found) > 1:
                raise DirectoryRefused(f"{len(found)} directory entries match this username")
            dn, attrs = found[0]
            uac = _text(attrs.get("userAccountControl"))
            if uac.isdigit() and int(uac) & AD_ACCOUNTDISABLE:
                raise DirectoryRefused("account disabled in the directory")
            try:
                conn.simple_bind_s(dn, password)
            except ldap.INVALID_CREDENTIALS:
                raise DirectoryRefused("wrong password") from None
            # Group lookups as the service account (a user may not read the group entries).
            conn.simple_bind_s(settings.LDAP_BIND_DN, settings.LDAP_BIND_PASSWORD)
            groups = _decode_all(attrs.get("memberOf"))
            if settings.LDAP_GROUP_BASE:
                flt = settings.LDAP_GROUP_FILTER.format(dn=escape_filter_chars(dn),
                                                        username=escape_filter_chars(username))
                groups += [gdn for gdn, _ in conn.search_s(settings.LDAP_GROUP_BASE, ldap.SCOPE_SUBTREE, flt, ["cn"])
                           if gdn]
        finally:
            conn.unbind_s()
    except DirectoryRefused:
        raise
    except ldap.LDAPError as exc:
        desc = exc.args[0].get("desc", "") if exc.args and isinstance(exc.args[0], dict) else str(exc)
        raise DirectoryUnavailable(f"LDAP error: {type(exc).__name__} {desc}"[:200]) from None
    groups = sorted({g for g in groups}, key=str.lower)
    if settings.LDAP_REQUIRE_GROUP and not in_group(groups, settings.LDAP_REQUIRE_GROUP):
        raise DirectoryRefused("not in the group BODYCAM_LDAP_REQUIRE_GROUP names")
    return Identity(source="ldap", subject=_text(attrs.get(id_attr)) or dn, username=_text(attrs.get(uid_attr)) or username,
                    groups=groups, email=_text(attrs.get("mail")),
                    name=_text(attrs.get("displayName")) or _text(attrs.get("cn")))
