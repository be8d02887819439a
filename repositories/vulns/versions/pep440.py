"""PyPI version order: PEP 440, as implemented by `packaging.version.Version`.

Strings that are not PEP 440 versions (old setuptools-era releases such as
`2004d-beta` or `1.0-SNAPSHOT`) still get a place: they sort before every valid
version, like packaging's former `LegacyVersion`, and among themselves by a natural
key (digit runs numerically). Matching therefore treats an unparseable installed
version as older than any fix, which errs on the side of reporting.
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from .base import SortKey, VersionScheme, cmp, natural_key


def parse(version: str) -> Version | None:
    """The PEP 440 version, or None when `version` is not one."""
    try:
        return Version(version)
    except InvalidVersion:
        return None


class Pep440Scheme(VersionScheme):
    """PyPI version order (PEP 440 via `packaging`)."""

    name = "pep440"

    def _sort_key(self, version: str) -> SortKey:
        parsed = parse(version)
        if parsed is None:
            return (0, natural_key(version.strip().lower()))
        return (1, parsed)

    def compare(self, a: str, b: str) -> int:
        parsed_a, parsed_b = parse(a), parse(b)
        if parsed_a is not None and parsed_b is not None:
            return cmp(parsed_a, parsed_b)
        return cmp(self._sort_key(a), self._sort_key(b))

    def is_valid(self, version: str) -> bool:
        return parse(version) is not None
