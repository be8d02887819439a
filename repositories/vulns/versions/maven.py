"""Maven version order: Apache Maven's `ComparableVersion` (maven-artifact, 3.8/3.9).

A version is lower-cased and split into a tree of items: `.` separates items of one
list, `-` (and a switch between digits and letters, as in `1a1`) opens a nested list.
Digit runs are integers (leading zeros ignored), letter runs are qualifiers, ordered

    alpha (a) < beta (b) < milestone (m) < rc = cr < snapshot < "" = ga = final = release < sp

with unknown qualifiers after all of those, among themselves by text. `a`, `b` and
`m` mean alpha, beta and milestone only when a digit follows (`1a1`). Trailing null
items (0, "", empty lists) are dropped from each list, so `1 == 1.0 == 1-0 == 1.ga`.

Items compare: integer > list > qualifier; two lists item by item, a missing item
comparing as "null" (an integer 0 or the release qualifier), so `1.0.1 > 1`,
`1-alpha < 1`, `1-sp > 1`. Every string is a Maven version: there is nothing to refuse.
"""

from __future__ import annotations

from functools import total_ordering
from typing import Any, Union

from .base import VersionScheme, cmp

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_RELEASE_INDEX = str(_QUALIFIERS.index(""))
_SHORT = {"a": "alpha", "b": "beta", "m": "milestone"}


class _Qualifier(str):
    """A letter item; its comparable form ranks the known qualifiers."""

    __slots__ = ()

    @property
    def comparable(self) -> str:
        try:
            return str(_QUALIFIERS.index(self))
        except ValueError:
            return f"{len(_QUALIFIERS)}-{self}"


Item = Union[int, _Qualifier, "list[Any]"]


def _qualifier(text: str, followed_by_digit: bool) -> _Qualifier:
    if followed_by_digit and len(text) == 1:
        text = _SHORT.get(text, text)
    return _Qualifier(_ALIASES.get(text, text))


def _is_null(item: Item) -> bool:
    if isinstance(item, list):
        return not item
    if isinstance(item, _Qualifier):
        return item.comparable == _RELEASE_INDEX
    return item == 0


def _normalize(items: list[Item]) -> None:
    for index in range(len(items) - 1, -1, -1):
        if _is_null(items[index]):
            del items[index]
        elif not isinstance(items[index], list):
            break


def _item(text: str, is_digit: bool) -> Item:
    return int(text) if is_digit else _qualifier(text, False)


def parse(version: str) -> list[Item]:
    """The item tree of `version`, as `ComparableVersion.parseVersion` builds it."""
    text = version.strip().lower()
    root: list[Item] = []
    current = root
    stack = [root]
    is_digit = False
    start = 0
    for index, char in enumerate(text):
        if char in ".-":
            current.append(0 if index == start else _item(text[start:index], is_digit))
            start = index + 1
            if char == "-":
                nested: list[Item] = []
                current.append(nested)
                current = nested
                stack.append(nested)
        elif "0" <= char <= "9":
            if not is_digit and index > start:
                current.append(_qualifier(text[start:index], True))
                start = index
                nested = []
                current.append(nested)
                current = nested
                stack.append(nested)
            is_digit = True
        else:
            if is_digit and index > start:
                current.append(int(text[start:index]))
                start = index
                nested = []
                current.append(nested)
                current = nested
                stack.append(nested)
            is_digit = False
    if len(text) > start:
        current.append(_item(text[start:], is_digit))
    while stack:
        _normalize(stack.pop())
    return root


def _compare(left: Item | None, right: Item | None) -> int:
    """`left.compareTo(right)`, with None as Maven's null item; `left` is not None."""
    if isinstance(left, bool) or left is None:  # pragma: no cover - callers never pass these
        raise TypeError(left)
    if isinstance(left, list):
        if right is None:
            for item in left:
                result = _compare(item, None)
                if result:
                    return result
            return 0
        if isinstance(right, list):
            for index in range(max(len(left), len(right))):
                a = left[index] if index < len(left) else None
                b = right[index] if index < len(right) else None
                result = (0 if b is None else -_compare(b, None)) if a is None else _compare(a, b)
                if result:
                    return result
            return 0
        return -1 if isinstance(right, int) else 1
    if isinstance(left, _Qualifier):
        if right is None:
            return cmp(left.comparable, _RELEASE_INDEX)
        if isinstance(right, _Qualifier):
            return cmp(left.comparable, right.comparable)
        return -1  # a qualifier is below an integer and below a list
    if right is None:
        return 1 if left else 0
    if isinstance(right, int):
        return cmp(left, right)
    return 1  # an integer is above a qualifier and above a list


@total_ordering
class MavenKey:
    """Sort key of a Maven version: ordered by `ComparableVersion.compareTo`.

    Maven's order is not lexicographic on any flat form (missing items compare as
    null at every depth), so the key keeps the item tree and compares it the way
    Maven does. Equal versions (`1`, `1.0`, `1-ga`) hash alike: the hash only reads
    the leading integer, which normalisation never changes between equal versions.
    """

    __slots__ = ("items",)

    def __init__(self, items: list[Item]) -> None:
        self.items = items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MavenKey) and _compare(self.items, other.items) == 0

    def __lt__(self, other: MavenKey) -> bool:
        return _compare(self.items, other.items) < 0

    def __hash__(self) -> int:
        first = self.items[0] if self.items else 0
        return hash(first) if isinstance(first, int) else 0

    def __repr__(self) -> str:
        return f"MavenKey({self.items!r})"


class MavenScheme(VersionScheme):
    """Maven version order (`ComparableVersion`)."""

    name = "maven"

    def _sort_key(self, version: str) -> MavenKey:
        return MavenKey(parse(version))

    def compare(self, a: str, b: str) -> int:
        return _compare(parse(a), parse(b))

    def is_valid(self, version: str) -> bool:
        return bool(version.strip())
