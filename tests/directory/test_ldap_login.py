"""Logging in through a real OpenLDAP slapd: on the web and at the registry token service.

The directory is changed between logins with ldapmodify, as its operator would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from accounts.directory.config import ldap_settings
from accounts.models import Team, User, UserSource
from accounts.permissions import Role
from audit.models import AuditAction, AuditEvent
from repositories.services.project_teams import add_project_team
from tests.conftest import World
from tests.directory import conftest as directory_conftest
from tests.directory.conftest import PASSWORDS, env_for
from tests.factories import PASSWORD, UserFactory
from tests.support.slapd import GROUPS, PEOPLE, Slapd
from tests.token_service.conftest import _isolated_throttle, _token_settings, basic, key_files  # noqa: F401
from tests.token_service.test_endpoint import access_of, ask

pytestmark = [pytest.mark.slow, pytest.mark.django_db, *directory_conftest.pytestmark]


def login(username: str, password: str) -> Any:
    return Client().post("/login/", {"username": username, "password": password})


def logged_in(response: Any) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def _member_of(group: str, uid: str, *, add: bool) -> str:
    op = "add" if add else "delete"
    return f"dn: cn={group},{GROUPS}\nchangetype: modify\n{op}: member\nmember: uid={uid},{PEOPLE}\n"


def test_first_login_creates_the_account_from_the_directory_with_its_teams(ldap_on: Slapd) -> None:
    assert logged_in(login("alice", PASSWORDS["alice"]))
    alice = User.objects.get(username="alice")
    assert (alice.source, alice.first_name, alice.last_name, alice.email) == (
        UserSource.LDAP,
        "Alice",
        "Liddell",
        "alice@wharf.test",
    )
    assert not alice.has_usable_password()
    assert list(Team.objects.filter(memberships__user=alice).values_list("name", "directory_group")) == [
        ("developers", "developers")
    ]  # "unmirrored" is not in WHARF_LDAP_MIRROR_GROUPS
    created = AuditEvent.objects.get(action=AuditAction.USER_CREATE, target_name="alice")
    assert created.details["source"] == "ldap"
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, actor_name="alice").exists()


def test_a_wrong_password_is_refused_and_audited(ldap_on: Slapd) -> None:
    response = login("alice", "not-her-password")
    assert response.status_code == 200 and not logged_in(response)
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).exists()
    assert not User.objects.filter(username="alice").exists()


def test_name_email_and_teams_follow_the_directory_at_the_next_login(ldap_on: Slapd) -> None:
    assert logged_in(login("bob", PASSWORDS["bob"]))
    bob = User.objects.get(username="bob")
    assert set(Team.objects.filter(memberships__user=bob).values_list("name", flat=True)) == {
        "developers",
        "operators",
    }
    ldap_on.modify(
        f"dn: uid=bob,{PEOPLE}\nchangetype: modify\nreplace: mail\nmail: robert@wharf.test\n"
        "-\nreplace: givenName\ngivenName: Robert\n"
    )
    ldap_on.modify(_member_of("operators", "bob", add=False))
    try:
        assert logged_in(login("bob", PASSWORDS["bob"]))
        bob.refresh_from_db()
        assert (bob.first_name, bob.email) == ("Robert", "robert@wharf.test")
        assert list(Team.objects.filter(memberships__user=bob).values_list("name", flat=True)) == [
            "developers"
        ]
        assert AuditEvent.objects.filter(
            action=AuditAction.TEAM_MEMBER_REMOVE, target_name="operators"
        ).exists()
    finally:
        ldap_on.modify(_member_of("operators", "bob", add=True))


def test_a_disabled_or_removed_directory_user_is_refused_on_the_web_and_at_docker_login(
    ldap_on: Slapd,
    world: World,
    key_files: tuple[Path, Path],  # noqa: F811
) -> None:
    assert logged_in(login("carol", PASSWORDS["carol"]))
    scope = "repository:acme/app:pull"
    assert access_of(ask(scope, auth=basic("carol", PASSWORDS["carol"])), key_files[1]) == []  # no role yet

    ldap_on.modify(_member_of("disabled", "carol", add=True))  # the deny group
    try:
        assert not logged_in(login("carol", PASSWORDS["carol"]))
        assert ask(scope, auth=basic("carol", PASSWORDS["carol"])).status_code == 401
    finally:
        ldap_on.modify(_member_of("disabled", "carol", add=False))
    assert logged_in(login("carol", PASSWORDS["carol"]))


def test_a_user_removed_from_the_directory_is_refused(ldap_on: Slapd, key_files: tuple[Path, Path]) -> None:  # noqa: F811
    ldap_on.add(
        f"dn: uid=dave,{PEOPLE}\nobjectClass: inetOrgPerson\nuid: dave\ncn: Dave\nsn: D\nuserPassword: dave-pw-123\n"
    )
    assert logged_in(login("dave", "dave-pw-123"))
    ldap_on.delete(f"uid=dave,{PEOPLE}")
    assert not logged_in(login("dave", "dave-pw-123"))
    assert ask("repository:x/app:pull", auth=basic("dave", "dave-pw-123")).status_code == 401
    assert User.objects.filter(username="dave", source=UserSource.LDAP).exists()  # the account stays, refused


def test_docker_login_with_the_directory_password_pushes_where_the_team_role_allows(
    ldap_on: Slapd,
    world: World,
    key_files: tuple[Path, Path],  # noqa: F811
) -> None:
    auth = basic("alice", PASSWORDS["alice"])
    assert access_of(ask("repository:acme/app:pull,push", auth=auth), key_files[1]) == []  # creates alice
    add_project_team(world.private, actor=_actor(), team="developers", role=Role.DEVELOPER)
    assert access_of(ask("repository:acme/app:pull,push", auth=auth), key_files[1]) == [
        {"type": "repository", "name": "acme/app", "actions": ["pull", "push"]}
    ]
    # Leaving the group in the directory takes the role away at the next token request.
    ldap_on.modify(_member_of("developers", "alice", add=False))
    try:
        assert access_of(ask("repository:acme/app:pull,push", auth=auth), key_files[1]) == []
    finally:
        ldap_on.modify(_member_of("developers", "alice", add=True))


def _actor() -> Any:
    from audit.context import Actor

    return Actor.system("tests")


def test_local_accounts_keep_working_and_are_never_taken_over_by_the_directory(
    ldap_on: Slapd,
    key_files: tuple[Path, Path],  # noqa: F811
) -> None:
    UserFactory(username="admin", is_superuser=True)
    assert logged_in(login("admin", PASSWORD))
    # A local account named like a directory entry logs in with its local password only.
    UserFactory(username="carol")
    assert not logged_in(login("carol", PASSWORDS["carol"]))
    assert logged_in(login("carol", PASSWORD))
    assert ask("repository:x/app:pull", auth=basic("carol", PASSWORDS["carol"])).status_code == 401
    assert ask("repository:x/app:pull", auth=basic("carol", PASSWORD)).status_code == 200
    assert User.objects.get(username="carol").source == UserSource.LOCAL


def test_a_directory_that_does_not_answer_is_a_clear_login_error_and_local_accounts_still_log_in(
    ldap_on: Slapd, settings: Any
) -> None:
    from tests.support.registry import free_port

    settings.AUTH_LDAP_SERVER_URI = f"ldap://127.0.0.1:{free_port()}"
    response = login("alice", PASSWORDS["alice"])
    assert response.status_code == 200
    assert "The directory did not answer" in response.content.decode()
    UserFactory(username="admin", is_superuser=True)
    assert logged_in(login("admin", PASSWORD))


def test_all_groups_under_the_base_are_mirrored_with_a_star(ldap_on: Slapd, settings: Any) -> None:
    settings.WHARF_LDAP_MIRROR_GROUPS = ["*"]
    assert logged_in(login("alice", PASSWORDS["alice"]))
    names = set(Team.objects.filter(memberships__user__username="alice").values_list("name", flat=True))
    assert names == {"developers", "unmirrored"}


def test_a_bad_configuration_is_reported_by_check_with_the_variable_name(
    directory: Slapd, settings: Any
) -> None:
    configured = ldap_settings(
        env_for(
            directory,
            WHARF_LDAP_SERVER_URI="http://example",
            WHARF_LDAP_GROUP_TYPE="nested",
            WHARF_LDAP_USER_FILTER="(uid=x)",
        )
    )
    names = [name for name, _ in configured["WHARF_LDAP_PROBLEMS"]]
    assert names == ["WHARF_LDAP_SERVER_URI", "WHARF_LDAP_USER_FILTER", "WHARF_LDAP_GROUP_TYPE"]
    settings.WHARF_LDAP_PROBLEMS = configured["WHARF_LDAP_PROBLEMS"]
    with pytest.raises(SystemCheckError, match="WHARF_LDAP_GROUP_TYPE"):
        call_command("check")
