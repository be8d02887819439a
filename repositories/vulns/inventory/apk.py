"""Alpine's apk database: `lib/apk/db/installed` (and apk-tools 3's `usr/lib/apk/db/installed`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ..layers import KeptFile
from .packages import APK, Package
from .stanzas import introducing_layers, text_of

APK_DATABASES = ("lib/apk/db/installed", "usr/lib/apk/db/installed")


def _records(text: str) -> Iterator[dict[str, str]]:
    """`X:value` lines, one package per blank-line-separated block; first value wins."""
    record: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if record:
                yield record
                record = {}
            continue
        if len(line) >= 2 and line[1] == ":":
            record.setdefault(line[0], line[2:].strip())
    if record:
        yield record


def _parse(data: bytes) -> Iterator[Package]:
    for record in _records(text_of(data)):
        name, version = record.get("P", ""), record.get("V", "")
        if not name or not version:
            continue
        yield Package(
            kind=APK,
            name=name,
            version=version,
            # Alpine's secdb and OSV records name the origin (source) package.
            source_name=record.get("o") or name,
            source_version=version,
            arch=record.get("A", ""),
        )


def packages_from(kept: KeptFile) -> list[Package]:
    """The installed packages of an apk database, each with its introducing layer."""
    layers = introducing_layers(kept, lambda data: (p.key for p in _parse(data)))
    return [replace(p, layer=layers.get(p.key, kept.layer), path=kept.path) for p in _parse(kept.data)]


def owned_python_metadata(data: bytes) -> set[str]:
    """The Python metadata (`*.dist-info`, `*.egg-info`) paths apk packages own.

    Each package's block lists its directories (`F:`) and, below each, its files
    (`R:`); a metadata directory is an `F:` line, an `.egg-info` file an `R:` one.
    """
    owned: set[str] = set()
    directory = ""
    for line in text_of(data).splitlines():
        if line.startswith("F:"):
            directory = line[2:].strip()
            if directory.endswith((".dist-info", ".egg-info")):
                owned.add(directory)
        elif line.startswith("R:") and line.endswith(".egg-info"):
            owned.add(f"{directory}/{line[2:].strip()}")
    return owned
