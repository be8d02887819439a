"""The login form refuses an account after repeated failures, even with the right password."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditAction, AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def attempt(client: Client, password: str) -> str:
    response = client.post("/login/", {"username": "bob", "password": password})
    return "ok" if response.status_code == 302 else response.content.decode()


def test_repeated_failed_logins_lock_the_account_and_are_audited_once(settings) -> None:
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 3
    UserFactory(username="bob")
    client = Client()
    for _ in range(3):
        assert "correct username and password" in attempt(client, "wrong")
    page = attempt(client, PASSWORD)
    assert "Too many failed logins for this account" in page
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_THROTTLED, target_name="bob").count() == 1


def test_failures_below_the_limit_do_not_lock(settings) -> None:
    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 3
    UserFactory(username="bob")
    client = Client()
    for _ in range(2):
        attempt(client, "wrong")
    assert attempt(client, PASSWORD) == "ok"
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN_THROTTLED).exists()


def test_token_service_failures_count_towards_the_same_lock(settings) -> None:
    import base64

    settings.WHARF_TOKEN_FAILURES_PER_ACCOUNT = 2
    UserFactory(username="bob")
    creds = base64.b64encode(b"bob:wrong").decode()
    for _ in range(2):
        Client().get("/service/token", {"service": settings.WHARF_TOKEN_SERVICE},
                     HTTP_AUTHORIZATION=f"Basic {creds}")
    assert "Too many failed logins" in attempt(Client(), PASSWORD)
