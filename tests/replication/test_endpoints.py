"""Registry endpoints: passwords encrypted with the key from the environment, the
test connection against a real registry (and a dead one), the permission matrix of
the pages and the API, bad input as field errors, every change audited."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from audit.models import AuditAction, AuditEvent
from replication import credentials
from replication.models import RegistryEndpoint
from tests.conftest import World
from tests.support.registry import free_port

pytestmark = pytest.mark.django_db

KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _key(settings: Any) -> None:
    settings.WHARF_REPLICATION_KEYS = [KEY]


def test_the_password_is_stored_encrypted_and_never_answered(api: Any) -> None:
    response = api("sysadmin").post(
        "/api/v1/registry-endpoints/",
        {"name": "dr-site", "url": "https://dr.example.com/", "username": "robot", "password": "s3cret!"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["has_credentials"] and "password" not in body and body["url"] == "https://dr.example.com"
    stored = RegistryEndpoint.objects.get(name="dr-site").password
    assert "s3cret" not in stored and Fernet(KEY.encode()).decrypt(stored.encode()) == b"s3cret!"
    event = AuditEvent.objects.get(action=AuditAction.REGISTRY_ENDPOINT_CREATE)
    assert "s3cret" not in str(event.details) and event.details["has_credentials"] is True


def test_without_a_key_credentials_are_refused_with_a_message(api: Any, settings: Any) -> None:
    settings.WHARF_REPLICATION_KEYS = []
    refused = api("sysadmin").post(
        "/api/v1/registry-endpoints/",
        {"name": "a", "url": "http://a.example", "username": "u", "password": "p"},
    )
    assert refused.status_code == 400 and "WHARF_REPLICATION_KEYS" in str(refused.json()["password"])
    plain = api("sysadmin").post("/api/v1/registry-endpoints/", {"name": "a", "url": "http://a.example"})
    assert plain.status_code == 201


def test_keys_rotate_the_first_encrypts_every_one_decrypts(settings: Any) -> None:
    token = credentials.encrypt("pw")
    new = Fernet.generate_key().decode()
    settings.WHARF_REPLICATION_KEYS = [new, KEY]
    assert credentials.decrypt(token) == "pw"
    rotated = credentials.rotate(token)
    settings.WHARF_REPLICATION_KEYS = [new]
    assert credentials.decrypt(rotated) == "pw"
    with pytest.raises(credentials.SecretUnavailable):
        credentials.decrypt(token)


@pytest.mark.slow
def test_test_connection_against_a_real_registry_and_a_dead_one(api: Any, registry: Any) -> None:
    admin = api("sysadmin")
    live = admin.post("/api/v1/registry-endpoints/", {"name": "live", "url": registry.url}).json()
    dead = admin.post(
        "/api/v1/registry-endpoints/", {"name": "dead", "url": f"http://127.0.0.1:{free_port()}"}
    ).json()
    ok = admin.post(f"/api/v1/registry-endpoints/{live['id']}/test/").json()
    assert ok["check_ok"] is True and ok["checked_at"]
    failed = admin.post(f"/api/v1/registry-endpoints/{dead['id']}/test/").json()
    assert failed["check_ok"] is False and "connect" in failed["check_message"].lower()


def test_a_password_no_key_opens_fails_the_test_readably(api: Any, settings: Any) -> None:
    admin = api("sysadmin")
    created = admin.post(
        "/api/v1/registry-endpoints/",
        {"name": "x", "url": "http://x.example", "username": "u", "password": "p"},
    ).json()
    settings.WHARF_REPLICATION_KEYS = [Fernet.generate_key().decode()]
    answer = admin.post(f"/api/v1/registry-endpoints/{created['id']}/test/").json()
    assert answer["check_ok"] is False and "cannot be read" in answer["check_message"]


def test_patch_keeps_the_password_unless_given_and_clearing_the_username_drops_it(api: Any) -> None:
    admin = api("sysadmin")
    created = admin.post(
        "/api/v1/registry-endpoints/",
        {"name": "x", "url": "http://x.example", "username": "u", "password": "p"},
    ).json()
    url = f"/api/v1/registry-endpoints/{created['id']}/"
    kept = admin.patch(url, {"verify_tls": False}).json()
    assert kept["has_credentials"] and kept["verify_tls"] is False
    admin.patch(url, {"password": "new"})
    assert credentials.decrypt(RegistryEndpoint.objects.get().password) == "new"
    dropped = admin.patch(url, {"username": ""}).json()
    assert not dropped["has_credentials"]
    updates = AuditEvent.objects.filter(action=AuditAction.REGISTRY_ENDPOINT_UPDATE).order_by("id")
    assert [list(e.details["changes"]) for e in updates] == [
        ["verify_tls"],
        ["password"],
        ["username", "has_credentials"],
    ]
    assert admin.delete(url).status_code == 204
    assert AuditEvent.objects.filter(action=AuditAction.REGISTRY_ENDPOINT_DELETE).count() == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [("ftp://x.example", "http(s)"), ("https://x.example/v2/", "no path"), ("nonsense", "http(s)")],
)
def test_bad_urls_are_field_errors(api: Any, url: str, message: str) -> None:
    response = api("sysadmin").post("/api/v1/registry-endpoints/", {"name": "x", "url": url})
    assert response.status_code == 400 and message in str(response.json()["url"])
    duplicate = api("sysadmin").post(
        "/api/v1/registry-endpoints/", {"name": "bad name!", "url": "http://x.example"}
    )
    assert duplicate.status_code == 400 and "name" in duplicate.json()


@pytest.mark.parametrize(
    ("persona", "api_status", "page_status"),
    [
        ("sysadmin", 200, 200),
        ("padmin", 403, 403),
        ("developer", 403, 403),
        ("guest", 403, 403),
        ("outsider", 403, 403),
        ("team_padmin", 403, 403),
        ("anonymous", 401, 302),
    ],
)
def test_only_system_admins_manage_endpoints(
    api: Any, world: World, persona: str, api_status: int, page_status: int
) -> None:
    endpoint = RegistryEndpoint.objects.create(name="e", url="http://e.example")
    assert api(persona).get("/api/v1/registry-endpoints/").status_code == api_status
    write = api(persona).post("/api/v1/registry-endpoints/", {"name": "n", "url": "http://n.example"})
    assert write.status_code == (201 if api_status == 200 else api_status)
    client = world.client(persona)
    assert client.get("/replication/endpoints/").status_code == page_status
    assert client.get(f"/replication/endpoints/{endpoint.pk}/").status_code == page_status


def test_the_pages_add_edit_test_and_remove(world: World, registry_factory: Any) -> None:
    client = world.client("sysadmin")
    refused = client.post("/replication/endpoints/", {"name": "site", "url": "https://x.example/v2/"})
    assert refused.status_code == 200 and b"no path" in refused.content
    added = client.post(
        "/replication/endpoints/", {"name": "site", "url": "http://127.0.0.1:9", "verify_tls": "on"}
    )
    endpoint = RegistryEndpoint.objects.get(name="site")
    assert added.status_code == 302 and added["Location"].endswith(f"/replication/endpoints/{endpoint.pk}/")
    page = client.get(f"/replication/endpoints/{endpoint.pk}/").content.decode()
    assert 'id="test-connection"' in page and "never tested" in page
    check = client.post(f"/replication/endpoints/{endpoint.pk}/test/", headers={"HX-Request": "true"})
    assert check.status_code == 200 and b"failed" in check.content and b'id="check-message"' in check.content
    listing = client.get("/replication/endpoints/").content.decode()
    assert "site" in listing and "failed" in listing
    client.post(f"/replication/endpoints/{endpoint.pk}/", {"name": "site2", "url": "http://127.0.0.1:9"})
    assert RegistryEndpoint.objects.get().name == "site2"
    assert client.get(f"/replication/endpoints/{endpoint.pk}/delete/").status_code == 200
    assert client.post(f"/replication/endpoints/{endpoint.pk}/delete/").status_code == 302
    assert not RegistryEndpoint.objects.exists()
