"""Directory logins are throttled, resist enumeration and are audited exactly as local ones
(issue 11, item 5): each scenario runs once for a local account and once for a directory
account, against a real slapd, and must give the same answers and the same audit rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditAction, AuditEvent
from tests.directory import conftest as directory_conftest
from tests.directory.conftest import PASSWORDS
from tests.factories import PASSWORD, UserFactory
from tests.support.slapd import Slapd
from tests.token_service.conftest import _isolated_throttle, _token_settings, basic, key_files  # noqa: F401
from tests.token_service.test_endpoint import ask

pytestmark = [pytest.mark.slow, pytest.mark.django_db, *directory_conftest.pytestmark]

# (username, right password) of a local account and of a directory account; with the
# directory configured, so both backends are asked in turn as in production.
ACCOUNTS = {"local": ("dave", PASSWORD), "ldap": ("alice", PASSWORDS["alice"])}


@pytest.fixture(params=sorted(ACCOUNTS))
def account(request: pytest.FixtureRequest, ldap_on: Slapd) -> tuple[str, str]:
    if request.param == "local":
        UserFactory(username="dave")
    return ACCOUNTS[request.param]


def errors(username: str, password: str) -> list[str]:
    """The login form's errors, or [] when the login succeeded."""
    response = Client().post("/login/", {"username": username, "password": password})
    if response.status_code == 302:
        return []
    assert response.status_code == 200
    return list(response.context["form"].non_field_errors())


WRONG = (
    "Please enter a correct username and password. Note that both fields may be case-sensitive."
)


def event_shape(event: AuditEvent) -> tuple[Any, ...]:
    return (event.actor_kind, event.actor_name, event.target_type, event.target_name, event.details)


def test_repeated_failed_logins_lock_the_account_on_the_login_page(
    account: tuple[str, str], settings: Any
) -> None:
    username, password = account
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT, settings.WHARF_TOKEN_FAILURE_WINDOW = 3, 900
    assert [errors(username, "wrong") for _ in range(3)] == [[WRONG]] * 3
    assert errors(username, password) == ["Too many failed logins for this account. Try again in 15 minutes."]
    throttled = AuditEvent.objects.get(action=AuditAction.LOGIN_THROTTLED)
    assert (throttled.target_name, throttled.details["locked"]) == (username, "account")


def test_below_the_limit_the_right_password_still_logs_in(account: tuple[str, str], settings: Any) -> None:
    username, password = account
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 3
    for _ in range(2):
        errors(username, "wrong")
    assert errors(username, password) == []


def test_docker_login_failures_are_throttled_and_count_towards_the_same_lock(
    account: tuple[str, str], settings: Any
) -> None:
    username, password = account
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 2
    assert [ask(auth=basic(username, "wrong")).status_code for _ in range(2)] == [401, 401]
    assert ask(auth=basic(username, password)).status_code == 429  # locked even with the right password
    assert errors(username, password)[0].startswith("Too many failed logins for this account")
    assert AuditEvent.objects.filter(action=AuditAction.REGISTRY_TOKEN_THROTTLED, target_name=username).count() == 1


def test_an_unknown_name_and_a_wrong_password_get_the_same_answer(ldap_on: Slapd) -> None:
    assert errors("nobody", "wrong") == errors("alice", "wrong") == [WRONG]
    unknown, wrong = ask(auth=basic("nobody", "wrong")), ask(auth=basic("alice", "wrong"))
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())
    assert wrong.status_code == 401
    failed = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).order_by("pk")
    assert [event_shape(e)[2:] for e in failed] == [("user", "nobody", {}), ("user", "alice", {})]


def test_success_and_failure_write_the_same_audit_events_as_a_local_login(account: tuple[str, str]) -> None:
    username, password = account
    errors(username, "wrong")
    assert errors(username, password) == []
    failed = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert event_shape(failed) == ("anonymous", username, "user", username, {})
    login = AuditEvent.objects.get(action=AuditAction.LOGIN)
    assert event_shape(login) == ("user", username, "user", username, {})
