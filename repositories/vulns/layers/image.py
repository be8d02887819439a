"""The image as the scanner sees it: kept files and symlinks by normalised path."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field

# Linux follows at most 40 symlinks while resolving one path (MAXSYMLINKS).
MAX_SYMLINK_DEPTH = 40


@dataclass(frozen=True)
class KeptFile:
    """A file the caller wanted, as the image shows it after all layers.

    `layer` is the digest of the layer the current content came from; `history`
    holds earlier contents of the same path from lower layers, oldest first, as
    `(layer digest, data)`, so a package database can tell which layer introduced
    each package (it is reset when a whiteout deleted the path in between).
    """

    path: str
    data: bytes
    layer: str
    history: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Link:
    """A symbolic link: `target` as stored in the layer (relative or absolute)."""

    path: str
    target: str
    layer: str


Node = KeptFile | Link


@dataclass
class LayerSummary:
    """What reading one layer found, for the scan log."""

    digest: str
    compression: str = ""
    compressed_bytes: int = 0
    tar_bytes: int = 0
    entries: int = 0
    kept: int = 0
    whiteouts: int = 0


@dataclass
class ImageFiles:
    """The kept files and symlinks of an image after applying all its layers."""

    nodes: dict[str, Node] = field(default_factory=dict)
    layers: list[LayerSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def files(self) -> Iterator[KeptFile]:
        """Every kept regular file, sorted by path."""
        for path in sorted(self.nodes):
            node = self.nodes[path]
            if isinstance(node, KeptFile):
                yield node

    def resolve(self, path: str) -> str | None:
        """`path` with every symlink along it followed inside the image.

        None when the chain is longer than `MAX_SYMLINK_DEPTH` (which covers loops).
        """
        remaining = [part for part in normalize(path).split("/") if part]
        resolved: list[str] = []
        hops = 0
        while remaining:
            part = remaining.pop(0)
            candidate = "/".join([*resolved, part])
            node = self.nodes.get(candidate)
            if isinstance(node, Link):
                hops += 1
                if hops > MAX_SYMLINK_DEPTH:
                    return None
                base = "" if node.target.startswith("/") else "/".join(resolved)
                target = normalize(posixpath.join("/" + base, node.target))
                remaining = [p for p in target.split("/") if p] + remaining
                resolved = []
            else:
                resolved.append(part)
        return "/".join(resolved)

    def read(self, path: str) -> KeptFile | None:
        """The kept file at `path`, following symlinks inside the image."""
        resolved = self.resolve(path)
        if resolved is None:
            return None
        node = self.nodes.get(resolved)
        return node if isinstance(node, KeptFile) else None


def normalize(name: str) -> str:
    """A tar member name as a path relative to the image root, never above it.

    `./etc/os-release`, `/etc/os-release` and `../../etc/os-release` all become
    `etc/os-release`.
    """
    parts: list[str] = []
    for part in name.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def escapes_root(name: str) -> bool:
    depth = 0
    for part in name.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def ancestors(path: str) -> Iterator[str]:
    """`a/b/c` -> `a/b`, `a` (not the root)."""
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        yield path
