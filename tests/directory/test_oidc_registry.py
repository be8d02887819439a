"""`docker login` for a single sign-on user, through real skopeo, the real registry and a real
OpenID Provider: an OIDC account has no password, so it logs in with a personal access token
and pushes where its mirrored team's role allows, and is refused elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts.models import User, UserSource
from accounts.permissions import Role
from audit.context import Actor
from repositories.models import Project
from repositories.services.project_teams import add_project_team
from tests.directory.test_oidc_login import USERS, oidc_on, provider, sign_in  # noqa: F401  (fixtures)
from tests.factories import ProjectFactory
from tests.support.oidc import OidcProvider
from tests.support.registry import RegistryServer
from tests.token_service.conftest import (  # noqa: F401  (fixtures)
    _isolated_throttle,
    _token_settings,
    key_files,
    token_registry,
)
from tests.token_service.test_real_registry import layout, skopeo  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.slow]


def _login(skopeo: Any, server: RegistryServer, username: str, secret: str) -> Any:  # noqa: F811
    return skopeo("login", "--tls-verify=false", "-u", username, "-p", secret, server.host)


def _push(skopeo: Any, layout: Path, server: RegistryServer, reference: str) -> Any:  # noqa: F811
    """A push with the stored login (skopeo reads it from its auth file, as docker would)."""
    return skopeo(
        "copy", "--dest-tls-verify=false", f"oci:{layout}:v1", f"docker://{server.host}/{reference}"
    )


def test_an_oidc_user_logs_in_with_a_token_and_pushes_where_their_team_may(
    oidc_on: OidcProvider,  # noqa: F811
    token_registry: RegistryServer,  # noqa: F811
    skopeo: Any,  # noqa: F811
    layout: Path,  # noqa: F811
) -> None:
    private = ProjectFactory(name="acme", is_public=False)
    ProjectFactory(name="pub", is_public=True)
    client, response = sign_in(oidc_on, "pete")  # first sign-in: the account and its team `developers`
    assert response.status_code == 302, response.content
    pete = User.objects.get(username="pete")
    assert pete.source == UserSource.OIDC and not pete.has_usable_password()
    add_project_team(private, actor=Actor.system("tests"), team="developers", role=Role.DEVELOPER)

    # The provider's password is no registry password: there is none in Wharf to check.
    refused = _login(skopeo, token_registry, "pete", str(USERS["pete"]["password"]))
    assert refused.returncode != 0

    created = client.post(
        "/api/v1/tokens/", {"name": "laptop", "scopes": ["write_registry"]}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    logged_in = _login(skopeo, token_registry, "pete", secret)
    assert logged_in.returncode == 0, logged_in.stderr

    pushed = _push(skopeo, layout, token_registry, "acme/app:v1")  # Developer through the team
    assert pushed.returncode == 0, pushed.stderr
    elsewhere = _push(skopeo, layout, token_registry, "pub/app:v1")  # public, but no role there
    assert elsewhere.returncode != 0
    assert "denied" in elsewhere.stderr.lower() or "unauthorized" in elsewhere.stderr.lower(), (
        elsewhere.stderr
    )

    # Taking the team's role away takes the push away at the next token request.
    private.team_memberships.all().delete()
    again = _push(skopeo, layout, token_registry, "acme/app:v2")
    assert again.returncode != 0
    assert Project.objects.get(name="acme").team_memberships.count() == 0
