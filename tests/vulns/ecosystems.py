"""Real package-database formats for scanner tests, built the way images get them.

- `rpm_database(...)`: an `rpmdb.sqlite` written by Debian's `rpm` itself: a spec with
  subpackages is built with `rpmbuild`, the packages installed with `rpm --justdb`.
- `go_binary(...)`: an executable built by Debian's Go toolchain (`go build`, offline,
  one vendored dependency), so its build information is the toolchain's own.
- `jar(...)`: Java archives written with `zipfile` in the layout Maven writes them
  (`META-INF/MANIFEST.MF`, `META-INF/maven/<g>/<a>/pom.properties`), nested as Spring
  Boot does (`BOOT-INF/lib/*.jar`, stored uncompressed).
- `auditable_elf(...)`: an ELF file with a `.dep-v0` section as `cargo auditable`
  embeds it (zlib-compressed JSON). No Rust toolchain is installable here, so this
  one is a fixture written from the format, with a minimal ELF around it.
- `rpm_header(...)`: a header blob in rpm's format, for the benchmark's 2,000-package
  database (`rpmbuild` would take minutes); `test_rpm_inventory` checks the parser on
  real databases, and this writer against what rpm wrote.
"""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

ROCKY_OS_RELEASE = 'NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n'


def have_rpm() -> bool:
    return shutil.which("rpmbuild") is not None and shutil.which("rpm") is not None


def have_go() -> bool:
    return shutil.which("go") is not None


needs_rpm = pytest.mark.skipif(not have_rpm(), reason="Debian's rpm is not installed (make test installs it)")
needs_db_load = pytest.mark.skipif(
    shutil.which("db_load") is None, reason="Debian's db-util is not installed (make test installs it)"
)
needs_go = pytest.mark.skipif(
    not have_go(), reason="Debian's golang-go is not installed (make test installs it)"
)


def _spec(
    name: str,
    epoch: int,
    version: str,
    release: str,
    subpackages: tuple[str, ...],
    files: tuple[str, ...] = (),
) -> str:
    lines = [
        f"Name: {name}",
        f"Version: {version}",
        f"Release: {release}",
        *([f"Epoch: {epoch}"] if epoch else []),
        "Summary: wharf test package",
        "License: MIT",
        "BuildArch: noarch",
        "%description",
        "test",
        "%install",
        *(f"mkdir -p %{{buildroot}}{path.rsplit('/', 1)[0]} && touch %{{buildroot}}{path}" for path in files),
        "%files",
        *files,
    ]
    for sub in subpackages:
        lines += [
            f"%package -n {sub}",
            f"Summary: {sub}",
            f"%description -n {sub}",
            "test",
            f"%files -n {sub}",
        ]
    return "\n".join(lines) + "\n"


@functools.cache
def rpm_database(packages: tuple[tuple[Any, ...], ...]) -> bytes:
    """`rpmdb.sqlite` with each (source name, epoch, version, release, subpackages[, files of
    the main package]) installed."""
    with tempfile.TemporaryDirectory(prefix="wharf-rpm-") as work:
        top, db = Path(work) / "top", Path(work) / "db"
        db.mkdir()
        for name, epoch, version, release, subpackages, *files in packages:
            spec = Path(work) / f"{name}.spec"
            spec.write_text(_spec(name, epoch, version, release, subpackages, files[0] if files else ()))
            subprocess.run(
                [
                    "rpmbuild",
                    "-bb",
                    "--quiet",
                    "--define",
                    f"_topdir {top}",
                    "--define",
                    "_build_id_links none",
                    str(spec),
                ],
                check=True,
                capture_output=True,
            )
        rpms = sorted(str(path) for path in (top / "RPMS").rglob("*.rpm"))
        subprocess.run(["rpm", "--dbpath", str(db), "--initdb"], check=True, capture_output=True)
        subprocess.run(
            [
                "rpm",
                "--dbpath",
                str(db),
                "-i",
                "--justdb",
                "--nodeps",
                "--noscripts",
                "--ignorearch",
                "--ignoreos",
                *rpms,
            ],
            check=True,
            capture_output=True,
        )
        return (db / "rpmdb.sqlite").read_bytes()


GO_MAIN = 'package main\n\nimport "example.com/greeting"\n\nfunc main() { println(greeting.Hello()) }\n'


@functools.cache
def go_binary(dependency_version: str = "v1.4.2") -> bytes:
    """A Go executable of module `example.com/wharfdemo` depending on `example.com/greeting`."""
    with tempfile.TemporaryDirectory(prefix="wharf-go-") as work:
        root = Path(work)
        (root / "go.mod").write_text(
            f"module example.com/wharfdemo\n\ngo 1.19\n\nrequire example.com/greeting {dependency_version}\n"
        )
        (root / "main.go").write_text(GO_MAIN)
        vendored = root / "vendor" / "example.com" / "greeting"
        vendored.mkdir(parents=True)
        (vendored / "greeting.go").write_text('package greeting\n\nfunc Hello() string { return "hello" }\n')
        (root / "vendor" / "modules.txt").write_text(
            f"# example.com/greeting {dependency_version}\n## explicit\nexample.com/greeting\n"
        )
        cache = Path(tempfile.gettempdir()) / "wharf-go-cache"
        env = {
            **os.environ,
            "GOCACHE": str(cache),
            "GOPATH": str(root / "gopath"),
            "GOFLAGS": "-mod=vendor",
            "GOPROXY": "off",
            "GOTOOLCHAIN": "local",
            "CGO_ENABLED": "0",
        }
        subprocess.run(
            ["go", "build", "-trimpath", "-ldflags=-s", "-o", "demo", "."],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
        )
        return (root / "demo").read_bytes()


def manifest(**fields: str) -> str:
    return (
        "Manifest-Version: 1.0\r\n"
        + "".join(f"{key.replace('_', '-')}: {value}\r\n" for key, value in fields.items())
        + "\r\n"
    )


def pom_properties(group: str, artifact: str, version: str) -> tuple[str, str]:
    return (
        f"META-INF/maven/{group}/{artifact}/pom.properties",
        f"#Created by Apache Maven 3.9.6\nversion={version}\ngroupId={group}\nartifactId={artifact}\n",
    )


def jar(*members: tuple[str, str | bytes], stored: tuple[str, ...] = ()) -> bytes:
    """A zip archive of (name, content) members; names in `stored` are not compressed
    (Spring Boot stores its nested jars, so they can be read in place)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            kind = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            archive.writestr(name, content, compress_type=kind)
    return buffer.getvalue()


def maven_jar(group: str, artifact: str, version: str, *extra: tuple[str, str | bytes]) -> bytes:
    return jar(
        ("META-INF/MANIFEST.MF", manifest(Created_By="Maven JAR Plugin 3.3.0")),
        pom_properties(group, artifact, version),
        *extra,
    )


def nested_fat_jar() -> bytes:
    """`app.jar` (Spring Boot) > BOOT-INF/lib/outer.jar > lib/middle.jar > lib/inner.jar: three levels below the top."""
    inner = maven_jar("org.example", "inner", "3.0.0")
    middle = jar(
        pom_properties("org.example", "middle", "2.0.0"), ("lib/inner.jar", inner), stored=("lib/inner.jar",)
    )
    outer = jar(
        pom_properties("org.example", "outer", "1.0.0"),
        ("lib/middle.jar", middle),
        stored=("lib/middle.jar",),
    )
    log4j = maven_jar("org.apache.logging.log4j", "log4j-core", "2.14.1")
    return jar(
        (
            "META-INF/MANIFEST.MF",
            manifest(Main_Class="org.springframework.boot.loader.JarLauncher", Start_Class="com.acme.App"),
        ),
        pom_properties("com.acme", "app", "0.1.0"),
        ("BOOT-INF/classes/com/acme/App.class", b"\xca\xfe\xba\xbe"),
        ("BOOT-INF/lib/outer.jar", outer),
        ("BOOT-INF/lib/log4j-core-2.14.1.jar", log4j),
        stored=("BOOT-INF/lib/outer.jar", "BOOT-INF/lib/log4j-core-2.14.1.jar"),
    )


def minimal_elf(sections: dict[str, bytes]) -> bytes:
    """A 64-bit little-endian ELF file holding `sections` (and its section-name table)."""
    names = b"\0" + b"".join(name.encode() + b"\0" for name in [*sections, ".shstrtab"])
    body = bytearray(64)  # the ELF header, filled in below
    offsets: list[tuple[int, int, int]] = []  # (name offset, data offset, size)
    name_offset = 1
    for name, data in sections.items():
        offsets.append((name_offset, len(body), len(data)))
        body += data
        name_offset += len(name) + 1
    offsets.append((name_offset, len(body), len(names)))
    body += names
    while len(body) % 8:
        body.append(0)
    section_headers = len(body)
    body += bytes(64)  # the null section
    for index, (name_at, data_at, size) in enumerate(offsets):
        type_ = 3 if index == len(offsets) - 1 else 1  # SHT_STRTAB for the names, else PROGBITS
        body += struct.pack("<IIQQQQIIQQ", name_at, type_, 0, 0, data_at, size, 0, 0, 1, 0)
    header = struct.pack(
        "<4sBBBBB7sHHIQQQIHHHHHH",
        b"\x7fELF", 2, 1, 1, 0, 0, bytes(7),
        2, 62, 1, 0, 0, section_headers, 0, 64, 56, 0, 64, len(offsets) + 1, len(offsets),
    )  # fmt: skip
    body[:64] = header
    return bytes(body)


def go_buildinfo_elf(go_version: str, deps: list[tuple[str, str]], *, padding: int = 1 << 20) -> bytes:
    """An ELF with a Go 1.18+ `.go.buildinfo` section (inline strings), for machines
    without Go: the format `debug/buildinfo` reads, around `padding` bytes of code."""

    def varint_string(text: str) -> bytes:
        data, length, out = text.encode(), len(text.encode()), bytearray()
        while True:
            byte = length & 0x7F
            length >>= 7
            out.append(byte | (0x80 if length else 0))
            if not length:
                return bytes(out) + data

    modinfo = "path\texample.com/wharfdemo\nmod\texample.com/wharfdemo\t(devel)\t\n"
    modinfo += "".join(f"dep\t{path}\t{version}\t\n" for path, version in deps)
    section = b"\xff Go buildinf:" + bytes([8, 2]) + bytes(16)
    section += varint_string(go_version) + varint_string(modinfo)
    return minimal_elf({".text": b"\x90" * padding, ".go.buildinfo": section})


def auditable_elf(crates: list[dict[str, object]]) -> bytes:
    """An executable as `cargo auditable` leaves it: its crates in a `.dep-v0` section."""
    dep_v0 = zlib.compress(json.dumps({"packages": crates}).encode(), 9)
    return minimal_elf({".text": b"\x90" * 512, ".dep-v0": dep_v0})


# --- rpm header blobs and an rpmdb.sqlite of many packages, for the benchmark ---------


def rpm_header(
    name: str,
    version: str,
    release: str,
    *,
    epoch: int = 0,
    arch: str = "x86_64",
    files: int = 20,
    changelog: str = "",
) -> bytes:
    """A header blob as rpm stores it: index entries, then the data store."""
    entries: list[tuple[int, int, bytes, int]] = []  # (tag, type, data, count)

    def string(tag: int, value: str) -> None:
        entries.append((tag, 6, value.encode() + b"\0", 1))

    string(1000, name)
    string(1001, version)
    string(1002, release)
    if epoch:
        entries.append((1003, 4, struct.pack(">i", epoch), 1))
    string(1022, arch)
    string(1044, f"{name}-{version}-{release}.src.rpm")
    # Base names, as real headers carry every file: they make up most of a header's size.
    base_names = b"".join(f"{name}-file-{n}.so.{version}\0".encode() for n in range(files))
    entries.append((1117, 8, base_names, files))
    if changelog:
        entries.append((1082, 8, changelog.encode() + b"\0", 1))  # CHANGELOGTEXT
    index = bytearray()
    data = bytearray()
    for tag, type_, payload, count in entries:
        if type_ == 4:
            while len(data) % 4:
                data.append(0)
        index += struct.pack(">iIiI", tag, type_, len(data), count)
        data += payload
    return struct.pack(">ii", len(entries), len(data)) + bytes(index) + bytes(data)


def rpm_sqlite(headers: list[bytes]) -> bytes:
    """An `rpmdb.sqlite` with rpm's `Packages` table holding `headers`."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
    connection.executemany("INSERT INTO Packages (blob) VALUES (?)", [(header,) for header in headers])
    connection.commit()
    data = connection.serialize()
    connection.close()
    return data


def bdb_database(headers: list[bytes]) -> bytes:
    """rpm's BerkeleyDB `Packages`, written by BerkeleyDB itself (`db_load -t hash`):
    keys are package numbers (native 32-bit), values header blobs, as rpm stores them."""
    lines = []
    for number, header in enumerate(headers, start=1):
        lines.append("".join(f"\\{byte:02x}" for byte in struct.pack("<I", number)))
        lines.append("".join(f"\\{byte:02x}" for byte in header))
    with tempfile.TemporaryDirectory(prefix="wharf-bdb-") as work:
        target = Path(work) / "Packages"
        subprocess.run(
            ["db_load", "-T", "-t", "hash", str(target)],
            input="\n".join(lines) + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
        return target.read_bytes()


def ndb_database(headers: list[bytes]) -> bytes:
    """rpm's NDB `Packages.db` laid out as rpm 4.16's `rpmpkg.c` writes it: a header and
    16-byte slots in the first page, each blob a `BlbS` record padded to 16-byte blocks.
    No tool here writes NDB (Debian's rpm has no NDB backend), so this is a fixture
    written from the format."""
    page = 4096
    blobs = bytearray()
    slots = bytearray()
    first_block = page // 16  # block offsets count from the file start; page 0 holds the slots
    for index, header in enumerate(headers, start=1):
        record = struct.pack("<4sIII", b"BlbS", index, 0, len(header)) + header + bytes(12)
        record += bytes(-len(record) % 16)
        slots += struct.pack("<4sIII", b"Slot", index, first_block + len(blobs) // 16, len(record) // 16)
        blobs += record
    head = struct.pack("<4sIIII", b"RpmP", 0, 1, 1, len(headers) + 1) + bytes(12)
    first_page = (head + slots).ljust(page, b"\0")
    return bytes(first_page + blobs)
