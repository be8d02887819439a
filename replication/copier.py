"""Copying artifacts between repositories, in one registry or between two, through
Wharf's OCI client (`RegistryClient`); no Django here, so it runs in worker threads.

What is copied: a manifest with everything it references, bottom-up (an index's
children first, an image's config and layers before the manifest), so the target
never holds a manifest whose content is missing. What is not sent again:
- a manifest the target already has by digest (a HEAD answers it): its whole subtree
  is skipped;
- a blob the target repository already has (HEAD), or, in the same registry, any
  blob at all: a cross-repository mount (`POST ?mount=&from=`) links it without a
  byte of upload; only when the registry refuses the mount is the blob streamed into
  the upload session it opened instead.
Between two registries blobs are streamed (GET from the source into one chunked PUT
on the target): memory stays flat whatever the layer size. A streamed blob cannot be
replayed by the client's own retries, so a transient failure retries the whole blob
copy here (`blob_attempts`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields

from repositories.registry import Manifest, RegistryClient, RegistryError, RegistryUnavailable
from repositories.registry.client import is_digest


@dataclass
class CopyStats:
    """What a copy did; added up over a promotion or a replication run."""

    manifests_copied: int = 0
    manifests_present: int = 0
    blobs_mounted: int = 0
    blobs_uploaded: int = 0
    blobs_present: int = 0
    bytes_uploaded: int = 0

    def add(self, other: CopyStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Copied:
    """One reference copied: the digest now at the target, and what it cost."""

    digest: str
    present: bool
    stats: CopyStats = field(default_factory=CopyStats)


class Copier:
    """Copies from `source` to `target` (the same client, or two). `same_registry`
    means blobs can be mounted across repositories instead of uploaded."""

    def __init__(
        self, source: RegistryClient, target: RegistryClient, *, same_registry: bool, blob_attempts: int = 3
    ) -> None:
        self.source = source
        self.target = target
        self.same_registry = same_registry
        self.blob_attempts = max(1, blob_attempts)
        # Blobs known to be in a target repository during this copier's life (a
        # replication copies many tags sharing layers): no HEAD for them again.
        self._known: set[tuple[str, str]] = set()
        self._inflight: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()

    def copy(
        self, source_repository: str, reference: str, target_repository: str, target_reference: str | None
    ) -> Copied:
        """Copy `source_repository:reference` to `target_repository`, under
        `target_reference` (a tag) or by digest when None. When the tag already points
        at the same digest nothing is sent (`present`)."""
        if target_reference is None and is_digest(reference):
            if self.target.head_manifest(target_repository, reference) is not None:
                return Copied(reference, present=True, stats=CopyStats(manifests_present=1))
        elif target_reference is not None:
            digest = self.source.head_manifest(source_repository, reference)
            if digest is None:
                raise RegistryError(
                    f"{source_repository}:{reference} is not in the source registry",
                    transient=False,
                    status=404,
                    code="MANIFEST_UNKNOWN",
                )
            if self.target.head_manifest(target_repository, target_reference) == digest:
                return Copied(digest, present=True, stats=CopyStats(manifests_present=1))
        manifest = self.source.get_manifest(source_repository, reference)
        stats = CopyStats()
        self._copy_manifest(manifest, source_repository, target_repository, target_reference, stats, top=True)
        return Copied(manifest.digest, present=False, stats=stats)

    def _copy_manifest(
        self,
        manifest: Manifest,
        source_repository: str,
        target_repository: str,
        target_reference: str | None,
        stats: CopyStats,
        *,
        top: bool,
    ) -> None:
        if not top and self.target.head_manifest(target_repository, manifest.digest) is not None:
            stats.manifests_present += 1
            return
        for child in manifest.children:
            if self.target.head_manifest(target_repository, child.digest) is not None:
                stats.manifests_present += 1
                continue
            child_manifest = self.source.get_manifest(source_repository, child.digest)
            self._copy_manifest(child_manifest, source_repository, target_repository, None, stats, top=True)
        blobs = ([manifest.config] if manifest.config is not None else []) + list(manifest.layers)
        for blob in blobs:
            if blob.urls:  # a foreign layer: it lives elsewhere and is never pushed
                continue
            self.copy_blob(source_repository, blob.digest, target_repository, stats)
        self.target.put_manifest(
            target_repository, target_reference or manifest.digest, manifest.raw, manifest.media_type
        )
        stats.manifests_copied += 1

    def copy_blob(
        self, source_repository: str, digest: str, target_repository: str, stats: CopyStats
    ) -> None:
        """Copy one blob once: threads copying tags that share it wait for the first one
        (Distribution 2.8 answered a manifest PUT with DIGEST_INVALID, having read a half
        written link file, while two uploads of one blob into one repository raced)."""
        key = (target_repository, digest)
        while True:
            with self._lock:
                if key in self._known:
                    stats.blobs_present += 1
                    return
                running = self._inflight.get(key)
                if running is None:
                    self._inflight[key] = threading.Event()
                    break
            running.wait()  # then: known (present), or the other copy failed and this one tries
        try:
            self._copy_blob(source_repository, digest, target_repository, key, stats)
        finally:
            with self._lock:
                self._inflight.pop(key).set()

    def _copy_blob(
        self,
        source_repository: str,
        digest: str,
        target_repository: str,
        key: tuple[str, str],
        stats: CopyStats,
    ) -> None:
        location = None
        if self.same_registry:
            if source_repository == target_repository:
                stats.blobs_present += 1
                return
            location = self.target.mount_blob(target_repository, digest, source_repository)
            if location is None:
                stats.blobs_mounted += 1
                self._remember(key)
                return
        elif self.target.blob_exists(target_repository, digest):
            stats.blobs_present += 1
            self._remember(key)
            return
        for attempt in range(self.blob_attempts):
            try:
                with self.source.open_blob(source_repository, digest) as stream:
                    self.target.upload_blob_stream(
                        target_repository,
                        digest,
                        stream.iter_bytes(),
                        location=location if attempt == 0 else None,
                    )
                    stats.bytes_uploaded += stream.bytes_read
                break
            except RegistryUnavailable:
                if attempt + 1 == self.blob_attempts:
                    raise
        stats.blobs_uploaded += 1
        self._remember(key)

    def _remember(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._known.add(key)
