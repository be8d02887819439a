"""Shared helpers for package databases: text decoding, stanzas, layer attribution."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import TypeVar

from ..layers import KeptFile

K = TypeVar("K", bound=Hashable)


def text_of(data: bytes) -> str:
    """Package databases are UTF-8 in practice; a stray byte must not stop the scan."""
    return data.decode("utf-8", errors="replace")


def control_stanzas(text: str) -> Iterator[dict[str, str]]:
    """deb822 stanzas (`Field: value`, continuation lines indented, blank-separated).

    Field names are case-insensitive in deb822, so keys are returned title-cased
    (`Package`, `Version`, `Source`, `Status`); continuation lines are dropped, since
    the fields we use are single-line.
    """
    stanza: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if stanza:
                yield stanza
                stanza = {}
            continue
        if line[0] in " \t" or line.startswith("#"):
            continue
        name, sep, value = line.partition(":")
        if sep and name and " " not in name:
            stanza.setdefault(name.strip().title(), value.strip())
    if stanza:
        yield stanza


def introducing_layers(kept: KeptFile, keys: Callable[[bytes], Iterable[K]]) -> dict[K, str]:
    """For each key in the current content, the digest of the layer that introduced it
    (a key left out was introduced by `kept.layer`, the current content's layer).

    `kept.history` holds the earlier contents of the database file; a package was
    introduced by the lowest layer from which every later version of the file still
    lists it (so one removed and reinstalled counts from the reinstall).
    """
    if not kept.history:
        return {}  # one version of the file: its layer introduced everything (callers default to it)
    versions = [*kept.history, (kept.layer, kept.data)]
    current = set(keys(kept.data))
    introduced = dict.fromkeys(current, kept.layer)
    remaining = set(current)
    for layer, data in reversed(versions[:-1]):
        if not remaining:
            break
        present = remaining & set(keys(data))
        for key in present:
            introduced[key] = layer
        remaining = present
    return introduced
