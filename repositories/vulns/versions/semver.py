"""npm version order: SemVer 2.0.0 precedence (semver.org, section 11).

`MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`: the three numbers compare numerically; a
pre-release sorts before its release; pre-release identifiers compare left to
right, numeric ones numerically and below alphanumeric ones, which compare in ASCII
order, and a shorter list of otherwise equal identifiers sorts first. Build
metadata is ignored (`1.0.0+a` equals `1.0.0+b`). Like node-semver's loose mode, a
leading `v` or `=` and surrounding whitespace are tolerated.

Strings that are not SemVer (`1.2`, `latest`, `1.0.0-01`) sort before every valid
version, and among themselves by a natural key (digit runs numerically), so an
unparseable installed version is treated as older than any fix.

This scheme also serves OSV ranges of type SEMVER in any ecosystem.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .base import SortKey, VersionScheme, cmp, natural_key

_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = re.compile(
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    rf"(?:-({_IDENT}(?:\.{_IDENT})*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$",
    re.ASCII,
)


class SemVer(NamedTuple):
    """A parsed SemVer 2.0.0 version (build metadata dropped: it has no precedence)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...]


def parse(version: str) -> SemVer | None:
    """The SemVer, or None when `version` is not one (after loose-mode trimming)."""
    text = version.strip().lstrip("=vV").strip()
    match = _SEMVER.match(text)
    if match is None:
        return None
    major, minor, patch, pre, _build = match.groups()
    return SemVer(int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else ())


def _identifier_cmp(a: str, b: str) -> int:
    a_numeric, b_numeric = a.isdigit(), b.isdigit()
    if a_numeric and b_numeric:
        return cmp(int(a), int(b))
    if a_numeric != b_numeric:
        return -1 if a_numeric else 1
    return cmp(a, b)


def precedence(a: SemVer, b: SemVer) -> int:
    """SemVer 2.0.0 section 11, step by step."""
    core = cmp((a.major, a.minor, a.patch), (b.major, b.minor, b.patch))
    if core:
        return core
    if not a.prerelease or not b.prerelease:
        # A release outranks any of its pre-releases.
        return cmp(not a.prerelease, not b.prerelease)
    for ident_a, ident_b in zip(a.prerelease, b.prerelease, strict=False):
        result = _identifier_cmp(ident_a, ident_b)
        if result:
            return result
    return cmp(len(a.prerelease), len(b.prerelease))


def _prerelease_key(identifiers: tuple[str, ...]) -> tuple:  # type: ignore[type-arg]
    if not identifiers:
        return (1,)
    return (0, tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in identifiers))


class SemVerScheme(VersionScheme):
    """npm version order (SemVer 2.0.0 precedence)."""

    name = "semver"

    def _sort_key(self, version: str) -> SortKey:
        parsed = parse(version)
        if parsed is None:
            return (0, natural_key(version.strip()))
        return (1, parsed.major, parsed.minor, parsed.patch, _prerelease_key(parsed.prerelease))

    def compare(self, a: str, b: str) -> int:
        parsed_a, parsed_b = parse(a), parse(b)
        if parsed_a is not None and parsed_b is not None:
            return precedence(parsed_a, parsed_b)
        return cmp(self._sort_key(a), self._sort_key(b))

    def is_valid(self, version: str) -> bool:
        return parse(version) is not None
