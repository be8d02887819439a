"""Python distributions: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` (or an `.egg-info` file)."""

from __future__ import annotations

from ..layers import KeptFile
from ..names import normalize_name
from .packages import PYPI, Package
from .stanzas import text_of

PYPI_ECOSYSTEM = "PyPI"
_SUFFIXES = (".dist-info/METADATA", ".egg-info/PKG-INFO", ".egg/EGG-INFO/PKG-INFO")


def is_metadata_file(path: str) -> bool:
    """Core-metadata files of installed distributions (an `.egg-info` may be the file itself)."""
    return path.endswith(_SUFFIXES) or path.endswith(".egg-info")


def _headers(text: str) -> dict[str, str]:
    """The RFC 822 header block of core metadata; the body (the long description) is skipped."""
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        if line[0] in " \t":
            continue
        name, sep, value = line.partition(":")
        if sep:
            headers.setdefault(name.strip().lower(), value.strip())
    return headers


def packages_from(kept: KeptFile) -> list[Package]:
    """The distribution one metadata file describes (none when Name or Version is missing)."""
    headers = _headers(text_of(kept.data))
    name, version = headers.get("name", ""), headers.get("version", "")
    if not name or not version:
        return []
    # Advisories name PyPI projects in PEP 503 normal form; keep the declared name to show.
    return [
        Package(
            kind=PYPI,
            name=name,
            version=version,
            source_name=normalize_name(PYPI_ECOSYSTEM, name),
            source_version=version,
            ecosystem=PYPI_ECOSYSTEM,
            layer=kept.layer,
            path=kept.path,
        )
    ]
