"""The token service's one-query lookup reads the same roles as `ProjectQuerySet.with_role`,
the queries every page uses: if one changes (say, roles through teams), this fails. Both databases."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User, hash_token_secret
from accounts.registry_auth import lookup
from accounts.services.tokens import create_token
from audit.context import Actor
from repositories.models import Project
from tests.conftest import World

NAMES = ["acme", "pub", "nosuch"]


def test_the_lookup_reads_the_roles_with_role_reads(world: World) -> None:
    for user in User.objects.all():
        found, projects = lookup.user_by_username(user.username, NAMES)
        assert found is not None and found.pk == user.pk
        expected = {
            name: (pk, is_public, role)
            for name, pk, is_public, role in Project.objects.filter(name__in=NAMES)
            .with_role(user)
            .values_list("name", "pk", "is_public", "my_role")
        }
        assert {name: (p.pk, p.is_public, p.role) for name, p in projects.items()} == expected, user.username


def test_the_lookup_reads_the_users_flags_and_hash(world: World) -> None:
    world.users["guest"].is_active = False
    world.users["guest"].save()
    for user in User.objects.all():
        found, _ = lookup.user_by_username(user.username, [])
        assert found is not None
        assert (found.is_active, found.is_superuser, found.password) == (user.is_active, user.is_superuser, user.password)


def test_an_unknown_user_or_project_is_absent(world: World) -> None:
    assert lookup.user_by_username("nobody", NAMES) == (None, {})
    assert set(lookup.anonymous_projects(NAMES)) == {"acme", "pub"}
    assert lookup.anonymous_projects([]) == {}


def _prepared() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def test_on_postgresql_the_lookups_are_prepared_once_per_connection(world: World, settings: Any) -> None:
    """Planning the token query cost more than running it; SQLite has no PREPARE (the same
    lookups, run plainly, are what every other test here checks on it)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's; on SQLite the lookups run plainly")
    with connection.cursor() as cursor:  # start from none (earlier tests share the connection)
        cursor.execute("DEALLOCATE ALL")
    connection._wharf_prepared = None  # type: ignore[attr-defined]
    user = world.users["developer"]
    _, secret = create_token(user, actor=Actor.for_user(user), name="ci")
    for _ in range(2):
        token, projects = lookup.token_by_hash(hash_token_secret(secret), ["acme", "pub"])
        assert token is not None and token.user.username == "developer"
        assert projects["acme"].role == "developer"
        assert lookup.user_by_username("developer", ["acme"])[0] is not None
    assert {"wharf_token_2", "wharf_user_1"} <= _prepared()

    settings.WHARF_DB_PREPARED_STATEMENTS = False  # behind a transaction-pooling proxy
    assert lookup.anonymous_projects(["acme", "pub", "nosuch"]).keys() == {"acme", "pub"}
    assert "wharf_anonymous_3" not in _prepared()


@pytest.mark.django_db(transaction=True)
def test_a_statement_the_server_forgot_is_prepared_again(settings: Any) -> None:
    """A proxy's DISCARD ALL drops prepared statements behind Django's back: outside a
    transaction the lookup prepares again instead of failing the token request."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    settings.WHARF_DB_PREPARED_STATEMENTS = True
    Project.objects.create(name="forgot", is_public=True)
    assert lookup.anonymous_projects(["forgot"]).keys() == {"forgot"}
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert lookup.anonymous_projects(["forgot"]).keys() == {"forgot"}
    assert "wharf_anonymous_1" in _prepared()
