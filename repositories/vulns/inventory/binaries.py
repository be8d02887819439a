"""Executables: Go build information and Rust `cargo auditable` dependency lists, from ELF.

Nothing is run. An executable regular file (any `x` bit) that starts with the ELF
magic is read once, up to `BINARY_CAP`, while its layer streams past; the reducer
keeps a small JSON summary and drops the bytes:

- Go: the `.go.buildinfo` section (or, without section headers, the 16-byte-aligned
  `\\xff Go buildinf:` magic) as Go's `debug/buildinfo` reads it: the Go version and
  the module information, inline (Go 1.18 on) or through pointers (older toolchains),
  the latter resolved through the section table. Modules: the main module (unless
  `(devel)`), each `dep` (a `=>` replacement takes its place, as the toolchain built
  it) and the standard library as module `stdlib` at the toolchain version, which is
  how OSV's Go advisories name it (`go1.21.5` becomes `1.21.5`, `go1.22` `1.22.0`,
  `go1.21rc2` `1.21.0-rc.2`).
- Rust: the `.dep-v0` section `cargo auditable` embeds: zlib-compressed JSON listing
  every crate compiled in; crates whose source is crates.io get that ecosystem.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from typing import IO, Any

from ..layers import KeptFile, MiB
from ..layers.reader import Reducer
from .packages import CARGO, GOLANG, Package

GO_ECOSYSTEM = "Go"
CRATES_ECOSYSTEM = "crates.io"

BINARY_CAP = 256 * MiB
MIN_BINARY = 256
_ELF_MAGIC = b"\x7fELF"
_GO_MAGIC = b"\xff Go buildinf:"
_MAX_DEP_V0 = 8 * MiB  # decompressed cargo-auditable JSON; real ones are a few KiB
_READ = 1 * MiB

_GO_VERSION = re.compile(r"^go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(rc|beta)(\d+))?")


def is_candidate(path: str, mode: int, size: int) -> Reducer | None:
    """The reducer for an executable file worth opening, None for everything else."""
    if not mode & 0o111 or size < MIN_BINARY or size > BINARY_CAP:
        return None
    return reduce_executable


def reduce_executable(handle: IO[bytes], size: int) -> bytes | None:
    """Read one executable; its build information as JSON, or None when it has none."""
    head = handle.read(4)
    if head != _ELF_MAGIC:
        return None
    chunks = [head]
    remaining = size - 4
    while remaining > 0:
        chunk = handle.read(min(_READ, remaining))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    data = b"".join(chunks)
    del chunks
    try:
        summary = summarize_elf(data)
    except (struct.error, ValueError, IndexError, zlib.error):
        return None
    return json.dumps(summary, separators=(",", ":")).encode() if summary else None


class _Elf:
    """Just enough of an ELF file: its sections by name and address translation."""

    def __init__(self, data: bytes) -> None:
        if data[:4] != _ELF_MAGIC or data[4] not in (1, 2) or data[5] not in (1, 2):
            raise ValueError("not an ELF file")
        self.data = data
        self.is64 = data[4] == 2
        self.endian = "<" if data[5] == 1 else ">"
        if self.is64:
            (shoff,) = struct.unpack_from(self.endian + "Q", data, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from(self.endian + "HHH", data, 0x3A)
        else:
            (shoff,) = struct.unpack_from(self.endian + "I", data, 0x20)
            shentsize, shnum, shstrndx = struct.unpack_from(self.endian + "HHH", data, 0x2E)
        # (name offset, type, address, offset, size) per section.
        self.sections: list[tuple[int, int, int, int, int]] = []
        if shoff and shnum and shoff + shnum * shentsize <= len(data):
            for index in range(shnum):
                base = shoff + index * shentsize
                if self.is64:
                    name, type_, _flags, addr, offset, size = struct.unpack_from(
                        self.endian + "IIQQQQ", data, base
                    )
                else:
                    name, type_, _flags, addr, offset, size = struct.unpack_from(
                        self.endian + "IIIIII", data, base
                    )
                self.sections.append((name, type_, addr, offset, size))
        self.names: dict[str, tuple[int, int, int, int, int]] = {}
        if self.sections and shstrndx < len(self.sections):
            strtab_offset = self.sections[shstrndx][3]
            for section in self.sections:
                start = strtab_offset + section[0]
                end = data.find(b"\0", start)
                if end > start:
                    self.names[data[start:end].decode("latin-1")] = section

    def section(self, name: str) -> bytes | None:
        found = self.names.get(name)
        if found is None or found[1] == 8:  # SHT_NOBITS has no bytes in the file
            return None
        _, _, _, offset, size = found
        return self.data[offset : offset + size]

    def read_at(self, address: int, size: int) -> bytes | None:
        """`size` bytes at virtual `address`, from the section holding it."""
        for _, type_, addr, offset, length in self.sections:
            if type_ != 8 and addr and addr <= address and address + size <= addr + length:
                start = offset + address - addr
                return self.data[start : start + size]
        return None


def summarize_elf(data: bytes) -> dict[str, Any] | None:
    """Go build info and/or cargo-auditable dependencies of an ELF image."""
    elf = _Elf(data)
    summary: dict[str, Any] = {}
    go = _go_build_info(elf)
    if go:
        summary["go"] = go
    dep_v0 = elf.section(".dep-v0")
    if dep_v0:
        decompressor = zlib.decompressobj()
        text = decompressor.decompress(dep_v0, _MAX_DEP_V0)
        crates = _crates(json.loads(text))
        if crates:
            summary["cargo"] = crates
    return summary or None


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _go_build_info(elf: _Elf) -> dict[str, Any] | None:
    section = elf.section(".go.buildinfo")
    if section is None or not section.startswith(_GO_MAGIC):
        # No section table (stripped with sstrip, or not Go): look for the magic
        # where the toolchain aligns it.
        pos = elf.data.find(_GO_MAGIC)
        while pos >= 0 and pos % 16:
            pos = elf.data.find(_GO_MAGIC, pos + 1)
        if pos < 0:
            return None
        section = elf.data[pos : pos + 64 * 1024]
    if len(section) < 32:
        return None
    pointer_size, flags = section[14], section[15]
    if flags & 2:  # Go 1.18 on: version and module info inline, varint-prefixed
        length, pos = _uvarint(section, 32)
        version = section[pos : pos + length].decode("utf-8", "replace")
        pos += length
        length, pos = _uvarint(section, pos)
        modinfo = section[pos : pos + length].decode("utf-8", "replace")
    else:
        order = ">" if flags & 1 else elf.endian
        pointer = "Q" if pointer_size == 8 else "I"
        version_address, modinfo_address = struct.unpack_from(order + pointer * 2, section, 16)
        version = _go_string(elf, version_address, order, pointer, pointer_size)
        modinfo = _go_string(elf, modinfo_address, order, pointer, pointer_size)
    if not version:
        return None
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        modinfo = modinfo[16:-16]  # the sentinels around the module info
    return {"version": version, **_modules(modinfo)}


def _go_string(elf: _Elf, address: int, order: str, pointer: str, pointer_size: int) -> str:
    header = elf.read_at(address, 2 * pointer_size)
    if header is None:
        return ""
    data_address, length = struct.unpack(order + pointer * 2, header)
    if length > 1 * MiB:
        return ""
    text = elf.read_at(data_address, length)
    return text.decode("utf-8", "replace") if text else ""


def _modules(modinfo: str) -> dict[str, Any]:
    main: dict[str, str] = {}
    deps: list[dict[str, str]] = []
    path = ""
    for line in modinfo.splitlines():
        fields = line.split("\t")
        if fields[0] == "path" and len(fields) > 1:
            path = fields[1]
        elif fields[0] == "mod" and len(fields) > 2:
            main = {"path": fields[1], "version": fields[2]}
        elif fields[0] == "dep" and len(fields) > 2:
            deps.append({"path": fields[1], "version": fields[2]})
        elif fields[0] == "=>" and len(fields) > 2 and deps:
            deps[-1] = {"path": fields[1], "version": fields[2], "replaces": deps[-1]["path"]}
    return {"path": path, "main": main, "deps": deps}


def _crates(document: Any) -> list[dict[str, str]]:
    crates: list[dict[str, str]] = []
    if not isinstance(document, dict):
        return crates
    for entry in document.get("packages") or ():
        if not isinstance(entry, dict):
            continue
        name, version = entry.get("name"), entry.get("version")
        if isinstance(name, str) and isinstance(version, str) and name and version:
            source = entry.get("source")
            crates.append(
                {"name": name, "version": version, "source": source if isinstance(source, str) else ""}
            )
    return crates


def stdlib_version(go_version: str) -> str | None:
    """The OSV `stdlib` version of a toolchain version (`go1.22` is `1.22.0`), None if unknown."""
    found = _GO_VERSION.match(go_version.strip())
    if found is None:
        return None
    major, minor, patch, pre, pre_number = found.groups()
    version = f"{major}.{minor or 0}.{patch or 0}"
    if pre:
        version += f"-{pre}.{pre_number}"
    return version


def packages_from(kept: KeptFile) -> list[Package]:
    """The modules and crates one executable's summary lists."""
    try:
        summary = json.loads(kept.data)
    except ValueError:
        return []
    found: list[Package] = []

    def add(kind: str, name: str, version: str, ecosystem: str | None) -> None:
        found.append(
            Package(
                kind=kind,
                name=name,
                version=version,
                source_name=name,
                source_version=version,
                ecosystem=ecosystem,
                layer=kept.layer,
                path=kept.path,
            )
        )

    go = summary.get("go")
    if isinstance(go, dict):
        main = go.get("main") or {}
        if main.get("path") and main.get("version") and main["version"] != "(devel)":
            add(GOLANG, main["path"], main["version"], GO_ECOSYSTEM)
        for dep in go.get("deps") or ():
            if dep.get("path") and dep.get("version"):
                add(GOLANG, dep["path"], dep["version"], GO_ECOSYSTEM)
        stdlib = stdlib_version(str(go.get("version", "")))
        if stdlib:
            add(GOLANG, "stdlib", stdlib, GO_ECOSYSTEM)
    for crate in summary.get("cargo") or ():
        source = crate.get("source", "")
        add(CARGO, crate["name"], crate["version"], CRATES_ECOSYSTEM if source == "crates.io" else None)
    return found
