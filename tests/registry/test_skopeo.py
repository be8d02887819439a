"""A real client (skopeo) on the other side: what it pushes we read; what we delete it misses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import skopeo
from tests.support.images import build_image, build_index, push, write_oci_layout
from tests.support.registry import RegistryServer, unique_repo

pytestmark = pytest.mark.slow


def test_skopeo_push_from_an_oci_layout_is_read_back_by_the_client(
    registry: RegistryServer, tmp_path: Path
) -> None:
    repo = unique_repo()
    image = build_image(labels={"built.by": "test"})
    index = build_index([build_image(), build_image(architecture="arm64")])
    layout = write_oci_layout(tmp_path / "layout", {"v1": image, "multi": index})

    skopeo.copy_from_layout(layout, "v1", registry, f"{repo}:v1")
    skopeo.copy_from_layout(layout, "multi", registry, f"{repo}:multi")

    client = registry.client()
    assert client.tags(repo) == ["multi", "v1"]
    assert client.get_manifest(repo, "v1").digest == image.digest
    read_index = client.get_manifest(repo, "multi")
    assert read_index.kind == "index"
    assert [child.digest for child in read_index.children] == [child.digest for child in index.children]


def test_deleting_one_of_two_tags_on_a_digest_leaves_the_other_pullable(
    registry: RegistryServer, tmp_path: Path
) -> None:
    client = registry.client()
    repo = unique_repo()
    image = build_image()
    push(client, repo, image, "v2")
    push(client, repo, image, "v3")

    client.delete_tag(repo, "v2")

    assert client.tags(repo) == ["v3"]
    assert skopeo.inspect(registry, f"{repo}:v2") is None
    survivor = skopeo.inspect(registry, f"{repo}:v3")
    assert survivor is not None and survivor["Digest"] == image.digest
    skopeo.pull_to_dir(registry, f"{repo}:v3", tmp_path / "pulled")
    assert (
        tmp_path / "pulled" / image.layers[0].digest.removeprefix("sha256:")
    ).read_bytes() == image.layers[0].data
