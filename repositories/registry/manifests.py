"""Typed views of manifests and image configs, parsed from untrusted bytes.

Parsing is tolerant of fields we do not know (registries and tools add them all
the time) and strict about the types of fields we use: a `layers` that is not a
list or a `size` that is not an integer raises `InvalidContent` with the path of
the offending field, never a `KeyError` or `TypeError` from deep inside.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from repositories.registry.errors import InvalidContent

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
# Order matters only for humans reading logs; registries pick by what they store.
MANIFEST_MEDIA_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST)
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
IMAGE_MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
IMAGE_CONFIG_MEDIA_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

# Marks the throwaway manifest used to delete a single tag on registries that cannot
# delete by tag (see RegistryClient.delete_tag); sync code should ignore such manifests.
TOMBSTONE_ANNOTATION = "org.wharf.tombstone"

DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")

ManifestKind = Literal["index", "image", "unknown"]


@dataclass(frozen=True)
class Platform:
    """The platform of one child of an index (or of an image config)."""

    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True)
class Descriptor:
    """A pointer to content: config, layer, index child or subject."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    artifact_type: str | None = None
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest of any of the four supported media types.

    `raw` holds the exact bytes whose sha256 is `digest`: keep them to re-push the
    manifest later (undo of a delete) and to show it as-is.
    """

    digest: str
    media_type: str
    raw: bytes = field(repr=False)
    kind: ManifestKind
    schema_version: int | None = None
    artifact_type: str | None = None
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    subject: Descriptor | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def children(self) -> tuple[Descriptor, ...]:
        """The per-platform children of an index (empty for an image)."""
        return self.manifests

    @property
    def content_size(self) -> int:
        """Manifest + config + layers, as the registry stores them (an index counts only itself)."""
        total = self.size
        if self.config is not None:
            total += self.config.size
        return total + sum(layer.size for layer in self.layers)

    @property
    def effective_artifact_type(self) -> str | None:
        """OCI 1.1 rule: `artifactType`, else a config media type that is not an image config."""
        if self.artifact_type:
            return self.artifact_type
        if (
            self.kind == "image"
            and self.config is not None
            and self.config.media_type not in IMAGE_CONFIG_MEDIA_TYPES
        ):
            return self.config.media_type
        return None

    @property
    def is_tombstone(self) -> bool:
        return TOMBSTONE_ANNOTATION in self.annotations


@dataclass(frozen=True)
class HistoryEntry:
    """One step of an image's build history."""

    created: datetime | None
    created_by: str
    comment: str = ""
    author: str = ""
    empty_layer: bool = False


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an OCI / Docker image config that Wharf shows."""

    created: datetime | None
    os: str
    architecture: str
    variant: str | None = None
    author: str = ""
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    working_dir: str = ""
    user: str = ""
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    history: tuple[HistoryEntry, ...] = ()
    diff_ids: tuple[str, ...] = ()

    @property
    def platform(self) -> Platform:
        return Platform(os=self.os, architecture=self.architecture, variant=self.variant)


# --- small typed readers -------------------------------------------------------------


def _load_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidContent(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise InvalidContent(f"{what} is not a JSON object")
    return payload


def _obj(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidContent(f"{where}.{key} must be an object")
    return value


def _list(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidContent(f"{where}.{key} must be a list")
    return value


def _str(data: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidContent(f"{where}.{key} is missing")
        return None
    if not isinstance(value, str):
        raise InvalidContent(f"{where}.{key} must be a string")
    return value


def _req_str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _str(data, key, where, required=True)
    assert value is not None
    return value


def _str_map(data: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    value = _obj(data, key, where) or {}
    for k, v in value.items():
        if not isinstance(v, str):
            raise InvalidContent(f"{where}.{key}[{k!r}] must be a string")
    return dict(value)


def _str_tuple(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, str):  # Docker accepts a bare string for Cmd/Entrypoint in some tools
        return (value,)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidContent(f"{where}.{key} must be a list of strings")
    return tuple(value)


def _keys(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    return tuple(sorted((_obj(data, key, where) or {}).keys()))


def _timestamp(value: object) -> datetime | None:
    """RFC 3339 timestamps; junk becomes None (a bad date must not hide an artifact)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    # Go writes nanoseconds; Python's parser keeps at most microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _platform(data: Mapping[str, Any], where: str) -> Platform | None:
    raw = _obj(data, "platform", where)
    if raw is None:
        return None
    where = f"{where}.platform"
    return Platform(
        os=_str(raw, "os", where) or "",
        architecture=_str(raw, "architecture", where) or "",
        variant=_str(raw, "variant", where) or None,
        os_version=_str(raw, "os.version", where) or None,
    )


def parse_descriptor(data: object, where: str) -> Descriptor:
    """A content descriptor; digest syntax and a non-negative integer size are enforced."""
    if not isinstance(data, dict):
        raise InvalidContent(f"{where} must be an object")
    digest = _req_str(data, "digest", where)
    if not DIGEST_RE.match(digest):
        raise InvalidContent(f"{where}.digest is not a valid digest")
    size = data.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidContent(f"{where}.size must be a non-negative integer")
    urls = _str_tuple(data, "urls", where) or ()
    return Descriptor(
        media_type=_str(data, "mediaType", where) or "",
        digest=digest,
        size=size,
        annotations=_str_map(data, "annotations", where),
        platform=_platform(data, where),
        artifact_type=_str(data, "artifactType", where),
        urls=urls,
    )


def _kind(media_type: str, payload: Mapping[str, Any]) -> ManifestKind:
    if media_type in INDEX_MEDIA_TYPES:
        return "index"
    if media_type in IMAGE_MEDIA_TYPES:
        return "image"
    if not media_type:  # no type anywhere: infer from shape, as OCI allows
        if "manifests" in payload:
            return "index"
        if "config" in payload and "layers" in payload:
            return "image"
    return "unknown"


def parse_manifest(raw: bytes, *, digest: str, media_type: str | None = None) -> Manifest:
    """Parse manifest bytes; `media_type` is the response's Content-Type when known.

    The `mediaType` field in the body wins over a generic Content-Type
    (some registries answer ``application/json``); unknown types give kind "unknown"
    with the common fields still read.
    """
    payload = _load_object(raw, "manifest")
    where = "manifest"
    body_type = _str(payload, "mediaType", where)
    header_type = (media_type or "").split(";")[0].strip()
    if header_type in MANIFEST_MEDIA_TYPES:
        resolved = header_type
    else:
        resolved = body_type or ("" if header_type in ("", "application/json") else header_type)
    kind = _kind(resolved, payload)
    if not resolved:
        resolved = OCI_INDEX if kind == "index" else OCI_MANIFEST if kind == "image" else ""
    schema_version = payload.get("schemaVersion")
    if isinstance(schema_version, bool) or not isinstance(schema_version, int):
        schema_version = None
    config = _obj(payload, "config", where)
    subject = _obj(payload, "subject", where)
    return Manifest(
        digest=digest,
        media_type=resolved,
        raw=raw,
        kind=kind,
        schema_version=schema_version,
        artifact_type=_str(payload, "artifactType", where),
        config=parse_descriptor(config, f"{where}.config") if config is not None else None,
        layers=tuple(
            parse_descriptor(item, f"{where}.layers[{i}]")
            for i, item in enumerate(_list(payload, "layers", where))
        ),
        manifests=tuple(
            parse_descriptor(item, f"{where}.manifests[{i}]")
            for i, item in enumerate(_list(payload, "manifests", where))
        ),
        subject=parse_descriptor(subject, f"{where}.subject") if subject is not None else None,
        annotations=_str_map(payload, "annotations", where),
    )


def parse_image_config(raw: bytes) -> ImageConfig:
    """Parse an image config blob (OCI or Docker; both use the same field names)."""
    payload = _load_object(raw, "image config")
    where = "config"
    inner = _obj(payload, "config", where) or {}
    inner_where = "config.config"
    history: list[HistoryEntry] = []
    for i, item in enumerate(_list(payload, "history", where)):
        item_where = f"{where}.history[{i}]"
        if not isinstance(item, dict):
            raise InvalidContent(f"{item_where} must be an object")
        empty = item.get("empty_layer", False)
        history.append(
            HistoryEntry(
                created=_timestamp(item.get("created")),
                created_by=_str(item, "created_by", item_where) or "",
                comment=_str(item, "comment", item_where) or "",
                author=_str(item, "author", item_where) or "",
                empty_layer=empty is True,
            )
        )
    rootfs = _obj(payload, "rootfs", where) or {}
    return ImageConfig(
        created=_timestamp(payload.get("created")),
        os=_str(payload, "os", where) or "",
        architecture=_str(payload, "architecture", where) or "",
        variant=_str(payload, "variant", where) or None,
        author=_str(payload, "author", where) or "",
        env=_str_tuple(inner, "Env", inner_where) or (),
        entrypoint=_str_tuple(inner, "Entrypoint", inner_where),
        cmd=_str_tuple(inner, "Cmd", inner_where),
        working_dir=_str(inner, "WorkingDir", inner_where) or "",
        user=_str(inner, "User", inner_where) or "",
        exposed_ports=_keys(inner, "ExposedPorts", inner_where),
        volumes=_keys(inner, "Volumes", inner_where),
        labels=_str_map(inner, "Labels", inner_where),
        stop_signal=_str(inner, "StopSignal", inner_where) or "",
        history=tuple(history),
        diff_ids=_str_tuple(rootfs, "diff_ids", f"{where}.rootfs") or (),
    )
