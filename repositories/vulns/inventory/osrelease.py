"""`os-release`: which distribution and release an image is, as an OSV ecosystem."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

# Where systemd's os-release(5) says to look, in order.
OS_RELEASE_PATHS = ("etc/os-release", "usr/lib/os-release")

_ALPINE_RELEASE = re.compile(r"^(\d+)\.(\d+)")


@dataclass(frozen=True)
class Distro:
    """A distribution release read from os-release.

    `ecosystems` are the OSV ecosystems its OS packages are matched in, the canonical
    one first: OSV names Ubuntu LTS releases `Ubuntu:22.04:LTS` and other feeds use
    plain `Ubuntu:22.04`, so both are tried. Empty for an unknown distribution.
    """

    id: str
    version_id: str = ""
    pretty_name: str = ""
    ecosystems: tuple[str, ...] = ()

    @property
    def ecosystem(self) -> str | None:
        """The canonical OSV ecosystem (`Debian:12`, `Ubuntu:22.04`, `Alpine:v3.19`), or None."""
        if not self.ecosystems:
            return None
        return self.ecosystems[0]


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines with shell quoting; comments, blank and malformed lines ignored."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        key = key.strip()
        if not key.isidentifier():
            continue
        try:
            parts = shlex.split(raw, comments=False, posix=True)
            value = " ".join(parts)
        except ValueError:  # unbalanced quotes: keep the text without them
            value = raw.strip().strip("\"'")
        fields[key] = value
    return fields


def ecosystems_for(distro_id: str, version_id: str, version: str = "") -> tuple[str, ...]:
    """The OSV ecosystems of a release (see `Distro.ecosystems`); () when unknown."""
    distro_id = distro_id.strip().lower()
    version_id = version_id.strip()
    if not version_id:
        return ()
    if distro_id == "debian":
        # VERSION_ID is the major release ("12"); OSV names Debian releases the same way.
        return (f"Debian:{version_id.split('.')[0]}",)
    if distro_id == "ubuntu":
        plain = f"Ubuntu:{version_id}"
        return (plain, f"{plain}:LTS") if "LTS" in version else (plain,)
    if distro_id == "alpine":
        found = _ALPINE_RELEASE.match(version_id)
        return (f"Alpine:v{found.group(1)}.{found.group(2)}",) if found else ()
    return ()


def distro_from_os_release(text: str) -> Distro | None:
    """The distribution an os-release file describes, or None without an ID."""
    fields = parse_os_release(text)
    distro_id = fields.get("ID", "").strip().lower()
    if not distro_id:
        return None
    version_id = fields.get("VERSION_ID", "")
    return Distro(
        id=distro_id,
        version_id=version_id,
        pretty_name=fields.get("PRETTY_NAME", ""),
        ecosystems=ecosystems_for(distro_id, version_id, fields.get("VERSION", "")),
    )
