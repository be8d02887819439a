"""The API tokens page: every user manages their own tokens."""

from __future__ import annotations

from accounts.models import ApiToken
from accounts.services.tokens import authenticate_token, create_token
from audit.context import Actor
from audit.models import AuditAction, AuditEvent


def test_creating_a_token_shows_the_secret_once(world):
    client = world.client("developer")

    response = client.post("/account/tokens/", {"name": "ci", "expires_in_days": "30", "scopes": ["api"]})

    secret = response.context["new_secret"]
    assert secret.startswith("wharf_")
    assert secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    token = authenticate_token(secret)
    assert token is not None and token.user == world.users["developer"] and token.expires_at is not None
    assert secret not in client.get("/account/tokens/").content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.API_TOKEN_CREATE, target_name="developer/ci").exists()


def test_a_duplicate_token_name_is_an_inline_error(world):
    client = world.client("developer")
    client.post("/account/tokens/", {"name": "ci", "scopes": ["api"]})

    response = client.post("/account/tokens/", {"name": "ci", "scopes": ["api"]})

    assert response.context["new_secret"] is None
    assert "already have an active token" in response.context["form"].errors["name"][0]


def test_the_token_list_shows_only_my_tokens(world):
    create_token(world.users["guest"], actor=Actor.for_user(world.users["guest"]), name="guest-token")
    create_token(world.users["developer"], actor=Actor.for_user(world.users["developer"]), name="dev-token")

    body = world.client("developer").get("/account/tokens/").content.decode()

    assert "dev-token" in body and "guest-token" not in body


def test_revoking_a_token_stops_it_working(world):
    token, secret = create_token(
        world.users["developer"], actor=Actor.for_user(world.users["developer"]), name="ci"
    )

    response = world.client("developer").post(f"/account/tokens/{token.pk}/revoke/")

    assert response.status_code == 302
    assert authenticate_token(secret) is None
    assert AuditEvent.objects.filter(action=AuditAction.API_TOKEN_REVOKE).exists()


def test_someone_elses_token_cannot_be_revoked(world):
    token, _ = create_token(world.users["guest"], actor=Actor.for_user(world.users["guest"]), name="mine")

    response = world.client("developer").post(f"/account/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_revoking_with_htmx_redirects_the_client(world):
    token, _ = create_token(
        world.users["developer"], actor=Actor.for_user(world.users["developer"]), name="ci"
    )

    response = world.client("developer").post(f"/account/tokens/{token.pk}/revoke/", HTTP_HX_REQUEST="true")

    assert response["HX-Redirect"] == "/account/tokens/"
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_an_expiry_beyond_ten_years_is_refused(world):
    response = world.client("developer").post(
        "/account/tokens/", {"name": "ci", "expires_in_days": "99999", "scopes": ["api"]}
    )

    assert response.context["form"].errors["expires_in_days"]
    assert not ApiToken.objects.exists()


def test_a_token_gets_the_scopes_ticked_on_the_form(world):
    response = world.client("developer").post(
        "/account/tokens/", {"name": "ci", "scopes": ["read_api", "write_registry"]}
    )

    assert response.context["new_secret"] is not None
    assert ApiToken.objects.get(name="ci").scopes == ["read_api", "write_registry"]
    event = AuditEvent.objects.get(action=AuditAction.API_TOKEN_CREATE)
    assert event.details["scopes"] == ["read_api", "write_registry"]


def test_a_token_without_a_scope_is_an_inline_error(world):
    response = world.client("developer").post("/account/tokens/", {"name": "ci"})

    assert response.context["new_secret"] is None
    assert response.context["form"].errors["scopes"] == ["Choose at least one scope."]
    assert "Choose at least one scope." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_an_unknown_scope_is_an_inline_error(world):
    response = world.client("developer").post("/account/tokens/", {"name": "ci", "scopes": ["api", "sudo"]})

    assert response.context["new_secret"] is None
    assert "Unknown scope sudo" in response.context["form"].errors["scopes"][0]
    assert not ApiToken.objects.exists()


def test_the_form_offers_the_four_scopes_as_checkboxes(world):
    html = world.client("developer").get("/account/tokens/").content.decode()

    for scope in ("api", "read_api", "read_registry", "write_registry"):
        assert f'type="checkbox" name="scopes" value="{scope}"' in html


def test_the_token_list_shows_each_tokens_scopes(world):
    developer = world.users["developer"]
    create_token(developer, actor=Actor.for_user(developer), name="pull-only", scopes=["read_registry"])

    html = world.client("developer").get("/account/tokens/").content.decode()

    row = html[html.index("pull-only"):]
    row = row[: row.index("</tr>")]
    assert ">read_registry<" in row
    assert ">api<" not in row and ">write_registry<" not in row
