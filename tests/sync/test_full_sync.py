"""Full reconcile against the real registry binary."""

from __future__ import annotations

import pytest

from audit.models import AuditAction, AuditEvent
from repositories.models import Artifact, Project, Repository, SyncRun, Tag
from repositories.registry.manifests import DOCKER_MANIFEST, OCI_INDEX
from repositories.services.registry import registry_client
from repositories.services.sync import sync_now
from tests.support.images import build_artifact, build_image, build_index, push

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_full_sync_of_30_repositories_with_small_catalog_pages(wharf_registry, settings) -> None:
    settings.WHARF_SYNC_PAGE_SIZE = 7
    client = wharf_registry.client()
    shared = build_image(labels={"app": "shared"})
    for i in range(30):
        push(client, f"team{i % 3}/app{i}", shared, tag="v1")
        push(client, f"team{i % 3}/app{i}", build_image(), tag="latest")
    run = sync_now()
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert (run.repositories_seen, run.tags_seen, run.tags_added) == (30, 60, 60)
    assert Repository.objects.count() == 30 and Tag.objects.count() == 60
    assert sorted(Project.objects.values_list("name", flat=True)) == ["team0", "team1", "team2"]
    assert not Project.objects.filter(is_public=True).exists(), "projects found by sync are private"
    assert AuditEvent.objects.filter(action=AuditAction.PROJECT_CREATE, details__source="registry").count() == 3
    repo = Repository.objects.get(name="team0/app0")
    assert (repo.tag_count, repo.artifact_count) == (2, 2) and repo.size > 0
    artifact = Tag.objects.get(repository=repo, name="v1").artifact
    assert artifact.labels == {"app": "shared"} and artifact.details_synced
    assert artifact.config["cmd"] == ["/bin/sh"] and artifact.config["exposed_ports"] == ["8080/tcp"]
    assert bytes(artifact.manifest) == shared.raw
    # Pages of 7: catalog needs 5 requests; then a tag list and 2 manifests + 2 configs per repository.
    assert run.requests == 5 + 30 * 5


def test_second_sync_of_unchanged_registry_reads_one_manifest_per_tag(wharf_registry) -> None:
    client = wharf_registry.client()
    for i in range(3):
        push(client, f"proj/app{i}", build_image(), tag="v1")
    sync_now()
    again = sync_now()
    assert again.status == SyncRun.Status.SUCCEEDED
    assert (again.artifacts_added, again.tags_added, again.tags_removed) == (0, 0, 0)
    assert again.requests == 1 + 3 * 2  # catalog, then per repository: tag list + one manifest


def test_sync_maps_single_component_names_to_the_default_project(wharf_registry) -> None:
    push(wharf_registry.client(), "alpine", build_image(), tag="3.20")
    sync_now()
    assert Repository.objects.get(name="alpine").project.name == "library"


def test_index_with_two_platforms_keeps_its_children(wharf_registry) -> None:
    amd = build_image(architecture="amd64")
    arm = build_image(architecture="arm64", variant="v8")
    index = build_index([amd, arm])
    push(wharf_registry.client(), "multi/app", index, tag="1.0")
    sync_now()
    parent = Tag.objects.get(name="1.0").artifact
    assert parent.kind == Artifact.Kind.INDEX and parent.media_type == OCI_INDEX
    children = {c.platform: c for c in parent.children.all()}
    assert set(children) == {"linux/amd64", "linux/arm64/v8"}
    assert children["linux/arm64/v8"].details_synced and children["linux/amd64"].config["cmd"] == ["/bin/sh"]
    assert parent.size == len(index.raw) + sum(c.size for c in children.values())
    assert Repository.objects.get(name="multi/app").artifact_count == 1, "children are not counted on their own"


def test_docker_v2_manifest_and_artifact_with_subject(wharf_registry) -> None:
    client = wharf_registry.client()
    image = build_image(fmt="docker")
    push(client, "mixed/app", image, tag="docker")
    sbom = build_artifact("application/vnd.example.sbom+json", subject=image)
    push(client, "mixed/app", sbom, tag="sbom")
    sync_now()
    docker = Tag.objects.get(name="docker").artifact
    assert docker.media_type == DOCKER_MANIFEST and docker.kind == Artifact.Kind.IMAGE
    referrer = Tag.objects.get(name="sbom").artifact
    assert referrer.subject_digest == image.digest
    assert referrer.artifact_type == "application/vnd.example.sbom+json" and referrer.kind == Artifact.Kind.OTHER


def test_sync_removes_only_what_a_complete_listing_says_is_gone(wharf_registry) -> None:
    client = wharf_registry.client()
    image = build_image()
    push(client, "proj/app", image, tag="keep")
    push(client, "proj/app", image, tag="drop")
    sync_now()
    client.delete_tag("proj/app", "drop")
    run = sync_now()
    assert run.tags_removed == 1
    assert list(Tag.objects.values_list("name", flat=True)) == ["keep"]


def test_registry_stopped_mid_sync_fails_the_run_and_removes_nothing(wharf_registry, monkeypatch) -> None:
    client = wharf_registry.client()
    for i in range(6):
        push(client, f"proj/app{i}", build_image(), tag="v1")
    sync_now()
    before = (Repository.objects.count(), Tag.objects.count(), Artifact.objects.count())
    for i in range(6):  # new content the second sync would add, to see it stop part-way
        push(client, f"proj/app{i}", build_image(), tag="v2")

    wharf = registry_client()
    real_get = wharf.get_manifest
    calls = {"n": 0}

    def get_then_die(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            wharf_registry.stop()
        return real_get(*args, **kwargs)

    monkeypatch.setattr(wharf, "get_manifest", get_then_die)
    run = sync_now()
    assert run.status == SyncRun.Status.FAILED
    assert "could not be reached" in run.message and run.errors
    after = (Repository.objects.count(), Tag.objects.count(), Artifact.objects.count())
    assert after[0] == before[0] and after[1] >= before[1] and after[2] >= before[2]
    assert Tag.objects.filter(name="v1").count() == 6, "no row was removed"


def test_registry_down_gives_a_failed_run_with_a_clear_message(wharf_registry) -> None:
    wharf_registry.stop()
    run = sync_now()
    assert run.status == SyncRun.Status.FAILED
    assert wharf_registry.url in run.message
    assert run.finished_at is not None


def test_oversized_manifest_marks_that_artifact_and_syncs_the_rest(wharf_registry, settings, monkeypatch) -> None:
    client = wharf_registry.client()
    push(client, "proj/big", build_image(annotations={"pad": "x" * 5000}), tag="big")
    push(client, "proj/small", build_image(), tag="small")
    import repositories.registry.client as client_module

    monkeypatch.setattr(client_module, "MAX_MANIFEST_SIZE", 4096)
    wharf = registry_client()
    real_get = wharf.get_manifest
    monkeypatch.setattr(wharf, "get_manifest", lambda repo, ref, **kw: real_get(repo, ref, max_size=4096))
    run = sync_now()
    assert run.status == SyncRun.Status.SUCCEEDED
    big = Tag.objects.get(name="big").artifact
    assert "4096" in big.error or "too large" in big.error.lower()
    assert not big.details_synced
    assert Tag.objects.get(name="small").artifact.details_synced


def test_concurrent_request_returns_the_pending_run(db) -> None:
    from audit.context import Actor
    from repositories.services.sync import request_sync

    first, created = request_sync(actor=Actor.system())
    second, created_again = request_sync(actor=Actor.system())
    assert created and not created_again and first.pk == second.pk


def test_index_size_counts_children_that_were_already_known(wharf_registry) -> None:
    client = wharf_registry.client()
    amd, arm = build_image(architecture="amd64"), build_image(architecture="arm64")
    push(client, "multi/app", amd, tag="amd")
    sync_now()
    index = build_index([amd, arm])
    push(client, "multi/app", index, tag="1.0")
    sync_now()
    parent = Tag.objects.get(name="1.0").artifact
    children = list(parent.children.all())
    assert len(children) == 2 and all(c.size > 0 for c in children)
    assert parent.size == len(index.raw) + sum(c.size for c in children)
