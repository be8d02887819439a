"""Single sign-on against a real OpenID Provider process (django-oauth-toolkit): the
authorization code flow with PKCE, driven through the real redirects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from accounts.directory.config import OIDC_BACKEND, oidc_settings
from accounts.models import Team, User, UserSource
from audit.models import AuditAction, AuditEvent
from tests.factories import PASSWORD, UserFactory
from tests.support.oidc import CLIENT_ID, CLIENT_SECRET, OidcProvider
from tests.support.registry import free_port
from tests.token_service.conftest import _isolated_throttle, _token_settings, key_files  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

CALLBACK = "http://testserver/login/sso/callback/"
USERS = {
    "olga": {
        "email": "olga@wharf.test",
        "password": "olga-pw-1234",
        "given": "Olga",
        "family": "Orlova",
        "groups": ["developers", "wharf-admins"],
    },
    "pete": {
        "email": "pete@wharf.test",
        "password": "pete-pw-1234",
        "given": "Pete",
        "family": "Perez",
        "groups": ["developers"],
    },
    "admin": {"email": "x@wharf.test", "password": "admin-pw-1234", "given": "", "family": "", "groups": []},
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    server = OidcProvider(Path(tmp_path_factory.mktemp("oidc")), USERS, CALLBACK).start()
    yield server
    server.stop()


@pytest.fixture
def oidc_on(settings: Any, provider: OidcProvider) -> OidcProvider:
    configured = oidc_settings(
        {
            "WHARF_OIDC_DISCOVERY_URL": provider.discovery,
            "WHARF_OIDC_CLIENT_ID": CLIENT_ID,
            "WHARF_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "WHARF_OIDC_MIRROR_GROUPS": "developers",
            "WHARF_OIDC_ADMIN_GROUP": "wharf-admins",
        }
    )
    assert configured["WHARF_OIDC_PROBLEMS"] == []
    for key, value in configured.items():
        setattr(settings, key, value)
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, OIDC_BACKEND]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return provider


def sign_in(provider: OidcProvider, username: str) -> tuple[Client, Any]:
    client = Client()
    start = client.get("/login/sso/")
    assert start.status_code == 302, start.content
    authorize = start.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]  # PKCE
    back = provider.sign_in(authorize, username, str(USERS[username]["password"]))
    assert back.startswith(CALLBACK), back
    return client, client.get(back.removeprefix("http://testserver"))


def test_the_login_page_offers_single_sign_on(oidc_on: OidcProvider) -> None:
    assert 'id="login-sso"' in Client().get("/login/").content.decode()


def test_first_sign_in_creates_the_account_with_its_teams_and_admin_rights(oidc_on: OidcProvider) -> None:
    client, response = sign_in(oidc_on, "olga")
    assert response.status_code == 302 and response.headers["Location"] == "/projects/"
    assert client.get("/projects/").status_code == 200
    assert client.get("/users/").status_code == 200  # in the admin group: a system admin
    olga = User.objects.get(username="olga")
    assert (olga.source, olga.email, olga.first_name, olga.is_superuser) == (
        UserSource.OIDC,
        "olga@wharf.test",
        "Olga",
        True,
    )
    assert not olga.has_usable_password()
    assert list(Team.objects.filter(memberships__user=olga).values_list("name", flat=True)) == ["developers"]
    assert (
        AuditEvent.objects.get(action=AuditAction.USER_CREATE, target_name="olga").details["source"] == "oidc"
    )
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, actor_name="olga").exists()


def test_a_user_outside_the_admin_group_is_no_system_admin(oidc_on: OidcProvider) -> None:
    client, _ = sign_in(oidc_on, "pete")
    assert client.get("/users/").status_code == 403
    assert User.objects.get(username="pete").is_superuser is False


def test_a_local_account_is_not_taken_over_and_still_logs_in(oidc_on: OidcProvider) -> None:
    UserFactory(username="admin", is_superuser=True)
    client, response = sign_in(oidc_on, "admin")
    assert response.headers["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert User.objects.get(username="admin").source == UserSource.LOCAL
    assert Client().post("/login/", {"username": "admin", "password": PASSWORD}).status_code == 302


def test_a_provider_that_does_not_answer_is_a_clear_error_not_a_500(
    oidc_on: OidcProvider, settings: Any
) -> None:
    settings.WHARF_OIDC_DISCOVERY_URL = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    response = Client().get("/login/sso/", follow=True)
    assert response.status_code == 200
    assert "did not answer" in response.content.decode()


def test_a_forged_callback_is_refused(oidc_on: OidcProvider) -> None:
    client = Client()
    client.get("/login/sso/")
    response = client.get("/login/sso/callback/", {"code": "forged", "state": "forged"}, follow=True)
    assert "Single sign-on failed" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_single_sign_on_is_404_when_not_configured() -> None:
    assert Client().get("/login/sso/").status_code == 404


def test_the_token_page_tells_an_oidc_user_to_docker_login_with_a_token(oidc_on: OidcProvider) -> None:
    client, _ = sign_in(oidc_on, "pete")
    body = client.get("/account/tokens/").content.decode()
    assert 'id="sso-token-note"' in body and "docker login" in body and "-u pete" in body


def test_an_oidc_user_docker_logins_with_a_token_where_their_team_may_push(
    oidc_on: OidcProvider,
    key_files: tuple[Path, Path],  # noqa: F811
) -> None:
    from accounts.permissions import Role
    from accounts.services.tokens import create_token
    from audit.context import Actor
    from repositories.services.project_teams import add_project_team
    from repositories.services.projects import create_project
    from tests.token_service.conftest import basic
    from tests.token_service.test_endpoint import access_of, ask

    sign_in(oidc_on, "pete")
    actor = Actor.system("tests")
    project = create_project(actor=actor, name="acme")
    add_project_team(project, actor=actor, team="developers", role=Role.DEVELOPER)
    pete = User.objects.get(username="pete")
    _, secret = create_token(pete, actor=actor, name="ci")
    assert access_of(ask("repository:acme/app:pull,push", auth=basic("pete", secret)), key_files[1]) == [
        {"type": "repository", "name": "acme/app", "actions": ["pull", "push"]}
    ]
    assert (
        ask("repository:acme/app:pull", auth=basic("pete", "pete-pw-1234")).status_code == 401
    )  # no password


def test_a_sign_in_writes_the_same_login_event_as_a_local_login(oidc_on: OidcProvider) -> None:
    UserFactory(username="dave")
    assert Client().post("/login/", {"username": "dave", "password": PASSWORD}).status_code == 302
    sign_in(oidc_on, "pete")
    shapes = {
        (e.actor_kind, e.actor_name, e.target_type, e.target_name, tuple(e.details))
        for e in AuditEvent.objects.filter(action=AuditAction.LOGIN)
    }
    assert shapes == {("user", "dave", "user", "dave", ()), ("user", "pete", "user", "pete", ())}
