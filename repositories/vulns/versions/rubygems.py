"""RubyGems version order: `Gem::Version#<=>`.

A version (`-` read as `.pre.`, as RubyGems does) is split into segments, digit runs
as integers and letter runs as strings (`1.2.b1` is `1, 2, "b", 1`, equal to
`1.2.b.1`). Trailing zeros are dropped from the release part and from the
pre-release part (`1.0 == 1.0.0`, `"" == "0"`). Segments compare left to right, a
missing one as 0; a string is below any number, so a letter starts a pre-release
(`1.8.2.a < 1.8.2`), and strings compare by text. Strings RubyGems would refuse
(`junk`, two lines) sort before every valid version, among themselves by a natural
key, so an unreadable installed version is treated as older than any fix.
"""

from __future__ import annotations

import re
from functools import total_ordering

from .base import VersionScheme, cmp, natural_key

_VALID = re.compile(r"^\s*([0-9]+(?:\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*$")
_SEGMENT = re.compile(r"[0-9]+|[a-z]+", re.IGNORECASE)

Segment = int | str


def canonical_segments(version: str) -> list[Segment]:
    """`Gem::Version#canonical_segments`: segments without trailing zeros per part."""
    text = version.strip().replace("-", ".pre.")
    segments: list[Segment] = [int(s) if s.isdigit() else s for s in _SEGMENT.findall(text)]
    first_string = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    release, pre = segments[:first_string], segments[first_string:]
    while release and release[-1] == 0:
        release.pop()
    while pre and pre[-1] == 0:
        pre.pop()
    return release + pre


def compare_segments(left: list[Segment], right: list[Segment]) -> int:
    for index in range(max(len(left), len(right))):
        a = left[index] if index < len(left) else 0
        b = right[index] if index < len(right) else 0
        if a == b:
            continue
        if isinstance(a, str) and isinstance(b, int):
            return -1
        if isinstance(a, int) and isinstance(b, str):
            return 1
        return cmp(a, b)
    return 0


@total_ordering
class GemKey:
    """Sort key of a valid version: compares as `Gem::Version#<=>`, hashes its segments."""

    __slots__ = ("segments",)

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GemKey) and compare_segments(self.segments, other.segments) == 0

    def __lt__(self, other: GemKey) -> bool:
        return compare_segments(self.segments, other.segments) < 0

    def __hash__(self) -> int:
        return hash(tuple(self.segments))


class RubyGemsScheme(VersionScheme):
    """RubyGems version order (`Gem::Version`)."""

    name = "rubygems"

    def _sort_key(self, version: str) -> tuple[int, object]:
        if not self.is_valid(version):
            return (0, natural_key(version.strip()))
        return (1, GemKey(canonical_segments(version)))

    def compare(self, a: str, b: str) -> int:
        if self.is_valid(a) and self.is_valid(b):
            return compare_segments(canonical_segments(a), canonical_segments(b))
        return cmp(self._sort_key(a), self._sort_key(b))

    def is_valid(self, version: str) -> bool:
        return "\n" not in version.strip() and bool(_VALID.match(version))
