"""Which version order an OSV ecosystem string uses."""

from __future__ import annotations

from .apk import ApkScheme
from .base import VersionScheme
from .dpkg import DpkgScheme
from .pep440 import Pep440Scheme
from .semver import SemVerScheme


class UnsupportedEcosystem(KeyError):
    """No version order is known for this ecosystem."""


# One shared instance per scheme, so their sort-key caches are shared too.
DPKG = DpkgScheme()
APK = ApkScheme()
PEP440 = Pep440Scheme()
SEMVER = SemVerScheme()

# Keyed by the part of the OSV ecosystem string before the first ":" (the release
# suffix of "Debian:12", "Alpine:v3.19", "Ubuntu:22.04:LTS" does not change the order).
_BY_BASE: dict[str, VersionScheme] = {
    "Debian": DPKG,
    "Ubuntu": DPKG,
    "Alpine": APK,
    "PyPI": PEP440,
    "npm": SEMVER,
}


def ecosystem_base(ecosystem: str) -> str:
    """The ecosystem without its release suffix: `Debian:12` becomes `Debian`."""
    return ecosystem.split(":", 1)[0].strip()


def scheme_for(ecosystem: str) -> VersionScheme:
    """The version order of an OSV ecosystem; raises UnsupportedEcosystem."""
    try:
        return _BY_BASE[ecosystem_base(ecosystem)]
    except KeyError:
        raise UnsupportedEcosystem(ecosystem) from None


def is_supported(ecosystem: str) -> bool:
    """Whether `scheme_for(ecosystem)` would succeed."""
    return ecosystem_base(ecosystem) in _BY_BASE
