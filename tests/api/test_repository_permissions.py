"""The permission matrix of the repository, tag, artifact and sync-run endpoints:
each persona against the private project `acme` and the public project `pub`.

The expected statuses are written out by hand from the role table in
`accounts/permissions.py`, not computed from it, so a change to the table or to an
endpoint's permission shows up here. Deletes reach the real (session) registry,
so they are marked slow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from repositories.models import Artifact, SyncRun, Tag
from tests.api.conftest import RepoRows, body_without_request_id
from tests.conftest import MATRIX_PERSONAS, PERSONAS, World, row_of

# persona: (status on private `acme`, status on public `pub`)
Table = dict[str, tuple[int, int]]

VIEW_REPOSITORIES: Table = {
    "sysadmin": (200, 200),
    "padmin": (200, 200),
    "maintainer": (200, 200),
    "developer": (200, 200),
    "guest": (200, 200),
    "limited": (200, 200),
    "outsider": (404, 200),
    "anonymous": (401, 401),
}
DELETE_ARTIFACT: Table = {
    "sysadmin": (204, 204),
    "padmin": (204, 204),
    "maintainer": (204, 204),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
BULK_DELETE: Table = {
    "sysadmin": (200, 200),
    "padmin": (200, 200),
    "maintainer": (200, 200),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
SYNC: Table = {
    "sysadmin": (202, 202),
    "padmin": (202, 202),
    "maintainer": (202, 202),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
# `/sync-runs/{id}/` shows the runs one may start: others get the 404 of a missing run.
READ_RUN_AT_TOP_LEVEL: Table = {
    "sysadmin": (200, 200),
    "padmin": (200, 200),
    "maintainer": (200, 200),
    "developer": (404, 404),
    "guest": (404, 404),
    "limited": (404, 404),
    "outsider": (404, 404),
    "anonymous": (401, 401),
}


def _run_in(world: World, project: str) -> int:
    return SyncRun.objects.create(
        scope=SyncRun.Scope.PROJECT, project=world.private if project == "acme" else world.public
    ).pk


def _digest(content: dict[str, RepoRows], project: str) -> str:
    return content[project].image.digest


@dataclass
class Endpoint:
    name: str
    method: str
    path: Callable[[World, dict[str, RepoRows], str], str]
    table: Table
    body: dict[str, Any] | Callable[[str], dict[str, Any]] = field(default_factory=dict)


READ_ENDPOINTS = [
    Endpoint("list repositories", "GET", lambda w, c, p: f"/api/v1/projects/{p}/repositories/", VIEW_REPOSITORIES),
    Endpoint("retrieve repository", "GET", lambda w, c, p: f"/api/v1/repositories/{p}/app/", VIEW_REPOSITORIES),
    Endpoint(
        "retrieve nested repository", "GET", lambda w, c, p: f"/api/v1/repositories/{p}/team/app/sub/",
        VIEW_REPOSITORIES,
    ),
    Endpoint("list tags", "GET", lambda w, c, p: f"/api/v1/repositories/{p}/app/-/tags/", VIEW_REPOSITORIES),
    Endpoint("retrieve tag", "GET", lambda w, c, p: f"/api/v1/repositories/{p}/app/-/tags/v1/", VIEW_REPOSITORIES),
    Endpoint(
        "list artifacts", "GET", lambda w, c, p: f"/api/v1/repositories/{p}/app/-/artifacts/", VIEW_REPOSITORIES
    ),
    Endpoint(
        "retrieve artifact",
        "GET",
        lambda w, c, p: f"/api/v1/repositories/{p}/app/-/artifacts/{_digest(c, p)}/",
        VIEW_REPOSITORIES,
    ),
    Endpoint(
        "read manifest",
        "GET",
        lambda w, c, p: f"/api/v1/repositories/{p}/app/-/artifacts/{_digest(c, p)}/manifest/",
        VIEW_REPOSITORIES,
    ),
    Endpoint("list project sync runs", "GET", lambda w, c, p: f"/api/v1/projects/{p}/sync-runs/", VIEW_REPOSITORIES),
    Endpoint(
        "retrieve project sync run",
        "GET",
        lambda w, c, p: f"/api/v1/projects/{p}/sync-runs/{_run_in(w, p)}/",
        VIEW_REPOSITORIES,
    ),
    Endpoint(
        "retrieve sync run", "GET", lambda w, c, p: f"/api/v1/sync-runs/{_run_in(w, p)}/", READ_RUN_AT_TOP_LEVEL
    ),
    Endpoint(
        "sync project", "POST", lambda w, c, p: "/api/v1/sync-runs/", SYNC, lambda p: {"scope": "project", "project": p}
    ),
    Endpoint(
        "sync repository",
        "POST",
        lambda w, c, p: "/api/v1/sync-runs/",
        SYNC,
        lambda p: {"scope": "repository", "repository": f"{p}/team/app/sub"},
    ),
]

DELETE_ENDPOINTS = [
    Endpoint("delete tag", "DELETE", lambda w, c, p: f"/api/v1/repositories/{p}/app/-/tags/v1/", DELETE_ARTIFACT),
    Endpoint(
        "bulk delete tags",
        "POST",
        lambda w, c, p: f"/api/v1/repositories/{p}/app/-/tags/bulk-delete/",
        BULK_DELETE,
        {"tags": ["v1", "multi"]},
    ),
    Endpoint(
        "delete artifact",
        "DELETE",
        lambda w, c, p: f"/api/v1/repositories/{p}/app/-/artifacts/{_digest(c, p)}/",
        DELETE_ARTIFACT,
    ),
]


def test_every_table_covers_every_persona() -> None:
    for endpoint in READ_ENDPOINTS + DELETE_ENDPOINTS:
        assert set(endpoint.table) == set(PERSONAS), endpoint.name


def _call(endpoint: Endpoint, persona: str, project: str, world: World, content: Any, api: Any) -> Any:
    body = endpoint.body(project) if callable(endpoint.body) else endpoint.body
    return api(persona).request(endpoint.method, endpoint.path(world, content, project), body or None)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize("endpoint", READ_ENDPOINTS, ids=lambda e: e.name.replace(" ", "_"))
def test_read_and_sync_endpoint_status(
    endpoint: Endpoint, persona: str, project: str, world: World, content: Any, api: Any
) -> None:
    expected = endpoint.table[row_of(persona)][0 if project == "acme" else 1]

    response = _call(endpoint, persona, project, world, content, api)

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response["Content-Type"] == "application/json"
        assert "detail" in response.json()


@pytest.mark.slow
@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize("endpoint", DELETE_ENDPOINTS, ids=lambda e: e.name.replace(" ", "_"))
def test_delete_endpoint_status(
    endpoint: Endpoint,
    persona: str,
    project: str,
    world: World,
    content: Any,
    api: Any,
    wharf_shared_registry: Any,
) -> None:
    expected = endpoint.table[row_of(persona)][0 if project == "acme" else 1]
    rows: RepoRows = content[project]

    response = _call(endpoint, persona, project, world, content, api)

    assert response.status_code == expected, response.content
    tag_left = Tag.objects.filter(repository=rows.app, name="v1").exists()
    image_left = Artifact.objects.filter(pk=rows.image.pk).exists()
    if expected < 400:
        assert not tag_left
        assert image_left == (endpoint.name != "delete artifact")
    else:
        assert tag_left and image_left
        assert response["Content-Type"] == "application/json"
        assert "detail" in response.json()


# persona: status, for endpoints outside any project
ANY_USER: dict[str, int] = {
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 200,
    "developer": 200,
    "guest": 200,
    "limited": 200,
    "outsider": 200,
    "anonymous": 401,
}
SYSADMIN_ONLY_TRIGGER: dict[str, int] = {
    "sysadmin": 202,
    "padmin": 403,
    "maintainer": 403,
    "developer": 403,
    "guest": 403,
    "limited": 403,
    "outsider": 403,
    "anonymous": 401,
}


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_anyone_signed_in_may_list_sync_runs(persona: str, world: World, api: Any) -> None:
    response = api(persona).get("/api/v1/sync-runs/")

    assert response.status_code == ANY_USER[row_of(persona)], response.content


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_system_admins_may_sync_the_whole_registry(persona: str, world: World, api: Any) -> None:
    response = api(persona).post("/api/v1/sync-runs/", {"scope": "registry"})

    assert response.status_code == SYSADMIN_ONLY_TRIGGER[row_of(persona)], response.content
    assert SyncRun.objects.filter(scope=SyncRun.Scope.REGISTRY).exists() == (persona == "sysadmin")


def test_repository_of_a_hidden_project_is_the_same_404_as_a_missing_one(content: Any, api: Any) -> None:
    hidden = api("outsider").get("/api/v1/repositories/acme/app/")
    missing = api("outsider").get("/api/v1/repositories/acme/nope/")

    assert hidden.status_code == missing.status_code == 404
    assert body_without_request_id(hidden) == body_without_request_id(missing)


@pytest.mark.parametrize(
    "suffix", ["-/tags/", "-/tags/v1/", "-/artifacts/", "-/artifacts/sha256:" + "0" * 64 + "/"]
)
def test_sub_resources_of_a_hidden_repository_are_404(suffix: str, content: Any, api: Any) -> None:
    hidden = api("outsider").get(f"/api/v1/repositories/acme/app/{suffix}")
    missing = api("outsider").get(f"/api/v1/repositories/acme/nope/{suffix}")

    assert hidden.status_code == missing.status_code == 404
    assert body_without_request_id(hidden) == body_without_request_id(missing)


def test_outsider_sees_only_runs_of_projects_where_they_may_sync(world: World, api: Any) -> None:
    SyncRun.objects.create(scope=SyncRun.Scope.REGISTRY)
    acme = SyncRun.objects.create(scope=SyncRun.Scope.PROJECT, project=world.private)
    pub = SyncRun.objects.create(scope=SyncRun.Scope.REPOSITORY, project=world.public, repository_name="pub/app")

    def ids(persona: str) -> set[int]:
        return {run["id"] for run in api(persona).get("/api/v1/sync-runs/").json()["results"]}

    assert len(ids("sysadmin")) == 3
    assert ids("maintainer") == ids("padmin") == {acme.pk, pub.pk}
    assert ids("developer") == ids("guest") == ids("limited") == ids("outsider") == set()
    assert [r["id"] for r in api("limited").get("/api/v1/projects/pub/sync-runs/").json()["results"]] == [pub.pk]
