"""The client against the real Distribution 2.8 binary (see docs/registry.md)."""

from __future__ import annotations

import httpx
import pytest

from repositories.registry.errors import RegistryError, RegistryUnavailable
from repositories.registry.manifests import (
    DOCKER_CONFIG,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    parse_image_config,
)
from tests.support.images import build_artifact, build_image, build_index, push
from tests.support.registry import RegistryFactory, RegistryServer, unique_repo

pytestmark = pytest.mark.slow


def test_ping_answers_on_the_real_registry(registry: RegistryServer) -> None:
    with registry.client() as client:
        client.ping()
        assert client.request_count == 1


def test_catalog_of_30_repositories_is_read_in_pages_of_7_via_relative_links(
    registry_factory: RegistryFactory,
) -> None:
    server = registry_factory()
    client = server.client()
    image = build_image()
    names = sorted(f"proj{i % 3}/app{i:02d}" for i in range(30))
    for name in names:
        push(client, name, image, "v1")
    first_page = httpx.get(f"{server.url}/v2/_catalog?n=7")
    assert first_page.headers["Link"].startswith("</v2/_catalog?")  # relative, as 2.8 sends it

    before = client.request_count
    assert client.catalog(page_size=7) == names
    assert client.request_count - before == 5  # 7 + 7 + 7 + 7 + 2


def test_tags_are_returned_sorted(registry: RegistryServer) -> None:
    client = registry.client()
    repo = unique_repo()
    image = build_image()
    for tag in ["v10", "latest", "b", "v2", "a", "1.0"]:
        push(client, repo, image, tag)
    assert client.tags(repo) == ["1.0", "a", "b", "latest", "v10", "v2"]


def test_tags_of_an_unknown_repository_is_a_permanent_name_unknown(registry: RegistryServer) -> None:
    with pytest.raises(RegistryError) as caught:
        registry.client().tags(unique_repo())
    assert (caught.value.status, caught.value.code, caught.value.transient) == (404, "NAME_UNKNOWN", False)


def test_oci_index_with_two_platforms_is_parsed_with_children_and_their_configs(
    registry: RegistryServer,
) -> None:
    client = registry.client()
    repo = unique_repo()
    amd64 = build_image(labels={"arch": "amd64"})
    arm64 = build_image(architecture="arm64", variant="v8", labels={"arch": "arm64"})
    index = build_index([amd64, arm64], annotations={"org.opencontainers.image.version": "1.2"})
    assert push(client, repo, index, "multi") == index.digest

    manifest = client.get_manifest(repo, "multi")
    assert (manifest.kind, manifest.media_type, manifest.digest) == ("index", OCI_INDEX, index.digest)
    assert [str(child.platform) for child in manifest.children] == ["linux/amd64", "linux/arm64/v8"]
    assert manifest.annotations == {"org.opencontainers.image.version": "1.2"}

    child = client.get_manifest(repo, manifest.children[1].digest)
    assert child.kind == "image" and child.config is not None
    config = parse_image_config(client.get_blob(repo, child.config.digest))
    assert str(config.platform) == "linux/arm64/v8"
    assert config.labels == {"arch": "arm64"}
    assert config.history[0].created_by.startswith("/bin/sh -c")


def test_docker_v2_manifest_and_manifest_list_are_parsed(registry: RegistryServer) -> None:
    client = registry.client()
    repo = unique_repo()
    image = build_image(fmt="docker", layers=2, env=("LANG=C.UTF-8",))
    listing = build_index([image, build_image(fmt="docker", architecture="arm64")], fmt="docker")
    push(client, repo, image, "single")
    push(client, repo, listing, "list")

    single = client.get_manifest(repo, "single")
    assert (single.kind, single.media_type) == ("image", DOCKER_MANIFEST)
    assert single.config is not None and single.config.media_type == DOCKER_CONFIG
    assert len(single.layers) == 2
    assert parse_image_config(client.get_blob(repo, single.config.digest)).env == ("LANG=C.UTF-8",)
    multi = client.get_manifest(repo, "list")
    assert (multi.kind, multi.media_type) == ("index", DOCKER_MANIFEST_LIST)
    assert [child.platform.architecture for child in multi.children if child.platform] == ["amd64", "arm64"]


def test_artifact_with_artifact_type_and_subject_is_stored_and_read_back(registry: RegistryServer) -> None:
    client = registry.client()
    repo = unique_repo()
    image = build_image()
    push(client, repo, image, "v1")
    sbom = build_artifact("application/spdx+json", b'{"spdxVersion":"SPDX-2.3"}', subject=image)
    # The referrers tag schema: how referrers are found on a registry without the referrers API.
    push(client, repo, sbom, image.digest.replace(":", "-"))

    manifest = client.get_manifest(repo, sbom.digest)
    assert manifest.media_type == OCI_MANIFEST
    assert manifest.artifact_type == "application/spdx+json"
    assert manifest.subject is not None
    assert (manifest.subject.digest, manifest.subject.size) == (image.digest, image.size)


def test_head_manifest_gives_the_digest_or_none(registry: RegistryServer) -> None:
    client = registry.client()
    repo = unique_repo()
    image = build_image()
    push(client, repo, image, "v1")
    assert client.head_manifest(repo, "v1") == image.digest
    assert client.head_manifest(repo, "nope") is None


def test_layers_stream_digest_verified_and_blob_existence_is_reported(registry: RegistryServer) -> None:
    client = registry.client()
    repo = unique_repo()
    image = build_image(layers=2)
    push(client, repo, image, "v1")
    layer = image.layers[1]
    assert client.blob_exists(repo, layer.digest)
    assert not client.blob_exists(repo, "sha256:" + "0" * 64)
    with client.open_blob(repo, layer.digest) as stream:
        assert b"".join(stream.iter_bytes()) == layer.data
        assert stream.verified


def test_registry_itself_refuses_manifests_above_4_mib(registry: RegistryServer) -> None:
    """Distribution 2.8 caps manifest PUTs, so the client's own read cap is tested on a fake."""
    client = registry.client()
    repo = unique_repo()
    image = build_image()
    push(client, repo, image, "v1")
    big = image.json
    big["annotations"] = {"padding": "x" * (4 * 1024 * 1024 + 1)}
    body = httpx.Request("PUT", "/", json=big).content
    with pytest.raises(RegistryError) as caught:
        client.put_manifest(repo, "big", body, OCI_MANIFEST)
    assert (caught.value.status, caught.value.code, caught.value.transient) == (
        400,
        "MANIFEST_INVALID",
        False,
    )


def test_delete_manifest_removes_every_tag_and_putting_its_bytes_back_restores_them(
    registry: RegistryServer,
) -> None:
    client = registry.client()
    repo = unique_repo()
    image = build_image()
    push(client, repo, image, "v1")
    push(client, repo, image, "v2")
    push(client, repo, build_image(), "other")
    kept = client.get_manifest(repo, "v1")

    assert client.delete_manifest(repo, image.digest) is True
    assert client.tags(repo) == ["other"]
    assert client.delete_manifest(repo, image.digest, missing_ok=True) is False

    # Undo until garbage collection: the blobs are still there.
    assert client.put_manifest(repo, "v1", kept.raw, kept.media_type) == image.digest
    assert client.get_blob(repo, image.config.digest) == image.config.data


def test_delete_tag_on_2_8_falls_back_to_a_tombstone_once_and_remembers(registry: RegistryServer) -> None:
    client = registry.client()
    repo = unique_repo()
    image = build_image()
    for tag in ("a", "b", "c"):
        push(client, repo, image, tag)

    client.delete_tag(repo, "a")
    assert client.delete_by_tag_supported is False
    before = client.request_count
    client.delete_tag(repo, "b")
    # GET the original, HEAD the empty blob (already there), PUT the tombstone, DELETE it:
    # no DELETE by tag was tried again.
    assert client.request_count - before == 4
    assert client.tags(repo) == ["c"]
    assert client.head_manifest(repo, "c") == image.digest


def test_stopped_registry_raises_a_transient_error_and_recovers_after_restart(
    registry_factory: RegistryFactory,
) -> None:
    server = registry_factory()
    client = server.client(max_retries=1)
    repo = unique_repo()
    push(client, repo, build_image(), "v1")

    server.stop()
    with pytest.raises(RegistryUnavailable) as caught:
        client.tags(repo)
    assert caught.value.transient is True
    assert caught.value.status is None

    server.start()
    assert client.tags(repo) == ["v1"]


def test_registry_stopping_between_catalog_pages_fails_the_listing_instead_of_truncating_it(
    registry_factory: RegistryFactory,
) -> None:
    server = registry_factory()
    client = server.client(max_retries=1)
    image = build_image()
    for i in range(6):
        push(client, f"team/app{i}", image, "v1")

    pages = client.iter_catalog(page_size=2)
    assert [next(pages), next(pages)] == ["team/app0", "team/app1"]
    server.stop()
    with pytest.raises(RegistryUnavailable):
        list(pages)
