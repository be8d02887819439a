"""Starting and reading sync runs through the API (who may do it is in
test_repository_permissions.py). The Celery task is only enqueued after commit,
which these tests capture instead of running a sync."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from repositories import tasks
from repositories.models import Project, Repository, SyncRun
from tests.conftest import World


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Ids handed to the sync task (instead of running it against a registry)."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.run_sync, "delay", ids.append)
    return ids


def test_project_sync_is_queued_audited_and_enqueued_after_commit(
    world: World, api: Any, enqueued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api("maintainer").post("/api/v1/sync-runs/", {"scope": "project", "project": "acme"})

    assert response.status_code == 202, response.content
    body = response.json()
    run = SyncRun.objects.get()
    assert body["id"] == run.pk
    assert (body["scope"], body["project"], body["status"], body["trigger"]) == ("project", "acme", "queued", "api")
    assert body["requested_by"] == "maintainer"
    assert len(callbacks) == 1 and enqueued == [run.pk]
    event = AuditEvent.objects.get(action=AuditAction.SYNC_REQUEST)
    assert event.actor_name == "maintainer" and event.details["run"] == run.pk
    assert event.project_name == "acme" and event.target_name == "acme"


def test_a_pending_run_of_the_same_scope_is_returned_with_200(
    world: World, api: Any, enqueued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    client = api("padmin")
    first = client.post("/api/v1/sync-runs/", {"scope": "project", "project": "acme"})
    SyncRun.objects.filter(pk=first.json()["id"]).update(status=SyncRun.Status.RUNNING)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = client.post("/api/v1/sync-runs/", {"scope": "project", "project": "acme"})

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["status"] == "running"
    assert callbacks == [] and SyncRun.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.SYNC_REQUEST).count() == 1


def test_a_finished_run_does_not_block_a_new_one(world: World, api: Any, enqueued: list[int]) -> None:
    SyncRun.objects.create(scope=SyncRun.Scope.PROJECT, project=world.private, status=SyncRun.Status.SUCCEEDED)

    response = api("padmin").post("/api/v1/sync-runs/", {"scope": "project", "project": "acme"})

    assert response.status_code == 202
    assert SyncRun.objects.count() == 2


def test_other_scopes_do_not_count_as_pending(world: World, api: Any, enqueued: list[int]) -> None:
    SyncRun.objects.create(scope=SyncRun.Scope.REGISTRY)

    response = api("sysadmin").post("/api/v1/sync-runs/", {"scope": "repository", "repository": "acme/app"})

    assert response.status_code == 202
    assert response.json()["repository"] == "acme/app" and response.json()["project"] == "acme"


def test_repository_sync_may_name_a_repository_wharf_has_not_seen(world: World, api: Any, enqueued: list[int]) -> None:
    response = api("maintainer").post("/api/v1/sync-runs/", {"scope": "repository", "repository": "pub/new/thing"})

    assert response.status_code == 202
    run = SyncRun.objects.get()
    assert (run.scope, run.project, run.repository_name) == ("repository", world.public, "pub/new/thing")


def test_single_component_repository_syncs_in_the_default_project(
    world: World, api: Any, enqueued: list[int], settings: Any
) -> None:
    settings.WHARF_DEFAULT_PROJECT = "library"
    library = Project.objects.create(name="library")

    missing_project = api("sysadmin").post("/api/v1/sync-runs/", {"scope": "repository", "repository": "busybox"})
    Repository.objects.create(project=library, name="alpine")
    known = api("sysadmin").post("/api/v1/sync-runs/", {"scope": "repository", "repository": "alpine"})

    assert missing_project.status_code == 202 and missing_project.json()["project"] == "library"
    assert known.status_code == 202 and known.json()["project"] == "library"


def test_repository_sync_in_an_unknown_project_is_404(world: World, api: Any) -> None:
    response = api("sysadmin").post("/api/v1/sync-runs/", {"scope": "repository", "repository": "nowhere/app"})

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "scope"),
        ({"scope": "galaxy"}, "scope"),
        ({"scope": "project"}, "project"),
        ({"scope": "repository"}, "repository"),
        ({"scope": "repository", "repository": "Acme/App"}, "repository"),
        ({"scope": "repository", "repository": "acme/-/tags"}, "repository"),
        ({"scope": "repository", "repository": "acme/app", "project": "pub"}, "project"),
        ({"scope": "project", "project": "acme", "repository": "acme/app"}, "repository"),
        ({"scope": "registry", "project": "acme"}, "project"),
    ],
)
def test_invalid_trigger_bodies_are_400_with_the_field(
    body: dict[str, Any], field: str, world: World, api: Any
) -> None:
    response = api("sysadmin").post("/api/v1/sync-runs/", body)

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not SyncRun.objects.exists()


def test_run_shows_counts_duration_requests_and_errors(world: World, api: Any) -> None:
    start = timezone.now()
    run = SyncRun.objects.create(
        scope=SyncRun.Scope.PROJECT,
        project=world.private,
        status=SyncRun.Status.FAILED,
        started_at=start,
        finished_at=start + timedelta(seconds=2.5),
        repositories_seen=3,
        tags_added=4,
        artifacts_removed=1,
        requests=17,
        errors=[{"where": "acme/app:v1", "message": "<boom>" * 1000}, "junk"],
        message="The registry went away.",
    )

    body = api("guest").get(f"/api/v1/projects/acme/sync-runs/{run.pk}/").json()

    assert body["duration"] == 2.5 and body["requests"] == 17
    assert (body["repositories_seen"], body["tags_added"], body["artifacts_removed"]) == (3, 4, 1)
    assert body["errors"] == [{"where": "acme/app:v1", "message": "<boom>" * 1000}]
    assert body["message"] == "The registry went away." and body["status"] == "failed"


def test_project_runs_filter_by_status_and_exclude_other_projects(world: World, api: Any) -> None:
    done = SyncRun.objects.create(scope="project", project=world.private, status=SyncRun.Status.SUCCEEDED)
    SyncRun.objects.create(scope="project", project=world.private, status=SyncRun.Status.FAILED)
    SyncRun.objects.create(scope="project", project=world.public, status=SyncRun.Status.SUCCEEDED)
    SyncRun.objects.create(scope="registry", status=SyncRun.Status.SUCCEEDED)

    body = api("guest").get("/api/v1/projects/acme/sync-runs/", {"status": "succeeded"}).json()

    assert [r["id"] for r in body["results"]] == [done.pk]


def test_run_of_another_project_is_404_under_this_project(world: World, api: Any) -> None:
    other = SyncRun.objects.create(scope="project", project=world.public)

    assert api("sysadmin").get(f"/api/v1/projects/acme/sync-runs/{other.pk}/").status_code == 404
