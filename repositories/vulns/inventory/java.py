"""Java archives: jars, wars, ears (and nested ones, as in Spring Boot fat jars).

An archive is read once while its layer streams past (up to `ARCHIVE_CAP`), opened
as a zip in memory, and reduced to the Maven artifacts it holds:

- every `META-INF/maven/<group>/<artifact>/pom.properties` is one artifact
  (`groupId`, `artifactId`, `version`); a shaded jar holds several;
- an archive without any is identified from `META-INF/MANIFEST.MF`
  (`Implementation-Vendor-Id` or `Bundle-SymbolicName`'s prefix as the group,
  `Implementation-Title` or `Bundle-SymbolicName` as the artifact,
  `Implementation-Version`/`Bundle-Version`), else from its file name
  (`name-1.2.3.jar`). Such an identification is a guess, so the package carries the
  archive's SHA-1 in its note: Trivy and Syft look that digest up in Maven Central;
  Wharf scans offline and only records it.
- archives inside (`BOOT-INF/lib/*.jar`, `WEB-INF/lib/*.jar`, `lib/*.jar` of an
  ear, any `*.jar`/`*.war`/`*.ear` entry) are opened the same way, to
  `MAX_NESTING` levels, each at most `NESTED_CAP` bytes uncompressed and
  `NESTED_BUDGET` in all; the path names
  the chain (`app.jar!/BOOT-INF/lib/x.jar!/...`).

Packages are in the Maven ecosystem as `group:artifact`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from typing import IO, Any

from ..layers import KeptFile, MiB
from ..layers.reader import Reducer
from .packages import MAVEN, Package

MAVEN_ECOSYSTEM = "Maven"
ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".jpi", ".hpi", ".par", ".sar")
ARCHIVE_CAP = 256 * MiB
NESTED_CAP = 64 * MiB
MAX_NESTING = 5
MAX_ARTIFACTS = 10_000  # per top-level archive
# Uncompressed bytes of nested archives read for one top-level archive: bounds the
# time a hostile archive (many large nested entries) can cost; memory is bounded by
# NESTED_CAP per level, since only the chain being read is held.
NESTED_BUDGET = 1024 * MiB
_POM_PROPERTIES = re.compile(r"^META-INF/maven/[^/]+/[^/]+/pom\.properties$")
_FILE_NAME = re.compile(r"^(?P<name>.+?)-(?P<version>\d[\w.+-]*)$")


def is_candidate(path: str, mode: int, size: int) -> Reducer | None:
    """The reducer for a Java archive, None for every other file."""
    if size < 22 or size > ARCHIVE_CAP or not path.lower().endswith(ARCHIVE_SUFFIXES):
        return None
    return lambda handle, size: reduce_archive(handle, size, path)


def reduce_archive(handle: IO[bytes], size: int, path: str = "") -> bytes | None:
    """Read one archive; the artifacts in it (and in archives nested in it) as JSON."""
    data = handle.read(size)
    artifacts: list[dict[str, str]] = []
    _scan(data, "", artifacts, depth=1, file_name=path, budget=[NESTED_BUDGET])
    return json.dumps(artifacts, separators=(",", ":")).encode() if artifacts else None


def _properties(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    return values


def _manifest(text: str) -> dict[str, str]:
    """MANIFEST.MF main section; continuation lines (a leading space) are joined."""
    values: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line:
            break  # the main section ends at the first blank line
        if line.startswith(" ") and last:
            values[last] += line[1:]
            continue
        key, sep, value = line.partition(":")
        if sep:
            last = key.strip()
            values[last] = value.strip()
    return values


def _from_manifest(manifest: dict[str, str], file_name: str) -> tuple[str, str, str] | None:
    symbolic = manifest.get("Bundle-SymbolicName", "").split(";")[0].strip()
    version = manifest.get("Implementation-Version") or manifest.get("Bundle-Version") or ""
    artifact = manifest.get("Implementation-Title") or ""
    group = manifest.get("Implementation-Vendor-Id") or ""
    if symbolic:
        if not group and "." in symbolic:
            group = symbolic.rsplit(".", 1)[0]
        if not artifact or " " in artifact:
            artifact = symbolic.rsplit(".", 1)[-1]
    stem = file_name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    from_name = _FILE_NAME.match(stem)
    if from_name:
        artifact = artifact if artifact and " " not in artifact else from_name.group("name")
        version = version or from_name.group("version")
    if not artifact or not version:
        return None
    return group, artifact, version


def _scan(
    data: bytes,
    path: str,
    artifacts: list[dict[str, str]],
    depth: int,
    file_name: str = "",
    budget: list[int] | None = None,
) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        return
    with archive:
        found_pom = False
        manifest: dict[str, str] = {}
        nested: list[zipfile.ZipInfo] = []
        for info in archive.infolist():
            if len(artifacts) >= MAX_ARTIFACTS:
                return
            name = info.filename
            try:
                if _POM_PROPERTIES.match(name) and info.file_size <= 64 * 1024:
                    values = _properties(archive.read(info).decode("utf-8", "replace"))
                    group, artifact, version = (
                        values.get("groupId"),
                        values.get("artifactId"),
                        values.get("version"),
                    )
                    if group and artifact and version:
                        found_pom = True
                        artifacts.append(
                            {"group": group, "artifact": artifact, "version": version, "path": path}
                        )
                elif name == "META-INF/MANIFEST.MF" and info.file_size <= 1 * MiB:
                    manifest = _manifest(archive.read(info).decode("utf-8", "replace"))
                elif name.lower().endswith(ARCHIVE_SUFFIXES) and not info.is_dir():
                    nested.append(info)
            except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
                continue
        if not found_pom:
            identified = _from_manifest(manifest, path.rsplit("!/", 1)[-1] if path else file_name)
            if identified is not None:
                group, artifact, version = identified
                artifacts.append(
                    {
                        "group": group,
                        "artifact": artifact,
                        "version": version,
                        "path": path,
                        "sha1": hashlib.sha1(data, usedforsecurity=False).hexdigest(),
                    }
                )
        if depth >= MAX_NESTING:
            return
        remaining = budget if budget is not None else [NESTED_BUDGET]
        for info in nested:
            if info.file_size > NESTED_CAP or info.file_size > remaining[0]:
                continue
            remaining[0] -= info.file_size
            try:
                inner = archive.read(info)
            except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
                continue
            inner_path = f"{path}!/{info.filename}" if path else f"!/{info.filename}"
            _scan(inner, inner_path, artifacts, depth + 1, budget=remaining)


def packages_from(kept: KeptFile) -> list[Package]:
    """The Maven artifacts one archive's summary lists."""
    try:
        artifacts: Any = json.loads(kept.data)
    except ValueError:
        return []
    found: list[Package] = []
    for artifact in artifacts if isinstance(artifacts, list) else ():
        group, name, version = (
            artifact.get("group", ""),
            artifact.get("artifact", ""),
            artifact.get("version", ""),
        )
        if not name or not version:
            continue
        full = f"{group}:{name}" if group else name
        sha1 = artifact.get("sha1")
        found.append(
            Package(
                kind=MAVEN,
                name=full,
                version=version,
                source_name=full,
                source_version=version,
                ecosystem=MAVEN_ECOSYSTEM if group else None,
                layer=kept.layer,
                path=kept.path + artifact.get("path", ""),
                namespace=group,
                note=f"identified from its manifest or file name; sha1 {sha1}" if sha1 else "",
            )
        )
    return found
