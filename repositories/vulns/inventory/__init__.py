"""Package inventory of an image: which files to read and what packages they list.

`wanted(path)` is the predicate `layers.read_layers` keeps files by (with each
file's size cap); `inventory(image)` turns the kept files into an `Inventory`:
the distribution from `os-release` (following `/etc/os-release` to
`/usr/lib/os-release` inside the image) and the packages of dpkg, apk, Python and
npm, each with the OSV ecosystem it is matched in and the layer that introduced it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..layers import ImageFiles, KeptFile, KiB, MiB
from . import apk, dpkg, npm, python
from .osrelease import OS_RELEASE_PATHS, Distro, distro_from_os_release
from .packages import APK, DEB, NPM, PYPI, Package

# Per-file size caps. Package databases of real images reach a few MiB (apk's lists
# every installed file); a package's metadata file is far below 1 MiB.
OS_RELEASE_CAP = 64 * KiB
DATABASE_CAP = 16 * MiB
MANIFEST_CAP = 1 * MiB


def wanted(path: str) -> int | None:
    """The size cap of a file the inventory reads, None for every other path."""
    if path in OS_RELEASE_PATHS:
        return OS_RELEASE_CAP
    if path == dpkg.STATUS or path in apk.APK_DATABASES:
        return DATABASE_CAP
    if dpkg.is_status_file(path) or python.is_metadata_file(path) or npm.is_package_manifest(path):
        return MANIFEST_CAP
    return None


@dataclass
class Inventory:
    """What is installed in an image: its distribution and packages, in a stable order."""

    distro: Distro | None
    packages: list[Package]
    notes: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Package]:
        return [p for p in self.packages if p.kind == kind]


def _parser_for(path: str) -> Callable[[KeptFile], list[Package]] | None:
    if dpkg.is_status_file(path):
        return dpkg.packages_from
    if path in apk.APK_DATABASES:
        return apk.packages_from
    if python.is_metadata_file(path):
        return python.packages_from
    if npm.is_package_manifest(path):
        return npm.packages_from
    return None


def _distro(image: ImageFiles) -> Distro | None:
    for path in OS_RELEASE_PATHS:
        kept = image.read(path)
        if kept is not None:
            return distro_from_os_release(kept.data.decode("utf-8", errors="replace"))
    return None


_KIND_ORDER = {DEB: 0, APK: 1, PYPI: 2, NPM: 3}


def inventory(image: ImageFiles) -> Inventory:
    """The distribution and packages of an image read with `read_layers(..., wanted)`.

    OS packages (dpkg, apk) get the distribution's OSV ecosystem, or None when the
    distribution is unknown (they are listed but cannot be matched; a note says so).
    A package found twice (same name, version, source and arch) is listed once, from
    the lowest layer that has it.
    """
    notes: list[str] = []
    distro = _distro(image)
    layer_order = {summary.digest: index for index, summary in enumerate(image.layers)}
    found: list[Package] = []
    for kept in image.files():
        parser = _parser_for(kept.path)
        if parser is not None:
            found.extend(parser(kept))
    os_ecosystem = distro.ecosystem if distro else None
    if any(p.kind in (DEB, APK) for p in found):
        if distro is None:
            notes.append("no os-release: OS packages are listed but not matched against advisories")
        elif os_ecosystem is None:
            notes.append(
                f"unsupported distribution {distro.id} {distro.version_id}: OS packages are not matched"
            )
    packages: dict[tuple[str, ...], Package] = {}
    for package in found:
        if package.kind in (DEB, APK):
            package = replace(package, ecosystem=os_ecosystem)
        known = packages.get(package.key)
        if known is None or layer_order.get(package.layer, 0) < layer_order.get(known.layer, 0):
            packages[package.key] = package
    ordered = sorted(packages.values(), key=lambda p: (_KIND_ORDER.get(p.kind, 9), p.name, p.version, p.path))
    return Inventory(distro=distro, packages=ordered, notes=notes)


__all__ = ["Distro", "Inventory", "Package", "inventory", "wanted"]
