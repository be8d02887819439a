"""The directory settings, read from the environment (`WHARF_LDAP_*`).

Pure of Django setup, so `settings.py` and the tests build the same settings from a
mapping of variables; a bad value is kept in `WHARF_LDAP_PROBLEMS` with the variable's
name, and `manage.py check` reports it (`accounts.checks`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

GROUP_TYPES = ("groupOfNames", "groupOfUniqueNames", "posixGroup")
LOCAL_BACKEND = "accounts.directory.local.LocalBackend"
OIDC_BACKEND = "accounts.directory.local.SingleSignOnBackend"
DIRECTORY_BACKEND = "accounts.directory.backends.DirectoryBackend"


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def ldap_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Django settings for the directory from `env` (the process environment in
    `settings.py`): without `WHARF_LDAP_SERVER_URI`, only the local backend."""
    uri = env.get("WHARF_LDAP_SERVER_URI", "").strip()
    out: dict[str, Any] = {
        "WHARF_LDAP_ENABLED": bool(uri),
        "WHARF_LDAP_PROBLEMS": [],
        "WHARF_LDAP_MIRROR_GROUPS": [],
        "AUTHENTICATION_BACKENDS": [LOCAL_BACKEND],
    }
    if not uri:
        return out
    import ldap  # python-ldap: only needed when a directory is configured
    from django_auth_ldap.config import (
        GroupOfNamesType,
        GroupOfUniqueNamesType,
        LDAPSearch,
        PosixGroupType,
    )

    problems: list[tuple[str, str]] = out["WHARF_LDAP_PROBLEMS"]
    for part in uri.split():
        if not part.startswith(("ldap://", "ldaps://")):
            problems.append(("WHARF_LDAP_SERVER_URI", f"“{part}” is not an ldap:// or ldaps:// URI."))
    user_base = env.get("WHARF_LDAP_USER_SEARCH_BASE", "").strip()
    if not user_base:
        problems.append(("WHARF_LDAP_USER_SEARCH_BASE", "Set the DN under which users are searched."))
    user_filter = env.get("WHARF_LDAP_USER_FILTER", "(uid=%(user)s)").strip()
    if "%(user)s" not in user_filter:
        problems.append(("WHARF_LDAP_USER_FILTER", "The filter must contain %(user)s, e.g. (uid=%(user)s)."))
    group_type_name = env.get("WHARF_LDAP_GROUP_TYPE", "groupOfNames").strip()
    group_types = {
        "groupOfNames": GroupOfNamesType,
        "groupOfUniqueNames": GroupOfUniqueNamesType,
        "posixGroup": PosixGroupType,
    }
    if group_type_name not in group_types:
        problems.append(("WHARF_LDAP_GROUP_TYPE", f"Choose one of: {', '.join(GROUP_TYPES)}."))
        group_type_name = "groupOfNames"
    try:
        timeout = float(env.get("WHARF_LDAP_TIMEOUT", "5"))
    except ValueError:
        problems.append(("WHARF_LDAP_TIMEOUT", "Give the timeout in seconds, e.g. 5."))
        timeout = 5.0
    group_base = env.get("WHARF_LDAP_GROUP_SEARCH_BASE", "").strip()
    mirror = [g.strip() for g in env.get("WHARF_LDAP_MIRROR_GROUPS", "").split(",") if g.strip()]
    if mirror and not group_base:
        problems.append(("WHARF_LDAP_GROUP_SEARCH_BASE", "Mirroring groups needs the base DN of the groups."))
    out.update(
        AUTHENTICATION_BACKENDS=[DIRECTORY_BACKEND, LOCAL_BACKEND],
        WHARF_LDAP_MIRROR_GROUPS=mirror,
        AUTH_LDAP_SERVER_URI=uri,
        AUTH_LDAP_BIND_DN=env.get("WHARF_LDAP_BIND_DN", ""),
        AUTH_LDAP_BIND_PASSWORD=env.get("WHARF_LDAP_BIND_PASSWORD", ""),
        AUTH_LDAP_START_TLS=_flag(env.get("WHARF_LDAP_START_TLS", "")),
        AUTH_LDAP_USER_SEARCH=LDAPSearch(user_base, ldap.SCOPE_SUBTREE, user_filter),
        AUTH_LDAP_USER_ATTR_MAP={
            "first_name": env.get("WHARF_LDAP_ATTR_FIRST_NAME", "givenName"),
            "last_name": env.get("WHARF_LDAP_ATTR_LAST_NAME", "sn"),
            "email": env.get("WHARF_LDAP_ATTR_EMAIL", "mail"),
        },
        AUTH_LDAP_ALWAYS_UPDATE_USER=True,
        AUTH_LDAP_CACHE_TIMEOUT=0,  # group changes count at the next login, not later
        AUTH_LDAP_CONNECTION_OPTIONS={ldap.OPT_NETWORK_TIMEOUT: timeout, ldap.OPT_TIMEOUT: timeout},
        AUTH_LDAP_REQUIRE_GROUP=env.get("WHARF_LDAP_REQUIRE_GROUP", "").strip() or None,
        AUTH_LDAP_DENY_GROUP=env.get("WHARF_LDAP_DENY_GROUP", "").strip() or None,
    )
    if group_base:
        out["AUTH_LDAP_GROUP_SEARCH"] = LDAPSearch(group_base, ldap.SCOPE_SUBTREE, "(objectClass=*)")
        out["AUTH_LDAP_GROUP_TYPE"] = group_types[group_type_name]()
    return out


def oidc_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The `WHARF_OIDC_*` settings from `env`; problems carry the variable's name."""
    discovery = env.get("WHARF_OIDC_DISCOVERY_URL", "").strip()
    problems: list[tuple[str, str]] = []
    if discovery and not discovery.startswith(("https://", "http://")):
        problems.append(("WHARF_OIDC_DISCOVERY_URL", "Give the provider's discovery document URL."))
    if discovery and not env.get("WHARF_OIDC_CLIENT_ID", "").strip():
        problems.append(("WHARF_OIDC_CLIENT_ID", "Set the client id registered at the provider."))
    return {
        "WHARF_OIDC_ENABLED": bool(discovery),
        "WHARF_OIDC_PROBLEMS": problems,
        "WHARF_OIDC_DISCOVERY_URL": discovery,
        "WHARF_OIDC_CLIENT_ID": env.get("WHARF_OIDC_CLIENT_ID", "").strip(),
        "WHARF_OIDC_CLIENT_SECRET": env.get("WHARF_OIDC_CLIENT_SECRET", ""),
        "WHARF_OIDC_SCOPES": env.get("WHARF_OIDC_SCOPES", "openid email profile").strip(),
        "WHARF_OIDC_USERNAME_CLAIM": env.get("WHARF_OIDC_USERNAME_CLAIM", "preferred_username").strip(),
        "WHARF_OIDC_GROUPS_CLAIM": env.get("WHARF_OIDC_GROUPS_CLAIM", "groups").strip(),
        "WHARF_OIDC_MIRROR_GROUPS": [
            g.strip() for g in env.get("WHARF_OIDC_MIRROR_GROUPS", "").split(",") if g.strip()
        ],
        "WHARF_OIDC_ADMIN_GROUP": env.get("WHARF_OIDC_ADMIN_GROUP", "").strip(),
    }
