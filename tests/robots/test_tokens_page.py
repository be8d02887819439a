"""The user's Tokens page explains where a token works, with their own login command."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from tests.conftest import World


def test_tokens_page_explains_token_as_registry_password_and_api_bearer(world: World) -> None:
    # Clients log in where they pull: the gate's address when Wharf runs one (REGISTRY_PUBLIC_HOST).
    host = settings.REGISTRY_PUBLIC_HOST
    html = world.client("developer").get("/account/tokens/").content.decode()
    assert 'id="token-usage"' in html
    assert f"docker login {host} -u developer" in html
    assert f"skopeo login --tls-verify=false {host} -u developer" in html
    assert "Authorization: Bearer" in html


def test_tokens_page_notes_insecure_registries_for_a_remote_http_host(world: World, settings: Any) -> None:
    settings.REGISTRY_PUBLIC_HOST = "registry.example.org:5000"
    html = world.client("developer").get("/account/tokens/").content.decode()
    assert "docker login registry.example.org:5000 -u developer" in html
    assert "insecure-registries" in html


def test_push_panel_notes_insecure_registries_only_for_remote_hosts(world: World, settings: Any) -> None:
    assert "insecure-registries" not in world.client("developer").get("/projects/acme/").content.decode()
    settings.REGISTRY_PUBLIC_HOST = "registry.example.org:5000"
    html = world.client("developer").get("/projects/acme/").content.decode()
    assert "insecure-registries" in html
    assert "docker push registry.example.org:5000/acme/my-image:latest" in html
    assert (
        "skopeo copy --dest-tls-verify=false oci:./layout:latest docker://registry.example.org:5000/acme/"
        in html
    )
