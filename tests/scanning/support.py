"""Helpers for the scanning tests: OSV fixtures on disk, images pushed to the real registry."""

from __future__ import annotations

import gzip
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from audit.context import Actor
from repositories.models import Artifact, Tag
from repositories.registry import RegistryClient
from repositories.registry.builder import (
    OCI_LAYER,
    Blob,
    BuiltManifest,
    build_image,
    build_index,
    push,
    sha256,
)
from repositories.services.osv_import import import_osv
from tests.vulns import images

MODIFIED = "2026-01-01T00:00:00Z"
ACTOR = Actor.system("tests")


def osv_records(advisories: Iterable[dict[str, Any]] = images.ADVISORIES) -> list[dict[str, Any]]:
    """The scanner's OSV fixtures (invented WHARF-TEST ids), each with a `modified` stamp."""
    return [{"modified": MODIFIED, **advisory} for advisory in advisories]


def write_directory(directory: Path, records: Iterable[dict[str, Any]]) -> Path:
    """One `<id>.json` per record, as osv.dev's per-ecosystem dumps are laid out."""
    directory.mkdir(parents=True, exist_ok=True)
    for record in records:
        (directory / f"{record['id']}.json").write_text(json.dumps(record))
    return directory


def write_zip(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    """An `all.zip` like osv.dev's: one `<id>.json` member per record."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return path


def load_fixture_database(tmp_path: Path) -> None:
    """Import the scanner's OSV fixtures, as an operator would with `import_osv`."""
    run = import_osv(write_directory(tmp_path / "osv", osv_records()), actor=ACTOR)
    assert run.status == "succeeded" and run.invalid == 0, run.errors


def image_of(blobs: list[bytes], *, architecture: str = "amd64", variant: str | None = None) -> BuiltManifest:
    """An OCI image whose layers are these gzipped tar blobs (from tests.vulns.tarballs)."""
    layer_blobs = [(Blob(OCI_LAYER, blob), sha256(gzip.decompress(blob))) for blob in blobs]
    return build_image(layer_blobs=layer_blobs, architecture=architecture, variant=variant)


def index_of(*manifests: BuiltManifest) -> BuiltManifest:
    return build_index(list(manifests))


def push_image(client: RegistryClient, repository: str, manifest: BuiltManifest, tag: str = "v1") -> str:
    return push(client, repository, manifest, tag=tag)


def artifact_at(repository: str, tag: str = "v1") -> Artifact:
    return (
        Tag.objects.select_related("artifact__repository__project")
        .get(repository__name=repository, name=tag)
        .artifact
    )


def found(report: Any) -> set[tuple[str, str]]:
    """(vulnerability id, package) of a report's findings."""
    return set(report.findings.values_list("vulnerability_id", "package"))
