"""Build tiny OCI and Docker v2 images in Python, push them, or write an OCI layout.

No Docker needed: a layer is a small tar.gz (random unless given its files), a
config is JSON with labels, env, cmd and history. Everything is plain bytes plus
digests, so callers push through `RegistryClient` or hand an OCI layout directory
to skopeo. Used by `manage.py seed_demo`, the sync benchmark and the tests (which
import it through `tests.support.images`).

Given the same inputs (fixed `created`, layers built from fixed files), every
builder returns byte-identical manifests, so pushing them again is a no-op.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import secrets
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from repositories.registry.client import RegistryClient
from repositories.registry.manifests import (
    DOCKER_CONFIG,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
)

Format = Literal["oci", "docker"]
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class Blob:
    """Content plus the media type it is referenced with."""

    media_type: str
    data: bytes
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return sha256(self.data)

    @property
    def size(self) -> int:
        return len(self.data)

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        out.update(extra)
        return out


@dataclass(frozen=True)
class BuiltManifest:
    """A manifest (image, artifact or index) with every blob and child it needs."""

    media_type: str
    raw: bytes
    blobs: tuple[Blob, ...] = ()
    children: tuple[BuiltManifest, ...] = ()
    platform: Mapping[str, str] | None = None

    @property
    def digest(self) -> str:
        return sha256(self.raw)

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.raw)
        return value

    def descriptor(self, *, with_platform: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if with_platform and self.platform:
            out["platform"] = dict(self.platform)
        return out

    @property
    def config(self) -> Blob:
        return self.blobs[0]

    @property
    def layers(self) -> tuple[Blob, ...]:
        return self.blobs[1:]


def make_layer(files: Mapping[str, bytes] | None = None, media_type: str = OCI_LAYER) -> tuple[Blob, str]:
    """A gzipped tar with `files` (default: one file of random bytes); returns (blob, diff_id)."""
    files = files or {"hello.txt": secrets.token_hex(16).encode()}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    uncompressed = raw.getvalue()
    compressed = gzip.compress(uncompressed, mtime=0)
    return Blob(media_type, compressed), sha256(uncompressed)


def build_image(
    *,
    fmt: Format = "oci",
    os: str = "linux",
    architecture: str = "amd64",
    variant: str | None = None,
    labels: Mapping[str, str] | None = None,
    env: Sequence[str] = ("PATH=/usr/local/bin:/usr/bin:/bin",),
    entrypoint: Sequence[str] | None = None,
    cmd: Sequence[str] = ("/bin/sh",),
    working_dir: str = "/app",
    exposed_ports: Sequence[str] = ("8080/tcp",),
    created: str = "2026-01-02T03:04:05.123456789Z",
    layers: int = 1,
    annotations: Mapping[str, str] | None = None,
    subject: BuiltManifest | None = None,
    artifact_type: str | None = None,
    layer_blobs: Sequence[tuple[Blob, str]] | None = None,
    history: Sequence[str] | None = None,
) -> BuiltManifest:
    """A runnable-looking image with `layers` random layers and a full config.

    `layer_blobs` (pairs from `make_layer`) replaces the random layers: the way to
    get reproducible digests, or to share layers between images. `history` gives
    the `created_by` lines: the first one per layer, any further ones as empty
    layers (metadata steps such as ENV or CMD).
    """
    layer_type = OCI_LAYER if fmt == "oci" else DOCKER_LAYER
    built = (
        list(layer_blobs)
        if layer_blobs is not None
        else [make_layer(media_type=layer_type) for _ in range(layers)]
    )
    lines = (
        list(history)
        if history is not None
        else [
            *(f"/bin/sh -c #(nop) ADD file:{i} in /" for i in range(len(built))),
            '/bin/sh -c #(nop)  CMD ["/bin/sh"]',
        ]
    )
    if len(lines) < len(built):
        raise ValueError("history needs one created_by line per layer")
    config_json: dict[str, Any] = {
        "created": created,
        "architecture": architecture,
        "os": os,
        "config": {
            "Env": list(env),
            "Cmd": list(cmd),
            "WorkingDir": working_dir,
            "ExposedPorts": {port: {} for port in exposed_ports},
            "Labels": dict(labels or {"org.opencontainers.image.title": "tiny"}),
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in built]},
        "history": [
            {"created": created, "created_by": line, "comment": "layer"}
            if i < len(built)
            else {"created": created, "created_by": line, "empty_layer": True}
            for i, line in enumerate(lines)
        ],
    }
    if entrypoint is not None:
        config_json["config"]["Entrypoint"] = list(entrypoint)
    if variant:
        config_json["variant"] = variant
    config = Blob(OCI_CONFIG if fmt == "oci" else DOCKER_CONFIG, canonical_json(config_json))
    media_type = OCI_MANIFEST if fmt == "oci" else DOCKER_MANIFEST
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.descriptor(),
        "layers": [blob.descriptor() for blob, _ in built],
    }
    if artifact_type:
        manifest["artifactType"] = artifact_type
    if subject is not None:
        manifest["subject"] = subject.descriptor()
    if annotations:
        manifest["annotations"] = dict(annotations)
    platform = {"os": os, "architecture": architecture, **({"variant": variant} if variant else {})}
    return BuiltManifest(
        media_type, canonical_json(manifest), blobs=(config, *(blob for blob, _ in built)), platform=platform
    )


def build_artifact(
    artifact_type: str,
    payload: bytes = b'{"hello":"artifact"}',
    *,
    payload_media_type: str = "application/json",
    subject: BuiltManifest | None = None,
    annotations: Mapping[str, str] | None = None,
) -> BuiltManifest:
    """An OCI 1.1 artifact: empty config, one payload layer, `artifactType`, optional `subject`."""
    empty = Blob(OCI_EMPTY, b"{}")
    layer = Blob(payload_media_type, payload)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": empty.descriptor(),
        "layers": [layer.descriptor()],
    }
    if subject is not None:
        manifest["subject"] = subject.descriptor()
    if annotations:
        manifest["annotations"] = dict(annotations)
    return BuiltManifest(OCI_MANIFEST, canonical_json(manifest), blobs=(empty, layer))


def build_index(
    images: Sequence[BuiltManifest], *, fmt: Format = "oci", annotations: Mapping[str, str] | None = None
) -> BuiltManifest:
    """An OCI image index (or Docker manifest list) over `images`, one entry per platform."""
    media_type = OCI_INDEX if fmt == "oci" else DOCKER_MANIFEST_LIST
    index: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [image.descriptor(with_platform=True) for image in images],
    }
    if annotations:
        index["annotations"] = dict(annotations)
    return BuiltManifest(media_type, canonical_json(index), children=tuple(images))


def push(client: RegistryClient, repository: str, manifest: BuiltManifest, tag: str | None = None) -> str:
    """Push children, blobs, then the manifest (under `tag`, or by digest); returns the digest."""
    for child in manifest.children:
        push(client, repository, child)
    for blob in manifest.blobs:
        client.upload_blob(repository, blob.data)
    return client.put_manifest(repository, tag or manifest.digest, manifest.raw, manifest.media_type)


def write_oci_layout(directory: Path, tagged: Mapping[str, BuiltManifest]) -> Path:
    """An OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) for `skopeo copy oci:DIR:TAG`."""
    blobs_dir = directory / "blobs" / "sha256"
    blobs_dir.mkdir(parents=True, exist_ok=True)

    def store(data: bytes) -> None:
        (blobs_dir / hashlib.sha256(data).hexdigest()).write_bytes(data)

    def store_manifest(manifest: BuiltManifest) -> None:
        for child in manifest.children:
            store_manifest(child)
        for blob in manifest.blobs:
            store(blob.data)
        store(manifest.raw)

    entries = []
    for tag, manifest in tagged.items():
        store_manifest(manifest)
        entry = manifest.descriptor()
        entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
        entries.append(entry)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (directory / "index.json").write_bytes(
        canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    )
    return directory
