"""The package record every inventory parser produces."""

from __future__ import annotations

from dataclasses import dataclass

# purl types (https://github.com/package-url/purl-spec) of the packages we read.
DEB, APK, PYPI, NPM = "deb", "apk", "pypi", "npm"
RPM, GOLANG, CARGO, MAVEN, GEM, COMPOSER, NUGET = (
    "rpm",
    "golang",
    "cargo",
    "maven",
    "gem",
    "composer",
    "nuget",
)

# Packages that live inside one file (an executable, an archive).
PER_FILE_KINDS = frozenset({GOLANG, CARGO, MAVEN})

# Packages of the distribution itself: matched in the distribution's ecosystems by
# their source package.
OS_KINDS = frozenset({DEB, APK, RPM})


@dataclass(frozen=True)
class Package:
    """One installed package, where it was found and what advisories call it.

    `name`/`version` are what is installed (the binary package for dpkg);
    `source_name`/`source_version` are what OSV advisories name: the dpkg source
    package, the apk origin, and the package itself for PyPI and npm. `ecosystem`
    is the OSV ecosystem (`Debian:12`, `Alpine:v3.19`, `PyPI`, `npm`), None for OS
    packages of a distribution we cannot name. `layer` is the digest of the layer
    that introduced this package at this version; `path` the file it was read from.
    """

    kind: str
    name: str
    version: str
    source_name: str
    source_version: str
    ecosystem: str | None = None
    arch: str = ""
    layer: str = ""
    path: str = ""
    # Extra purl parts for kinds whose purl needs more than a name (Maven's group,
    # an RPM epoch), and a note on how the package was identified (e.g. a jar known
    # only by its manifest, with its SHA-1).
    namespace: str = ""
    epoch: str = ""
    note: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str, str, str]:
        """Identity for de-duplication: the same package found twice is one package.

        Modules compiled into an executable and artifacts inside an archive belong to
        that file: the same module in two binaries is two packages (each binary needs
        its own rebuild), so their path is part of their identity.
        """
        where = self.path if self.kind in PER_FILE_KINDS else ""
        return (self.kind, self.name, self.version, self.source_name, self.source_version, self.arch, where)
