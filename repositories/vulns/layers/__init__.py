"""Read an image's layer tarballs as streams and keep only the files a scan needs.

`read_layers()` takes the layers of one image in order, each as `(digest, stream)`,
where a stream is anything that yields bytes: a `BlobStream` from the registry
client (its `iter_bytes()` verifies the digest after the last chunk), a binary file
object, or an iterable of byte chunks. Each layer is decompressed on the fly (gzip,
zstd when the `zstandard` library is installed, or plain tar: detected by magic
bytes) and read once with `tarfile` in stream mode, so nothing is seeked and nothing
of the image touches the disk. Only the entries the caller's `wanted(path)` names are
read into memory, each up to the size cap `wanted` returns for it.

Layers are hostile input. What this module guarantees:

- Names are only keys in a dict, never filesystem paths: `..`, `.` and leading `/`
  are normalised away, and `..` above the root stays at the root (a note records it).
- Symlinks are recorded (up to `Limits.max_links`) and followed only by
  `ImageFiles.read()`, inside the image, at most `MAX_SYMLINK_DEPTH` hops, so a loop
  resolves to nothing. A hard link to a file already kept is kept under its own name
  too. Devices, FIFOs and other special files are ignored (they still hide what lower
  layers had at their path).
- Every cap raises `ScanLimitExceeded` (a `LayerRejected`) naming the layer and the
  limit: compressed bytes, decompressed bytes (counted as they come out of the
  decompressor, so a gzip bomb stops at the cap, and a compression ratio no real layer
  reaches stops it earlier), entries per layer, bytes kept in total, extended-header
  sizes. A file above its own cap is skipped with a note instead.
- A truncated or corrupt archive raises `LayerRejected`; so does an archive format
  this module does not read (GNU sparse files, zstd without the library).
- After the tar's end-of-archive marker the rest of the stream is still read (within
  the caps), so a `BlobStream` reaches its digest check; a mismatch propagates as the
  registry client's `DigestMismatch`.

OCI whiteouts are applied in layer order: `.wh.<name>` deletes `<name>` (and all
below it) from lower layers, `.wh..wh..opq` empties its directory of everything from
lower layers; neither affects entries of its own layer. An entry that replaces a
lower directory with a non-directory hides that directory's contents too.
"""

from __future__ import annotations

from .image import MAX_SYMLINK_DEPTH, ImageFiles, KeptFile, LayerSummary, Link, normalize
from .limits import (
    DEFAULT_LIMITS,
    GiB,
    KiB,
    LayerRejected,
    Limits,
    MiB,
    ScanLimitExceeded,
    UnsupportedLayer,
)
from .reader import OPAQUE_MARKER, WHITEOUT_PREFIX, Extract, Reducer, Wanted, read_layers
from .streams import LayerStream

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_SYMLINK_DEPTH",
    "OPAQUE_MARKER",
    "WHITEOUT_PREFIX",
    "Extract",
    "GiB",
    "ImageFiles",
    "KeptFile",
    "KiB",
    "LayerRejected",
    "LayerStream",
    "LayerSummary",
    "Limits",
    "Link",
    "MiB",
    "Reducer",
    "ScanLimitExceeded",
    "UnsupportedLayer",
    "Wanted",
    "normalize",
    "read_layers",
]
