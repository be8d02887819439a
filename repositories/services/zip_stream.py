"""Read a zip file's members one at a time, without holding its table of contents.

`zipfile.ZipFile` parses the whole central directory into one `ZipInfo` per member
when it opens a file: for an osv.dev `all.zip` of a few hundred thousand records that
is tens of megabytes before the first record is read. `iter_members(path)` instead
walks the central directory record by record (one buffered reader) and reads each
member's data through a second handle (seek to its local header, then inflate), so
memory stays at one member whatever the number of members.

Handled: stored and deflated members; zip64 (sizes, offsets and counts in the zip64
end record and the per-member extra field); members written with data descriptors
(bit 3: the central directory has their sizes, so the descriptor is never needed).
A member that cannot be read (encrypted, another compression method, a bad local
header, a CRC mismatch, larger than the caller's cap) comes back with a problem
instead of data; a file whose end record or central directory is unreadable raises
`ZipStreamError`, whose message says what is wrong.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_EOCD = struct.Struct("<4sHHHHIIH")  # end of central directory, 22 bytes + comment
_EOCD_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sIQI")
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_ZIP64_EOCD = struct.Struct("<4sQHHIIQQQQ")
_ZIP64_EOCD_SIGNATURE = b"PK\x06\x06"
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_CENTRAL_SIGNATURE = b"PK\x01\x02"
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_MAX_COMMENT = 0xFFFF
_ZIP64_EXTRA = 0x0001
_STORED, _DEFLATED = 0, 8
_CHUNK = 64 * 1024


class ZipStreamError(Exception):
    """The file is not a zip this reader can walk (no end record, a broken central directory)."""


@dataclass(frozen=True)
class Member:
    """One central directory record: what is needed to find and check the member's data."""

    name: str
    compressed_size: int
    file_size: int
    crc: int
    method: int
    flags: int
    header_offset: int

    def is_dir(self) -> bool:
        return self.name.endswith("/")


def _end_record(stream: BinaryIO) -> tuple[int, int]:
    """(offset of the central directory, number of records), zip64 when the file says so."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    if size < _EOCD.size:
        raise ZipStreamError("too short to be a zip file (no end of central directory record)")
    tail_size = min(size, _EOCD.size + _MAX_COMMENT)
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    # The last signature whose record and comment end the file exactly (a comment may
    # contain the signature itself).
    at = tail.rfind(_EOCD_SIGNATURE)
    while at >= 0 and (
        at + _EOCD.size > len(tail) or at + _EOCD.size + _EOCD.unpack_from(tail, at)[7] != len(tail)
    ):
        at = tail.rfind(_EOCD_SIGNATURE, 0, at)
    if at < 0:
        raise ZipStreamError("no end of central directory record: not a zip file, or truncated")
    _, disk, _, _, count, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
    if disk != 0:
        raise ZipStreamError("multi-disk (split) zip files are not supported")
    eocd_offset = size - tail_size + at
    zip64 = count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF
    locator_at = at - _ZIP64_LOCATOR.size
    if locator_at >= 0 and tail[locator_at : locator_at + 4] == _ZIP64_LOCATOR_SIGNATURE:
        _, _, zip64_offset, _ = _ZIP64_LOCATOR.unpack_from(tail, locator_at)
        stream.seek(zip64_offset)
        record = stream.read(_ZIP64_EOCD.size)
        if len(record) != _ZIP64_EOCD.size or record[:4] != _ZIP64_EOCD_SIGNATURE:
            raise ZipStreamError("the zip64 end of central directory record is missing or corrupt")
        _, _, _, _, _, _, _, count64, _, cd_offset64 = _ZIP64_EOCD.unpack(record)
        return cd_offset64, count64
    if zip64:
        raise ZipStreamError("the zip64 end of central directory locator is missing")
    if cd_offset + cd_size > eocd_offset:
        raise ZipStreamError("the central directory runs past the end record: the file is corrupt")
    return cd_offset, count


def _zip64_values(extra: bytes, wanted: list[bool]) -> list[int]:
    """The 8-byte values of the zip64 extra field, in order, for the fields marked wanted."""
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, at)
        if kind == _ZIP64_EXTRA:
            values = list(struct.unpack_from(f"<{length // 8}Q", extra, at + 4))
            if len(values) < sum(wanted):
                raise ZipStreamError("a zip64 extra field is shorter than its record needs")
            return values
        at += 4 + length
    raise ZipStreamError("a member needs a zip64 extra field and has none")


def _central_records(path: Path) -> Iterator[Member]:
    with path.open("rb", buffering=_CHUNK) as stream:
        cd_offset, count = _end_record(stream)
        stream.seek(cd_offset)
        for number in range(count):
            header = stream.read(_CENTRAL.size)
            if len(header) != _CENTRAL.size or header[:4] != _CENTRAL_SIGNATURE:
                raise ZipStreamError(
                    f"central directory record {number + 1} of {count} is missing or corrupt"
                )
            (
                _,
                _,
                _,
                flags,
                method,
                _,
                _,
                crc,
                compressed,
                size,
                name_length,
                extra_length,
                comment_length,
                _,
                _,
                _,
                offset,
            ) = _CENTRAL.unpack(header)
            variable = stream.read(name_length + extra_length + comment_length)
            if len(variable) != name_length + extra_length + comment_length:
                raise ZipStreamError(f"central directory record {number + 1} of {count} is truncated")
            raw_name = variable[:name_length]
            # Bit 11: UTF-8 names; otherwise CP437, as zipfile reads them.
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
            wanted = [size == 0xFFFFFFFF, compressed == 0xFFFFFFFF, offset == 0xFFFFFFFF]
            if any(wanted):
                values = iter(_zip64_values(variable[name_length : name_length + extra_length], wanted))
                size = next(values) if wanted[0] else size
                compressed = next(values) if wanted[1] else compressed
                offset = next(values) if wanted[2] else offset
            yield Member(name, compressed, size, crc, method, flags, offset)


def _read_member(data: BinaryIO, member: Member, limit: int) -> tuple[bytes | None, str]:
    """The member's bytes (at most `limit`), or None and why not."""
    if member.flags & 0x1:
        return None, "encrypted"
    if member.method not in (_STORED, _DEFLATED):
        return None, f"compression method {member.method} is not supported"
    if member.file_size > limit:
        return None, f"larger than {limit} bytes"
    data.seek(member.header_offset)
    header = data.read(_LOCAL.size)
    if len(header) != _LOCAL.size or header[:4] != _LOCAL_SIGNATURE:
        return None, "its local header is missing or corrupt"
    name_length, extra_length = _LOCAL.unpack(header)[9:]
    data.seek(name_length + extra_length, io.SEEK_CUR)
    remaining = member.compressed_size
    inflate = zlib.decompressobj(-zlib.MAX_WBITS) if member.method == _DEFLATED else None
    out = bytearray()
    try:
        while remaining > 0 or (inflate is not None and inflate.unconsumed_tail):
            if inflate is not None and inflate.unconsumed_tail:
                chunk = inflate.unconsumed_tail
            else:
                chunk = data.read(min(_CHUNK, remaining))
                if not chunk:
                    return None, "its data is truncated"
                remaining -= len(chunk)
            # Inflate no more than one byte past the cap: the declared size may lie.
            piece = inflate.decompress(chunk, limit + 1 - len(out)) if inflate is not None else chunk
            out += piece
            if len(out) > limit:
                return None, f"larger than {limit} bytes"
        if inflate is not None:
            out += inflate.flush()
            if not inflate.eof:
                return None, "its deflate stream is truncated"
    except zlib.error as exc:
        return None, f"its deflate stream is corrupt ({exc})"
    if len(out) != member.file_size:
        return None, f"it holds {len(out)} bytes, not the {member.file_size} its record says"
    if zlib.crc32(out) != member.crc:
        return None, "CRC mismatch: the data is corrupt"
    return bytes(out), ""


def is_zip(path: Path) -> bool:
    """Whether `path` has a zip end record this reader can find."""
    try:
        with path.open("rb") as stream:
            _end_record(stream)
    except (OSError, ZipStreamError):
        return False
    return True


def iter_members(
    path: Path, limit: int, want: Callable[[str], bool] = lambda name: True
) -> Iterator[tuple[Member, bytes | None, str]]:
    """Each member of the zip at `path` whose name `want`s, with its data (None and the
    reason when it cannot be read), in central directory order.

    Directories are skipped. Raises `ZipStreamError` (possibly after some members)
    when the file's structure is broken, `OSError` when it cannot be read.
    """
    with path.open("rb") as data:
        for member in _central_records(path):
            if member.is_dir() or not want(member.name):
                continue
            content, problem = _read_member(data, member, limit)
            yield member, content, problem
