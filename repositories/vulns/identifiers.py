"""The names one vulnerability goes by, in the one form every comparison uses.

A finding is known by its own id, its advisory's `aliases` (the same vulnerability
in another database: `GHSA-…` ↔ `CVE-…`) and its advisory's `upstream` ids (the
records it was derived from: Debian's `DEBIAN-CVE-2024-1234` names
`CVE-2024-1234`). Allowlists and the "vulnerability id" filters match on all of
them, case-insensitively and exactly, so each is stored and compared upper-cased
and trimmed (`normalize`), which lets both databases answer with a plain index
lookup instead of a case-folding scan.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_LENGTH = 255


def normalize(identifier: str) -> str:
    """`identifier` as stored and compared: trimmed, upper-cased, at most 255 characters."""
    return identifier.strip().upper()[:MAX_LENGTH]


def identifiers(vulnerability_id: str, aliases: Iterable[object] = (), upstream: Iterable[object] = ()) -> list[str]:
    """Every name of one finding, normalised, each once, its own id first.

    Aliases and upstream ids come from untrusted documents (OSV records, Trivy
    reports): anything that is not a non-empty string is ignored.
    """
    names: list[str] = []
    for value in (vulnerability_id, *aliases, *upstream):
        if isinstance(value, str) and (name := normalize(value)) and name not in names:
            names.append(name)
    return names


__all__ = ["MAX_LENGTH", "identifiers", "normalize"]
