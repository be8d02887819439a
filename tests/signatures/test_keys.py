"""Trusted signing keys: the role table on pages and API, audit, bad input.

Reads need `Perm.VIEW_REPOSITORIES` (every member; anyone on a public project);
adding and removing keys `Perm.MANAGE_SIGNING_KEYS` (Project Admins, system admins).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from repositories.models import TrustedKey
from repositories.services import signatures
from tests.api.conftest import JsonClient
from tests.conftest import PERSONAS, World
from tests.support import cosign

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test")
MANAGERS = {"sysadmin", "padmin"}


def _key(project: Any) -> TrustedKey:
    return signatures.add_key(
        project=project, name="release", public_key=cosign.public_pem(cosign.new_key()), actor=ACTOR
    )


def _expected(persona: str, public: bool, write: bool, ok: int, anonymous: int) -> int:
    if persona == "anonymous":
        return anonymous
    if persona == "outsider":
        return (403 if write else ok) if public else 404
    if write:
        return ok if persona in MANAGERS else 403
    return ok


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("method", "url", "write", "ok"),
    [
        ("get", "/api/v1/projects/{name}/signing-keys/", False, 200),
        ("get", "/api/v1/projects/{name}/signing-keys/{pk}/", False, 200),
        ("post", "/api/v1/projects/{name}/signing-keys/", True, 201),
        ("delete", "/api/v1/projects/{name}/signing-keys/{pk}/", True, 204),
    ],
)
def test_signing_key_endpoints_follow_the_role_table(
    world: World,
    api: Callable[[str], JsonClient],
    persona: str,
    project: str,
    method: str,
    url: str,
    write: bool,
    ok: int,
) -> None:
    key = _key(world.private if project == "acme" else world.public)
    data = (
        {"name": "ci", "public_key": cosign.public_pem(cosign.new_key("rsa"))} if method == "post" else None
    )
    response = api(persona).request(method, url.format(name=project, pk=key.pk), data)
    expected = _expected(persona, project == "pub", write, ok, 401)  # the API needs a login, even to read
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert list(TrustedKey.objects.values_list("name", flat=True)) == ["release"]


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("method", "url", "write", "ok"),
    [
        ("get", "/projects/{name}/signing/", False, 200),
        ("post", "/projects/{name}/signing/keys/", True, 302),
        ("post", "/projects/{name}/signing/keys/{pk}/remove/", True, 302),
    ],
)
def test_signing_pages_follow_the_role_table(
    world: World, persona: str, project: str, method: str, url: str, write: bool, ok: int
) -> None:
    key = _key(world.private if project == "acme" else world.public)
    data = (
        {"name": "ci", "public_key": cosign.public_pem(cosign.new_key("ed25519"))} if method == "post" else {}
    )
    response = getattr(world.client(persona), method)(url.format(name=project, pk=key.pk), data)
    expected = _expected(persona, project == "pub", write, ok, 302)
    assert response.status_code == expected, response.content[:500]
    if persona == "anonymous":
        assert response["Location"].startswith("/login/")
    if expected >= 400 or persona == "anonymous":
        assert list(TrustedKey.objects.values_list("name", flat=True)) == ["release"]


def test_adding_and_removing_a_key_is_audited(world: World, api: Callable[[str], JsonClient]) -> None:
    client = api("padmin")
    pem = cosign.public_pem(cosign.new_key())
    created = client.post("/api/v1/projects/acme/signing-keys/", {"name": "release", "public_key": pem})
    assert created.status_code == 201 and created.json()["algorithm"] == "ecdsa-p256"
    added = AuditEvent.objects.get(action=AuditAction.SIGNING_KEY_ADD)
    assert added.target_name == "release" and added.actor_name == "padmin"
    assert client.delete(f"/api/v1/projects/acme/signing-keys/{created.json()['id']}/").status_code == 204
    assert (
        AuditEvent.objects.filter(action=AuditAction.SIGNING_KEY_REMOVE, target_name="release").count() == 1
    )


@pytest.mark.parametrize(
    ("public_key", "field"),
    [
        ("not a key", "public_key"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "public_key"),
        ("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", "public_key"),
    ],
)
def test_a_bad_key_is_a_field_error_on_the_api_and_the_form(
    world: World, api: Callable[[str], JsonClient], public_key: str, field: str
) -> None:
    response = api("padmin").post(
        "/api/v1/projects/acme/signing-keys/", {"name": "x", "public_key": public_key}
    )
    assert response.status_code == 400 and field in response.json(), response.content
    page = world.client("padmin").post(
        "/projects/acme/signing/keys/", {"name": "x", "public_key": public_key}, HTTP_HX_REQUEST="true"
    )
    assert page.status_code == 200 and b"is-invalid" in page.content
    assert not TrustedKey.objects.exists()


def test_the_same_key_or_name_twice_is_a_field_error(world: World, api: Callable[[str], JsonClient]) -> None:
    pem = cosign.public_pem(cosign.new_key())
    client = api("padmin")
    assert (
        client.post("/api/v1/projects/acme/signing-keys/", {"name": "a", "public_key": pem}).status_code
        == 201
    )
    again = client.post("/api/v1/projects/acme/signing-keys/", {"name": "b", "public_key": pem})
    assert again.status_code == 400 and "already trusts this key" in str(again.json()), again.content
    other = cosign.public_pem(cosign.new_key())
    taken = client.post("/api/v1/projects/acme/signing-keys/", {"name": "a", "public_key": other})
    assert taken.status_code == 400, taken.content
    assert TrustedKey.objects.count() == 1


def test_the_signing_tab_shows_keys_to_members(world: World) -> None:
    _key(world.private)
    page = world.client("guest").get("/projects/acme/signing/").content.decode()
    assert 'data-key="release"' in page and "signing-key-add" not in page
    assert "signing-key-add" in world.client("padmin").get("/projects/acme/signing/").content.decode()
