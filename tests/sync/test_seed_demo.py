"""`manage.py seed_demo` against the real registry: sample images pushed and synced into Wharf."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from repositories.models import Artifact, Project, Repository, SyncRun, Tag
from repositories.registry.manifests import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from repositories.services.registry import reset_registry_client
from tests.support.registry import free_port

pytestmark = pytest.mark.django_db

EXPECTED_TAGS = {
    "library/alpine": {"3.19", "3.20", "latest"},
    "demo/web": {"v1.0.0", "v1.1.0", "v1.2.0", "latest"},
    "demo/api": {"v0.9.0", "v1.0.0", "latest"},
}


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _tag(repository: str, name: str) -> Tag:
    return Tag.objects.select_related("artifact").get(repository__name=repository, name=name)


@pytest.mark.slow
def test_seed_demo_pushes_sample_images_and_syncs_them_idempotently(wharf_registry) -> None:
    first = _seed()
    assert "pushed 11 tags in 3 repositories" in first
    assert "open http://127.0.0.1:8000/projects/demo/" in first

    snapshot = sorted(Artifact.objects.values_list("repository__name", "digest", "parent__digest"))
    second = _seed()
    assert "pushed 11 tags in 3 repositories" in second
    assert sorted(Artifact.objects.values_list("repository__name", "digest", "parent__digest")) == snapshot
    last_run = SyncRun.objects.latest("pk")
    assert last_run.status == SyncRun.Status.SUCCEEDED
    assert (last_run.artifacts_added, last_run.tags_added, last_run.tags_removed) == (0, 0, 0)
    assert SyncRun.objects.count() == 2

    assert set(Repository.objects.values_list("name", flat=True)) == set(EXPECTED_TAGS)
    for repository, names in EXPECTED_TAGS.items():
        plain = set(
            Tag.objects.filter(repository__name=repository)
            .exclude(name__endswith=".sbom")
            .values_list("name", flat=True)
        )
        assert plain == names, repository
    assert {p.name: p.is_public for p in Project.objects.all()} == {"demo": True, "library": True}

    assert _tag("library/alpine", "latest").artifact_id == _tag("library/alpine", "3.20").artifact_id
    assert _tag("library/alpine", "3.19").artifact_id != _tag("library/alpine", "3.20").artifact_id

    index = _tag("demo/web", "v1.2.0").artifact
    assert index.kind == Artifact.Kind.INDEX and index.media_type == OCI_INDEX
    assert _tag("demo/web", "latest").artifact_id == index.pk
    children = {child.platform: child for child in index.children.all()}
    assert set(children) == {"linux/amd64", "linux/arm64/v8"}
    assert all(child.details_synced for child in children.values())
    arm = children["linux/arm64/v8"]
    assert arm.labels["org.opencontainers.image.version"] == "1.2.0"
    assert arm.config["entrypoint"] == ["/usr/bin/python3", "-m", "http.server"]
    assert arm.config["exposed_ports"] == ["8080/tcp"] and "APP_VERSION=1.2.0" in arm.config["env"]
    assert "COPY app/ /app/ # buildkit" in [step["created_by"] for step in arm.config["history"]]
    assert arm.created is not None and arm.created.isoformat().startswith("2026-03-20T09:00:00")

    image = _tag("demo/web", "v1.1.0").artifact
    assert image.media_type == OCI_MANIFEST and image.labels["org.opencontainers.image.source"].startswith(
        "https://"
    )
    sbom = Artifact.objects.get(repository__name="demo/web", artifact_type="application/spdx+json")
    assert sbom.subject_digest == image.digest
    assert sbom.tags.get().name == image.digest.replace(":", "-") + ".sbom"

    api = _tag("demo/api", "v1.0.0").artifact
    assert api.media_type == DOCKER_MANIFEST and api.details_synced
    assert _tag("demo/api", "latest").artifact_id == api.pk


def test_seed_demo_says_clearly_when_the_registry_is_unreachable(settings) -> None:
    settings.REGISTRY_URL = f"http://127.0.0.1:{free_port()}"
    settings.REGISTRY_TIMEOUT = 1.0
    reset_registry_client()
    try:
        with pytest.raises(CommandError, match="cannot be reached"):
            call_command("seed_demo")
    finally:
        reset_registry_client()
    assert not Repository.objects.exists() and not Project.objects.exists()
