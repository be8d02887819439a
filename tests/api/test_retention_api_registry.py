"""Retention through the API against the real registry: a run deletes exactly what its
policy says, the recycle bin puts it back, and refused restores say why."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from audit.models import AuditAction, AuditEvent
from repositories.models import RecycleBinEntry, Tag
from tests.conftest import World
from tests.retention_runs.helpers import rule, seed
from tests.support.images import build_image, push
from tests.support.registry import REGISTRY_BINARY, RegistryServer

pytestmark = pytest.mark.slow

BASE = "/api/v1/projects/acme"


def run_policy(api: Any, capture: Any, *, dry_run: bool) -> dict[str, Any]:
    """Start a run through the API; its task runs inline once the request commits."""
    with capture(execute=True):
        started = api("maintainer").post(f"{BASE}/retention-runs/", {"dry_run": dry_run})
    assert started.status_code == 202, started.content
    return api("guest").get(f"{BASE}/retention-runs/{started.json()['id']}/").json()


@pytest.fixture
def deleted_v1_v2(
    world: World, wharf_registry: RegistryServer, api: Any, django_capture_on_commit_callbacks: Any
) -> dict[str, Any]:
    """`acme/app` with v1..v3 (v3 newest); a policy keeping the newest one, run for real."""
    seed(wharf_registry, "acme/app", {"v1": 3, "v2": 2, "v3": 1})
    saved = api("padmin").request("PUT", f"{BASE}/retention-policy/", {"enabled": True, "rules": [rule(n=1)]})
    assert saved.status_code == 200, saved.content
    dry = run_policy(api, django_capture_on_commit_callbacks, dry_run=True)
    real = run_policy(api, django_capture_on_commit_callbacks, dry_run=False)
    return {"dry": dry, "real": real}


def test_a_run_started_through_the_api_deletes_exactly_what_its_dry_run_listed(
    deleted_v1_v2: dict[str, Any], wharf_registry: RegistryServer, api: Any
) -> None:
    dry, real = deleted_v1_v2["dry"], deleted_v1_v2["real"]

    assert (dry["status"], dry["artifacts_planned"], dry["artifacts_deleted"]) == ("succeeded", 2, 0)
    assert (real["status"], real["artifacts_deleted"], real["tags_deleted"]) == ("succeeded", 2, 2)
    assert wharf_registry.client().tags("acme/app") == ["v3"]

    def deleted(run: dict[str, Any]) -> set[tuple[str, ...]]:
        items = api("guest").get(f"{BASE}/retention-runs/{run['id']}/items/", {"action": "delete"}).json()
        return {(i["digest"], *i["tags"]) for i in items["results"]}

    assert deleted(dry) == deleted(real) and len(deleted(real)) == 2
    outcomes = api("guest").get(f"{BASE}/retention-runs/{real['id']}/items/", {"outcome": "deleted"}).json()
    assert outcomes["count"] == 2


def test_a_deleted_artifact_is_restored_through_the_api(
    deleted_v1_v2: dict[str, Any], wharf_registry: RegistryServer, api: Any
) -> None:
    listed = api("guest").get(f"{BASE}/recycle-bin/").json()["results"]
    assert sorted(e["tags"][0] for e in listed) == ["v1", "v2"]
    v1 = next(e for e in listed if e["tags"] == ["v1"])
    assert (v1["source"], v1["run"], v1["restored_at"]) == ("retention", deleted_v1_v2["real"]["id"], None)

    response = api("maintainer").post(f"{BASE}/recycle-bin/{v1['id']}/restore/")

    assert response.status_code == 200, response.content
    assert response.json()["restored_by"] == "maintainer" and response.json()["restored_at"]
    assert wharf_registry.client().tags("acme/app") == ["v1", "v3"]
    assert wharf_registry.client().head_manifest("acme/app", "v1") == v1["digest"]
    assert Tag.objects.get(repository__name="acme/app", name="v1").artifact.digest == v1["digest"]
    event = AuditEvent.objects.get(action=AuditAction.RECYCLE_RESTORE)
    assert (event.actor_name, event.target_name) == ("maintainer", f"acme/app@{v1['digest']}")
    again = api("maintainer").post(f"{BASE}/recycle-bin/{v1['id']}/restore/")
    assert again.status_code == 409 and again.json()["code"] == "restored"


def test_a_restore_after_garbage_collection_is_a_409_saying_the_layers_are_gone(
    deleted_v1_v2: dict[str, Any], wharf_registry: RegistryServer, api: Any
) -> None:
    entry = RecycleBinEntry.objects.get(tags__has_key="v1")
    wharf_registry.stop()
    subprocess.run(
        [REGISTRY_BINARY, "garbage-collect", str(wharf_registry.config_path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    wharf_registry.start()

    response = api("padmin").post(f"{BASE}/recycle-bin/{entry.pk}/restore/")

    assert response.status_code == 409
    assert response.json()["code"] == "garbage_collected"
    assert "garbage collection has removed its layers; it cannot be restored" in response.json()["detail"]
    entry.refresh_from_db()
    assert entry.restored_at is None
    assert wharf_registry.client().tags("acme/app") == ["v3"]


def test_a_restore_never_moves_a_tag_pushed_since_and_says_so(
    deleted_v1_v2: dict[str, Any], wharf_registry: RegistryServer, api: Any
) -> None:
    entry = RecycleBinEntry.objects.get(tags__has_key="v1")
    newer = push(wharf_registry.client(), "acme/app", build_image(), tag="v1")

    response = api("padmin").post(f"{BASE}/recycle-bin/{entry.pk}/restore/")

    assert response.status_code == 409
    assert response.json()["code"] == "tag_moved"
    assert "`v1` now point at another image" in response.json()["detail"]
    assert wharf_registry.client().head_manifest("acme/app", "v1") == newer


def test_a_restore_while_the_registry_is_down_is_a_503_and_changes_nothing(
    deleted_v1_v2: dict[str, Any], wharf_registry: RegistryServer, api: Any
) -> None:
    entry = RecycleBinEntry.objects.get(tags__has_key="v1")
    wharf_registry.stop()

    response = api("padmin").post(f"{BASE}/recycle-bin/{entry.pk}/restore/")

    assert response.status_code == 503, response.content
    assert "did not restore" in response.json()["detail"]
    entry.refresh_from_db()
    assert entry.restored_at is None
    assert not Tag.objects.filter(name="v1").exists()
