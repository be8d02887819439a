"""`docker login` with a directory password, through real skopeo, the real registry and slapd:
an LDAP user pushes where their mirrored team's role allows and is refused elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts.permissions import Role
from accounts.services import teams as team_services
from audit.context import Actor
from repositories.services.project_teams import add_project_team
from tests.conftest import World
from tests.directory import conftest as directory_conftest
from tests.directory.conftest import PASSWORDS
from tests.support.registry import RegistryServer
from tests.support.slapd import Slapd
from tests.token_service.conftest import (  # noqa: F401  (fixtures)
    _isolated_throttle,
    _token_settings,
    key_files,
    token_registry,
)
from tests.token_service.test_real_registry import _push, layout, skopeo  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.slow, *directory_conftest.pytestmark]


def test_an_ldap_user_pushes_where_their_team_may_and_not_elsewhere(
    ldap_on: Slapd,
    world: World,
    token_registry: RegistryServer,  # noqa: F811
    skopeo: Any,  # noqa: F811
    layout: Path,  # noqa: F811
) -> None:
    # The mirrored team exists once someone of the group logged in; make it now, as that would.
    team = team_services.create_team(
        actor=Actor.system("ldap"), name="developers", directory_group="developers"
    )
    add_project_team(world.private, actor=Actor.system("tests"), team=team.name, role=Role.DEVELOPER)

    alice = f"alice:{PASSWORDS['alice']}"
    pushed = _push(skopeo, layout, token_registry, "acme/app:v1", alice)
    assert pushed.returncode == 0, pushed.stderr
    refused = _push(skopeo, layout, token_registry, "pub/app:v1", alice)  # public, but no role there
    assert refused.returncode != 0
    carol = _push(
        skopeo, layout, token_registry, "acme/app:v2", f"carol:{PASSWORDS['carol']}"
    )  # not in the group
    assert carol.returncode != 0
