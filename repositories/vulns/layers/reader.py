"""Applying layers in order: whiteouts, replacements, and which entries are kept."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

from .image import ImageFiles, KeptFile, LayerSummary, Link, Node, ancestors, escapes_root, normalize
from .limits import DEFAULT_LIMITS, LayerRejected, Limits, ScanLimitExceeded
from .streams import READ_SIZE, Decompressed, LayerStream, Source, open_tar_bytes
from .tarheaders import GuardedTarInfo

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"

# `wanted(path)` returns the size cap for a path the caller needs, None otherwise.
Wanted = Callable[[str], "int | None"]

# A file that is read once and reduced to a small summary instead of being kept whole
# (an executable's embedded build information, an archive's manifests): the reducer
# gets the entry's stream and its size and returns the summary, or None when the file
# holds nothing of interest. `Extract(path, mode, size)` names the reducer for an entry
# `wanted` did not keep, or None. The summary is kept under the entry's path (so
# whiteouts and replacements apply to it) and counts against `max_kept_bytes`; the
# entry itself is never held by the reader.
Reducer = Callable[[IO[bytes], int], "bytes | None"]
Extract = Callable[[str, int, int], "Reducer | None"]


@dataclass
class _LayerChanges:
    """What one layer does to the lower layers, gathered while reading it."""

    nodes: dict[str, Node] = field(default_factory=dict)
    # Lower paths this layer deletes: exactly (`hide`) or with all below (`delete`).
    hide: set[str] = field(default_factory=set)
    delete: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)


class _Reader:
    """Applies layers one after another to an `ImageFiles`."""

    def __init__(self, wanted: Wanted, limits: Limits, extract: Extract | None = None) -> None:
        self.wanted = wanted
        self.extract = extract
        self.limits = limits
        self.image = ImageFiles()
        self.kept_bytes = 0
        self.links = 0
        self._links_noted = False

    def note(self, message: str) -> None:
        if len(self.image.notes) < 1000:
            self.image.notes.append(message)

    def apply(self, digest: str, stream: LayerStream) -> None:
        summary = LayerSummary(digest)
        self.image.layers.append(summary)
        lower = self.image.nodes
        # Directories that hold something kept: only there can a path matter.
        lower_dirs = {parent for path in lower for parent in ancestors(path)}
        changes = _LayerChanges()
        source = Source(stream, self.limits, digest)
        summary.compression, tar_bytes = open_tar_bytes(source, self.limits, digest)
        try:
            self._read_tar(tar_bytes, summary, changes, lower, lower_dirs)
            tar_bytes.drain()
            source.drain()
        finally:
            summary.compressed_bytes = source.count
            summary.tar_bytes = tar_bytes.count
        self._merge(changes)

    def _read_tar(
        self,
        data: Decompressed,
        summary: LayerSummary,
        changes: _LayerChanges,
        lower: dict[str, Node],
        lower_dirs: set[str],
    ) -> None:
        digest = summary.digest
        guarded = type(
            "_LayerTarInfo",
            (GuardedTarInfo,),
            {"max_header_bytes": self.limits.max_header_bytes, "layer": digest},
        )
        try:
            with tarfile.open(
                fileobj=io.BufferedReader(data, READ_SIZE), mode="r|", tarinfo=guarded
            ) as archive:
                for member in archive:
                    # tarfile keeps every member it has read; in stream mode we never
                    # go back, so forget them to keep memory flat.
                    archive.members = []  # type: ignore[attr-defined]  # not in typeshed
                    summary.entries += 1
                    if summary.entries > self.limits.max_entries:
                        raise ScanLimitExceeded(
                            f"more than {self.limits.max_entries} entries",
                            limit="max_entries",
                            layer=digest,
                        )
                    self._entry(archive, member, summary, changes, lower, lower_dirs)
        except LayerRejected:
            raise
        except (tarfile.TarError, EOFError) as exc:
            raise LayerRejected(f"corrupt or truncated tar archive ({exc})", layer=digest) from None
        except RecursionError:
            raise LayerRejected("too many chained extended tar headers", layer=digest) from None

    def _entry(
        self,
        archive: tarfile.TarFile,
        member: tarfile.TarInfo,
        summary: LayerSummary,
        changes: _LayerChanges,
        lower: dict[str, Node],
        lower_dirs: set[str],
    ) -> None:
        digest = summary.digest
        if escapes_root(member.name):
            self.note(
                f"{digest}: entry {member.name[:200]!r} points above the root; read as {normalize(member.name)!r}"
            )
        path = normalize(member.name)
        if not path:
            return
        parent, _, base = path.rpartition("/")
        if base.startswith(WHITEOUT_PREFIX):
            summary.whiteouts += 1
            if base == OPAQUE_MARKER:
                if not parent or parent in lower_dirs:
                    changes.opaque.add(parent)
            elif not base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):  # other .wh..wh. are aufs metadata
                target = (
                    f"{parent}/{base[len(WHITEOUT_PREFIX) :]}" if parent else base[len(WHITEOUT_PREFIX) :]
                )
                if target in lower or target in lower_dirs:
                    changes.delete.add(target)
            return
        # Whatever this entry is, it replaces what lower layers had at its path, and a
        # non-directory also hides what they had below it.
        if path in lower:
            changes.hide.add(path)
        if not member.isdir() and path in lower_dirs:
            changes.delete.add(path)
        if member.isdir():
            changes.nodes.pop(path, None)
            return
        if member.issym():
            changes.nodes.pop(path, None)
            self._symlink(path, member, digest, changes)
            return
        cap = self.wanted(path)
        if cap is None:
            reducer = (
                self.extract(path, member.mode, member.size)
                if self.extract is not None and member.isfile()
                else None
            )
            if reducer is None:
                changes.nodes.pop(path, None)
            else:
                self._reduce(archive, path, member, reducer, summary, changes)
            return
        if member.islnk():
            self._hardlink(path, member, digest, changes, lower)
        elif member.isfile():
            self._keep(archive, path, member, cap, summary, changes)
        else:
            changes.nodes.pop(path, None)

    def _symlink(self, path: str, member: tarfile.TarInfo, digest: str, changes: _LayerChanges) -> None:
        if len(member.linkname) > self.limits.max_link_target:
            self.note(f"{digest}: symlink {path} has an overlong target; ignored")
            return
        if self.links >= self.limits.max_links:
            if not self._links_noted:
                self._links_noted = True
                self.note(f"more than {self.limits.max_links} symlinks; later ones are not followed")
            return
        self.links += 1
        changes.nodes[path] = Link(path, member.linkname, digest)

    def _hardlink(
        self, path: str, member: tarfile.TarInfo, digest: str, changes: _LayerChanges, lower: dict[str, Node]
    ) -> None:
        # A hard link names an earlier entry of the archive (normally of this layer).
        target = normalize(member.linkname)
        node = changes.nodes.get(target) or lower.get(target)
        if isinstance(node, KeptFile):
            changes.nodes[path] = KeptFile(path, node.data, digest)
        else:
            changes.nodes.pop(path, None)
            self.note(f"{digest}: {path} is a hard link to {target}, which was not read; skipped")

    def _keep(
        self,
        archive: tarfile.TarFile,
        path: str,
        member: tarfile.TarInfo,
        cap: int,
        summary: LayerSummary,
        changes: _LayerChanges,
    ) -> None:
        digest = summary.digest
        if member.size > cap:
            changes.nodes.pop(path, None)
            self.note(f"{digest}: {path} is {member.size} bytes, above its cap of {cap}; skipped")
            return
        if self.kept_bytes + member.size > self.limits.max_kept_bytes:
            raise ScanLimitExceeded(
                f"the files to inventory exceed {self.limits.max_kept_bytes} bytes in total",
                limit="max_kept_bytes",
                layer=digest,
            )
        handle = archive.extractfile(member)
        data = handle.read() if handle is not None else b""
        if len(data) != member.size:
            raise LayerRejected(f"truncated tar archive (in {path})", layer=digest)
        self.kept_bytes += len(data)
        summary.kept += 1
        changes.nodes[path] = KeptFile(path, data, digest)

    def _reduce(
        self,
        archive: tarfile.TarFile,
        path: str,
        member: tarfile.TarInfo,
        reducer: Reducer,
        summary: LayerSummary,
        changes: _LayerChanges,
    ) -> None:
        digest = summary.digest
        handle = archive.extractfile(member)
        data = reducer(handle, member.size) if handle is not None else None
        if not data:
            changes.nodes.pop(path, None)
            return
        if self.kept_bytes + len(data) > self.limits.max_kept_bytes:
            raise ScanLimitExceeded(
                f"the files to inventory exceed {self.limits.max_kept_bytes} bytes in total",
                limit="max_kept_bytes",
                layer=digest,
            )
        self.kept_bytes += len(data)
        summary.kept += 1
        changes.nodes[path] = KeptFile(path, data, digest)

    def _merge(self, changes: _LayerChanges) -> None:
        nodes = self.image.nodes
        if changes.delete or changes.opaque:
            nodes = {path: node for path, node in nodes.items() if not _deleted(path, changes)}
        # Paths this layer replaced: their old content becomes history when it was
        # a kept file replaced by a kept file.
        replaced = {path: nodes.pop(path) for path in changes.hide if path in nodes}
        for path, node in changes.nodes.items():
            previous = replaced.get(path)
            if isinstance(node, KeptFile) and isinstance(previous, KeptFile):
                node = KeptFile(
                    node.path, node.data, node.layer, (*previous.history, (previous.layer, previous.data))
                )
            nodes[path] = node
        self.image.nodes = nodes


def _deleted(path: str, changes: _LayerChanges) -> bool:
    """Whether a whiteout or opaque directory of this layer deletes a lower `path`."""
    if path in changes.delete or "" in changes.opaque:
        return True
    return any(a in changes.delete or a in changes.opaque for a in ancestors(path))


def read_layers(
    layers: Iterable[tuple[str, LayerStream]],
    wanted: Wanted,
    limits: Limits = DEFAULT_LIMITS,
    extract: Extract | None = None,
) -> ImageFiles:
    """Apply an image's layers, lowest first, keeping the files `wanted` names.

    Files `extract` names (and `wanted` does not) are reduced while they stream past
    (see `Extract`). Raises `LayerRejected` (or its `ScanLimitExceeded` / `UnsupportedLayer`) for a
    layer that cannot be read safely; errors of the stream itself (e.g. the registry
    client's `DigestMismatch`) propagate unchanged.
    """
    reader = _Reader(wanted, limits, extract)
    for digest, stream in layers:
        reader.apply(digest, stream)
    return reader.image
