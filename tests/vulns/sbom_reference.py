"""The SBOM as `cyclonedx-python-lib` builds it: the reference `repositories.vulns.sbom`
must match (the code it replaced, kept for the equivalence tests and
benchmarks/scan_bench.py's before/after figure). Needs the development requirements.
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

from repositories.vulns.inventory import Inventory, Package
from repositories.vulns.inventory.osrelease import Distro
from repositories.vulns.inventory.packages import (
    APK,
    CARGO,
    COMPOSER,
    DEB,
    GEM,
    GOLANG,
    MAVEN,
    NPM,
    NUGET,
    PYPI,
    RPM,
)
from repositories.vulns.sbom import LAYER_PROPERTY, NOTE_PROPERTY, PATH_PROPERTY, SOURCE_PROPERTY

SCHEMA_VERSION = SchemaVersion.V1_6


def reference_purl(package: Package, distro: Distro | None = None) -> PackageURL:
    """The package URL as `packageurl-python` builds it from the same fields."""
    if package.kind == RPM:
        qualifiers = {"arch": package.arch, "epoch": package.epoch}
        if distro is not None and distro.version_id:
            qualifiers["distro"] = f"{distro.id}-{distro.version_id}"
        if package.source_name and package.source_name != package.name:
            qualifiers["upstream"] = package.source_name
        version = (
            package.version.partition(":")[2] if package.epoch and ":" in package.version else package.version
        )
        vendors = {
            "rhel": "redhat",
            "sles": "suse",
            "opensuse-leap": "opensuse",
            "opensuse-tumbleweed": "opensuse",
        }
        namespace = vendors.get(distro.id, distro.id) if distro else None
        return PackageURL(
            type=RPM,
            namespace=namespace or None,
            name=package.name,
            version=version,
            qualifiers={k: v for k, v in qualifiers.items() if v.strip()},
        )
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
    if package.kind in (PYPI, NPM, CARGO, GEM, NUGET):
        return PackageURL(type=package.kind, name=package.name, version=package.version)
    if package.kind == MAVEN:
        return PackageURL(
            type=MAVEN,
            namespace=package.namespace or None,
            name=package.name.split(":", 1)[-1],
            version=package.version,
        )
    if package.kind in (GOLANG, COMPOSER):
        namespace, _, name = package.name.rpartition("/")
        return PackageURL(type=package.kind, namespace=namespace or None, name=name, version=package.version)
    return PackageURL(type="generic", name=package.name, version=package.version)


def _image_component(name: str, digest: str) -> Component:
    short_name = name.rstrip("/").rsplit("/", 1)[-1] or name
    qualifiers = {"repository_url": name} if name != short_name else {}
    purl = PackageURL(type="oci", name=short_name, version=digest or None, qualifiers=qualifiers)
    return Component(
        type=ComponentType.CONTAINER, name=name, version=digest or None, purl=purl, bom_ref=purl.to_string()
    )


def _package_component(package: Package, bom_ref: str, purl: PackageURL) -> Component:
    properties = [Property(name=LAYER_PROPERTY, value=package.layer)] if package.layer else []
    if package.path:
        properties.append(Property(name=PATH_PROPERTY, value=package.path))
    if package.note:
        properties.append(Property(name=NOTE_PROPERTY, value=package.note))
    if package.kind in (DEB, RPM) and package.source_name:
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


def reference_bom(
    inventory: Inventory,
    *,
    image_name: str,
    image_digest: str,
    serial_number: uuid.UUID | None = None,
    timestamp: dt.datetime | None = None,
) -> Bom:
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
        purl = reference_purl(package, distro)
        bom_ref = purl.to_string()
        if bom_ref in seen:
            bom_ref = f"{bom_ref}#{package.path}"
            if bom_ref in seen:
                continue
        seen.add(bom_ref)
        components.append(_package_component(package, bom_ref, purl))
    metadata = BomMetaData(component=root, timestamp=timestamp or dt.datetime.now(dt.UTC))
    bom = Bom(components=components, metadata=metadata, serial_number=serial_number or uuid.uuid4())
    bom.dependencies.add(
        Dependency(ref=root.bom_ref, dependencies=[Dependency(ref=c.bom_ref) for c in components])
    )
    bom.dependencies.update(Dependency(ref=c.bom_ref) for c in components)
    return bom


class _Json(JsonV1Dot6):
    """Without the library's deprecated, O(n²) `Bom.validate()`, as the replaced code ran it."""

    def generate(self, force_regeneration: bool = False) -> None:
        bom = self.get_bom()
        bom.validate = lambda: True  # type: ignore[method-assign]
        try:
            super().generate(force_regeneration)
        finally:
            del bom.validate


def reference_sbom_json(
    inventory: Inventory,
    *,
    image_name: str,
    image_digest: str,
    serial_number: uuid.UUID | None = None,
    timestamp: dt.datetime | None = None,
) -> str:
    """The CycloneDX 1.6 JSON `cyclonedx-python-lib` writes for the same inventory."""
    bom = reference_bom(
        inventory,
        image_name=image_name,
        image_digest=image_digest,
        serial_number=serial_number,
        timestamp=timestamp,
    )
    return _Json(bom).output_as_string(indent=None)
