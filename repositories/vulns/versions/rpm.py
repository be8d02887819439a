"""RPM version order: `rpmvercmp` on version and release, after a numeric epoch.

An EVR is `[epoch:]version[-release]`: the epoch (missing = 0) compares as a number,
then the version and the release each with rpm's `rpmvercmp` (rpmio/rpmvercmp.c):

- characters other than ASCII letters, digits, `~` and `^` only separate segments
  (`2.0 == 2_0`; non-ASCII letters are separators too, as in rpm);
- `~` sorts before everything, even the end (`1.0~rc1 < 1.0`);
- `^` sorts after the end but before anything else (`1.0 < 1.0^git1 < 1.0.1`);
- a digit run beats a letter run (`1.0 > 1.a`), digit runs compare numerically
  (leading zeros ignored: `10.0001 == 10.1`), letter runs by bytes;
- a version that runs out of segments first is older (`2.0 < 2.0.1`).

A missing release is older than any release, even `~` (rpm's `rpmverCmp`). Every string
has a place; `is_valid` only says whether it looks like an EVR rpm would build.
"""

from __future__ import annotations

import re

from .base import VersionScheme, sign

_SEGMENT = re.compile(r"~|\^|[0-9]+|[A-Za-z]+")
_VALID = re.compile(r"^(?:\d+:)?[A-Za-z0-9._+~^]+(?:-[A-Za-z0-9._+~^]+)?$", re.ASCII)

# Ranks of what comes next where two strings first differ (see the module docstring).
_TILDE, _END, _CARET, _ALPHA, _NUMBER = 0, 1, 2, 3, 4


def _segments_key(text: str) -> tuple[tuple[int, int | str], ...]:
    key: list[tuple[int, int | str]] = []
    for segment in _SEGMENT.findall(text):
        if segment == "~":
            key.append((_TILDE, 0))
        elif segment == "^":
            key.append((_CARET, 0))
        elif segment.isdigit():
            key.append((_NUMBER, int(segment)))
        else:
            key.append((_ALPHA, segment))
    key.append((_END, 0))
    return tuple(key)


def rpmvercmp(a: str, b: str) -> int:
    """rpm's `rpmvercmp` on one version or release string: -1, 0 or 1."""
    if a == b:
        return 0
    key_a, key_b = _segments_key(a), _segments_key(b)
    return (key_a > key_b) - (key_a < key_b)


def split_evr(evr: str) -> tuple[int, str, str | None]:
    """(epoch, version, release or None) of `[epoch:]version[-release]`."""
    text = evr.strip()
    epoch = 0
    head, colon, rest = text.partition(":")
    if colon and head.isascii() and head.isdigit():
        epoch, text = int(head), rest
    elif colon and not head:
        text = rest
    version, dash, release = text.rpartition("-")
    if not dash:
        return epoch, text, None
    return epoch, version, release


class RpmScheme(VersionScheme):
    """RPM version order (Red Hat, Rocky, Alma, SUSE, Amazon Linux, Oracle Linux, Fedora)."""

    name = "rpm"

    def _sort_key(self, version: str) -> tuple:  # type: ignore[type-arg]
        epoch, ver, release = split_evr(version)
        return (epoch, _segments_key(ver), (0,) if release is None else (1, _segments_key(release)))

    def compare(self, a: str, b: str) -> int:
        epoch_a, version_a, release_a = split_evr(a)
        epoch_b, version_b, release_b = split_evr(b)
        if epoch_a != epoch_b:
            return sign(epoch_a - epoch_b)
        result = rpmvercmp(version_a, version_b)
        if result or release_a == release_b:
            return result
        if release_a is None or release_b is None:
            return -1 if release_a is None else 1
        return rpmvercmp(release_a, release_b)

    def is_valid(self, version: str) -> bool:
        return bool(_VALID.match(version.strip()))
