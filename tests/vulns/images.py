"""Sample images (as layer blobs) and OSV fixtures with invented ids, for scanner tests."""

from __future__ import annotations

from typing import Any

from repositories.vulns.osv import build_index
from tests.vulns.tarballs import directory, file, layer, symlink, whiteout

CRITICAL_VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
MEDIUM_VECTOR = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N"  # 4.2

DEBIAN_OS_RELEASE = (
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
)
ALPINE_OS_RELEASE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n'

DPKG_STATUS = """\
Package: libssl3
Status: install ok installed
Priority: optional
Architecture: amd64
Source: openssl
Version: 3.0.9-1
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation of the SSL
 and TLS cryptographic protocols.

Package: openssl
Status: install ok installed
Architecture: amd64
Version: 3.0.9-1
Description: Secure Sockets Layer toolkit - cryptographic utility

Package: libcurl4
Status: install ok installed
Architecture: amd64
Source: curl (7.88.1-10+deb12u1)
Version: 7.88.1-10+deb12u1+b1
Description: easy-to-use client-side URL transfer library

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
Description: only its configuration files are left
"""


def advisory(id_: str, *affected: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": id_, "affected": list(affected), **extra}


def affects(ecosystem: str, name: str, fixed: str | None, *, type_: str = "ECOSYSTEM") -> dict[str, Any]:
    events: list[dict[str, str]] = [{"introduced": "0"}]
    if fixed:
        events.append({"fixed": fixed})
    return {"package": {"ecosystem": ecosystem, "name": name}, "ranges": [{"type": type_, "events": events}]}


ADVISORIES = [
    advisory(
        "WHARF-TEST-0001",
        affects("Debian:12", "openssl", "3.0.11-1~deb12u2"),
        aliases=["CVE-2099-1001"],
        summary="openssl: invented buffer overflow",
        severity=[{"type": "CVSS_V3", "score": CRITICAL_VECTOR}],
        references=[{"type": "ADVISORY", "url": "https://security-tracker.example/WHARF-TEST-0001"}],
    ),
    advisory(
        "WHARF-TEST-0002",
        affects("Debian:12", "curl", None),
        summary="curl: invented issue without a fix",
        database_specific={"urgency": "low*"},
    ),
    # Names the *binary* package: Debian advisories never do, so this must not match.
    advisory("WHARF-TEST-0003", affects("Debian:12", "libssl3", "9.9")),
    # Source zlib at 1:1.2.13.dfsg-1 is already fixed.
    advisory("WHARF-TEST-0004", affects("Debian:12", "zlib", "1:1.2.13.dfsg-1")),
    # The same package in another release must not match.
    advisory("WHARF-TEST-0005", affects("Debian:11", "openssl", "9.9")),
    advisory(
        "WHARF-TEST-0010",
        affects("Alpine:v3.19", "openssl", "3.1.4-r5"),
        severity=[{"type": "CVSS_V3", "score": MEDIUM_VECTOR}],
    ),
    advisory("WHARF-TEST-0011", affects("Alpine:v3.19", "libcrypto3", "9.9")),  # a binary name
    advisory(
        "WHARF-TEST-0020",
        affects("PyPI", "pyyaml", "5.4"),
        database_specific={"severity": "HIGH"},
    ),
    advisory(
        "WHARF-TEST-0021", affects("npm", "lodash", "4.17.21", type_="SEMVER"), aliases=["CVE-2099-2001"]
    ),
    advisory(
        "WHARF-TEST-0022",
        affects("npm", "@babel/traverse", "7.23.2", type_="SEMVER"),
        summary="babel: invented",
    ),
    advisory("WHARF-TEST-0030", affects("Debian:12", "openssl", None), withdrawn="2026-01-01T00:00:00Z"),
]
INDEX = build_index(ADVISORIES)

APK_INSTALLED = """\
C:Q1abc=
P:libcrypto3
V:3.1.4-r1
A:x86_64
o:openssl
T:Crypto library from openssl
F:lib
R:libcrypto.so.3

C:Q1def=
P:libssl3
V:3.1.4-r1
A:x86_64
o:openssl

P:musl
V:1.2.4_git20230717-r4
A:x86_64
o:musl

P:busybox
V:1.36.1-r15
A:x86_64
"""


def debian_image() -> list[bytes]:
    """A base layer with os-release (via the usual symlink) and a dpkg status."""
    base = layer(
        directory("etc"),
        file("usr/lib/os-release", DEBIAN_OS_RELEASE),
        symlink("etc/os-release", "../usr/lib/os-release"),
        file("var/lib/dpkg/status", DPKG_STATUS),
    )
    app = layer(file("app/main.py", "print('hi')\n"))
    return [base, app]


def distroless_image() -> list[bytes]:
    """Distroless keeps one stanza file per package in status.d, without Status."""
    return [
        layer(
            file("etc/os-release", DEBIAN_OS_RELEASE),
            file(
                "var/lib/dpkg/status.d/libssl3",
                "Package: libssl3\nVersion: 3.0.9-1\nArchitecture: amd64\nSource: openssl\n",
            ),
            file("var/lib/dpkg/status.d/libssl3.md5sums", "d41d8cd98f00b204e9800998ecf8427e  usr/lib/x\n"),
            file(
                "var/lib/dpkg/status.d/base",
                "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n\n"
                "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
            ),
        )
    ]


def alpine_image() -> list[bytes]:
    return [layer(file("etc/os-release", ALPINE_OS_RELEASE), file("lib/apk/db/installed", APK_INSTALLED))]


def language_image() -> list[bytes]:
    """Python and npm packages on top of an Alpine base."""
    site = "usr/local/lib/python3.11/site-packages"
    return [
        *alpine_image(),
        layer(
            file(
                f"{site}/PyYAML-5.3.1.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: PyYAML\nVersion: 5.3.1\n",
            ),
            file(
                f"{site}/requests-2.31.0.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n",
            ),
        ),
        layer(
            file("app/package.json", '{"name": "app", "private": true}'),
            file("app/node_modules/lodash/package.json", '{"name": "lodash", "version": "4.17.20"}'),
            file(
                "app/node_modules/@babel/traverse/package.json",
                '{"name": "@babel/traverse", "version": "7.23.0"}',
            ),
        ),
    ]


def deleted_database_image() -> list[bytes]:
    """The Debian image plus a layer that deletes the dpkg database with a whiteout."""
    return [*debian_image(), layer(whiteout("var/lib/dpkg"))]
