"""Package-name normalisation per ecosystem, for index keys and matching."""

from __future__ import annotations

import re

from .versions.registry import ecosystem_base

_PEP503_SEPARATORS = re.compile(r"[-_.]+")


def normalize_name(ecosystem: str, name: str) -> str:
    """The form of `name` advisories are indexed and matched under.

    PyPI names follow PEP 503 (lower case, runs of `-`, `_`, `.` become one `-`), the
    form OSV uses for PyPI. npm names are case-sensitive and exact, and so are
    Debian, Ubuntu and Alpine names (the caller passes the *source* package name,
    which is what their OSV records name).
    """
    name = name.strip()
    if ecosystem_base(ecosystem) == "PyPI":
        return _PEP503_SEPARATORS.sub("-", name).lower()
    return name
