"""NuGet version order: `NuGet.Versioning.VersionComparer` (the default, "VersionRelease").

`Major.Minor[.Patch[.Revision]][-Release][+Metadata]`: up to four numbers, missing
ones 0 (`1.0 == 1.0.0.0`, leading zeros ignored: `1.0.01 == 1.0.1.0`); a release
label sorts before no label; labels compare by their dot-separated parts, numbers
numerically and below text, text case-insensitively, a shorter list first; metadata
is ignored. Strings NuGet cannot parse sort before every valid version, among
themselves by a natural key.
"""

from __future__ import annotations

import re

from .base import SortKey, VersionScheme, cmp, natural_key

_VERSION = re.compile(
    r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$",
    re.ASCII,
)


def parse(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...] | None] | None:
    """(major, minor, patch, revision, release label parts or None), or None if invalid."""
    found = _VERSION.match(version.strip())
    if found is None:
        return None
    major, minor, patch, revision, release, _metadata = found.groups()
    labels = (
        tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in release.split("."))
        if release
        else None
    )
    return int(major), int(minor or 0), int(patch or 0), int(revision or 0), labels


class NuGetScheme(VersionScheme):
    """NuGet version order."""

    name = "nuget"

    def _sort_key(self, version: str) -> SortKey:
        parsed = parse(version)
        if parsed is None:
            return (0, natural_key(version.strip()))
        *numbers, labels = parsed
        return (1, *numbers, (1,) if labels is None else (0, labels))

    def compare(self, a: str, b: str) -> int:
        return cmp(self._sort_key(a), self._sort_key(b))

    def is_valid(self, version: str) -> bool:
        return parse(version) is not None
