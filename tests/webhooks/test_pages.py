"""The webhook pages: create, the deliveries table (and its htmx partial), test and
redeliver against the real receiver, edit keeping or removing the secret."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import World
from webhooks.models import Delivery, Webhook

from .receiver import Answer, Receiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]


def test_create_test_and_redeliver_from_the_pages(
    world: World, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    client = world.client("padmin")
    form = {"name": "ci", "url": receiver.url, "events": ["artifact.pushed"], "format": "slack", "secret": "k", "enabled": "on"}
    response = client.post("/projects/acme/webhooks/", form)
    hook = Webhook.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/projects/acme/webhooks/{hook.pk}/"
    assert hook.secret == "k" and hook.project == world.private

    receiver.script = [Answer(500)]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/projects/acme/webhooks/{hook.pk}/test/").status_code == 302
    first = Delivery.objects.get()
    assert first.status == Delivery.Status.RETRYING
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/projects/acme/webhooks/{hook.pk}/deliveries/{first.pk}/redeliver/")
    again = Delivery.objects.exclude(pk=first.pk).get()
    assert again.status == Delivery.Status.SUCCEEDED and len(receiver.received) == 2

    page = client.get(f"/projects/acme/webhooks/{hook.pk}/").content.decode()
    assert f'id="delivery-{again.pk}"' in page and "again of #" in page and "webhook-edit-form" in page
    partial = client.get(f"/projects/acme/webhooks/{hook.pk}/", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and b"deliveries-table" in partial.content
    assert b"webhook-edit-form" not in partial.content


def test_editing_keeps_the_secret_unless_asked_to_remove_it(world: World) -> None:
    client = world.client("sysadmin")
    form = {"name": "all", "url": "http://127.0.0.1:9/", "events": ["scan.failed"], "format": "harbor", "secret": "k"}
    client.post("/webhooks/", form)
    hook = Webhook.objects.get(project=None)
    assert client.post(f"/webhooks/{hook.pk}/", form | {"secret": "", "enabled": ""}).status_code == 302
    hook.refresh_from_db()
    assert (hook.secret, hook.enabled) == ("k", False)
    client.post(f"/webhooks/{hook.pk}/", form | {"secret": "", "clear_secret": "on"})
    hook.refresh_from_db()
    assert hook.secret == ""
    response = client.post(f"/webhooks/{hook.pk}/", form | {"url": "ftp://example.com/"})
    assert response.status_code == 400 and b"Only http://" in response.content


def test_the_pages_cost_a_fixed_number_of_queries(world: World, django_assert_max_num_queries: Any) -> None:
    from audit.context import Actor
    from webhooks import services

    hooks = [
        services.create_webhook(
            actor=Actor.system("t"), project=world.private, name=f"h{i}", url="http://127.0.0.1:9/", events=["artifact.pushed"]
        )
        for i in range(6)
    ]
    for _ in range(12):
        services.send_test(hooks[0], actor=Actor.system("t"))
    client = world.client("padmin")
    client.get("/projects/acme/webhooks/")  # warm the session and the user
    with django_assert_max_num_queries(12):
        assert client.get("/projects/acme/webhooks/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(f"/projects/acme/webhooks/{hooks[0].pk}/").content.count(b'id="delivery-') == 12
