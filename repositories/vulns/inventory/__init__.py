"""Package inventory of an image: which files to read and what packages they list.

`wanted(path)` is the predicate `layers.read_layers` keeps files by (with each
file's size cap); `inventory(image)` turns the kept files into an `Inventory`:
the distribution from `os-release` (following `/etc/os-release` to
`/usr/lib/os-release` inside the image) and the packages of dpkg, apk, rpm, Python,
npm, Go and Rust executables and Java archives, each with the OSV ecosystem it is
matched in and the layer that introduced it. `extract(path, mode, size)` names the
files (executables, archives) that are reduced to a summary as they stream past
instead of being kept (`layers.read_layers(..., extract=extract)`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..layers import ImageFiles, KeptFile, KiB, MiB
from ..layers.reader import Reducer
from . import apk, binaries, dotnet, dpkg, java, npm, php, python, rpm, ruby
from .osrelease import OS_RELEASE_PATHS, Distro, distro_from_os_release
from .packages import APK, CARGO, COMPOSER, DEB, GEM, GOLANG, MAVEN, NPM, NUGET, OS_KINDS, PYPI, RPM, Package

# Per-file size caps. Package databases of real images reach a few MiB (apk's lists
# every installed file); a package's metadata file is far below 1 MiB.
OS_RELEASE_CAP = 64 * KiB
DATABASE_CAP = 16 * MiB
# rpm's databases hold every file name of every package: 2,000 packages reach ~100 MiB.
RPM_DATABASE_CAP = 192 * MiB
MANIFEST_CAP = 1 * MiB


def wanted(path: str) -> int | None:
    """The size cap of a file the inventory reads, None for every other path."""
    if path in OS_RELEASE_PATHS:
        return OS_RELEASE_CAP
    if path == dpkg.STATUS or path in apk.APK_DATABASES:
        return DATABASE_CAP
    if path in rpm.RPM_DATABASES:
        return RPM_DATABASE_CAP
    if dotnet.is_deps_file(path) or php.is_installed_json(path):
        return DATABASE_CAP
    if (
        dpkg.is_status_file(path)
        or python.is_metadata_file(path)
        or npm.is_package_manifest(path)
        or ruby.is_gemspec(path)
    ):
        return MANIFEST_CAP
    return None


def extract(path: str, mode: int, size: int) -> Reducer | None:
    """The reducer for a file read as it streams past: a Java archive or an executable."""
    return java.is_candidate(path, mode, size) or binaries.is_candidate(path, mode, size)


def _reduced_parser(kept: KeptFile) -> Callable[[KeptFile], list[Package]]:
    """Reduced files are JSON: a list (a Java archive's artifacts) or an object (an executable)."""
    return java.packages_from if kept.data[:1] == b"[" else binaries.packages_from


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
    if path in rpm.RPM_DATABASES:
        return rpm.packages_from
    if python.is_metadata_file(path):
        return python.packages_from
    if npm.is_package_manifest(path):
        return npm.packages_from
    if ruby.is_gemspec(path):
        return ruby.packages_from
    if dotnet.is_deps_file(path):
        return dotnet.packages_from
    if php.is_installed_json(path):
        return php.packages_from
    return None


def _distro(image: ImageFiles) -> Distro | None:
    for path in OS_RELEASE_PATHS:
        kept = image.read(path)
        if kept is not None:
            return distro_from_os_release(kept.data.decode("utf-8", errors="replace"))
    return None


_KIND_ORDER = {
    DEB: 0,
    APK: 1,
    RPM: 2,
    PYPI: 3,
    NPM: 4,
    GEM: 5,
    COMPOSER: 6,
    NUGET: 7,
    GOLANG: 8,
    CARGO: 9,
    MAVEN: 10,
}


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
        parser = _parser_for(kept.path) or _reduced_parser(kept)
        found.extend(parser(kept))
    distro = _with_ubuntu_pro(distro, found, notes)
    os_ecosystem = distro.ecosystem if distro else None
    if any(p.kind in OS_KINDS for p in found):
        if distro is None:
            notes.append("no os-release: OS packages are listed but not matched against advisories")
        elif distro.remark:
            notes.append(distro.remark)
        elif os_ecosystem is None:
            notes.append(
                f"unsupported distribution {distro.id} {distro.version_id}: OS packages are not matched"
            )
        if any(p.path in apk.APK_DATABASES[1:] for p in found) and os_ecosystem:
            notes.append(
                f"apk-tools 3 database: versions are ordered as {os_ecosystem}'s advisories were computed "
                "(apk-tools 2 up to Alpine 3.22, apk-tools 3 from 3.23 and edge)"
            )
    found = _without_os_duplicates(found, _owned_python_metadata(image))
    packages: dict[tuple[str, ...], Package] = {}
    for package in found:
        if package.kind in OS_KINDS:
            package = replace(package, ecosystem=os_ecosystem)
        known = packages.get(package.key)
        if known is None or layer_order.get(package.layer, 0) < layer_order.get(known.layer, 0):
            packages[package.key] = package
    ordered = sorted(packages.values(), key=lambda p: (_KIND_ORDER.get(p.kind, 9), p.name, p.version, p.path))
    return Inventory(distro=distro, packages=ordered, notes=notes)


def _with_ubuntu_pro(distro: Distro | None, found: list[Package], notes: list[str]) -> Distro | None:
    """Add `Ubuntu:Pro:<release>:LTS` when the image has packages from Ubuntu Pro (ESM).

    OSV publishes the fixes only Ubuntu Pro ships (`+esmN` versions) under their own
    ecosystem; an image with such packages is attached to Pro, so its packages are
    matched against those advisories too. Without any, Pro-only fixes would name
    versions the image cannot install, so they are not searched.
    """
    if distro is None or distro.id != "ubuntu" or not distro.version_id:
        return distro
    if not any(p.kind == DEB and "+esm" in p.version for p in found):
        return distro
    pro = f"Ubuntu:Pro:{distro.version_id}:LTS"
    notes.append(f"packages from Ubuntu Pro (ESM) found: also matched against {pro}")
    return replace(distro, ecosystems=(*distro.ecosystems, pro))


def _without_os_duplicates(found: list[Package], owned: set[str]) -> list[Package]:
    """Drop Python distributions a distribution package installed (by dpkg, apk or rpm).

    A distribution's `python3-requests` writes `requests-2.28.1.dist-info` too; its
    fixes arrive as distribution updates, which the OS package's advisories track, so
    a PyPI copy would be a duplicate finding with the wrong fixed version. apk and rpm
    databases list every file and directory a package owns (`owned`: the metadata
    directories among them); Debian keeps `/usr/lib/python3/dist-packages` for its
    own packages (pip writes to `/usr/local`), so a dist-info there is dpkg's.
    Everything pip installed stays a PyPI package.
    """
    if not any(p.kind in OS_KINDS for p in found):
        return found
    return [p for p in found if not (p.kind == PYPI and _installed_by_distribution(p.path, owned))]


def _installed_by_distribution(path: str, owned: set[str]) -> bool:
    if path.startswith("usr/lib/python3/dist-packages/"):
        return True
    return path.rpartition("/")[0] in owned or path in owned  # `.egg-info` may be the file itself


def _owned_python_metadata(image: ImageFiles) -> set[str]:
    owned: set[str] = set()
    for kept in image.files():
        if kept.path in apk.APK_DATABASES:
            owned |= apk.owned_python_metadata(kept.data)
        elif kept.path in rpm.RPM_DATABASES:
            owned |= rpm.owned_python_metadata(kept.path, kept.data)
    return owned


__all__ = ["Distro", "Inventory", "Package", "extract", "inventory", "wanted"]
