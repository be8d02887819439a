"""The rpm database: header blobs from SQLite (`rpmdb.sqlite`), BerkeleyDB and NDB files.

Every rpm database stores one *header blob* per installed package, the same
structure rpm writes into a package file (rpm's `headerImport`):

    int32 il, int32 dl (big-endian), il index entries of 16 bytes
    (int32 tag, uint32 type, int32 offset, uint32 count), then dl bytes of data.

Only NAME, EPOCH, VERSION, RELEASE, ARCH and SOURCERPM are read. The blobs are found
in the three on-disk formats rpm has used:

- SQLite (`var/lib/rpm/rpmdb.sqlite`, Fedora 33+, RHEL 9, Rocky/Alma 9): the `Packages`
  table, read with Python's own sqlite3 from the bytes in memory (`deserialize`,
  read-only: nothing touches the disk).
- BerkeleyDB hash (`var/lib/rpm/Packages`, RHEL/CentOS 7 and 8, Amazon Linux 2): the
  hash pages' key/value pairs; a header is an overflow chain of pages.
- NDB (`var/lib/rpm/Packages.db`, SUSE 15.x): slot pages pointing at blob records.

`gpg-pubkey` entries are keys, not packages, and are skipped. A blob rpm would refuse
(counts beyond its data, offsets out of range) is skipped rather than trusted.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import replace

from ..layers import KeptFile
from .packages import RPM, Package
from .stanzas import introducing_layers

SQLITE_DB = "var/lib/rpm/rpmdb.sqlite"
BDB_DB = "var/lib/rpm/Packages"
NDB_DB = "var/lib/rpm/Packages.db"
# Some distributions keep the database under /usr/lib/sysimage/rpm (openSUSE, Fedora 36+),
# with /var/lib/rpm a symlink to it.
RPM_DATABASES = (
    SQLITE_DB,
    BDB_DB,
    NDB_DB,
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/Packages",
    "usr/lib/sysimage/rpm/Packages.db",
)

TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH, TAG_SOURCERPM = 1000, 1001, 1002, 1003, 1022, 1044
TAG_BASENAMES, TAG_DIRNAMES = 1117, 1118
_WANTED_TAGS = {TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH, TAG_SOURCERPM}
TYPE_INT32, TYPE_STRING, TYPE_STRING_ARRAY, TYPE_I18NSTRING = 4, 6, 8, 9
_MAX_INDEX = 0x0000FFFF  # rpm's own limits on il and dl (hdrchkTags/hdrchkData)
_MAX_DATA = 0x0FFFFFFF


class InvalidHeader(ValueError):
    """A header blob rpm itself would refuse."""


def parse_header(blob: bytes) -> dict[int, str | int]:
    """The wanted tags of one header blob: strings, or the epoch as a number."""
    if len(blob) < 8:
        raise InvalidHeader("shorter than its preamble")
    index_length, data_length = struct.unpack_from(">ii", blob, 0)
    if not 0 < index_length <= _MAX_INDEX or not 0 <= data_length <= _MAX_DATA:
        raise InvalidHeader("index or data length out of range")
    data_start = 8 + 16 * index_length
    if data_start + data_length > len(blob):
        raise InvalidHeader("blob shorter than its index and data")
    data = blob[data_start : data_start + data_length]
    values: dict[int, str | int] = {}
    for entry in range(index_length):
        tag, type_, offset, count = struct.unpack_from(">iIiI", blob, 8 + 16 * entry)
        if tag not in _WANTED_TAGS or not 0 <= offset < data_length:
            continue
        if type_ == TYPE_INT32 and count >= 1 and offset + 4 <= data_length:
            values[tag] = struct.unpack_from(">i", data, offset)[0]
        elif type_ in (TYPE_STRING, TYPE_STRING_ARRAY, TYPE_I18NSTRING):
            end = data.find(b"\0", offset)
            if end < 0:
                raise InvalidHeader("unterminated string")
            values[tag] = data[offset:end].decode("utf-8", "replace")
    return values


def source_name(source_rpm: str) -> str:
    """`openssl-3.0.7-24.el9.src.rpm` -> `openssl` (name-version-release.arch.rpm)."""
    stem = source_rpm.removesuffix(".rpm")
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem  # the arch (src, nosrc)
    parts = stem.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else ""


def source_evr(source_rpm: str) -> str:
    """`openssl-3.0.7-24.el9.src.rpm` -> `3.0.7-24.el9`."""
    stem = source_rpm.removesuffix(".rpm")
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    parts = stem.rsplit("-", 2)
    return f"{parts[1]}-{parts[2]}" if len(parts) == 3 else ""


def package_from_header(blob: bytes) -> Package | None:
    """The installed package one header blob describes; None for keys and broken blobs."""
    try:
        tags = parse_header(blob)
    except (InvalidHeader, struct.error):
        return None
    name, version, release = tags.get(TAG_NAME), tags.get(TAG_VERSION), tags.get(TAG_RELEASE)
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return None
    if name == "gpg-pubkey":
        return None
    epoch = tags.get(TAG_EPOCH)
    evr = f"{version}-{release}" if isinstance(release, str) and release else version
    full = f"{epoch}:{evr}" if isinstance(epoch, int) and epoch > 0 else evr
    source_rpm = tags.get(TAG_SOURCERPM)
    src_name = source_name(source_rpm) if isinstance(source_rpm, str) else ""
    src_evr = source_evr(source_rpm) if isinstance(source_rpm, str) else ""
    if src_evr and isinstance(epoch, int) and epoch > 0:
        src_evr = f"{epoch}:{src_evr}"  # a source rpm file name carries no epoch; the binary's is its
    arch = tags.get(TAG_ARCH)
    return Package(
        kind=RPM,
        name=name,
        version=full,
        source_name=src_name or name,
        source_version=src_evr or full,
        arch=arch if isinstance(arch, str) else "",
        epoch=str(epoch) if isinstance(epoch, int) and epoch > 0 else "",
    )


# --- the three database formats ------------------------------------------------------


def sqlite_blobs(data: bytes) -> Iterator[bytes]:
    """Header blobs of an `rpmdb.sqlite` held in memory."""
    if data[18:20] == b"\x02\x02":
        # rpm keeps its database in WAL mode, which an in-memory database cannot
        # open; the file format is otherwise the same, so read it as a rollback-
        # journal database. (rpm checkpoints on close: images carry an empty WAL.)
        data = data[:18] + b"\x01\x01" + data[20:]
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(data)
        connection.execute("PRAGMA query_only = ON")
        for (blob,) in connection.execute("SELECT blob FROM Packages ORDER BY hnum"):
            if isinstance(blob, bytes):
                yield blob
    except sqlite3.DatabaseError:
        return
    finally:
        connection.close()


_BDB_HASH_MAGIC = 0x061561
_BDB_PAGE_HASH, _BDB_PAGE_OVERFLOW, _BDB_PAGE_HASH_UNSORTED = 13, 7, 2
_BDB_KEYDATA, _BDB_OVERFLOW_ITEM = 1, 3


def bdb_blobs(data: bytes) -> Iterator[bytes]:
    """Header blobs of a BerkeleyDB hash database (rpm's `Packages` before 4.16).

    The metadata page names the page size and byte order; every hash page holds
    key/value items, and rpm's values (headers) are overflow items: a chain of
    overflow pages starting at the item's page number.
    """
    if len(data) < 512:
        return
    for endian in ("<", ">"):
        magic, _version, page_size = struct.unpack_from(endian + "III", data, 12)
        if magic == _BDB_HASH_MAGIC:
            break
    else:
        return
    if page_size < 512 or page_size > 65536 or len(data) % page_size:
        return
    pages = len(data) // page_size
    for number in range(1, pages):
        page = number * page_size
        page_type = data[page + 25]
        if page_type not in (_BDB_PAGE_HASH, _BDB_PAGE_HASH_UNSORTED):
            continue
        entries = struct.unpack_from(endian + "H", data, page + 20)[0]
        # Items come in key/value pairs; their offsets follow the 26-byte page header,
        # and each item runs up to the start of the one before it (BerkeleyDB's
        # LEN_HITEM). A small header is stored in the page (H_KEYDATA), a large one
        # in a chain of overflow pages (H_OFFPAGE).
        for item in range(1, entries, 2):
            offset = struct.unpack_from(endian + "H", data, page + 26 + 2 * item)[0]
            previous = struct.unpack_from(endian + "H", data, page + 26 + 2 * (item - 1))[0]
            if offset >= page_size or previous > page_size or previous <= offset:
                continue
            kind = data[page + offset]
            if kind == _BDB_KEYDATA:
                yield data[page + offset + 1 : page + previous]
            elif kind == _BDB_OVERFLOW_ITEM:
                first_page, total = struct.unpack_from(endian + "II", data, page + offset + 4)
                blob = _bdb_overflow(data, first_page, total, page_size, pages, endian)
                if blob is not None:
                    yield blob


def _bdb_overflow(
    data: bytes, number: int, total: int, page_size: int, pages: int, endian: str
) -> bytes | None:
    parts: list[bytes] = []
    length = 0
    seen = set()
    while number and length < total:
        if number >= pages or number in seen:
            return None
        seen.add(number)
        page = number * page_size
        if data[page + 25] != _BDB_PAGE_OVERFLOW:
            return None
        next_page = struct.unpack_from(endian + "I", data, page + 16)[0]
        used = struct.unpack_from(endian + "H", data, page + 22)[0]
        parts.append(data[page + 26 : page + 26 + used])
        length += used
        number = next_page
    blob = b"".join(parts)
    return blob[:total] if len(blob) >= total else None


_NDB_MAGIC = b"RpmP"
_NDB_SLOT_MAGIC = b"Slot"
_NDB_BLOB_MAGIC = b"BlbS"
_NDB_PAGE = 4096
_NDB_BLOCK = 16


def ndb_blobs(data: bytes) -> Iterator[bytes]:
    """Header blobs of an NDB database (`Packages.db`, rpm 4.16's own format).

    A 4096-byte-paged file: the first pages hold 16-byte slots (`Slot` magic,
    package index, block offset, block count); each slot points at a blob record
    (`BlbS`, package index, checksum, length) followed by the header blob.
    """
    if len(data) < _NDB_PAGE or data[:4] != _NDB_MAGIC:
        return
    slot_pages = struct.unpack_from("<I", data, 12)[0]
    if not 0 < slot_pages <= len(data) // _NDB_PAGE:
        return
    # The first 32 bytes of page 0 are the database header, not slots.
    for offset in range(32, slot_pages * _NDB_PAGE, 16):
        magic, index, block_offset, block_count = struct.unpack_from("<4sIII", data, offset)
        if magic != _NDB_SLOT_MAGIC or index == 0:
            continue
        start = block_offset * _NDB_BLOCK
        if start + 16 > len(data) or data[start : start + 4] != _NDB_BLOB_MAGIC:
            continue
        blob_index, _checksum, length = struct.unpack_from("<III", data, start + 4)
        if blob_index != index or start + 16 + length > len(data) or length > block_count * _NDB_BLOCK:
            continue
        yield data[start + 16 : start + 16 + length]


def header_strings(blob: bytes, tag: int) -> list[str]:
    """Every string of a STRING_ARRAY tag of one header blob ([] when absent or broken)."""
    try:
        index_length, data_length = struct.unpack_from(">ii", blob, 0)
        if not 0 < index_length <= _MAX_INDEX or not 0 <= data_length <= _MAX_DATA:
            return []
        data_start = 8 + 16 * index_length
        for entry in range(index_length):
            entry_tag, type_, offset, count = struct.unpack_from(">iIiI", blob, 8 + 16 * entry)
            if entry_tag != tag or type_ != TYPE_STRING_ARRAY or not 0 <= offset < data_length:
                continue
            data = blob[data_start + offset : data_start + data_length]
            return [part.decode("utf-8", "replace") for part in data.split(b"\0", count)[:count]]
    except struct.error:
        return []
    return []


def owned_python_metadata(path: str, data: bytes) -> set[str]:
    """The Python metadata directories (`*.dist-info`, `*.egg-info`) rpm packages own,
    read from their headers' directory names."""
    owned: set[str] = set()
    for blob in _blobs(path, data):
        for directory in header_strings(blob, TAG_DIRNAMES):
            directory = directory.strip("/")
            if directory.endswith((".dist-info", ".egg-info")):
                owned.add(directory)
    return owned


def _blobs(path: str, data: bytes) -> Iterator[bytes]:
    if path.endswith("rpmdb.sqlite"):
        return sqlite_blobs(data)
    if path.endswith("Packages.db"):
        return ndb_blobs(data)
    return bdb_blobs(data)


def _parse(path: str, data: bytes) -> Iterator[Package]:
    for blob in _blobs(path, data):
        package = package_from_header(blob)
        if package is not None:
            yield package


def packages_from(kept: KeptFile) -> list[Package]:
    """The installed packages of one rpm database, each with its introducing layer."""
    packages = list(_parse(kept.path, kept.data))
    layers = introducing_layers(kept, lambda data: (p.key for p in _parse(kept.path, data)))
    return [replace(p, layer=layers.get(p.key, kept.layer), path=kept.path) for p in packages]
