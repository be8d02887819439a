"""The token service's one-query lookup reads the same roles as `ProjectQuerySet.with_role`,
the queries every page uses: if one changes (say, roles through teams), this fails. Both databases."""

from __future__ import annotations

from accounts.models import User
from accounts.registry_auth import lookup
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
