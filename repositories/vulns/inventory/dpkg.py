"""dpkg databases: `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from ..layers import KeptFile
from .packages import DEB, Package
from .stanzas import control_stanzas, introducing_layers, text_of

STATUS = "var/lib/dpkg/status"
STATUS_DIR = "var/lib/dpkg/status.d/"

# `Source: openssl (3.0.11-1~deb12u2)`: a source version differing from the binary's.
_SOURCE = re.compile(r"^(?P<name>[^\s(]+)\s*(?:\((?P<version>[^)]*)\))?")


def is_status_file(path: str) -> bool:
    """The status file, or one of distroless' per-package files (not their `.md5sums`)."""
    if path == STATUS:
        return True
    if not path.startswith(STATUS_DIR):
        return False
    name = path[len(STATUS_DIR) :]
    return bool(name) and "/" not in name and not name.endswith(".md5sums")


def _installed(stanza: dict[str, str], *, status_required: bool) -> bool:
    """`Status: <want> <flag> <state>`: files are on disk when the state is `installed`.

    Distroless writes per-package files without a Status field; they are installed.
    """
    status = stanza.get("Status")
    if status is None:
        return not status_required
    words = status.split()
    return len(words) == 3 and words[1] == "ok" and words[2] == "installed"


def package_from_stanza(stanza: dict[str, str], *, status_required: bool = True) -> Package | None:
    """The installed package a stanza describes, or None (not installed, incomplete)."""
    name, version = stanza.get("Package", ""), stanza.get("Version", "")
    if not name or not version or not _installed(stanza, status_required=status_required):
        return None
    source_name, source_version = name, version
    source = _SOURCE.match(stanza.get("Source", ""))
    if source:
        source_name = source.group("name")
        source_version = (source.group("version") or "").strip() or version
    return Package(
        kind=DEB,
        name=name,
        version=version,
        source_name=source_name,
        source_version=source_version,
        arch=stanza.get("Architecture", ""),
    )


def _parse(data: bytes, status_required: bool) -> Iterator[Package]:
    for stanza in control_stanzas(text_of(data)):
        package = package_from_stanza(stanza, status_required=status_required)
        if package is not None:
            yield package


def packages_from(kept: KeptFile) -> list[Package]:
    """The installed packages of one dpkg database file, each with its introducing layer."""
    status_required = kept.path == STATUS
    packages = list(_parse(kept.data, status_required))
    layers = introducing_layers(kept, lambda data: (p.key for p in _parse(data, status_required)))
    return [replace(p, layer=layers.get(p.key, kept.layer), path=kept.path) for p in packages]
