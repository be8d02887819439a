"""A real slapd per test module, and Wharf's settings pointed at it (`ldap_settings`,
the same function `settings.py` calls with the process environment)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accounts.directory.config import ldap_settings
from tests.support import slapd
from tests.support.slapd import BASE, GROUPS, PEOPLE, Slapd, group, person

pytestmark = [
    pytest.mark.skipif(
        not slapd.available(), reason="needs Debian's slapd and ldap-utils (make system-test-deps)"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("ldap") is None,
        reason="needs python-ldap (requirements-ldap.txt, make dev-deps)",
    ),
]

PASSWORDS = {"alice": "alice-secret-1", "bob": "bob-secret-22", "carol": "carol-secret-3"}


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    server = Slapd(Path(tmp_path_factory.mktemp("slapd"))).start()
    entries = [
        person("alice", PASSWORDS["alice"], given="Alice", surname="Liddell", mail="alice@wharf.test"),
        person("bob", PASSWORDS["bob"], given="Bob", surname="Builder", mail="bob@wharf.test"),
        person("carol", PASSWORDS["carol"], given="Carol", surname="Danvers", mail="carol@wharf.test"),
        group("developers", "alice", "bob"),
        group("operators", "bob"),
        group("unmirrored", "alice"),
        group("disabled"),
    ]
    server.add("\n".join(entries))
    yield server
    server.stop()


def env_for(server: Slapd, **extra: str) -> dict[str, str]:
    return {
        "WHARF_LDAP_SERVER_URI": server.uri,
        "WHARF_LDAP_BIND_DN": slapd.ADMIN_DN,
        "WHARF_LDAP_BIND_PASSWORD": slapd.ADMIN_PASSWORD,
        "WHARF_LDAP_USER_SEARCH_BASE": PEOPLE,
        "WHARF_LDAP_USER_FILTER": "(uid=%(user)s)",
        "WHARF_LDAP_GROUP_SEARCH_BASE": GROUPS,
        "WHARF_LDAP_GROUP_TYPE": "groupOfNames",
        "WHARF_LDAP_MIRROR_GROUPS": "developers,operators",
        "WHARF_LDAP_DENY_GROUP": f"cn=disabled,{GROUPS}",
        "WHARF_LDAP_TIMEOUT": "3",
        **extra,
    }


@pytest.fixture
def ldap_on(settings: Any, directory: Slapd) -> Slapd:
    """Wharf's settings as `WHARF_LDAP_*` pointing at the test directory would make them."""
    configured = ldap_settings(env_for(directory))
    assert configured["WHARF_LDAP_PROBLEMS"] == []
    for key, value in configured.items():
        setattr(settings, key, value)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return directory


__all__ = ["BASE", "PASSWORDS", "env_for"]
