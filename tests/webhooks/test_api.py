"""The webhook API: what it answers, bad input as 400 with field errors, the secret
write-only, every change audited, and the routes in the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from audit.models import AuditAction, AuditEvent
from tests.api.conftest import JsonClient
from tests.conftest import World
from webhooks.models import Webhook

pytestmark = [pytest.mark.django_db]

URL = "/api/v1/projects/acme/webhooks/"
BODY = {"name": "ci", "url": "http://127.0.0.1:9/hook", "events": ["artifact.pushed", "scan.failed"], "secret": "k"}


def test_create_read_update_and_delete(
    world: World, api: Callable[[str], JsonClient], allow_private: None
) -> None:
    client = api("padmin")
    created = client.post(URL, BODY)
    assert created.status_code == 201, created.content
    data = created.json()
    assert data | {"id": 0, "created_at": "", "updated_at": ""} == {
        "id": 0, "project": "acme", "name": "ci", "url": BODY["url"], "events": ["artifact.pushed", "scan.failed"],
        "format": "harbor", "enabled": True, "has_secret": True, "created_by": "padmin", "created_at": "", "updated_at": "",
    }
    assert b'"k"' not in created.content
    changed = client.patch(f"{URL}{data['id']}/", {"secret": "", "format": "cloudevents"}).json()
    assert (changed["has_secret"], changed["format"]) == (False, "cloudevents")
    assert client.delete(f"{URL}{data['id']}/").status_code == 204
    actions = list(AuditEvent.objects.filter(target_type="webhook").values_list("action", flat=True).order_by("id"))
    assert actions == [AuditAction.WEBHOOK_CREATE, AuditAction.WEBHOOK_UPDATE, AuditAction.WEBHOOK_DELETE]
    assert all("secret" not in e.details for e in AuditEvent.objects.filter(target_type="webhook"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "http://127.0.0.1:9/hook"}, "url"),  # loopback, and the setting is off
        ({"url": "ftp://example.com/"}, "url"),
        ({"events": []}, "events"),
        ({"events": ["artifact.exploded"]}, "events"),
        ({"format": "xml"}, "format"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_is_a_400_on_the_field(
    world: World, api: Callable[[str], JsonClient], change: dict[str, Any], field: str
) -> None:
    response = api("padmin").post(URL, BODY | change)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Webhook.objects.exists()


def test_a_duplicate_name_is_a_400(world: World, api: Callable[[str], JsonClient], allow_private: None) -> None:
    assert api("padmin").post(URL, BODY).status_code == 201
    response = api("padmin").post(URL, BODY)
    assert response.status_code == 400 and "exists" in str(response.json())


def test_bad_input_on_the_page_is_a_form_error(world: World) -> None:
    response = world.client("padmin").post(
        "/projects/acme/webhooks/", {"name": "ci", "url": "http://10.0.0.1/", "events": ["artifact.pushed"], "format": "harbor"}
    )
    assert response.status_code == 400 and b"private" in response.content and not Webhook.objects.exists()


def test_the_routes_are_in_the_schema(world: World, api: Callable[[str], JsonClient]) -> None:
    paths = api("sysadmin").get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in (
        "/api/v1/projects/{project_name}/webhooks/",
        "/api/v1/projects/{project_name}/webhooks/{id}/test/",
        "/api/v1/projects/{project_name}/webhooks/{webhook_id}/deliveries/{id}/redeliver/",
        "/api/v1/webhooks/",
        "/api/v1/webhooks/{webhook_id}/deliveries/",
    ):
        assert path in paths, sorted(p for p in paths if "webhook" in p)
