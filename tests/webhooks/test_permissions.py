"""Webhook pages and endpoints × every persona × (private `acme`, public `pub`).

From the role table: a project's webhooks need MANAGE_WEBHOOKS (Project Admins, and
system admins); outsiders get 404 on the private project and 403 on the public one;
anonymous callers 401 (API) or the login page. System webhooks: system admins only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from audit.context import Actor
from tests.api.conftest import JsonClient
from tests.conftest import MATRIX_PERSONAS, World, row_of
from webhooks import services
from webhooks.models import Delivery, Webhook

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]

ACTOR = Actor.system("test")
HOOK = {"name": "ci", "url": "http://127.0.0.1:9/hook", "events": ["artifact.pushed"]}


def _manage(ok: int, anonymous: int) -> dict[str, tuple[int, int]]:
    return {
        "sysadmin": (ok, ok),
        "padmin": (ok, ok),
        "maintainer": (403, 403),
        "developer": (403, 403),
        "guest": (403, 403),
        "limited": (403, 403),
        "outsider": (404, 403),
        "anonymous": (anonymous, anonymous),
    }


def _setup(project: Any) -> tuple[Webhook, Delivery]:
    hook = services.create_webhook(actor=ACTOR, project=project, **HOOK)
    return hook, services.send_test(hook, actor=ACTOR)


API = [
    ("get", "/api/v1/projects/{name}/webhooks/", None, 200),
    ("get", "/api/v1/projects/{name}/webhooks/{pk}/", None, 200),
    ("post", "/api/v1/projects/{name}/webhooks/", HOOK | {"name": "new"}, 201),
    ("patch", "/api/v1/projects/{name}/webhooks/{pk}/", {"enabled": False}, 200),
    ("post", "/api/v1/projects/{name}/webhooks/{pk}/test/", None, 202),
    ("get", "/api/v1/projects/{name}/webhooks/{pk}/deliveries/", None, 200),
    ("get", "/api/v1/projects/{name}/webhooks/{pk}/deliveries/{d}/", None, 200),
    ("post", "/api/v1/projects/{name}/webhooks/{pk}/deliveries/{d}/redeliver/", None, 202),
    ("delete", "/api/v1/projects/{name}/webhooks/{pk}/", None, 204),
]


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize(("method", "url", "data", "ok"), API, ids=[f"{m} {u}" for m, u, _, _ in API])
def test_project_webhook_endpoints_follow_the_role_table(
    world: World, api: Callable[[str], JsonClient], persona: str, project: str, method: str, url: str, data: Any, ok: int
) -> None:
    hook, delivery = _setup(world.private if project == "acme" else world.public)
    response = api(persona).request(method, url.format(name=project, pk=hook.pk, d=delivery.pk), data)
    expected = _manage(ok, 401)[row_of(persona)][0 if project == "acme" else 1]
    assert response.status_code == expected, response.content
    if expected >= 400:
        hook.refresh_from_db()
        assert hook.enabled and Webhook.objects.count() == 1 and Delivery.objects.count() == 1


PAGES = [
    ("get", "/projects/{name}/webhooks/", None, 200),
    ("get", "/projects/{name}/webhooks/{pk}/", None, 200),
    ("post", "/projects/{name}/webhooks/", HOOK | {"name": "new", "format": "harbor", "enabled": "on"}, 302),
    ("post", "/projects/{name}/webhooks/{pk}/test/", None, 302),
    ("post", "/projects/{name}/webhooks/{pk}/deliveries/{d}/redeliver/", None, 302),
    ("get", "/projects/{name}/webhooks/{pk}/delete/", None, 200),
    ("post", "/projects/{name}/webhooks/{pk}/delete/", None, 302),
]


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize(("method", "url", "data", "ok"), PAGES, ids=[f"{m} {u}" for m, u, _, _ in PAGES])
def test_project_webhook_pages_follow_the_role_table(
    world: World, persona: str, project: str, method: str, url: str, data: Any, ok: int
) -> None:
    hook, delivery = _setup(world.private if project == "acme" else world.public)
    client = world.client(persona)
    response = getattr(client, method)(url.format(name=project, pk=hook.pk, d=delivery.pk), data or {})
    expected = _manage(ok, 302)[row_of(persona)][0 if project == "acme" else 1]
    assert response.status_code == expected, response.content[:500]
    if persona == "anonymous":
        assert response["Location"].startswith("/login/")
    if expected >= 400 or persona == "anonymous":
        assert Webhook.objects.count() == 1 and Delivery.objects.count() == 1


def test_the_webhooks_tab_is_shown_to_those_who_may_manage_them(world: World) -> None:
    assert b"/projects/acme/webhooks/" in world.client("padmin").get("/projects/acme/").content
    assert b"/projects/acme/webhooks/" not in world.client("maintainer").get("/projects/acme/").content


SYSTEM = [
    ("get", "/api/v1/webhooks/", None, 200),
    ("post", "/api/v1/webhooks/", HOOK | {"name": "new"}, 201),
    ("patch", "/api/v1/webhooks/{pk}/", {"enabled": False}, 200),
    ("post", "/api/v1/webhooks/{pk}/test/", None, 202),
    ("get", "/api/v1/webhooks/{pk}/deliveries/", None, 200),
    ("post", "/api/v1/webhooks/{pk}/deliveries/{d}/redeliver/", None, 202),
    ("delete", "/api/v1/webhooks/{pk}/", None, 204),
    ("get", "/webhooks/", None, 200),
    ("get", "/webhooks/{pk}/", None, 200),
    ("post", "/webhooks/{pk}/test/", None, 302),
]


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize(("method", "url", "data", "ok"), SYSTEM, ids=[f"{m} {u}" for m, u, _, _ in SYSTEM])
def test_system_webhooks_are_for_system_admins(
    world: World, api: Callable[[str], JsonClient], persona: str, method: str, url: str, data: Any, ok: int
) -> None:
    hook, delivery = _setup(None)
    target = url.format(pk=hook.pk, d=delivery.pk)
    if target.startswith("/api/"):
        response = api(persona).request(method, target, data)
        anonymous = 401
    else:
        response = getattr(world.client(persona), method)(target, data or {})
        anonymous = 302
    expected = ok if persona == "sysadmin" else anonymous if persona == "anonymous" else 403
    assert response.status_code == expected, response.content[:500]


def test_a_project_webhook_is_not_reachable_from_another_scope(world: World, api: Callable[[str], JsonClient]) -> None:
    hook, _ = _setup(world.private)
    system_hook, _ = _setup(None)
    admin = api("sysadmin")
    assert admin.get(f"/api/v1/webhooks/{hook.pk}/").status_code == 404
    assert admin.get(f"/api/v1/projects/pub/webhooks/{hook.pk}/").status_code == 404
    assert admin.get(f"/api/v1/projects/acme/webhooks/{system_hook.pk}/").status_code == 404
    assert world.client("padmin").get(f"/projects/pub/webhooks/{hook.pk}/").status_code == 404
