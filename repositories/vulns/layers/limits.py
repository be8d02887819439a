"""Caps on what reading one image may cost, and the errors raised when a layer is refused."""

from __future__ import annotations

from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


class LayerRejected(Exception):
    """A layer could not be read safely: corrupt, truncated, unsupported, or over a cap."""

    def __init__(self, message: str, *, layer: str = "") -> None:
        super().__init__(f"layer {layer}: {message}" if layer else message)
        self.layer = layer
        self.reason = message


class ScanLimitExceeded(LayerRejected):
    """A layer went over one of the `Limits`; `limit` names which one."""

    def __init__(self, message: str, *, limit: str, layer: str = "") -> None:
        super().__init__(message, layer=layer)
        self.limit = limit


class UnsupportedLayer(LayerRejected):
    """A layer in a format this reader does not handle (e.g. zstd without `zstandard`)."""


@dataclass(frozen=True)
class Limits:
    """Caps that keep a hostile layer from exhausting the worker.

    The defaults let real images through (a 5 GiB CUDA layer, a node_modules tree
    with half a million files) while bounding memory to roughly `max_kept_bytes`
    plus one read buffer. `max_ratio` applies once `ratio_floor` bytes have come out
    of the decompressor: real layers compress 2-20x, a gzip bomb about 1000x.
    """

    max_compressed_bytes: int | None = None
    max_layer_bytes: int = 16 * GiB
    max_ratio: int = 200
    ratio_floor: int = 64 * MiB
    max_entries: int = 2_000_000
    max_kept_bytes: int = 256 * MiB
    max_links: int = 200_000
    max_header_bytes: int = 1 * MiB
    max_link_target: int = 4096


DEFAULT_LIMITS = Limits()
