"""The permission matrix of the retention endpoints: each persona against the private
project `acme` and the public project `pub`.

The expected statuses are written out by hand from the role table in
`accounts/permissions.py` (not computed from it), so a change to the table or to an
endpoint's permission shows up here. Nothing here needs the registry: the restore
case uses an entry that was restored already, so an allowed caller gets the 409 that
comes before any registry call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from repositories.models import (
    ImmutableRule,
    Project,
    RecycleBinEntry,
    RetentionPolicy,
    RetentionRun,
    RetentionRunItem,
)
from repositories.services import retention
from tests.conftest import MATRIX_PERSONAS, PERSONAS, World, row_of
from tests.retention_runs.helpers import ACTOR, immutable, rows, rule
from tests.support.shared_rows import fresh, shared

# persona: (status on private `acme`, status on public `pub`)
Table = dict[str, tuple[int, int]]

VIEW_RETENTION: Table = {
    "sysadmin": (200, 200),
    "padmin": (200, 200),
    "maintainer": (200, 200),
    "developer": (200, 200),
    "guest": (200, 200),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
PROJECT_ADMIN_ONLY: Table = {  # MANAGE_RETENTION, MANAGE_IMMUTABLE
    "sysadmin": (200, 200),
    "padmin": (200, 200),
    "maintainer": (403, 403),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
START_RUN: Table = {  # RUN_RETENTION
    "sysadmin": (202, 202),
    "padmin": (202, 202),
    "maintainer": (202, 202),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
STOP_RUN: Table = {  # RUN_RETENTION
    "sysadmin": (200, 200),
    "padmin": (200, 200),
    "maintainer": (200, 200),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
# DELETE_ARTIFACT; allowed callers reach the restore and get its 409 ("undone already").
RESTORE: Table = {
    "sysadmin": (409, 409),
    "padmin": (409, 409),
    "maintainer": (409, 409),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}

POLICY = {"enabled": True, "schedule": "0 3 * * *", "allow_empty_repository": False, "rules": [rule(n=1)]}
IMMUTABLE = {"revert_protected_overwrites": True, "rules": [immutable(tags=["release-*"])]}


def _project(name: str) -> Project:
    return Project.objects.get(name=name)


def _run(project: str, status: str = RetentionRun.Status.SUCCEEDED) -> int:
    run = RetentionRun.objects.create(project=_project(project), status=status, policy=POLICY)
    RetentionRunItem.objects.create(
        run=run,
        repository_name=f"{project}/app",
        digest="sha256:" + "a" * 64,
        action="delete",
        outcome="deleted",
    )
    return run.pk


def _entry(project: str, *, restored: bool = False) -> int:
    return RecycleBinEntry.objects.create(
        project=_project(project),
        repository_name=f"{project}/app",
        digest="sha256:" + "b" * 64,
        media_type="application/vnd.oci.image.manifest.v1+json",
        manifest=b"{}",
        tags={"v1": timezone.now().isoformat()},
        source=RecycleBinEntry.Source.MANUAL,
        restored_at=timezone.now() if restored else None,
    ).pk


def _policy_state(project: str) -> Any:
    return list(RetentionPolicy.objects.filter(project__name=project).values_list("enabled", "schedule"))


def _immutable_state(project: str) -> Any:
    return list(ImmutableRule.objects.filter(project__name=project).values_list("tag_include", flat=True))


def _runs_state(project: str) -> Any:
    return list(RetentionRun.objects.filter(project__name=project).values_list("status", "trigger"))


@dataclass
class Endpoint:
    name: str
    method: str
    path: Callable[[str], str]
    table: Table
    body: dict[str, Any] = field(default_factory=dict)
    state: Callable[[str], Any] | None = None
    """What the call changes when allowed; a refused call must leave it as it was."""


BASE = "/api/v1/projects"
ENDPOINTS = [
    Endpoint("read policy", "GET", lambda p: f"{BASE}/{p}/retention-policy/", VIEW_RETENTION),
    Endpoint(
        "replace policy",
        "PUT",
        lambda p: f"{BASE}/{p}/retention-policy/",
        PROJECT_ADMIN_ONLY,
        POLICY,
        _policy_state,
    ),
    Endpoint(
        "preview policy",
        "POST",
        lambda p: f"{BASE}/{p}/retention-policy/preview/",
        PROJECT_ADMIN_ONLY,
        POLICY,
    ),
    Endpoint("read immutable rules", "GET", lambda p: f"{BASE}/{p}/immutable-rules/", VIEW_RETENTION),
    Endpoint(
        "replace immutable rules",
        "PUT",
        lambda p: f"{BASE}/{p}/immutable-rules/",
        PROJECT_ADMIN_ONLY,
        IMMUTABLE,
        _immutable_state,
    ),
    Endpoint("list runs", "GET", lambda p: f"{BASE}/{p}/retention-runs/", VIEW_RETENTION),
    Endpoint("read run", "GET", lambda p: f"{BASE}/{p}/retention-runs/{_run(p)}/", VIEW_RETENTION),
    Endpoint(
        "list run items", "GET", lambda p: f"{BASE}/{p}/retention-runs/{_run(p)}/items/", VIEW_RETENTION
    ),
    Endpoint(
        "start run",
        "POST",
        lambda p: f"{BASE}/{p}/retention-runs/",
        START_RUN,
        {"dry_run": True},
        _runs_state,
    ),
    Endpoint(
        "stop run",
        "POST",
        lambda p: f"{BASE}/{p}/retention-runs/{_run(p, RetentionRun.Status.QUEUED)}/stop/",
        STOP_RUN,
        state=_runs_state,
    ),
    Endpoint("list recycle bin", "GET", lambda p: f"{BASE}/{p}/recycle-bin/", VIEW_RETENTION),
    Endpoint(
        "read recycle bin entry", "GET", lambda p: f"{BASE}/{p}/recycle-bin/{_entry(p)}/", VIEW_RETENTION
    ),
    Endpoint(
        "restore", "POST", lambda p: f"{BASE}/{p}/recycle-bin/{_entry(p, restored=True)}/restore/", RESTORE
    ),
]


@pytest.fixture(scope="module")
def _module_policies(module_rows: Any, _module_world: World | None) -> bool | None:
    return shared(module_rows, "policies", lambda: _save_policies(_module_world)) if _module_world else None


@pytest.fixture
def policies(world: World, _module_policies: bool | None) -> None:
    """A saved policy and some rows in both projects, so every allowed call succeeds
    (made once per module when it can be: tests/support/shared_rows.py)."""
    fresh(_module_policies, lambda: _save_policies(world))


def _save_policies(world: World) -> bool:
    for project in (world.private, world.public):
        rows(project, "app", {"v1": 5, "v2": 1})
        retention.save_policy(
            project, ACTOR, enabled=False, schedule="", allow_empty_repository=False, rules=[rule()]
        )
    return True


def test_every_table_covers_every_persona() -> None:
    for endpoint in ENDPOINTS:
        assert set(endpoint.table) == set(PERSONAS), endpoint.name


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name.replace(" ", "_"))
def test_retention_endpoint_status(
    endpoint: Endpoint, persona: str, project: str, world: World, policies: None, api: Any
) -> None:
    expected = endpoint.table[row_of(persona)][0 if project == "acme" else 1]
    path = endpoint.path(project)
    before = endpoint.state(project) if endpoint.state else None

    response = api(persona).request(endpoint.method, path, endpoint.body or None)

    assert response.status_code == expected, response.content
    assert response["Content-Type"] == "application/json"
    if expected >= 400:
        assert "detail" in response.json()
    if endpoint.state is not None:
        changed = endpoint.state(project) != before
        assert changed == (expected < 400), (before, endpoint.state(project))


def test_a_run_of_another_project_is_a_404(world: World, policies: None, api: Any) -> None:
    run = _run("pub")
    entry = _entry("pub")

    assert api("padmin").get(f"{BASE}/acme/retention-runs/{run}/").status_code == 404
    assert api("padmin").get(f"{BASE}/acme/retention-runs/{run}/items/").status_code == 404
    assert api("padmin").post(f"{BASE}/acme/recycle-bin/{entry}/restore/").status_code == 404
