"""Replication rules and runs through the pages and the API: system admins only,
bad input as field errors (one set of messages), every change audited, a run queued
from the page or the API, and a run's items with their reasons."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditAction, AuditEvent
from replication.models import RegistryEndpoint, ReplicationItem, ReplicationRule, ReplicationRun
from tests.conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(db: Any) -> RegistryEndpoint:
    return RegistryEndpoint.objects.create(name="dr", url="http://127.0.0.1:9")


@pytest.fixture
def run(endpoint: RegistryEndpoint) -> ReplicationRun:
    rule = ReplicationRule.objects.create(name="r", endpoint=endpoint)
    run = ReplicationRun.objects.create(rule=rule, trigger="manual", status="failed", failed=1, items_total=2)
    ReplicationItem.objects.create(run=run, source="acme/a:v1", destination="acme/a:v1", status="copied")
    ReplicationItem.objects.create(
        run=run,
        source="acme/b:v1",
        destination="acme/b:v1",
        status="failed",
        reason="storage went away · HTTP 503",
    )
    return run


def test_a_rule_is_created_changed_and_deleted_with_audit(api: Any, endpoint: RegistryEndpoint) -> None:
    admin = api("sysadmin")
    created = admin.post(
        "/api/v1/replication-rules/",
        {"name": "to-dr", "endpoint": "dr", "repositories": "acme/**", "tags": "v*", "labels": ["release"]},
    )
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    changed = admin.patch(
        f"/api/v1/replication-rules/{rule_id}/", {"trigger": "scheduled", "schedule": "0 3 * * *"}
    )
    assert changed.status_code == 200 and changed.json()["schedule"] == "0 3 * * *"
    event = AuditEvent.objects.get(action=AuditAction.REPLICATION_RULE_UPDATE)
    assert event.details["changes"]["trigger"] == {"from": "manual", "to": "scheduled"}
    assert admin.delete(f"/api/v1/replication-rules/{rule_id}/").status_code == 204
    assert (
        AuditEvent.objects.filter(
            action__in=[AuditAction.REPLICATION_RULE_CREATE, AuditAction.REPLICATION_RULE_DELETE]
        ).count()
        == 2
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"repositories": "acme/[z-a]"}, "repositories"),
        ({"tags": "{v1"}, "tags"),
        ({"trigger": "scheduled"}, "schedule"),
        ({"trigger": "scheduled", "schedule": "every day"}, "schedule"),
        ({"direction": "pull", "trigger": "on_push"}, "trigger"),
        ({"direction": "pull", "labels": ["x"]}, "labels"),
        ({"destination_namespace": "Bad/NS"}, "destination_namespace"),
        ({"name": "no spaces please"}, "name"),
        ({"endpoint": "nowhere"}, "endpoint"),
    ],
)
def test_bad_rules_are_field_errors(
    api: Any, endpoint: RegistryEndpoint, fields: dict[str, Any], field: str
) -> None:
    body = {"name": "r", "endpoint": "dr"} | fields
    response = api("sysadmin").post("/api/v1/replication-rules/", body)
    assert response.status_code == 400 and field in response.json(), response.content
    assert not ReplicationRule.objects.exists()


def test_a_duplicate_name_is_a_field_error_on_the_page_too(world: World, endpoint: RegistryEndpoint) -> None:
    ReplicationRule.objects.create(name="taken", endpoint=endpoint)
    client = world.client("sysadmin")
    page = client.post(
        "/replication/rules/new/",
        {
            "name": "taken",
            "endpoint": endpoint.pk,
            "direction": "push",
            "repositories": "**",
            "tags": "**",
            "trigger": "manual",
            "concurrency": 0,
            "override": "on",
            "enabled": "on",
        },
    )
    assert page.status_code == 200 and b"exists already" in page.content


def test_starting_a_run_from_the_api_queues_it_once(
    api: Any, endpoint: RegistryEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    rule = ReplicationRule.objects.create(name="r", endpoint=endpoint)
    admin = api("sysadmin")
    first = admin.post(f"/api/v1/replication-rules/{rule.pk}/runs/")
    assert first.status_code == 202
    again = admin.post(f"/api/v1/replication-rules/{rule.pk}/runs/")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert AuditEvent.objects.filter(action=AuditAction.REPLICATION_RUN_START).count() == 1


def test_a_run_and_its_items_read_alike_on_the_page_and_in_the_api(
    api: Any, world: World, run: ReplicationRun
) -> None:
    body = api("sysadmin").get(f"/api/v1/replication-runs/{run.pk}/items/?status=failed").json()
    assert [i["reason"] for i in body["results"]] == ["storage went away · HTTP 503"]
    assert api("sysadmin").get("/api/v1/replication-runs/?rule=r").json()["results"][0]["id"] == run.pk
    page = world.client("sysadmin").get(f"/replication/runs/{run.pk}/?status=failed").content.decode()
    assert "storage went away" in page and "acme/a:v1" not in page and 'id="rerun"' in page
    assert api("sysadmin").get("/api/v1/replication-runs/999999/items/").status_code == 404


def test_the_pages_create_a_rule_and_start_a_run(world: World, endpoint: RegistryEndpoint) -> None:
    client = world.client("sysadmin")
    assert b'id="new-rule"' in client.get("/replication/").content
    created = client.post(
        "/replication/rules/new/",
        {
            "name": "nightly",
            "endpoint": endpoint.pk,
            "direction": "push",
            "repositories": "acme/**",
            "tags": "**",
            "labels": "release, prod",
            "trigger": "manual",
            "concurrency": 4,
            "override": "on",
            "enabled": "on",
        },
    )
    rule = ReplicationRule.objects.get(name="nightly")
    assert created.status_code == 302 and rule.labels == ["prod", "release"] and rule.concurrency == 4
    page = client.get(f"/replication/rules/{rule.pk}/").content.decode()
    assert 'id="run-rule"' in page and 'id="runs-empty"' in page
    started = client.post(f"/replication/rules/{rule.pk}/run/")
    run = ReplicationRun.objects.get()
    assert started.status_code == 302 and started["Location"].endswith(f"/replication/runs/{run.pk}/")
    listing = client.get("/replication/").content.decode()
    assert "nightly" in listing and "Queued" in listing
    assert client.get(f"/replication/rules/{rule.pk}/delete/").status_code == 200
    refused = client.post(f"/replication/rules/{rule.pk}/delete/")  # a run is queued
    assert refused.status_code == 302 and ReplicationRule.objects.exists()


@pytest.mark.parametrize(
    ("persona", "api_status", "page_status"),
    [
        ("sysadmin", 200, 200),
        ("padmin", 403, 403),
        ("maintainer", 403, 403),
        ("developer", 403, 403),
        ("guest", 403, 403),
        ("outsider", 403, 403),
        ("team_padmin", 403, 403),
        ("anonymous", 401, 302),
    ],
)
def test_only_system_admins_see_and_run_replication(
    api: Any, world: World, run: ReplicationRun, persona: str, api_status: int, page_status: int
) -> None:
    client = api(persona)
    assert client.get("/api/v1/replication-rules/").status_code == api_status
    assert client.get(f"/api/v1/replication-runs/{run.pk}/").status_code == api_status
    assert client.get(f"/api/v1/replication-runs/{run.pk}/items/").status_code == api_status
    started = client.post(f"/api/v1/replication-rules/{run.rule.pk}/runs/")
    assert started.status_code == (202 if api_status == 200 else api_status)
    pages = world.client(persona)
    for url in (
        "/replication/",
        f"/replication/rules/{run.rule.pk}/",
        f"/replication/runs/{run.pk}/",
        "/replication/rules/new/",
    ):
        assert pages.get(url).status_code == page_status, url
