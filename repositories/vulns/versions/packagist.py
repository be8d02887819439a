"""Packagist (Composer) version order: PHP's `version_compare`, after a leading `v`.

The comparison is a port of PHP's C function, checked against Debian's `php` itself.
PHP canonicalises a version first: `-`, `_` and `+` (and any other character that
is not a letter or digit) become `.`, and a `.` is inserted wherever digits meet
non-digits (`1.0rc1` is `1.0.rc.1`). Parts then compare left to right: numbers
numerically; words by their rank, found by prefix,

    any other word < dev < alpha = a < beta = b < RC = rc < (a number) < pl = p

and a number against a word as the rank of a number. When one version runs out, the
other is newer if it goes on with a number and otherwise ranks its next word against
a number: `1.0 < 1.0.0`, `1.0-beta < 1.0`, `1.0 < 1.0-pl1`. Composer prefixes tags
with `v` (`v5.4.30`); advisories do not, so a leading `v` is dropped.
"""

from __future__ import annotations

import re
from functools import total_ordering

from .base import SortKey, VersionScheme, cmp

_FORMS = (
    ("dev", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("RC", 3),
    ("rc", 3),
    ("#", 4),
    ("pl", 5),
    ("p", 5),
)
_VALID = re.compile(r"^[0-9][0-9A-Za-z._+-]*$", re.ASCII)
_UNKNOWN_RANK = -6


def _strip_v(version: str) -> str:
    return version[1:] if version[:1] in ("v", "V") and version[1:2].isdigit() else version


def canonicalize(version: str) -> str:
    """PHP's `php_canonicalize_version` (its first character is kept as it is)."""
    if not version:
        return ""
    out = [version[0]]
    previous = version[0]
    for char in version[1:]:
        last = out[-1]
        if char in "-_+":
            if last != ".":
                out.append(".")
        elif (_is_nondigit(previous) and _is_digit(char)) or (_is_digit(previous) and _is_nondigit(char)):
            if last != ".":
                out.append(".")
            out.append(char)
        elif not (char.isascii() and char.isalnum()):
            if last != ".":
                out.append(".")
        else:
            out.append(char)
        previous = char
    return "".join(out)


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"


def _is_nondigit(char: str) -> bool:
    return not _is_digit(char) and char != "."


def _rank(word: str) -> int:
    for form, rank in _FORMS:
        if word.startswith(form):
            return rank
    return _UNKNOWN_RANK


def _forms(a: str, b: str) -> int:
    return cmp(_rank(a), _rank(b))


def _number(part: str) -> int:
    digits = ""
    for char in part:
        if not _is_digit(char):
            break
        digits += char
    return int(digits) if digits else 0


def version_compare(original_a: str, original_b: str) -> int:
    """A port of PHP's `php_version_compare` (ext/standard/versioning.c)."""
    if not original_a or not original_b:
        return 0 if not original_a and not original_b else (1 if original_a else -1)
    a = original_a if original_a[0] == "#" else canonicalize(original_a)
    b = original_b if original_b[0] == "#" else canonicalize(original_b)
    p1 = p2 = 0
    n1: int | None = 0
    n2: int | None = 0
    result = 0
    while p1 < len(a) and p2 < len(b) and n1 is not None and n2 is not None:
        found1, found2 = a.find(".", p1), b.find(".", p2)
        n1 = found1 if found1 >= 0 else None
        n2 = found2 if found2 >= 0 else None
        part1 = a[p1 : n1 if n1 is not None else len(a)]
        part2 = b[p2 : n2 if n2 is not None else len(b)]
        digit1, digit2 = (
            part1[:1].isdigit() and part1[:1].isascii(),
            part2[:1].isdigit() and part2[:1].isascii(),
        )
        if digit1 and digit2:
            result = cmp(_number(part1), _number(part2))
        elif not digit1 and not digit2:
            result = _forms(part1, part2)
        else:
            result = _forms("#N#", part2) if digit1 else _forms(part1, "#N#")
        if result:
            return result
        if n1 is not None:
            p1 = n1 + 1
        if n2 is not None:
            p2 = n2 + 1
    if n1 is not None:
        rest = a[p1:]
        return 1 if rest[:1].isdigit() and rest[:1].isascii() else version_compare(rest, "#N#")
    if n2 is not None:
        rest = b[p2:]
        return -1 if rest[:1].isdigit() and rest[:1].isascii() else version_compare("#N#", rest)
    return 0


@total_ordering
class PackagistKey:
    """Sort key: compares with `version_compare`; equal versions hash alike (by their
    parts' ranks and numbers, which `version_compare` reads)."""

    __slots__ = ("version",)

    def __init__(self, version: str) -> None:
        self.version = version

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PackagistKey) and version_compare(self.version, other.version) == 0

    def __lt__(self, other: PackagistKey) -> bool:
        return version_compare(self.version, other.version) < 0

    def __hash__(self) -> int:
        parts = [part for part in canonicalize(self.version).split(".") if part]
        while parts and parts[-1].isdigit() and int(parts[-1]) == 0:
            parts.pop()
        return hash(tuple(_number(p) if p[:1].isdigit() else _rank(p) for p in parts[:1]))


class PackagistScheme(VersionScheme):
    """Packagist version order (PHP `version_compare`)."""

    name = "packagist"

    def _sort_key(self, version: str) -> SortKey:
        return PackagistKey(_strip_v(version.strip()))

    def compare(self, a: str, b: str) -> int:
        return version_compare(_strip_v(a.strip()), _strip_v(b.strip()))

    def is_valid(self, version: str) -> bool:
        """A Composer release: digits first (after an optional `v`), then letters, digits, `.-_+`."""
        text = version.strip()
        text = text[1:] if text[:1] in ("v", "V") else text
        return bool(_VALID.match(text))
