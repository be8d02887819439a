"""User administration, API tokens, login auditing and the first-admin command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.services import tokens, users
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def last_action() -> str:
    return AuditEvent.objects.order_by("-id").values_list("action", flat=True).first() or ""


def test_login_logout_and_failed_login_are_audited() -> None:
    UserFactory(username="bob")
    client = Client()
    assert not client.login(username="bob", password="wrong")
    failed = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert failed.target_name == "bob" and failed.actor_kind == "anonymous"
    assert client.login(username="bob", password=PASSWORD)
    assert last_action() == AuditAction.LOGIN
    client.logout()
    assert last_action() == AuditAction.LOGOUT


def test_admin_actions_on_users_are_audited() -> None:
    admin = UserFactory(username="root", is_superuser=True)
    actor = Actor.for_user(admin)
    carol = users.create_user(actor=actor, username="carol", password="a-long-enough-passphrase")
    assert last_action() == AuditAction.USER_CREATE
    users.set_active(carol, actor=actor, active=False)
    assert last_action() == AuditAction.USER_DEACTIVATE
    users.set_password(carol, actor=actor, password="another-long-passphrase")
    assert last_action() == AuditAction.USER_PASSWORD_RESET
    users.set_system_admin(carol, actor=actor, admin=True)
    assert last_action() == AuditAction.USER_GRANT_ADMIN
    carol.refresh_from_db()
    assert carol.is_superuser and not carol.is_active


def test_user_admin_refuses_weak_passwords_duplicates_and_self_lockout() -> None:
    admin = UserFactory(username="root", is_superuser=True)
    actor = Actor.for_user(admin)
    with pytest.raises(ValidationError) as weak:
        users.create_user(actor=actor, username="dave", password="123")
    assert "password" in weak.value.message_dict
    with pytest.raises(ValidationError, match="taken"):
        users.create_user(actor=actor, username="ROOT", password="a-long-enough-passphrase")
    with pytest.raises(ValidationError, match="your own"):
        users.set_active(admin, actor=actor, active=False)
    with pytest.raises(ValidationError, match="your own"):
        users.set_system_admin(admin, actor=actor, admin=False)
    assert not AuditEvent.objects.exists()


def test_api_token_secret_is_stored_hashed_and_stops_working_when_revoked() -> None:
    bob = UserFactory(username="bob")
    token, secret = tokens.create_token(bob, actor=Actor.for_user(bob), name="ci")
    assert secret.startswith("wharf_") and secret not in token.key_hash
    assert tokens.authenticate_token(secret) == token
    tokens.revoke_token(token, actor=Actor.for_user(bob))
    assert tokens.authenticate_token(secret) is None
    assert [e.action for e in AuditEvent.objects.order_by("id")] == [
        AuditAction.API_TOKEN_CREATE,
        AuditAction.API_TOKEN_REVOKE,
    ]


def test_expired_token_and_deactivated_owner_are_refused() -> None:
    bob = UserFactory(username="bob")
    _, secret = tokens.create_token(bob, actor=Actor.for_user(bob), name="ci")
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert tokens.authenticate_token(secret) is None
    ApiToken.objects.update(expires_at=None)
    bob.is_active = False
    bob.save()
    assert tokens.authenticate_token(secret) is None


def test_ensure_admin_creates_one_admin_once(monkeypatch, capsys) -> None:
    monkeypatch.setenv("WHARF_ADMIN_PASSWORD", "a-long-enough-passphrase")
    call_command("ensure_admin")
    call_command("ensure_admin")
    assert User.objects.filter(is_superuser=True).count() == 1
    assert Client().login(username="admin", password="a-long-enough-passphrase")
    assert "exists already" in capsys.readouterr().out


def test_ensure_admin_prints_a_generated_password_once(monkeypatch, capsys) -> None:
    monkeypatch.delenv("WHARF_ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    out = capsys.readouterr().out
    password = out.split("password: ")[1].split()[0]
    assert Client().login(username="admin", password=password)
