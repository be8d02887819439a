"""CycloneDX SBOMs of scanned images, written with `cyclonedx-python-lib`.

One SBOM per artifact (per platform for an index): the image as the metadata
component (`pkg:oci/...@<digest>`), its operating system, and one component per
package with its package URL (`pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64
&distro=debian-12&upstream=openssl`, `pkg:apk/alpine/...`, `pkg:pypi/...`,
`pkg:npm/...`) and, as properties, the layer that introduced it and the file it was
read from.
"""

from __future__ import annotations

import datetime as dt
import uuid

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from packageurl import PackageURL

from .inventory import Inventory, Package
from .inventory.osrelease import Distro
from .inventory.packages import APK, DEB, NPM, PYPI

SCHEMA_VERSION = SchemaVersion.V1_6
# Property names in Wharf's own namespace (CycloneDX allows any; see its property taxonomy).
LAYER_PROPERTY = "wharf:layer:digest"
PATH_PROPERTY = "wharf:package:path"
SOURCE_PROPERTY = "wharf:package:source"


def _distro_qualifier(distro: Distro | None) -> dict[str, str]:
    if distro is None or not distro.version_id:
        return {}
    return {"distro": f"{distro.id}-{distro.version_id}"}


def purl_for(package: Package, distro: Distro | None = None) -> PackageURL:
    """The package URL of one inventoried package (purl-spec types deb, apk, pypi, npm)."""
    if package.kind in (DEB, APK):
        qualifiers = {**({"arch": package.arch} if package.arch else {}), **_distro_qualifier(distro)}
        if package.source_name and package.source_name != package.name:
            upstream = package.source_name
            if package.source_version and package.source_version != package.version:
                upstream += f"@{package.source_version}"
            qualifiers["upstream"] = upstream
        namespace = distro.id if distro else ("debian" if package.kind == DEB else "alpine")
        return PackageURL(
            type=package.kind,
            namespace=namespace,
            name=package.name,
            version=package.version,
            qualifiers=qualifiers,
        )
    if package.kind == NPM and package.name.startswith("@") and "/" in package.name:
        scope, _, name = package.name.partition("/")
        return PackageURL(type=NPM, namespace=scope, name=name, version=package.version)
    if package.kind in (PYPI, NPM):
        return PackageURL(type=package.kind, name=package.name, version=package.version)
    return PackageURL(type="generic", name=package.name, version=package.version)


def _image_component(name: str, digest: str) -> Component:
    short_name = name.rstrip("/").rsplit("/", 1)[-1] or name
    qualifiers = {"repository_url": name} if name != short_name else {}
    purl = PackageURL(type="oci", name=short_name, version=digest or None, qualifiers=qualifiers)
    return Component(
        type=ComponentType.CONTAINER,
        name=name,
        version=digest or None,
        purl=purl,
        bom_ref=purl.to_string(),
    )


def _package_component(package: Package, distro: Distro | None, bom_ref: str, purl: PackageURL) -> Component:
    properties = [Property(name=LAYER_PROPERTY, value=package.layer)] if package.layer else []
    if package.path:
        properties.append(Property(name=PATH_PROPERTY, value=package.path))
    if package.kind == DEB and package.source_name:
        properties.append(
            Property(name=SOURCE_PROPERTY, value=f"{package.source_name} {package.source_version}")
        )
    return Component(
        type=ComponentType.LIBRARY,
        name=package.name,
        version=package.version,
        purl=purl,
        bom_ref=bom_ref,
        properties=properties,
    )


def build_bom(
    inventory: Inventory,
    *,
    image_name: str,
    image_digest: str,
    serial_number: uuid.UUID | None = None,
    timestamp: dt.datetime | None = None,
) -> Bom:
    """A CycloneDX BOM of an image's inventory; pass `serial_number` and `timestamp`
    for reproducible output (they default to a random UUID and now)."""
    root = _image_component(image_name, image_digest)
    components: list[Component] = []
    seen: set[str] = set()
    distro = inventory.distro
    if distro is not None:
        os_ref = f"os:{distro.id}@{distro.version_id}"
        components.append(
            Component(
                type=ComponentType.OPERATING_SYSTEM,
                name=distro.id,
                version=distro.version_id or None,
                description=distro.pretty_name or None,
                bom_ref=os_ref,
            )
        )
        seen.add(os_ref)
    for package in inventory.packages:
        purl = purl_for(package, distro)
        bom_ref = purl.to_string()
        if bom_ref in seen:  # e.g. `PyYAML` and `pyyaml` at two paths: one purl
            bom_ref = f"{bom_ref}#{package.path}"
            if bom_ref in seen:
                continue
        seen.add(bom_ref)
        components.append(_package_component(package, distro, bom_ref, purl))
    metadata = BomMetaData(component=root, timestamp=timestamp or dt.datetime.now(dt.UTC))
    bom = Bom(components=components, metadata=metadata, serial_number=serial_number or uuid.uuid4())
    bom.dependencies.add(
        Dependency(ref=root.bom_ref, dependencies=[Dependency(ref=c.bom_ref) for c in components])
    )
    # Every component gets its (empty) dependency entry here, in one pass, which is
    # what the library's validate() would otherwise do one linear search at a time.
    bom.dependencies.update(Dependency(ref=c.bom_ref) for c in components)
    return bom


class _Json(JsonV1Dot6):
    """CycloneDX 1.6 JSON without the library's deprecated `Bom.validate()`.

    validate() finds each component's dependency entry by a linear scan, O(n²):
    3.5 s of a 4.5 s scan for 2,800 packages (benchmarks/scan_bench.py). `build_bom`
    registers every entry itself, so there is nothing left for it to add; the
    schema is still checked in the tests.
    """

    def generate(self, force_regeneration: bool = False) -> None:
        bom = self.get_bom()
        bom.validate = lambda: True  # type: ignore[method-assign]
        try:
            super().generate(force_regeneration)
        finally:
            del bom.validate


def to_json(bom: Bom) -> str:
    """The BOM as CycloneDX 1.6 JSON."""
    return _Json(bom).output_as_string(indent=None)


def sbom_json(
    inventory: Inventory,
    *,
    image_name: str,
    image_digest: str,
    serial_number: uuid.UUID | None = None,
    timestamp: dt.datetime | None = None,
) -> str:
    """Shorthand for `to_json(build_bom(...))`."""
    return to_json(
        build_bom(
            inventory,
            image_name=image_name,
            image_digest=image_digest,
            serial_number=serial_number,
            timestamp=timestamp,
        )
    )


__all__ = ["SCHEMA_VERSION", "build_bom", "purl_for", "sbom_json", "to_json"]
