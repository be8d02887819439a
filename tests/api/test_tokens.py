"""`/api/v1/tokens/`: your own API tokens."""

from __future__ import annotations

from typing import Any

from accounts.models import ApiToken, hash_token_secret
from accounts.services.tokens import create_token
from audit.context import Actor
from tests.api.conftest import JsonClient
from tests.conftest import World


def test_created_token_secret_is_returned_once_and_works(world: World, api: Any) -> None:
    response = api("developer").post("/api/v1/tokens/", {"name": "ci"})

    assert response.status_code == 201
    secret = response.json()["secret"]
    assert secret.startswith("wharf_")
    assert ApiToken.objects.get(name="ci").key_hash == hash_token_secret(secret)
    listed = api("developer").get("/api/v1/tokens/").json()["results"]
    assert [t["name"] for t in listed] == ["ci"]
    assert "secret" not in listed[0]
    assert listed[0]["hint"] == secret[-4:]


def test_token_list_shows_only_your_own_tokens(world: World, api: Any) -> None:
    create_token(world.users["guest"], actor=Actor.for_user(world.users["guest"]), name="theirs")
    create_token(world.users["developer"], actor=Actor.for_user(world.users["developer"]), name="mine")

    listed = api("developer").get("/api/v1/tokens/").json()["results"]

    assert [t["name"] for t in listed] == ["mine"]


def test_delete_revokes_the_token(world: World, api: Any) -> None:
    created = api("developer").post("/api/v1/tokens/", {"name": "ci"}).json()

    response = api("developer").delete(f"/api/v1/tokens/{created['id']}/")

    assert response.status_code == 204
    assert ApiToken.objects.get(pk=created["id"]).revoked_at is not None
    bearer = JsonClient(world.client("anonymous"), Authorization=f"Bearer {created['secret']}")
    assert bearer.get("/api/v1/me/").status_code == 401


def test_someone_elses_token_cannot_be_revoked(world: World, api: Any) -> None:
    token, _ = create_token(world.users["guest"], actor=Actor.for_user(world.users["guest"]), name="theirs")

    response = api("sysadmin").delete(f"/api/v1/tokens/{token.pk}/")

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_with_expiry_reports_it(world: World, api: Any) -> None:
    response = api("developer").post("/api/v1/tokens/", {"name": "ci", "expires_at": "2999-01-01T00:00:00Z"})

    assert response.status_code == 201
    assert response.json()["expires_at"] == "2999-01-01T00:00:00Z"
