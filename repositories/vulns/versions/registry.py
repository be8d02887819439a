"""Which version order an OSV ecosystem string uses."""

from __future__ import annotations

import re

from .apk import ApkScheme
from .apk3 import Apk3Scheme
from .base import VersionScheme
from .dpkg import DpkgScheme
from .maven import MavenScheme
from .nuget import NuGetScheme
from .packagist import PackagistScheme
from .pep440 import Pep440Scheme
from .rpm import RpmScheme
from .rubygems import RubyGemsScheme
from .semver import SemVerScheme


class UnsupportedEcosystem(KeyError):
    """No version order is known for this ecosystem."""


# One shared instance per scheme, so their sort-key caches are shared too.
DPKG = DpkgScheme()
APK = ApkScheme()
APK3 = Apk3Scheme()
RPM = RpmScheme()
PEP440 = Pep440Scheme()
SEMVER = SemVerScheme()
MAVEN = MavenScheme()
RUBYGEMS = RubyGemsScheme()
NUGET = NuGetScheme()
PACKAGIST = PackagistScheme()

# Keyed by the part of the OSV ecosystem string before the first ":" (the release
# suffix of "Debian:12", "Rocky Linux:9", "Ubuntu:22.04:LTS" does not change the order,
# except for Alpine: see `scheme_for`).
_BY_BASE: dict[str, VersionScheme] = {
    "Debian": DPKG,
    "Ubuntu": DPKG,
    "Alpine": APK,
    "Wolfi": APK,  # Wolfi's and Chainguard's apk (go-apk) follow apk-tools 2
    "Chainguard": APK,
    "Red Hat": RPM,
    "Rocky Linux": RPM,
    "AlmaLinux": RPM,
    "SUSE": RPM,
    "openSUSE": RPM,
    "Amazon Linux": RPM,
    "Oracle Linux": RPM,
    "PyPI": PEP440,
    "npm": SEMVER,
    "Go": SEMVER,  # module versions are SemVer with a "v" the parser tolerates
    "crates.io": SEMVER,  # Cargo versions are SemVer 2.0.0
    "Maven": MAVEN,
    "RubyGems": RUBYGEMS,
    "NuGet": NUGET,
    "Packagist": PACKAGIST,
}

# Alpine releases from 3.23 on ship apk-tools 3, whose order differs (see apk.py).
_FIRST_APK3_RELEASE = (3, 23)
_ALPINE_RELEASE = re.compile(r"^v?(\d+)\.(\d+)")


def ecosystem_base(ecosystem: str) -> str:
    """The ecosystem without its release suffix: `Debian:12` becomes `Debian`."""
    return ecosystem.split(":", 1)[0].strip()


def scheme_for(ecosystem: str) -> VersionScheme:
    """The version order of an OSV ecosystem; raises UnsupportedEcosystem.

    Alpine's order is the one of the apk-tools its release ships, since Alpine's
    security database (which OSV's Alpine ranges come from) is computed with it:
    apk-tools 2 up to v3.22, apk-tools 3 from v3.23 and for edge (`Alpine` or
    `Alpine:edge`, no numbered release).
    """
    base = ecosystem_base(ecosystem)
    if base == "Alpine":
        release = _ALPINE_RELEASE.match(ecosystem.partition(":")[2].strip())
        if release is None or (int(release.group(1)), int(release.group(2))) >= _FIRST_APK3_RELEASE:
            return APK3
        return APK
    try:
        return _BY_BASE[base]
    except KeyError:
        raise UnsupportedEcosystem(ecosystem) from None


def is_supported(ecosystem: str) -> bool:
    """Whether `scheme_for(ecosystem)` would succeed."""
    return ecosystem_base(ecosystem) in _BY_BASE
