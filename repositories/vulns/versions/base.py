"""The interface every ecosystem's version order implements, and shared helpers."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from functools import lru_cache
from typing import Any

# A sort key is an opaque, totally ordered, hashable value: two keys compare exactly
# as `compare()` compares the version strings they came from. Keys of different
# schemes must never be compared with each other.
SortKey = Any

_CACHE_SIZE = 1 << 16


class VersionScheme(ABC):
    """A total order over the version strings of one ecosystem.

    `compare` is the reference implementation (a direct port of the ecosystem's own
    algorithm); `sort_key` yields a key whose natural order agrees with `compare`,
    so lists can be sorted with `sorted(versions, key=scheme.sort_key)` and ranges
    evaluated with plain `<`/`>=` on keys. Neither method ever raises on odd input:
    each scheme documents where strings it cannot parse sort.
    """

    #: Short identifier, e.g. "dpkg".
    name: str = ""

    def __init__(self) -> None:
        # Advisory databases repeat the same few thousand version strings endlessly;
        # caching per instance makes matching against a large database cheap.
        self.sort_key = lru_cache(maxsize=_CACHE_SIZE)(self._sort_key)  # type: ignore[method-assign]

    @abstractmethod
    def _sort_key(self, version: str) -> SortKey:
        """Build the sort key of `version` (uncached)."""

    def sort_key(self, version: str) -> SortKey:
        """The (cached) sort key of `version`; replaced per instance in `__init__`."""
        return self._sort_key(version)  # pragma: no cover - shadowed by the cache

    @abstractmethod
    def compare(self, a: str, b: str) -> int:
        """-1, 0 or 1 as `a` sorts before, equal to or after `b`."""

    @abstractmethod
    def is_valid(self, version: str) -> bool:
        """Whether `version` follows the ecosystem's grammar (invalid ones still sort)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def sign(value: int) -> int:
    """Clamp a comparison result to -1, 0 or 1."""
    return (value > 0) - (value < 0)


def cmp(a: Any, b: Any) -> int:
    """Three-way comparison of two mutually ordered values."""
    return (a > b) - (a < b)


_NATURAL_PARTS = re.compile(r"\d+|[A-Za-z]+|[^\dA-Za-z]+", re.ASCII)


def natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """A lenient "natural" key for strings a scheme cannot parse.

    Digit runs compare numerically and rank above letter runs, which rank above
    punctuation runs; a string that is a prefix of another sorts first. Every part
    is an `(rank, number, text)` triple so no two parts ever compare int with str.
    """
    parts: list[tuple[int, int, str]] = []
    for run in _NATURAL_PARTS.findall(text):
        if run.isdigit():
            parts.append((2, int(run), ""))
        elif run.isalpha():
            parts.append((1, 0, run))
        else:
            parts.append((0, 0, run))
    return tuple(parts)
