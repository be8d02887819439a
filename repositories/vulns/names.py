"""Package-name normalisation per ecosystem, for index keys and matching."""

from __future__ import annotations

import re

from .versions.registry import ecosystem_base

_PEP503_SEPARATORS = re.compile(r"[-_.]+")
# NuGet ids and Composer package names are case-insensitive: advisories and installed
# metadata spell them differently (`Newtonsoft.Json`, `newtonsoft.json`).
_CASE_INSENSITIVE = frozenset({"NuGet", "Packagist"})


def normalize_name(ecosystem: str, name: str) -> str:
    """The form of `name` advisories are indexed and matched under.

    PyPI names follow PEP 503 (lower case, runs of `-`, `_`, `.` become one `-`), the
    form OSV uses for PyPI. npm names are case-sensitive and exact, and so are
    Debian, Ubuntu and Alpine names (the caller passes the *source* package name,
    which is what their OSV records name).
    """
    name = name.strip()
    base = ecosystem_base(ecosystem)
    if base == "PyPI":
        return _PEP503_SEPARATORS.sub("-", name).lower()
    if base in _CASE_INSENSITIVE:
        return name.lower()
    return name
