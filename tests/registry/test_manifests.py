from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from repositories.registry.errors import InvalidContent
from repositories.registry.manifests import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    parse_image_config,
    parse_manifest,
)
from tests.support.images import build_artifact, build_image, build_index

D = "sha256:" + "a" * 64


def parse(payload: object, media_type: str | None = None) -> Manifest:
    return parse_manifest(json.dumps(payload).encode(), digest=D, media_type=media_type)


def test_docker_manifest_list_children_carry_their_platforms() -> None:
    index = build_index(
        [build_image(fmt="docker"), build_image(fmt="docker", architecture="arm", variant="v7")], fmt="docker"
    )
    manifest = parse_manifest(index.raw, digest=index.digest, media_type=DOCKER_MANIFEST_LIST)
    assert manifest.kind == "index"
    assert [str(child.platform) for child in manifest.children] == ["linux/amd64", "linux/arm/v7"]
    assert manifest.config is None and manifest.layers == ()


def test_docker_v2_image_manifest_lists_config_and_layers() -> None:
    image = build_image(fmt="docker", layers=2)
    manifest = parse_manifest(image.raw, digest=image.digest, media_type=DOCKER_MANIFEST)
    assert (manifest.kind, manifest.media_type) == ("image", DOCKER_MANIFEST)
    assert manifest.config is not None and manifest.config.digest == image.config.digest
    assert [layer.size for layer in manifest.layers] == [blob.size for blob in image.layers]
    assert manifest.content_size == image.size + sum(blob.size for blob in image.blobs)
    assert manifest.effective_artifact_type is None


def test_artifact_type_and_subject_are_read() -> None:
    subject = build_image()
    artifact = build_artifact("application/vnd.dev.sbom+json", subject=subject, annotations={"k": "v"})
    manifest = parse_manifest(artifact.raw, digest=artifact.digest, media_type=OCI_MANIFEST)
    assert manifest.artifact_type == manifest.effective_artifact_type == "application/vnd.dev.sbom+json"
    assert manifest.subject is not None and manifest.subject.digest == subject.digest
    assert manifest.annotations == {"k": "v"}


def test_config_media_type_counts_as_artifact_type_when_it_is_not_an_image_config() -> None:
    manifest = parse(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": D, "size": 1},
            "layers": [],
        }
    )
    assert manifest.effective_artifact_type == "application/vnd.cncf.helm.config.v1+json"


def test_kind_is_inferred_from_shape_when_no_media_type_is_given() -> None:
    assert parse({"schemaVersion": 2, "manifests": []}, "application/json").kind == "index"
    untyped = parse({"schemaVersion": 2, "config": {"digest": D, "size": 2}, "layers": []})
    assert (untyped.kind, untyped.media_type) == ("image", OCI_MANIFEST)


def test_body_media_type_wins_over_a_generic_content_type() -> None:
    assert parse({"mediaType": OCI_INDEX, "manifests": []}, "application/json").kind == "index"


def test_unknown_fields_are_ignored_and_unknown_media_types_are_kind_unknown() -> None:
    manifest = parse({"schemaVersion": 1, "mediaType": "application/x-weird", "future": {"x": [1]}})
    assert manifest.kind == "unknown"


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        ([], "not a JSON object"),
        ({"layers": "nope"}, "manifest.layers must be a list"),
        ({"layers": [{"digest": D, "size": "12"}]}, "manifest.layers[0].size must be a non-negative integer"),
        ({"layers": [{"digest": D, "size": True}]}, "manifest.layers[0].size"),
        ({"layers": [{"digest": D, "size": -1}]}, "manifest.layers[0].size"),
        ({"layers": [{"digest": "../../etc", "size": 1}]}, "manifest.layers[0].digest is not a valid digest"),
        ({"layers": [{"size": 1}]}, "manifest.layers[0].digest is missing"),
        ({"config": "x"}, "manifest.config must be an object"),
        ({"annotations": {"a": 1}}, "manifest.annotations['a'] must be a string"),
        (
            {"manifests": [{"digest": D, "size": 1, "platform": []}]},
            "manifests[0].platform must be an object",
        ),
        (
            {"subject": {"digest": D, "size": 1, "mediaType": 7}},
            "manifest.subject.mediaType must be a string",
        ),
    ],
)
def test_hostile_manifests_raise_a_clear_invalid_content_error(payload: object, complaint: str) -> None:
    with pytest.raises(InvalidContent) as caught:
        parse(payload)
    assert complaint in caught.value.message
    assert caught.value.transient is False


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"null", b'"string"'])
def test_non_json_manifest_bytes_raise_invalid_content(raw: bytes) -> None:
    with pytest.raises(InvalidContent):
        parse_manifest(raw, digest=D)


def test_image_config_fields_are_read() -> None:
    image = build_image(
        labels={"org.opencontainers.image.source": "https://example.test/app"},
        env=("A=1", "B=2"),
        entrypoint=("/entry",),
        cmd=("serve", "--port=8080"),
        working_dir="/srv",
        exposed_ports=("8080/tcp", "53/udp"),
        architecture="arm64",
        variant="v8",
        layers=2,
    )
    config = parse_image_config(image.config.data)
    assert config.created == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert str(config.platform) == "linux/arm64/v8"
    assert config.env == ("A=1", "B=2")
    assert config.entrypoint == ("/entry",)
    assert config.cmd == ("serve", "--port=8080")
    assert config.working_dir == "/srv"
    assert config.exposed_ports == ("53/udp", "8080/tcp")
    assert config.labels == {"org.opencontainers.image.source": "https://example.test/app"}
    assert [entry.empty_layer for entry in config.history] == [False, False, True]
    assert config.history[-1].created_by == '/bin/sh -c #(nop)  CMD ["/bin/sh"]'
    assert len(config.diff_ids) == 2


def test_image_config_tolerates_missing_sections_and_junk_dates() -> None:
    config = parse_image_config(b'{"architecture":"amd64","os":"linux","created":"yesterday","config":null}')
    assert config.created is None
    assert config.env == () and config.cmd is None and config.labels == {}


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        ({"config": {"Env": "A=1"}}, None),  # a bare string is accepted as a one-item list
        ({"config": {"Env": [1]}}, "config.config.Env must be a list of strings"),
        ({"config": {"Labels": ["a"]}}, "config.config.Labels must be an object"),
        ({"config": {"Labels": {"a": None}}}, "config.config.Labels['a'] must be a string"),
        ({"history": [1]}, "config.history[0] must be an object"),
        ({"history": [{"created_by": 5}]}, "config.history[0].created_by must be a string"),
        ({"os": ["linux"]}, "config.os must be a string"),
    ],
)
def test_hostile_image_configs_raise_a_clear_error(payload: object, complaint: str | None) -> None:
    raw = json.dumps(payload).encode()
    if complaint is None:
        assert parse_image_config(raw).env == ("A=1",)
        return
    with pytest.raises(InvalidContent) as caught:
        parse_image_config(raw)
    assert complaint in caught.value.message
