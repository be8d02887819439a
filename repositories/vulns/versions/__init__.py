"""Version orders per OSV ecosystem, all behind one small interface.

>>> from repositories.vulns.versions import scheme_for
>>> scheme = scheme_for("Debian:12")
>>> scheme.compare("1.0~rc1-1", "1.0-1")
-1
>>> sorted(["1.10", "1.9", "1.9a"], key=scheme_for("Alpine:v3.19").sort_key)
['1.9', '1.9a', '1.10']
"""

from __future__ import annotations

from .base import SortKey, VersionScheme
from .registry import (
    APK,
    APK3,
    DPKG,
    MAVEN,
    NUGET,
    PACKAGIST,
    PEP440,
    RPM,
    RUBYGEMS,
    SEMVER,
    UnsupportedEcosystem,
    ecosystem_base,
    is_supported,
    scheme_for,
)

__all__ = [
    "APK",
    "APK3",
    "DPKG",
    "MAVEN",
    "NUGET",
    "PACKAGIST",
    "PEP440",
    "RPM",
    "RUBYGEMS",
    "SEMVER",
    "SortKey",
    "UnsupportedEcosystem",
    "VersionScheme",
    "ecosystem_base",
    "is_supported",
    "scheme_for",
]
