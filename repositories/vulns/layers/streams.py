"""Layer bytes: from whatever stream the caller has, through the decompressor, counted and capped."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from typing import IO, Any, Protocol, cast

from .limits import KiB, LayerRejected, Limits, ScanLimitExceeded, UnsupportedLayer

try:  # optional: zstd layers are rejected with a clear error without it
    import zstandard as _zstd
except ImportError:  # pragma: no cover - exercised only where zstandard is absent
    _zstd = None  # type: ignore[assignment]

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

READ_SIZE = 64 * KiB


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Chunked(Protocol):
    def iter_bytes(self) -> Iterator[bytes]: ...


LayerStream = bytes | IO[bytes] | Iterable[bytes] | _Chunked


def chunks_of(stream: LayerStream) -> Iterator[bytes]:
    if isinstance(stream, bytes | bytearray | memoryview):
        stream = io.BytesIO(stream)
    if hasattr(stream, "iter_bytes"):
        yield from stream.iter_bytes()
    elif hasattr(stream, "read"):
        while chunk := stream.read(READ_SIZE):
            yield chunk
    else:
        yield from stream  # type: ignore[misc]


class Source(io.RawIOBase):
    """The compressed bytes of a layer as a readable raw stream, counted and capped."""

    def __init__(self, stream: LayerStream, limits: Limits, layer: str) -> None:
        self._chunks = chunks_of(stream)
        # The current chunk and how much of it was consumed (no re-slicing per read).
        self._buffer = b""
        self._pos = 0
        self._limits = limits
        self._layer = layer
        self.count = 0

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        while self._pos >= len(self._buffer):
            try:
                chunk = next(self._chunks)
            except StopIteration:
                return False
            self.count += len(chunk)
            cap = self._limits.max_compressed_bytes
            if cap is not None and self.count > cap:
                raise ScanLimitExceeded(
                    f"more than {cap} bytes of layer data", limit="max_compressed_bytes", layer=self._layer
                )
            self._buffer, self._pos = bytes(chunk), 0
        return True

    def peek(self, size: int) -> bytes:
        """Up to `size` bytes from the front, without consuming them (for the magic)."""
        head = b""
        while len(head) < size and self._fill():
            head += self._buffer[self._pos :]
            self._buffer, self._pos = b"", 0
        self._buffer, self._pos = head, 0
        return head[:size]

    def readinto(self, buffer: Any) -> int:
        if not self._fill():
            return 0
        size = min(len(buffer), len(self._buffer) - self._pos)
        buffer[:size] = self._buffer[self._pos : self._pos + size]
        self._pos += size
        return size

    def drain(self) -> None:
        """Read to the end, so a digest-verifying source gets to check the digest."""
        while self._fill():
            self._pos = len(self._buffer)


class Decompressed(io.RawIOBase):
    """The tar bytes of a layer, counted as they leave the decompressor and capped."""

    def __init__(self, inner: _Readable, source: Source, limits: Limits, layer: str) -> None:
        self._inner = inner
        self._source = source
        self._limits = limits
        self._layer = layer
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # Never ask the decompressor for more than one chunk: memory stays bounded
        # whatever the caller (tarfile reading a huge header) requests.
        size = min(len(buffer), READ_SIZE)
        try:
            data = self._inner.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise LayerRejected(f"corrupt or truncated compressed data ({exc})", layer=self._layer) from None
        except Exception as exc:
            if _zstd is not None and isinstance(exc, _zstd.ZstdError):
                raise LayerRejected(f"corrupt zstd data ({exc})", layer=self._layer) from None
            raise
        self.count += len(data)
        limits = self._limits
        if self.count > limits.max_layer_bytes:
            raise ScanLimitExceeded(
                f"more than {limits.max_layer_bytes} bytes once decompressed",
                limit="max_layer_bytes",
                layer=self._layer,
            )
        if self.count > limits.ratio_floor and self.count > limits.max_ratio * max(self._source.count, 1):
            raise ScanLimitExceeded(
                f"decompresses more than {limits.max_ratio} times its size (a compression bomb?)",
                limit="max_ratio",
                layer=self._layer,
            )
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        buffer = bytearray(READ_SIZE)
        while self.readinto(buffer):
            pass


def open_tar_bytes(source: Source, limits: Limits, layer: str) -> tuple[str, Decompressed]:
    """The tar bytes of a layer and its compression (`gzip`, `zstd` or `none`), by magic."""
    magic = source.peek(4)
    inner: _Readable
    if magic.startswith(GZIP_MAGIC):
        compression = "gzip"
        inner = gzip.GzipFile(fileobj=io.BufferedReader(source, READ_SIZE), mode="rb")
    elif magic.startswith(ZSTD_MAGIC):
        compression = "zstd"
        if _zstd is None:
            raise UnsupportedLayer(
                "zstd-compressed layers need the `zstandard` package, which is not installed", layer=layer
            )
        inner = _zstd.ZstdDecompressor().stream_reader(cast(IO[bytes], source), read_across_frames=True)
    else:
        compression = "none"
        inner = io.BufferedReader(source, READ_SIZE)
    return compression, Decompressed(inner, source, limits, layer)
