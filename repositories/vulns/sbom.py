"""CycloneDX 1.6 SBOMs of scanned images, written as plain JSON.

One SBOM per artifact (per platform for an index): the image as the metadata
component (`pkg:oci/...@<digest>`), its operating system, and one component per
package with its package URL (`pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64
&distro=debian-12&upstream=openssl`, `pkg:apk/alpine/...`, `pkg:pypi/...`,
`pkg:npm/...`) and, as properties, the layer that introduced it and the file it was
read from.

The document is built from dicts rather than with `cyclonedx-python-lib`: the
library's sorted sets of rich objects took 2.6 s for 2,800 packages, half of a whole
scan (benchmarks/scan_bench.py prints both). The output is what the library wrote,
order included (components by type, name, version and bom-ref; dependencies by ref),
so documents stored before and after compare equal; the tests check that against the
library and the official JSON schema. Package URLs are encoded here, the way
`packageurl-python` encodes them, for the same reason.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any
from urllib.parse import quote

from .inventory import Inventory, Package
from .inventory.osrelease import Distro
from .inventory.packages import APK, CARGO, COMPOSER, DEB, GEM, GOLANG, MAVEN, NPM, NUGET, PYPI, RPM

SPEC_VERSION = "1.6"
SCHEMA_URL = "http://cyclonedx.org/schema/bom-1.6.schema.json"
# Property names in Wharf's own namespace (CycloneDX allows any; see its property taxonomy).
LAYER_PROPERTY = "wharf:layer:digest"
PATH_PROPERTY = "wharf:package:path"
SOURCE_PROPERTY = "wharf:package:source"
NOTE_PROPERTY = "wharf:package:note"

# purl types whose names are case-insensitive, hence lowercased (purl-spec, as
# packageurl-python applies it), and those whose namespaces are.
_LOWERCASE_NAME = frozenset({APK, NPM, PYPI, COMPOSER, "oci"})
_LOWERCASE_NAMESPACE = frozenset({APK, PYPI, COMPOSER})


# purl-spec's rpm namespaces are vendors; os-release IDs name most of them already.
_RPM_NAMESPACES = {
    "rhel": "redhat",
    "sles": "suse",
    "opensuse-leap": "opensuse",
    "opensuse-tumbleweed": "opensuse",
}


def _quote(text: str) -> str:
    # Percent-encode all but unreserved characters, "/" and ":" (as packageurl-python does).
    return quote(text, safe="/:")


def purl(
    type: str,
    name: str,
    version: str = "",
    *,
    namespace: str = "",
    qualifiers: dict[str, str] | None = None,
) -> str:
    """A canonical package URL string.

    Normalised and encoded the way `packageurl-python`'s `PackageURL(...).to_string()`
    does, byte for byte: names of case-insensitive types lowercased (after encoding,
    so `libstdc++` becomes `libstdc%2b%2b`), PyPI's `_` as `-`, empty qualifiers
    dropped and the rest sorted by key, `@` and `+` encoded, `/` and `:` kept.
    """
    name = name.strip().strip("/")
    if type == PYPI:
        name = name.replace("_", "-")
    # Lowercased before encoding (so `É` is encoded as `é`) and after (the hex digits too).
    lowercase = type in _LOWERCASE_NAME
    name = _quote(name.lower() if lowercase else name).strip("/")
    if lowercase:
        name = name.lower()
    parts = ["pkg:", type, "/"]
    namespace = namespace.strip().strip("/")
    if namespace:
        if type in _LOWERCASE_NAMESPACE:
            namespace = namespace.lower()
        segments = [_quote(segment) for segment in namespace.split("/") if segment.strip()]
        if segments:
            parts += ("/".join(segments), "/")
    parts.append(name)
    version = version.strip()
    if version:
        parts += ("@", _quote(version.lower()).lower() if type == "oci" else _quote(version))
    if qualifiers:
        pairs = sorted(
            (key.strip().lower(), _quote(value))
            for key, value in qualifiers.items()
            if key.strip() and value.strip()
        )
        if pairs:
            parts += ("?", "&".join(f"{key}={value}" for key, value in pairs))
    return "".join(parts)


def purl_for(package: Package, distro: Distro | None = None) -> str:
    """The package URL of one inventoried package (purl-spec types deb, apk, rpm, pypi, npm,
    golang, cargo, maven, gem, composer, nuget)."""
    if package.kind == RPM:
        qualifiers = {"arch": package.arch, "epoch": package.epoch}
        if distro is not None and distro.version_id:
            qualifiers["distro"] = f"{distro.id}-{distro.version_id}"
        if package.source_name and package.source_name != package.name:
            qualifiers["upstream"] = package.source_name
        version = (
            package.version.partition(":")[2] if package.epoch and ":" in package.version else package.version
        )
        namespace = _RPM_NAMESPACES.get(distro.id, distro.id) if distro else ""
        return purl(RPM, package.name, version, namespace=namespace, qualifiers=qualifiers)
    if package.kind in (DEB, APK):
        qualifiers = {"arch": package.arch} if package.arch else {}
        if distro is not None and distro.version_id:
            qualifiers["distro"] = f"{distro.id}-{distro.version_id}"
        if package.source_name and package.source_name != package.name:
            upstream = package.source_name
            if package.source_version and package.source_version != package.version:
                upstream += f"@{package.source_version}"
            qualifiers["upstream"] = upstream
        namespace = distro.id if distro else ("debian" if package.kind == DEB else "alpine")
        return purl(package.kind, package.name, package.version, namespace=namespace, qualifiers=qualifiers)
    if package.kind == NPM and package.name.startswith("@") and "/" in package.name:
        scope, _, name = package.name.partition("/")
        return purl(NPM, name, package.version, namespace=scope)
    if package.kind in (PYPI, NPM, CARGO, GEM, NUGET):
        return purl(package.kind, package.name, package.version)
    if package.kind == MAVEN:
        artifact = package.name.split(":", 1)[-1]
        return purl(MAVEN, artifact, package.version, namespace=package.namespace)
    if package.kind in (GOLANG, COMPOSER):
        # A Go module path or a Composer `vendor/package`: all but the last segment is the namespace.
        namespace, _, name = package.name.rpartition("/")
        return purl(package.kind, name, package.version, namespace=namespace)
    return purl("generic", package.name, package.version)


def _image_component(name: str, digest: str) -> dict[str, Any]:
    short_name = name.rstrip("/").rsplit("/", 1)[-1] or name
    qualifiers = {"repository_url": name} if name != short_name else {}
    ref = purl("oci", short_name, digest, qualifiers=qualifiers)
    component: dict[str, Any] = {"type": "container", "bom-ref": ref, "name": name}
    if digest:
        component["version"] = digest
    component["purl"] = ref
    return component


def _os_component(distro: Distro) -> dict[str, Any]:
    component: dict[str, Any] = {
        "type": "operating-system",
        "bom-ref": f"os:{distro.id}@{distro.version_id}",
        "name": distro.id,
    }
    if distro.version_id:
        component["version"] = distro.version_id
    if distro.pretty_name:
        component["description"] = distro.pretty_name
    return component


def _package_component(package: Package, bom_ref: str, package_url: str) -> dict[str, Any]:
    # Properties in (name, value) order, the order the library sorted them in.
    properties = [{"name": LAYER_PROPERTY, "value": package.layer}] if package.layer else []
    if package.path:
        properties.append({"name": PATH_PROPERTY, "value": package.path})
    if package.note:
        properties.append({"name": NOTE_PROPERTY, "value": package.note})
    if package.kind in (DEB, RPM) and package.source_name:
        properties.append(
            {"name": SOURCE_PROPERTY, "value": f"{package.source_name} {package.source_version}"}
        )
    properties.sort(key=lambda p: (p["name"], p["value"]))
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": bom_ref,
        "name": package.name,
        "version": package.version,
        "purl": package_url,
    }
    if properties:
        component["properties"] = properties
    return component


def serial_number_for(image_ref: str, timestamp: dt.datetime) -> uuid.UUID:
    """A serial number derived from the image and the document's time: unique per
    generated SBOM, as CycloneDX asks, yet the same inputs give the same bytes."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{image_ref}#{timestamp.isoformat()}")


def build_sbom(
    inventory: Inventory,
    *,
    image_name: str,
    image_digest: str,
    serial_number: uuid.UUID | None = None,
    timestamp: dt.datetime | None = None,
) -> dict[str, Any]:
    """The CycloneDX 1.6 document of an image's inventory, as JSON-ready dicts.

    `timestamp` defaults to now (a naive one is taken as UTC); `serial_number` to
    `serial_number_for(the image's purl, timestamp)`, so passing a timestamp makes
    the output reproducible.
    """
    when = timestamp or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    root = _image_component(image_name, image_digest)
    distro = inventory.distro
    os_component = _os_component(distro) if distro is not None else None
    seen: set[str] = {os_component["bom-ref"]} if os_component else set()
    packages: list[dict[str, Any]] = []
    for package in inventory.packages:
        package_url = purl_for(package, distro)
        bom_ref = package_url
        if bom_ref in seen:  # e.g. `PyYAML` and `pyyaml` at two paths: one purl
            bom_ref = f"{bom_ref}#{package.path}"
            if bom_ref in seen:
                continue
        seen.add(bom_ref)
        packages.append(_package_component(package, bom_ref, package_url))
    # The library's order: by type ("library" before "operating-system"), name, version, bom-ref.
    packages.sort(key=lambda c: (c["name"], c["version"], c["bom-ref"]))
    components = [*packages, os_component] if os_component else packages
    refs = sorted(seen)
    root_dependency: dict[str, Any] = {"ref": root["bom-ref"]}
    if refs:
        root_dependency["dependsOn"] = refs
    dependencies = [{"ref": ref} for ref in refs]
    dependencies.append(root_dependency)
    dependencies.sort(key=lambda d: d["ref"])
    document: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{serial_number or serial_number_for(root['bom-ref'], when)}",
        "version": 1,
        "metadata": {"timestamp": when.isoformat(), "component": root},
    }
    if components:
        document["components"] = components
    document["dependencies"] = dependencies
    return document


def sbom_json(
    inventory: Inventory,
    *,
    image_name: str,
    image_digest: str,
    serial_number: uuid.UUID | None = None,
    timestamp: dt.datetime | None = None,
) -> str:
    """`build_sbom(...)` as compact JSON text."""
    document = build_sbom(
        inventory,
        image_name=image_name,
        image_digest=image_digest,
        serial_number=serial_number,
        timestamp=timestamp,
    )
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


__all__ = [
    "LAYER_PROPERTY",
    "PATH_PROPERTY",
    "SOURCE_PROPERTY",
    "SPEC_VERSION",
    "build_sbom",
    "purl",
    "purl_for",
    "sbom_json",
    "serial_number_for",
]
