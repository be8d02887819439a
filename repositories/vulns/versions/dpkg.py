"""Debian (and Ubuntu) version order: exactly what `dpkg --compare-versions` does.

A version is `[epoch:]upstream[-revision]`. The epoch is compared as a number, then
the upstream part, then the revision, each with dpkg's `verrevcmp`: the string is
cut into alternating non-digit and digit runs; non-digit runs are compared
character by character with `~` before everything (even the end of the run),
letters before all other characters, digit runs numerically.

Parsing follows dpkg's `parseversion`: the epoch is what precedes the first `:`,
the revision what follows the last `-`; a missing revision compares like "0"
(dpkg itself treats `1.0` and `1.0-0` as equal). Strings dpkg would reject (a
non-numeric epoch, characters outside the allowed set) are still ordered, never
rejected: a non-numeric epoch counts as 0 with the whole string as upstream.
"""

from __future__ import annotations

import re

from .base import VersionScheme, sign

_VALID = re.compile(r"^(?:\d+:)?[0-9][A-Za-z0-9.+~:-]*$", re.ASCII)


def split_version(version: str) -> tuple[int, str, str]:
    """Split into (epoch, upstream, revision) the way dpkg's `parseversion` does."""
    text = version.strip()
    epoch = 0
    head, colon, rest = text.partition(":")
    if colon and head.isascii() and head.isdigit():
        epoch = int(head)
        text = rest
    upstream, dash, revision = text.rpartition("-")
    if not dash:
        upstream, revision = text, ""
    return epoch, upstream, revision


def _order(char: str) -> int:
    """dpkg's `order()`: weight of one character inside a non-digit run."""
    if char == "~":
        return -1
    if char.isascii() and char.isdigit():
        return 0
    if char.isascii() and char.isalpha():
        return ord(char)
    return ord(char) + 256


def verrevcmp(a: str, b: str) -> int:
    """Port of dpkg's `verrevcmp` (lib/dpkg/version.c), returning -1, 0 or 1."""
    i = j = 0
    len_a, len_b = len(a), len(b)
    while i < len_a or j < len_b:
        first_diff = 0
        while (i < len_a and not _is_digit(a[i])) or (j < len_b and not _is_digit(b[j])):
            ac = _order(a[i]) if i < len_a else 0
            bc = _order(b[j]) if j < len_b else 0
            if ac != bc:
                return sign(ac - bc)
            i += 1
            j += 1
        while i < len_a and a[i] == "0":
            i += 1
        while j < len_b and b[j] == "0":
            j += 1
        while i < len_a and _is_digit(a[i]) and j < len_b and _is_digit(b[j]):
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len_a and _is_digit(a[i]):
            return 1
        if j < len_b and _is_digit(b[j]):
            return -1
        if first_diff:
            return sign(first_diff)
    return 0


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"


_RUNS = re.compile(r"([^0-9]*)([0-9]*)")


def _part_key(text: str) -> tuple[tuple[tuple[int, ...], int], ...]:
    """Key of one upstream or revision string, ordered exactly like `verrevcmp`.

    Each (non-digit run, digit run) pair becomes (weights of the run's characters
    followed by a 0 terminator, number). A final ((0,), 0) pair stands for the
    endless empty runs dpkg compares against once a string is exhausted; it can
    only meet a pair whose non-digit run is non-empty (only a first pair can have
    an empty one), and such a run starts with a non-zero weight, so the terminator
    decides correctly and tuple comparison never needs padding.
    """
    pairs: list[tuple[tuple[int, ...], int]] = []
    pos = 0
    while pos < len(text):
        match = _RUNS.match(text, pos)
        assert match is not None  # the pattern matches any string
        letters, digits = match.group(1), match.group(2)
        pairs.append(((*(_order(c) for c in letters), 0), int(digits) if digits else 0))
        pos = match.end()
    if not pairs:
        pairs.append(((0,), 0))
    pairs.append(((0,), 0))
    return tuple(pairs)


class DpkgScheme(VersionScheme):
    """Debian/Ubuntu version order (dpkg)."""

    name = "dpkg"

    def _sort_key(self, version: str) -> tuple[int, tuple, tuple]:  # type: ignore[type-arg]
        epoch, upstream, revision = split_version(version)
        return (epoch, _part_key(upstream), _part_key(revision))

    def compare(self, a: str, b: str) -> int:
        epoch_a, up_a, rev_a = split_version(a)
        epoch_b, up_b, rev_b = split_version(b)
        if epoch_a != epoch_b:
            return sign(epoch_a - epoch_b)
        return verrevcmp(up_a, up_b) or verrevcmp(rev_a, rev_b)

    def is_valid(self, version: str) -> bool:
        return bool(_VALID.match(version))
