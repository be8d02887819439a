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
    # Why OS packages are matched the way they are, when it is not the plain case
    # (a testing release matched as its coming number, a distribution OSV has no
    # ecosystem for); shown in the scan's notes.
    remark: str = ""

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


# Debian's testing release has no VERSION_ID; its codename names the coming number.
DEBIAN_CODENAMES = {"bookworm": "12", "trixie": "13", "forky": "14", "duke": "15"}
# Distributions whose packages are rpm but for which OSV publishes no ecosystem.
_NO_OSV_ECOSYSTEM = {
    "amzn": "Amazon Linux",
    "ol": "Oracle Linux",
    "fedora": "Fedora",
    "centos": "CentOS",
}
_RED_HAT_REPOSITORIES = ("baseos", "appstream", "crb")


def _major(version_id: str) -> str:
    return version_id.split(".")[0]


def ecosystems_for(distro_id: str, version_id: str, version: str = "") -> tuple[str, ...]:
    """The OSV ecosystems of a release (see `Distro.ecosystems`); () when unknown."""
    distro_id = distro_id.strip().lower()
    version_id = version_id.strip()
    if distro_id == "wolfi":
        return ("Wolfi",)  # a rolling distribution: one ecosystem, no releases
    if distro_id == "chainguard":
        return ("Chainguard",)
    if not version_id:
        return ()
    if distro_id == "debian":
        # VERSION_ID is the major release ("12"); OSV names Debian releases the same way.
        return (f"Debian:{_major(version_id)}",)
    if distro_id == "ubuntu":
        plain = f"Ubuntu:{version_id}"
        return (plain, f"{plain}:LTS") if "LTS" in version else (plain,)
    if distro_id == "alpine":
        found = _ALPINE_RELEASE.match(version_id)
        return (f"Alpine:v{found.group(1)}.{found.group(2)}",) if found else ()
    if distro_id == "rhel":
        # OSV's Red Hat records are per product stream and repository
        # (`Red Hat:enterprise_linux:9::appstream`); an installed package does not
        # say which repository it came from, so all of a release's are searched.
        major = _major(version_id)
        return tuple(f"Red Hat:enterprise_linux:{major}::{repo}" for repo in _RED_HAT_REPOSITORIES)
    if distro_id == "rocky":
        return (f"Rocky Linux:{_major(version_id)}",)
    if distro_id == "almalinux":
        return (f"AlmaLinux:{_major(version_id)}",)
    if distro_id in ("sles", "sled", "sle_hpc"):
        major, _, service_pack = version_id.partition(".")
        suffix = f" SP{service_pack}" if service_pack and service_pack != "0" else ""
        product = {"sles": "Server", "sled": "Desktop", "sle_hpc": "High Performance Computing"}[distro_id]
        return (f"SUSE:Linux Enterprise {product} {major}{suffix}",)
    if distro_id == "opensuse-leap":
        return (f"openSUSE:Leap {version_id}",)
    if distro_id == "opensuse-tumbleweed":
        return ("openSUSE:Tumbleweed",)
    return ()


def _remark(distro_id: str, fields: dict[str, str], ecosystems: tuple[str, ...]) -> str:
    version_id = fields.get("VERSION_ID", "")
    if distro_id in _NO_OSV_ECOSYSTEM:
        return f"OSV publishes no advisories for {_NO_OSV_ECOSYSTEM[distro_id]}; its OS packages are listed but not matched"
    if distro_id == "debian" and not version_id:
        codename = fields.get("VERSION_CODENAME", "")
        if codename in DEBIAN_CODENAMES:
            return f"Debian testing ({codename}) is matched as the release it will become"
        return "Debian unstable (sid) has no OSV ecosystem; its OS packages are listed but not matched"
    if distro_id == "alpine" and "_alpha" in version_id:
        return f"Alpine edge ({version_id}) is matched as the release it will become"
    if distro_id == "rhel" and ecosystems:
        return "Red Hat packages are matched against the BaseOS, AppStream and CRB advisories of the release"
    return ""


def distro_from_os_release(text: str) -> Distro | None:
    """The distribution an os-release file describes, or None without an ID."""
    fields = parse_os_release(text)
    distro_id = fields.get("ID", "").strip().lower()
    if not distro_id:
        return None
    version_id = fields.get("VERSION_ID", "")
    ecosystems = ecosystems_for(distro_id, version_id, fields.get("VERSION", ""))
    codename = fields.get("VERSION_CODENAME", "")
    if distro_id == "debian" and not version_id and codename in DEBIAN_CODENAMES:
        ecosystems = (f"Debian:{DEBIAN_CODENAMES[codename]}",)
    return Distro(
        id=distro_id,
        version_id=version_id,
        pretty_name=fields.get("PRETTY_NAME", ""),
        ecosystems=ecosystems,
        remark=_remark(distro_id, fields, ecosystems),
    )
