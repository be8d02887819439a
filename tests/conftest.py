"""Shared fixtures: the personas of the permission matrix and their projects.

Personas (same names everywhere): `sysadmin` (superuser), and for the project
`acme` (private) and `pub` (public): `padmin` (Project Admin), `maintainer`,
`developer`, `guest`, `limited` (Limited Guest); `outsider` has no membership;
`anonymous` is not logged in. All passwords are `factories.PASSWORD`.

Team personas (`TEAM_PERSONAS`) hold no role of their own: their access comes only through
teams that are members of both projects. `team_<persona>` is in the team holding that
persona's role; `two_teams` is in a Guest team and a Maintainer team (so a Maintainer);
`left_team` was in the Project Admin team and was removed from it (so an outsider). Each
must get exactly what the persona it maps to gets, on every page and endpoint: the
matrices run them with `MATRIX_PERSONAS` and read their expected row with `row_of`. They
are made on first use by `World.client`, so tests that do not ask for them pay nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from accounts.permissions import Role
from portal.celery import app as celery_app
from repositories.services.registry import reset_registry_client
from tests.factories import PASSWORD, MembershipFactory, ProjectFactory, UserFactory
from tests.support.portable import portable_queries_only
from tests.support.registry import RegistryServer, registry, registry_factory  # noqa: F401  (shared fixtures)
from tests.support.shared_rows import ModuleRows, fresh, module_rows, shared  # noqa: F401  (module_rows: a fixture)

# Tasks run inline in tests, so a test sees their effects without a worker.
celery_app.conf.task_always_eager = True

PERSONAS = ["sysadmin", "padmin", "maintainer", "developer", "guest", "limited", "outsider", "anonymous"]
ROLE_OF = {
    "padmin": Role.PROJECT_ADMIN,
    "maintainer": Role.MAINTAINER,
    "developer": Role.DEVELOPER,
    "guest": Role.GUEST,
    "limited": Role.LIMITED_GUEST,
}

# team persona: the persona whose row of every matrix it must match
TEAM_PERSONAS = {
    "team_padmin": "padmin",
    "team_maintainer": "maintainer",
    "team_developer": "developer",
    "team_guest": "guest",
    "team_limited": "limited",
    "two_teams": "maintainer",
    "left_team": "outsider",
}
MATRIX_PERSONAS = [*PERSONAS, *TEAM_PERSONAS]
# the teams each team persona is in (by the role the team holds in `acme` and `pub`)
TEAMS_OF: dict[str, list[Role]] = {
    **{persona: [ROLE_OF[row]] for persona, row in TEAM_PERSONAS.items() if persona.startswith("team_")},
    "two_teams": [Role.GUEST, Role.MAINTAINER],
    "left_team": [],
}


def row_of(persona: str) -> str:
    """The persona whose expected statuses a (team) persona must get."""
    return TEAM_PERSONAS.get(persona, persona)


@pytest.fixture(autouse=True, scope="session")
def _portable_queries_only() -> Iterator[None]:
    """PostgreSQL-only ORM features fail on every database, not only on SQLite
    (see tests/support/portable.py), so no page can work on PostgreSQL alone."""
    with portable_queries_only():
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Real hashing costs ~0.3 s per password; tests need correctness, not cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """A page request activates its language in the thread and nothing deactivates it
    after: a test that asked for a Chinese page left the next test's command output in
    Chinese (`test_registry_config_...` when tests/token_service ran alone). Each test
    starts and ends in the default language."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """The suite runs with Redis as the cache: keys (throttles, pull-audit marks,
    tombstone and revert notes) must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_token_service_memory() -> Iterator[None]:
    """The token service keeps per-process memory (aggregated grant counts, verified
    passwords, last-used touches): none of it may carry from one test into the next."""
    from accounts.registry_auth import grant_audit, last_used, password_cache

    for forget in (grant_audit.discard, password_cache.clear, last_used.forget):
        forget()
    yield
    for forget in (grant_audit.discard, password_cache.clear, last_used.forget):
        forget()


@pytest.fixture(autouse=True)
def _plain_static_storage(settings: Any) -> None:
    """Tests run without `collectstatic`, so the manifest storage would find no manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@dataclass
class World:
    users: dict[str, Any]
    private: Any
    public: Any

    def client(self, persona: str) -> Client:
        client = Client()
        if persona != "anonymous":
            client.force_login(self.user(persona))
        return client

    def user(self, persona: str) -> Any:
        """The persona's user; a team persona is made (with its teams) on first use."""
        if persona not in self.users and persona in TEAM_PERSONAS:
            self.users[persona] = self._team_persona(persona)
        return self.users[persona]

    def _team_persona(self, persona: str) -> Any:
        from accounts.models import Team
        from accounts.services import teams as team_services
        from audit.context import Actor
        from repositories.services.project_teams import add_project_team

        actor = Actor.system("tests")

        def team(role: Role) -> Any:
            name = f"matrix-{role.value}".replace("_", "-")
            found = Team.objects.filter(name=name).first()
            if found is None:
                found = team_services.create_team(actor=actor, name=name)
                for project in (self.private, self.public):
                    add_project_team(project, actor=actor, team=name, role=role)
            return found

        user = UserFactory(username=persona)
        for role in TEAMS_OF[persona]:
            team_services.add_team_member(team(role), actor=actor, username=user.username)
        if persona == "left_team":
            joined = team_services.add_team_member(team(Role.PROJECT_ADMIN), actor=actor, username=user.username)
            team_services.remove_team_member(joined, actor=actor)
        return user


def _make_world() -> World:
    users = {"sysadmin": UserFactory(username="sysadmin", is_superuser=True, is_staff=True)}
    for persona in [*ROLE_OF, "outsider"]:
        users[persona] = UserFactory(username=persona)
    private = ProjectFactory(name="acme", is_public=False)
    public = ProjectFactory(name="pub", is_public=True)
    for project in (private, public):
        for persona, role in ROLE_OF.items():
            MembershipFactory(project=project, user=users[persona], role=role)
    return World(users=users, private=private, public=public)


@pytest.fixture(scope="module")
def _module_world(module_rows: ModuleRows | None) -> World | None:  # noqa: F811  (the fixture imported above)
    return shared(module_rows, "world", _make_world)


@pytest.fixture
def world(db: Any, _module_world: World | None) -> World:
    """A private project `acme` and a public project `pub`, each with one member per role.

    Made once per module (tests/support/shared_rows.py), each test getting its own copy."""
    return fresh(_module_world, _make_world)


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def wharf_registry(
    registry_factory: Callable[..., RegistryServer],  # noqa: F811  (the fixture imported above)
    settings: Any,
) -> Iterator[RegistryServer]:
    """An empty registry that Wharf's own client (`registry_client()`) talks to."""
    server = registry_factory()
    settings.REGISTRY_URL = server.url
    settings.REGISTRY_TIMEOUT = 3.0
    reset_registry_client()
    yield server
    reset_registry_client()
