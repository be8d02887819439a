"""The image builder, re-exported for tests: it lives in `repositories.registry.builder`."""

from __future__ import annotations

from repositories.registry.builder import (
    DOCKER_LAYER,
    OCI_LAYER,
    Blob,
    BuiltManifest,
    Format,
    build_artifact,
    build_image,
    build_index,
    canonical_json,
    make_layer,
    push,
    sha256,
    write_oci_layout,
)
from repositories.registry.manifests import (
    DOCKER_CONFIG,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
)

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_MANIFEST",
    "Blob",
    "BuiltManifest",
    "Format",
    "build_artifact",
    "build_image",
    "build_index",
    "canonical_json",
    "make_layer",
    "push",
    "sha256",
    "write_oci_layout",
]
