"""Dedup-aware storage usage over what a real sync stored: shared layers count once in
the unique size, and "would free" counts only blobs nothing else references."""

from __future__ import annotations

import pytest

from repositories.models import Artifact, ArtifactBlob, Project, Repository
from repositories.services.sync import sync_now
from repositories.services.usage import (
    Freed,
    backfill_blobs,
    project_usage,
    repository_summary,
    repository_usage,
    repository_would_free,
    would_free,
)
from tests.support.images import BuiltManifest, build_image, build_index, make_layer, push

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def _blobs(image: BuiltManifest) -> dict[str, int]:
    return {image.digest: len(image.raw), **{blob.digest: blob.size for blob in image.blobs}}


@pytest.fixture
def shared(wharf_registry):
    """team/a holds img1 [base, a1] and img2 [base, a2]; team/b holds img3 [base, b1];
    other/c holds img4 [a2]: `base` is shared across repositories, `a2` across projects."""
    base, a1, a2, b1 = (make_layer() for _ in range(4))
    images = {
        "img1": build_image(layer_blobs=[base, a1], labels={"n": "1"}),
        "img2": build_image(layer_blobs=[base, a2], labels={"n": "2"}),
        "img3": build_image(layer_blobs=[base, b1], labels={"n": "3"}),
        "img4": build_image(layer_blobs=[a2], history=["add a2", "cmd"], labels={"n": "4"}),
    }
    client = wharf_registry.client()
    push(client, "team/a", images["img1"], tag="v1")
    push(client, "team/a", images["img2"], tag="v2")
    push(client, "team/b", images["img3"], tag="v1")
    push(client, "other/c", images["img4"], tag="v1")
    assert sync_now().status == "succeeded"
    return images, {"base": base[0], "a1": a1[0], "a2": a2[0], "b1": b1[0]}


def _artifact(image: BuiltManifest) -> int:
    return Artifact.objects.get(digest=image.digest).pk


def test_sync_stores_manifest_config_and_layers_as_blob_rows(shared) -> None:
    images, _ = shared
    rows = dict(ArtifactBlob.objects.filter(artifact_id=_artifact(images["img1"])).values_list("digest", "size"))
    assert rows == _blobs(images["img1"])


def test_shared_layers_count_once_in_unique_size(shared) -> None:
    images, layers = shared
    repo_a = Repository.objects.get(name="team/a")
    usage = repository_usage(repo_a)
    logical = sum(_blobs(images["img1"]).values()) + sum(_blobs(images["img2"]).values())
    assert usage.logical_size == logical == repo_a.size
    assert usage.unique_size == logical - layers["base"].size < usage.logical_size
    assert usage.shared_size == layers["base"].size

    team = project_usage(Project.objects.get(name="team"))
    team_logical = logical + sum(_blobs(images["img3"]).values())
    assert team.logical_size == team_logical
    assert team.unique_size == team_logical - 2 * layers["base"].size
    assert team.blob_count == len(_blobs(images["img1"]) | _blobs(images["img2"]) | _blobs(images["img3"]))


@pytest.mark.parametrize("big_set", [False, True], ids=["small set", "big-set plan"])
def test_would_free_counts_only_blobs_nothing_else_references(shared, big_set, monkeypatch) -> None:
    """Also through the plan settings a set of over 10,000 artifacts gets on PostgreSQL
    (forced here by lowering the threshold): the same answers."""
    if big_set:
        monkeypatch.setattr("repositories.services.usage._BIG_SET", 0)
    images, layers = shared
    m1, m2 = images["img1"], images["img2"]
    own1 = len(m1.raw) + m1.config.size + layers["a1"].size  # base is img2's and img3's too
    assert would_free([_artifact(m1)]) == Freed(size=own1, blob_count=3, artifact_count=1)
    own2 = len(m2.raw) + m2.config.size  # a2 is still other/c's
    assert would_free([_artifact(m2)]) == Freed(size=own2, blob_count=2, artifact_count=1)
    assert would_free([_artifact(m1), _artifact(m2)]).size == own1 + own2  # team/b keeps base
    repo_a = Repository.objects.get(name="team/a")
    assert repository_would_free(repo_a).size == own1 + own2
    usage, freed = repository_summary(repo_a)
    assert usage == repository_usage(repo_a) and (freed.size, freed.blob_count) == (own1 + own2, 5)
    everything = [_artifact(image) for image in images.values()]
    assert would_free(everything).size == sum(
        size for image in images.values() for size in _blobs(image).values()
    ) - layers["base"].size * 2 - layers["a2"].size  # each distinct blob once
    assert would_free([]) == Freed(size=0, blob_count=0, artifact_count=0)


def test_deleting_an_index_frees_its_children(wharf_registry) -> None:
    amd, arm = build_image(architecture="amd64"), build_image(architecture="arm64")
    index = build_index([amd, arm])
    push(wharf_registry.client(), "multi/app", index, tag="v1")
    assert sync_now().status == "succeeded"
    freed = would_free([_artifact(index)])
    expected = len(index.raw) + sum(sum(_blobs(child).values()) for child in (amd, arm))
    assert freed == Freed(size=expected, blob_count=1 + 2 * 3, artifact_count=3)
    assert repository_usage(Repository.objects.get(name="multi/app")).logical_size == expected


def test_backfill_fills_artifacts_stored_before_blob_rows(shared) -> None:
    before = sorted(ArtifactBlob.objects.values_list("artifact_id", "digest", "size", "kind"))
    ArtifactBlob.objects.all().delete()
    assert backfill_blobs(batch_size=2) == Artifact.objects.count()
    assert sorted(ArtifactBlob.objects.values_list("artifact_id", "digest", "size", "kind")) == before


def test_the_retention_advisor_frees_what_the_registry_would(shared) -> None:
    """The preview's advisor counts a blob as freed only when nothing kept anywhere uses it:
    `a2` stays with team/a although other/c's only image goes, `base` with team/b and img2."""
    from repositories.services import retention
    from repositories.services.retention_advisor import advice_for
    from tests.retention_runs.helpers import rule

    images, layers = shared

    def advice(project: str, rules: list[dict]) -> tuple[int, int, int]:
        data = {"enabled": False, "schedule": "", "allow_empty_repository": True, "rules": rules}
        evaluation = retention.preview(Project.objects.get(name=project), data)
        found = advice_for(Project.objects.get(name=project), evaluation)
        return found.bytes_freed, found.blobs_freed, found.deleted_artifacts

    m1, m4 = images["img1"], images["img4"]
    # team keeps the most recently pushed image of each repository: img1 goes (pushed first).
    from datetime import timedelta

    from repositories.models import Tag

    day_before = Artifact.objects.get(digest=images["img2"].digest).pushed_at - timedelta(days=1)
    Artifact.objects.filter(digest=m1.digest).update(pushed_at=day_before)
    Tag.objects.filter(artifact__digest=m1.digest).update(pushed_at=day_before)
    own1 = len(m1.raw) + m1.config.size + layers["a1"].size
    assert advice("team", [rule(n=1)]) == (own1, 3, 1)
    # other keeps nothing: img4 goes, but its only layer is img2's too.
    assert advice("other", [rule(n=1, tags=["nothing-*"])]) == (len(m4.raw) + m4.config.size, 2, 1)
    # team keeps nothing: everything of team goes; a2 is still other/c's.
    team = [images[name] for name in ("img1", "img2", "img3")]
    everything = sum(size for image in team for size in _blobs(image).values())
    assert advice("team", [rule(n=1, tags=["nothing-*"])]) == (
        everything - 2 * layers["base"].size - layers["a2"].size,
        len(set().union(*(_blobs(image) for image in team))) - 1,
        3,
    )
