"""Build image layers in memory for scanner tests: tar, tar.gz and tar.zst blobs.

>>> blob = layer(file("etc/os-release", "ID=debian\\nVERSION_ID=12\\n"), symlink("lib", "usr/lib"))
>>> digest_of(blob).startswith("sha256:")
True
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One tar member: a regular file, a directory, a link or a special file."""

    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    linkname: str = ""
    mode: int | None = None


def file(name: str, data: str | bytes) -> Entry:
    return Entry(name, tarfile.REGTYPE, data.encode() if isinstance(data, str) else data)


def executable(name: str, data: bytes) -> Entry:
    """A regular file with its `x` bits set (0755), as a binary is installed."""
    return Entry(name, tarfile.REGTYPE, data, mode=0o755)


def directory(name: str) -> Entry:
    return Entry(name, tarfile.DIRTYPE)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, tarfile.SYMTYPE, linkname=target)


def hardlink(name: str, target: str) -> Entry:
    return Entry(name, tarfile.LNKTYPE, linkname=target)


def whiteout(path: str) -> Entry:
    """`.wh.<name>` next to `path`: deletes `path` from lower layers."""
    parent, _, name = path.rpartition("/")
    return Entry(f"{parent}/.wh.{name}" if parent else f".wh.{name}")


def opaque(directory_: str) -> Entry:
    """`.wh..wh..opq` in `directory_`: hides everything lower layers put there."""
    return Entry(f"{directory_}/.wh..wh..opq")


def fifo(name: str) -> Entry:
    return Entry(name, tarfile.FIFOTYPE)


def char_device(name: str) -> Entry:
    return Entry(name, tarfile.CHRTYPE)


def tar_bytes(*entries: Entry, format_: int = tarfile.PAX_FORMAT) -> bytes:
    """An uncompressed tar archive of `entries`, in order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=format_) as archive:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = entry.type
            info.linkname = entry.linkname
            info.mode = (
                entry.mode if entry.mode is not None else 0o755 if entry.type == tarfile.DIRTYPE else 0o644
            )
            info.size = len(entry.data) if entry.type in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
            archive.addfile(info, io.BytesIO(entry.data) if info.size else None)
    return buffer.getvalue()


def layer(*entries: Entry, compression: str = "gzip") -> bytes:
    """A layer blob: the tar of `entries`, gzip-compressed by default."""
    return compress(tar_bytes(*entries), compression)


def compress(data: bytes, compression: str = "gzip") -> bytes:
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    if compression == "none":
        return data
    raise ValueError(compression)


def digest_of(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def layers(*blobs: bytes) -> list[tuple[str, bytes]]:
    """(digest, blob) pairs in order, ready for `read_layers` / `scan_layers`."""
    return [(digest_of(blob), blob) for blob in blobs]


def chunks(blob: bytes, size: int = 4096) -> Iterator[bytes]:
    """`blob` as an iterable of chunks, the shape of a registry blob stream."""
    for start in range(0, len(blob), size):
        yield blob[start : start + size]


def streams(*blobs: bytes) -> list[tuple[str, Iterator[bytes]]]:
    """(digest, chunk iterator) pairs: layers as a registry would stream them."""
    return [(digest_of(blob), chunks(blob)) for blob in blobs]


def gzip_bomb(decompressed_size: int) -> bytes:
    """A gzip stream of a tar holding one file of `decompressed_size` zero bytes.

    Compressed in pieces so the test never holds the whole decompressed size.
    """
    header = tarfile.TarInfo("zeros")
    header.size = decompressed_size
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0) as stream:
        stream.write(header.tobuf(tarfile.PAX_FORMAT))
        block = bytes(1024 * 1024)
        remaining = decompressed_size
        while remaining > 0:
            piece = block[: min(remaining, len(block))]
            stream.write(piece)
            remaining -= len(piece)
        stream.write(bytes(-decompressed_size % tarfile.BLOCKSIZE))
        stream.write(bytes(2 * tarfile.BLOCKSIZE))
    return out.getvalue()
